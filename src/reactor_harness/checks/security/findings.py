"""Trivy's JSON reports read into typed findings: vulnerabilities, secrets, misconfigurations, suppressions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reactor_harness.core.errors import HarnessError

SUPPORTED_SCHEMA_VERSIONS = (2,)
# Trivy's five severities. Any other value is refused: the gate compares severities by name, so an unknown
# one (a typo, a new level) would silently never be gated.
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class TrivyError(HarnessError):
    """Trivy is missing, failed, or wrote something the harness cannot read."""


class TrivyReportError(TrivyError):
    """A Trivy JSON report is malformed, truncated, or of a schema this harness does not read."""


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


def _severity(entry: Mapping[str, Any], what: str) -> str:
    severity = _required(entry, "Severity", what)
    if severity not in SEVERITIES:
        raise ValueError(
            f"a {what} with Severity {severity!r}, not one of Trivy's {', '.join(SEVERITIES)}: "
            f"the gate cannot judge it; use the Trivy version the project pins ({json.dumps(entry)[:200]})"
        )
    return severity


def _vulnerability(entry: dict[str, Any], target: str, result_class: str) -> Vulnerability:
    return Vulnerability(
        id=_required(entry, "VulnerabilityID", "vulnerability"),
        package=_required(entry, "PkgName", "vulnerability"),
        installed_version=_required(entry, "InstalledVersion", "vulnerability"),
        fixed_version=_optional_str(entry.get("FixedVersion")),
        severity=_severity(entry, "vulnerability"),
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
        severity=_severity(entry, "secret"),
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
        severity=_severity(entry, "misconfiguration"),
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
