"""Building the family: each image × platform once per run, parents first, children FROM this run's parents."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reactor_harness.build.bootstrap import OsImages
from reactor_harness.build.packages import diff_packages, installed_packages
from reactor_harness.core.cache import ResultCache
from reactor_harness.core.engine import LABEL_HARNESS, BuildRequest, Engine
from reactor_harness.core.environment import Environment
from reactor_harness.core.once import RunOnce
from reactor_harness.core.platforms import Platform
from reactor_harness.family.discovery import Family, ParentLink

LOCAL_REPOSITORY_PREFIX = "reactor-test"
LOG_TAIL_LINES = 50
BUILD_CA_SECRET = "build-ca"  # noqa: S105 - the secret's id, not a secret
_STEP_HEADER = re.compile(r"^#(?P<id>\d+) (?P<title>\[.+)$")
_STEP_ERROR = re.compile(r"^#(?P<id>\d+) ERROR:? ?(?P<message>.*)$")


def local_tag(image: str, platform: Platform) -> str:
    """The engine-local tag of an image built for one platform (one architecture per tag).

    REACTOR_LOCAL_REPOSITORY replaces the prefix, so two checkouts can share one engine without building
    over each other's tags.
    """
    prefix = Environment.read().local_repository or LOCAL_REPOSITORY_PREFIX
    return f"{prefix}/{image}:{platform.slug}"


@dataclass(frozen=True)
class BuildOutcome:
    """What became of one image × platform build in this run."""

    image: str
    platform: str
    tag: str
    succeeded: bool
    duration_seconds: float = 0.0
    image_id: str | None = None
    failed_step: str | None = None
    log_tail: str = ""
    log_path: str | None = None
    blocked_by: str | None = None  # set when a parent did not build, so this one was not attempted
    error: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    # Debian packages changed against the previous build of this tag (PackageDiff.to_json), when there was one.
    package_diff: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildOutcome:
        return cls(**data)

    def failure_report(self) -> str:
        """Why the build failed, with the failing step and the log's tail, for the test report."""
        lines = [f"{self.image} for {self.platform} failed to build"]
        if self.error:
            lines.append(self.error)
        if self.failed_step:
            lines.append(f"failing step: {self.failed_step}")
        if self.log_path:
            lines.append(f"full log: {self.log_path}")
        if self.log_tail:
            lines.append(f"--- last {LOG_TAIL_LINES} log lines ---\n{self.log_tail}")
        return "\n".join(lines)


def failing_step(log: str) -> str | None:
    """The BuildKit step that failed, from a `--progress plain` log (`[stage-1 2/6] RUN apt-get …`)."""
    titles: dict[str, str] = {}
    for line in log.splitlines():
        header = _STEP_HEADER.match(line)
        if header:
            titles.setdefault(header.group("id"), header.group("title"))
            continue
        error = _STEP_ERROR.match(line)
        if error and error.group("id") in titles:
            return titles[error.group("id")]
    for line in reversed(log.splitlines()):  # a frontend error (bad instruction) has no step id
        if line.startswith(("error:", "ERROR:", "failed to solve", "Dockerfile parse error")):
            return line
    return None


_PROGRESS_WIDTH = 90


