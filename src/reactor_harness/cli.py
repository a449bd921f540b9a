"""`reactor`: the maintenance commands, one group per concern (`reactor pins outdated|bump`,
`reactor affected`, `reactor review`).

A command group is a function that adds its subcommands to the `reactor` parser and sets each one's
`handler`; add a group to COMMAND_GROUPS (the release commands can join this way).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from reactor_harness.checks.security.affected import AffectedError, affected
from reactor_harness.core.errors import HarnessError
from reactor_harness.family.discovery import Family
from reactor_harness.updates.model import Level, UpdatesError
from reactor_harness.updates.policy import POLICY_FILE, UpdatePolicy

if TYPE_CHECKING:
    from reactor_harness.updates.bump import ImageBump
    from reactor_harness.updates.model import Finding
    from reactor_harness.updates.outdated import Registries

# The pins commands' modules (registry clients, requests) load when a pins command runs: `reactor affected`
# answers in a fraction of a second without them.

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def _level(text: str) -> Level:
    try:
        return Level(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use patch, minor or major") from None


def _pins_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--images-dir", type=Path, default=Path("images"), help="the family's folder (default: images)"
    )
    command.add_argument("--policy", type=Path, help=f"the update policy (default: <images-dir>/{POLICY_FILE})")
    command.add_argument("--level", type=_level, help="patch|minor|major for every pin (default: the policy's)")
    command.add_argument("--image", action="append", default=[], help="only this image's pins (repeatable)")
    command.add_argument("--only", nargs="+", default=[], metavar="NAME", help="only these pins (ARG or package names)")


def add_pins_group(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`reactor pins outdated` and `reactor pins bump`."""
    pins = commands.add_parser("pins", help="find and bump outdated pins (Dockerfile ARGs and lock files)")
    actions = pins.add_subparsers(dest="action", required=True)
    outdated = actions.add_parser("outdated", help="each pin: pinned, newest its level allows, newest overall")
    _pins_options(outdated)
    outdated.add_argument("--json", action="store_true", help="JSON for CI instead of the table")
    outdated.set_defaults(handler=run_outdated)
    bump = actions.add_parser("bump", help="rewrite outdated pins with their checksums and locks; print a summary")
    _pins_options(bump)
    bump.add_argument("--summary", type=Path, help="also write the Markdown summary to this file")
    bump.add_argument("--readme", type=Path, help="README whose versions table to regenerate (default: beside images/)")
    bump.set_defaults(handler=run_bump)


def add_affected_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`reactor affected <CVE-ID | package[@version]>`."""
    command = commands.add_parser(
        "affected",
        help="which images × platforms of the last run contain a package, or are hit by a vulnerability",
    )
    command.add_argument("query", help="a vulnerability ID (CVE-2025-1234) or a package name, optionally @version")
    command.add_argument(
        "--reports-dir", type=Path, default=Path("reports"), help="the run's reports folder (default: reports)"
    )
    command.add_argument("--json", action="store_true", help="JSON instead of plain text")
    command.add_argument(
        "--repository-prefix",
        help="ask about the published tags instead: not available yet (the publish step attaches no SBOM)",
    )
    command.set_defaults(handler=run_affected)


def add_review_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`reactor review`: the weekly review page from the gate summaries of the last runs."""
    command = commands.add_parser(
        "review", help="one HTML page from the gate summaries (summary.json) of the last runs"
    )
    command.add_argument(
        "sources",
        nargs="*",
        type=Path,
        default=[Path("reports")],
        help="folders holding summary.json files: reports folders or `gh run download` folders (default: reports)",
    )
    command.add_argument("--last", type=int, default=10, help="how many of the newest runs to review (default: 10)")
    command.add_argument(
        "--output", type=Path, default=Path("reports/review.html"), help="the page (default: reports/review.html)"
    )
    command.add_argument("--today", type=dt.date.fromisoformat, help="the review's date, YYYY-MM-DD (default: today)")
    command.set_defaults(handler=run_review)


def run_review(arguments: argparse.Namespace, output: TextIO, errors: TextIO) -> int:
    from reactor_harness.report.review import ReviewError, load_runs, review
    from reactor_harness.report.review_page import render_review

    if arguments.last < 1:
        raise ReviewError(f"--last {arguments.last}: review at least one run")
    runs = load_runs(arguments.sources, arguments.last)
    data = review(runs, arguments.today or dt.datetime.now(dt.UTC).date())
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(render_review(data), encoding="utf-8")
    rate = "—" if data.success_rate is None else f"{data.success_rate:.0%}"
    output.write(
        f"{arguments.output}: {len(runs)} runs; build success {rate}; {len(data.findings)} open HIGH/CRITICAL; "
        f"{len(data.expiring)} acceptances expiring; {len(data.grown)} images grew > 20%\n"
    )
    return 0


