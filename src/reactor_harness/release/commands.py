"""`reactor-release`: compute tags, publish a gated build, list good builds, promote and roll back.

    reactor-release tags --sha SHA --ref REF --default-branch main [--format github]
    reactor-release save --output images.tar [--platform all]
    reactor-release publish --repository-prefix HOST/OWNER/reactor --sha SHA --ref REF --default-branch main
    reactor-release list --repository-prefix HOST/OWNER/reactor
    reactor-release promote --repository-prefix HOST/OWNER/reactor --to sha-abc1234 [--channel latest]
    reactor-release rollback --repository-prefix HOST/OWNER/reactor [--channel latest] [--to sha-abc1234]

Credentials come from $REACTOR_REGISTRY_USERNAME and $REACTOR_REGISTRY_PASSWORD (a token), never from
the command line. Repositories are the prefix plus each family image (`.../reactor/base`), or given one
by one with --repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from reactor_harness.build.builder import local_tag
from reactor_harness.core import environment
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import HarnessError
from reactor_harness.core.platforms import Platform, native_platform, parse_platforms
from reactor_harness.family.discovery import Family
from reactor_harness.release.promote import (
    GateRecord,
    Promotion,
    good_builds,
    now_iso,
    promote_build,
    publish_index,
    record_gate,
    resolve_build,
    rollback,
)
from reactor_harness.release.registry import Registry, Repository
from reactor_harness.release.tags import LATEST, tags_for
from reactor_harness.release.vouch import gate_summary_for, require_passed

USERNAME_ENV = environment.REGISTRY_USERNAME
PASSWORD_ENV = environment.REGISTRY_PASSWORD


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reactor-release", description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def ref_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--sha", required=True, help="the commit built (e.g. $GITHUB_SHA)")
        command.add_argument("--ref", required=True, help="the Git ref pushed (e.g. $GITHUB_REF: refs/heads/main)")
        command.add_argument("--default-branch", required=True, help="the branch whose builds become 'latest'")

    def repository_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--repository-prefix", help="HOST/NAMESPACE; one repository per family image below it")
        command.add_argument(
            "--repository", action="append", default=[], help="HOST/NAME of one image's repository (repeatable)"
        )
        command.add_argument("--images-dir", default="images", help="the family folder (for --repository-prefix)")

    tags = commands.add_parser("tags", help="print the tags of a build")
    ref_options(tags)
    tags.add_argument("--format", choices=("lines", "github"), default="lines", help="github: key=value outputs")

    save = commands.add_parser("save", help="save this run's family builds (the images the gate tested) to a tarball")
    save.add_argument("--output", required=True, help="the tarball to write (docker load reads it)")
    save.add_argument("--platform", default="all", help="the platforms built (default: all)")
    save.add_argument("--images-dir", default="images", help="the family folder")

    publish = commands.add_parser("publish", help="push a gated build, record its gate result, move its channels")
    ref_options(publish)
    repository_options(publish)
    publish.add_argument("--summary", default="reports/summary.json", help="the gate run's summary.json")
    publish.add_argument("--platform", default="all", help="the platforms the gate built (default: all)")
    publish.add_argument("--run-url", default="", help="a link to the gate run, kept in the gate record")

    listing = commands.add_parser("list", help="list recent builds that passed the gate")
    repository_options(listing)
    listing.add_argument("--limit", type=int, default=10)

    promote = commands.add_parser("promote", help="point a channel at a build that passed the gate")
    repository_options(promote)
    promote.add_argument("--to", required=True, help="a build tag (sha-abc1234) or, for one repository, a digest")
    promote.add_argument("--channel", default=LATEST)

    back = commands.add_parser("rollback", help="point a channel back at the previous good build")
    repository_options(back)
    back.add_argument("--channel", default=LATEST)
    back.add_argument("--to", default=None, help="a build tag or digest (default: the good build before the current)")
    return parser


def _repositories(arguments: argparse.Namespace) -> list[Repository]:
    given = [Repository.parse(text) for text in arguments.repository]
    if arguments.repository_prefix:
        prefix = Repository.parse(arguments.repository_prefix.lower())  # registries want lower-case names
        family = Family.discover(Path(arguments.images_dir))
        given += [prefix.child(image) for image in family.build_order]
    if not given:
        raise HarnessError("name the repositories: --repository-prefix HOST/NAMESPACE or --repository HOST/NAME")
    hosts = {repository.host for repository in given}
    if len(hosts) != 1:
        raise HarnessError(f"all repositories must be on one registry, not {', '.join(sorted(hosts))}")
    return given


def _registry(host: str) -> Registry:
    env = environment.Environment.read()
    return Registry(host, username=env.registry_username, password=env.registry_password)


def _report(promotions: Sequence[Promotion], out: TextIO) -> None:
    for promotion in promotions:
        moved = (
            "already at"
            if promotion.previous == promotion.digest
            else f"moved from {promotion.previous or 'nothing'} to"
        )
        out.write(
            f"{promotion.repository}:{promotion.channel} {moved} {promotion.digest} "
            f"(commit {promotion.record.commit[:12]}, gate passed {promotion.record.created})\n"
        )


def _publish(arguments: argparse.Namespace, out: TextIO) -> None:
    tags = tags_for(arguments.sha, arguments.ref, arguments.default_branch)
    summary = json.loads(Path(arguments.summary).read_text(encoding="utf-8"))
    platforms = parse_platforms(arguments.platform, native_platform())
    repositories = _repositories(arguments)
    images = [repository.name.rsplit("/", 1)[-1] for repository in repositories]
    require_passed(summary)  # before anything else: a failed run names no images worth inspecting
    engine = Engine.connect()
    image_ids = {image: _local_image_ids(engine, image, platforms) for image in images}
    # The whole gate summary is checked before anything is pushed: this commit, these images, a vulnerability DB.
    summaries = {
        image: gate_summary_for(summary, image, platforms, commit=arguments.sha, image_ids=image_ids[image])
        for image in images
    }
    registry = _registry(repositories[0].host)
    published = []
    for image, repository in zip(images, repositories, strict=True):
        local_tags = {platform: local_tag(image, platform) for platform in platforms}
        index = publish_index(engine, registry, repository, image, local_tags, tags, arguments.sha)
        record = GateRecord(
            subject=index.digest,
            image=image,
            passed=True,
            commit=arguments.sha,
            ref=arguments.ref,
            created=now_iso(),
            run_url=arguments.run_url,
            summary=summaries[image],
            image_ids=image_ids[image],
            vulnerability_db=summaries[image]["vulnerability_db"],
        )
        record_gate(registry, repository.name, record)
        out.write(f"{repository}:{tags.build} {index.digest} (gate result recorded)\n")
        published.append((repository.name, index.digest))
    for channel in tags.channels:
        _report(promote_build(registry, dict(published), channel), out)


def _local_image_ids(engine: Engine, image: str, platforms: Sequence[Platform]) -> dict[str, str]:
    """The ID of each platform's local build of `image` (what the gate summary must name)."""
    ids = {}
    for platform in platforms:
        details = engine.inspect_image(local_tag(image, platform))
        if details is None or not details.get("Id"):
            tag = local_tag(image, platform)
            raise HarnessError(f"{tag} is not in this engine: load the gate's saved images first")
        ids[str(platform)] = str(details["Id"])
    return ids