def _clip(line: str, width: int) -> str:
    flat = " ".join(line.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def progress_worthy(line: str, shown: set[str]) -> bool:
    """Show each RUN step once when it starts, and errors; BuildKit repeats headers as output interleaves.

    The full log (every line) is in the build's log file; the terminal gets a short trail.
    """
    header = _STEP_HEADER.match(line)
    if header:
        if header.group("id") in shown or " RUN " not in header.group("title"):
            return False  # a repeat, or a quick step (FROM, COPY, WORKDIR, internal): the log has them
        shown.add(header.group("id"))
        return True
    return bool(_STEP_ERROR.match(line))


def is_step_line(line: str) -> bool:
    """A progress line worth showing while a long build runs: a step starting, finishing or failing."""
    return bool(_STEP_HEADER.match(line) or _STEP_ERROR.match(line) or re.match(r"^#\d+ DONE ", line))


@dataclass(frozen=True)
class BuildSettings:
    """How the run builds: where logs go, the CA bundle secret, metadata build args."""

    log_dir: Path
    ca_bundle: Path | None = None
    image_labels: Mapping[str, str] = field(default_factory=dict)  # extra labels on built images
    metadata_args: Mapping[str, str] = field(default_factory=dict)  # e.g. VCS_REF, passed if declared
    rebuild: bool = False  # --rebuild: no build cache, so apt reads fresh indices and takes new revisions
    prebuilt: bool = False  # --prebuilt: check the images the local tags name now; build nothing
    # Labels for the short containers that list a build's packages (the run's, so leftovers are reaped).
    probe_labels: Mapping[str, str] = field(default_factory=dict)
    # Package lists kept across runs by layer stack (None: each build's lists are queried in containers).
    results_cache: ResultCache | None = None


class FamilyBuilder:
    """Builds images of a family per platform, once per run across workers, in dependency order."""

    def __init__(
        self,
        family: Family,
        engine: Engine,
        os_images: OsImages,
        once: RunOnce,
        settings: BuildSettings,
        native: Platform,
        progress: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.family = family
        self.engine = engine
        self.os_images = os_images
        self.once = once
        self.settings = settings
        self.native = native
        self.progress = progress

    def build(self, image: str, platform: Platform) -> BuildOutcome:
        return self.once.get(
            f"build-{image}-{platform.slug}",
            lambda: self._build(image, platform),
            BuildOutcome.to_json,
            BuildOutcome.from_json,
        )

    def resolve_sources(self, image: str, platform: Platform) -> tuple[dict[str, str], BuildOutcome | None]:
        """Build args naming this run's parent builds and OS images; the failed parent if one failed."""
        build_args: dict[str, str] = {}
        for source in self.family.sources(image):
            stage_platform = self.native if source.on_build_platform else platform
            if isinstance(source, ParentLink):
                parent = self.build(source.parent, stage_platform)
                if not parent.succeeded:
                    return build_args, parent
                build_args[source.arg] = parent.tag
            else:
                build_args[source.arg] = self.os_images.ensure(source.reference, stage_platform)
        return build_args, None

    def _build(self, image: str, platform: Platform) -> BuildOutcome:
        tag = local_tag(image, platform)
        if self.settings.prebuilt:
            return self._prebuilt(image, platform, tag)
        build_args, failed_parent = self.resolve_sources(image, platform)
        if failed_parent is not None:
            return BuildOutcome(
                image=image,
                platform=str(platform),
                tag=tag,
                succeeded=False,
                blocked_by=f"{failed_parent.image} for {failed_parent.platform}",
                error=f"not built: its parent {failed_parent.image} for {failed_parent.platform} failed to build",
            )
        dockerfile = self.family[image].dockerfile
        for name, value in self.settings.metadata_args.items():
            if name in dockerfile.global_args:
                build_args[name] = value
        secrets = {BUILD_CA_SECRET: self.settings.ca_bundle} if self.settings.ca_bundle else {}
        request = BuildRequest(
            dockerfile=dockerfile.path,
            context=self.family.root,
            tag=tag,
            platform=str(platform),
            build_args=build_args,
            # No run label on images: every container started from one would inherit it, and the reaper
            # would take a user's own container for a leftover of this run.
            labels={LABEL_HARNESS: "image", **self.settings.image_labels},
            secrets=secrets,
            no_cache=self.settings.rebuild,
        )
        previous = self.engine.inspect_image(tag)
        previous_id = str(previous["Id"]) if previous and previous.get("Id") else None
        previous_layers = _layer_stack(previous)
        before = self._packages(previous_id, previous_layers, platform) if previous_id else None
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.settings.log_dir / f"build-{image}-{platform.slug}.log"
        started = time.monotonic()
        self.progress(f"building {image} for {platform} (log: {log_path})")
        with log_path.open("w", encoding="utf-8") as log_file:
            log_file.write(f"# {' '.join(request_summary(request))}\n")

            shown: set[str] = set()

            def on_line(line: str) -> None:
                log_file.write(line + "\n")
                log_file.flush()
                if is_step_line(line) and progress_worthy(line, shown):
                    self.progress(f"{image} {platform}: {_clip(line, _PROGRESS_WIDTH)}")

            result = self.engine.build(request, on_line=on_line)
        duration = time.monotonic() - started
        log_text = result.stdout
        tail = "\n".join(log_text.rstrip("\n").splitlines()[-LOG_TAIL_LINES:])
        if not result.succeeded:
            self.progress(f"{image} for {platform}: build FAILED after {duration:.0f}s")
            return BuildOutcome(
                image=image,
                platform=str(platform),
                tag=tag,
                succeeded=False,
                duration_seconds=duration,
                failed_step=failing_step(log_text),
                log_tail=tail,
                log_path=str(log_path),
                error=f"docker build exited {result.exit_status}",
                build_args=build_args,
            )
        details = self.engine.inspect_image(tag) or {}
        self.progress(f"{image} for {platform}: built in {duration:.0f}s")
        package_diff = None
        if previous_id and before is not None and details.get("Id") and details["Id"] != previous_id:
            after = self._packages(str(details["Id"]), _layer_stack(details), platform)
            if after is not None:
                diff = diff_packages(previous_id, before, after)
                package_diff = diff.to_json()
                self.progress(f"{image} for {platform}: Debian packages against the previous build {diff.counts()}")
        return BuildOutcome(
            image=image,
            platform=str(platform),
            tag=tag,
            succeeded=True,
            duration_seconds=duration,
            image_id=details.get("Id"),
            log_tail=tail,
            log_path=str(log_path),
            build_args=build_args,
            package_diff=package_diff,
        )

    def _prebuilt(self, image: str, platform: Platform, tag: str) -> BuildOutcome:
        """The image the local tag names now, not built (--prebuilt); a missing one is a failed build saying so."""
        details = self.engine.inspect_image(tag)
        if not details or not details.get("Id"):
            return BuildOutcome(
                image=image,
                platform=str(platform),
                tag=tag,
                succeeded=False,
                error=(
                    f"--prebuilt: no image is tagged {tag}; build it first (the same pytest command without "
                    "--prebuilt), or tag the image to check with that name"
                ),
            )
        self.progress(f"{image} for {platform}: prebuilt, not built ({tag} = {str(details['Id'])[:19]})")
        # The metadata a build would have passed (VCS_REF: this checkout's commit), so the label checks hold
        # the prebuilt image to what this checkout would have built.
        declared = self.family[image].dockerfile.global_args
        metadata = {name: value for name, value in self.settings.metadata_args.items() if name in declared}
        return BuildOutcome(
            image=image,
            platform=str(platform),
            tag=tag,
            succeeded=True,
            image_id=str(details["Id"]),
            log_tail=f"--prebuilt: not built; checks the image {tag} names ({details['Id']})",
            build_args=metadata,
        )

    def _packages(self, image_id: str, layers: Sequence[str], platform: Platform) -> dict[str, str] | None:
        return installed_packages(
            self.engine,
            image_id,
            str(platform),
            self.settings.probe_labels,
            layers=layers,
            cache=self.settings.results_cache,
        )


def _layer_stack(details: Mapping[str, Any] | None) -> list[str]:
    """The image's diff_ids as the engine inspects them ([] when it does not say)."""
    return [str(layer) for layer in ((details or {}).get("RootFS") or {}).get("Layers") or []]


def request_summary(request: BuildRequest) -> list[str]:
    """The build as a readable command line for the log's first line."""
    words = ["docker build", "--platform", request.platform, "-f", str(request.dockerfile), "-t", request.tag]
    for key, value in sorted(request.build_args.items()):
        words += ["--build-arg", f"{key}={value}"]
    return [*words, str(request.context)]


def save_image_archive(engine: Engine, once: RunOnce, image: str, platform: Platform, tag: str) -> Path:
    """The image as a `docker save` tarball, written once per run and shared by every reader of it."""

    def save() -> str:
        destination = once.directory / "archives" / f"{image}-{platform.slug}.tar"
        destination.parent.mkdir(parents=True, exist_ok=True)
        engine.save(tag, destination)
        return str(destination)

    return Path(once.get(f"archive-{image}-{platform.slug}", save, str, str))