COMMAND_GROUPS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    add_pins_group,
    add_affected_command,
    add_review_command,
)


def run_affected(arguments: argparse.Namespace, output: TextIO, errors: TextIO) -> int:
    if arguments.repository_prefix:
        raise AffectedError(
            f"--repository-prefix {arguments.repository_prefix}: the publish step attaches no SBOM to the "
            "published indexes yet, so only the last run's reports can be asked; run the gate on the published "
            "commit (its reports/security/*.cdx.json) and ask without --repository-prefix"
        )
    answer = affected(arguments.reports_dir, arguments.query)
    output.write(json.dumps(answer.to_json(), indent=1) + "\n" if arguments.json else answer.text())
    return 0


def _findings(arguments: argparse.Namespace, errors: TextIO) -> tuple[Family, UpdatePolicy, Registries, list[Finding]]:
    from reactor_harness.updates.collect import family_pins
    from reactor_harness.updates.outdated import Registries, find_outdated

    family = Family.discover(arguments.images_dir)
    pins = family_pins(family, arguments.image or None)
    policy = UpdatePolicy.load(arguments.policy or arguments.images_dir / POLICY_FILE)
    if arguments.only:
        names = set(arguments.only)
        unknown = names - {n for p in pins for n in (p.name, p.dep_name)}
        if unknown:
            raise UpdatesError(f"--only {', '.join(sorted(unknown))}: no such pin (use an ARG name or a package name)")
        pins = [p for p in pins if {p.name, p.dep_name} & names]
    started = time.monotonic()
    registries = Registries.real(family)
    findings = find_outdated(pins, registries, policy, arguments.level)
    errors.write(f"[reactor pins] {len(findings)} pins looked up in {time.monotonic() - started:.1f} s\n")
    return family, policy, registries, findings


def run_outdated(arguments: argparse.Namespace, output: TextIO, errors: TextIO) -> int:
    from reactor_harness.updates.report import as_json, table

    *_, findings = _findings(arguments, errors)
    output.write(as_json(findings) if arguments.json else table(findings))
    return 0


def run_bump(arguments: argparse.Namespace, output: TextIO, errors: TextIO) -> int:
    from reactor_harness.family.versions_table import MARKER_START, write_readme
    from reactor_harness.updates.bump import bump_image, selected
    from reactor_harness.updates.summary import registry_links, render

    family, policy, registries, findings = _findings(arguments, errors)
    chosen = selected(findings, arguments.only, arguments.image)
    checksummers = registries.checksummers()
    bumps: list[ImageBump] = []
    for name in family.build_order:
        mine = [f for f in chosen if f.pin.image == name]
        if mine:
            errors.write(f"[reactor pins] bumping {name}: {', '.join(f.pin.name for f in mine)}\n")
            bumps.append(bump_image(family[name], mine, checksummers))
    readme = arguments.readme or arguments.images_dir.resolve().parent / "README.md"
    if any(b.written for b in bumps) and readme.is_file() and MARKER_START in readme.read_text(encoding="utf-8"):
        write_readme(readme, Family.discover(arguments.images_dir))
    summary = render(bumps, policy, arguments.level, registry_links(registries, policy))
    if arguments.summary:
        arguments.summary.write_text(summary, encoding="utf-8")
    output.write(summary)
    for bump in bumps:
        if bump.error:
            errors.write(f"[reactor pins] {bump.error}\n")
    return 1 if any(b.error for b in bumps) else 0


def parser() -> argparse.ArgumentParser:
    """The `reactor` parser with every command group."""
    root = argparse.ArgumentParser(prog="reactor", description=__doc__.split("\n", 1)[0])
    commands = root.add_subparsers(dest="group", required=True)
    for add_group in COMMAND_GROUPS:
        add_group(commands)
    return root


def main(argv: Sequence[str] | None = None, output: TextIO = sys.stdout, errors: TextIO = sys.stderr) -> int:
    arguments = parser().parse_args(argv)
    handler: Handler = arguments.handler
    try:
        return handler(arguments, output, errors)
    except HarnessError as error:
        errors.write(f"reactor: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