def _save(arguments: argparse.Namespace, out: TextIO) -> None:
    family = Family.discover(Path(arguments.images_dir))
    platforms = parse_platforms(arguments.platform, native_platform())
    references = [local_tag(image, platform) for image in family.build_order for platform in platforms]
    engine = Engine.connect()
    missing = [reference for reference in references if engine.inspect_image(reference) is None]
    if missing:
        raise HarnessError(f"not built in this engine: {', '.join(missing)}; run the gate (pytest) first")
    engine.save(references, Path(arguments.output))
    out.write(f"saved {len(references)} images to {arguments.output}\n")


def run(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """The CLI, returning its exit status (tests call this; `main` exits with it)."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "tags":
            tags = tags_for(arguments.sha, arguments.ref, arguments.default_branch)
            if arguments.format == "github":
                out.write(f"build={tags.build}\nchannels={' '.join(tags.channels)}\n")
            else:
                out.write("".join(f"{tag}\n" for tag in tags.all))
            return 0
        if arguments.command == "save":
            _save(arguments, out)
            return 0
        if arguments.command == "publish":
            _publish(arguments, out)
            return 0
        repositories = _repositories(arguments)
        registry = _registry(repositories[0].host)
        names = [repository.name for repository in repositories]
        if arguments.command == "list":
            builds = good_builds(registry, names, limit=arguments.limit)
            current = {name: registry.resolve(name, LATEST) for name in names}
            for build in builds:
                marker = f" <- {LATEST}" if dict(build.digests) == current else ""
                out.write(f"{build.tag}  commit {build.commit[:12]}  gate passed {build.created}{marker}\n")
            if not builds:
                out.write("no build with a passing gate record\n")
            return 0
        if arguments.command == "promote":
            _report(promote_build(registry, resolve_build(registry, names, arguments.to), arguments.channel), out)
            return 0
        _report(rollback(registry, names, arguments.channel, arguments.to), out)
        return 0
    except HarnessError as error:
        sys.stderr.write(f"reactor-release {arguments.command}: {error}\n")
        return 1


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
