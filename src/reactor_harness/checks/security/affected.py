"""`reactor affected`: which images × platforms of the last run contain a package (and at which version), or
are hit by a vulnerability, read from the CycloneDX SBOMs and Trivy reports the gate wrote.

The security area writes, per image × platform, `<reports>/security/<image>-<os>-<arch>.cdx.json` (the SBOM)
and `.json` (Trivy's report, with the findings the vulnerability DB gave at scan time, accepted ones
included as suppressed). A CVE is answered from those reports: installed version, fixed version and so
whether the installed one is in the affected range, as the DB said when the run scanned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from reactor_harness.checks.security.findings import TrivyReportError, parse_report
from reactor_harness.core.errors import HarnessError

VULNERABILITY_ID = re.compile(
    r"^(CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3}|(DSA|DLA)-\d+(-\d+)?|TEMP-\d+-\w+)$", re.IGNORECASE
)
_SBOM_SUFFIX = ".cdx.json"


class AffectedError(HarnessError):
    """The question cannot be answered from the reports (none written, unreadable); says what to run."""


@dataclass(frozen=True)
class Scanned:
    """One image × platform of the last run: its SBOM and its Trivy report."""

    image: str
    platform: str
    sbom: Path
    report: Path


@dataclass(frozen=True)
class Hit:
    """A package of one image × platform matching the question."""

    image: str
    platform: str
    package: str
    version: str
    purl: str
    source_package: str | None = None
    vulnerability: str | None = None
    fixed_version: str | None = None
    status: str | None = None  # affected (installed is below the fix or no fix yet), accepted, version matches...
    severity: str | None = None


@dataclass(frozen=True)
class Answer:
    """The answer to one `reactor affected` question."""

    query: str
    kind: str  # "vulnerability" or "package"
    scanned: tuple[str, ...]  # image (platform) of every SBOM read
    hits: tuple[Hit, ...]
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kind": self.kind,
            "scanned": list(self.scanned),
            "affected": [asdict(hit) for hit in self.hits],
            "note": self.note,
        }

    def text(self) -> str:
        """Plain text: one line per image × platform hit, then what was searched."""
        lines = []
        for hit in self.hits:
            line = f"{hit.image} ({hit.platform}): {hit.package} {hit.version}"
            if hit.vulnerability:
                fix = f"fixed in {hit.fixed_version}" if hit.fixed_version else "no fix yet"
                line += f"  {hit.vulnerability} {hit.severity or ''} {fix}: {hit.status}"
            elif hit.status:
                line += f"  ({hit.status})"
            lines.append(f"{line}  [{hit.purl}]")
        if not self.hits:
            lines.append(f"{self.query}: in no image of the last run")
        lines.append(f"searched: {', '.join(self.scanned)}")
        if self.note:
            lines.append(self.note)
        return "\n".join(lines) + "\n"


def scanned_targets(reports_dir: Path) -> list[Scanned]:
    """Every image × platform the last run scanned, from `<reports_dir>/security/*.cdx.json`."""
    security = reports_dir / "security"
    found = []
    for sbom in sorted(security.glob(f"*{_SBOM_SUFFIX}")):
        stem = sbom.name.removesuffix(_SBOM_SUFFIX)
        parts = stem.rsplit("-", 2)
        if len(parts) != 3:
            continue  # not an image × platform SBOM
        image, os_name, arch = parts
        found.append(Scanned(image, f"{os_name}/{arch}", sbom, security / f"{stem}.json"))
    if not found:
        raise AffectedError(
            f"no SBOM in {security} (<image>-<os>-<arch>.cdx.json): run the gate first, e.g. "
            "`pytest -n auto tests/test_security.py`, or pass --reports-dir of a run that did"
        )
    return found


def _components(sbom: Path) -> list[Mapping[str, Any]]:
    try:
        data = json.loads(sbom.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AffectedError(f"cannot read the SBOM {sbom}: {error}; rerun the gate to rewrite it") from error
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise AffectedError(f"{sbom} is not a CycloneDX SBOM; rerun the gate to rewrite it")
    return [c for c in data.get("components") or [] if isinstance(c, dict) and c.get("type") == "library"]


def _property(component: Mapping[str, Any], name: str) -> str | None:
    for entry in component.get("properties") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return str(entry.get("value"))
    return None


def _full_name(component: Mapping[str, Any]) -> str:
    group = component.get("group")
    return f"{group}/{component['name']}" if group else str(component.get("name", ""))


def find_package(targets: Iterable[Scanned], name: str, version: str | None = None) -> list[Hit]:
    """Components named `name` (or built from the Debian source package `name`) in each target's SBOM."""
    from reactor_harness.family.pins import debian_version_matches  # the pins' own matching rule

    hits = []
    for target in targets:
        for component in _components(target.sbom):
            source = _property(component, "aquasecurity:trivy:SrcName")
            if name not in (component.get("name"), _full_name(component), source):
                continue
            installed = str(component.get("version", ""))
            status = None
            if version is not None:
                same = installed == version or debian_version_matches(installed, version)
                status = "version matches" if same else f"other version than {version}"
            hits.append(
                Hit(
                    target.image,
                    target.platform,
                    _full_name(component),
                    installed,
                    unquote(str(component.get("purl", ""))),
                    source_package=source,
                    status=status,
                )
            )
    return hits


def find_vulnerability(targets: Iterable[Scanned], vulnerability: str) -> tuple[list[Hit], list[str]]:
    """The packages each target's Trivy report lists for the vulnerability (active or accepted), and the
    targets whose report could not say (no report, or scanned without the vulnerability DB)."""
    hits, unknown = [], []
    wanted = vulnerability.upper()
    for target in targets:
        try:
            report = parse_report(target.report)
        except TrivyReportError as error:
            unknown.append(f"{target.image} ({target.platform}): {error}")
            continue
        for finding in report.vulnerabilities:
            if finding.id.upper() == wanted:
                status = "affected (installed is below the fix)" if finding.fixed_version else "affected, no fix yet"
                hits.append(
                    Hit(
                        target.image,
                        target.platform,
                        finding.package,
                        finding.installed_version,
                        finding.purl or "",
                        vulnerability=finding.id,
                        fixed_version=finding.fixed_version,
                        status=status,
                        severity=finding.severity,
                    )
                )
        for suppressed in report.suppressed:
            if suppressed.kind == "vulnerability" and suppressed.finding_id.upper() == wanted:
                hits.append(
                    Hit(
                        target.image,
                        target.platform,
                        suppressed.package or "?",
                        "?",
                        "",
                        vulnerability=suppressed.finding_id,
                        status=f"affected, accepted in the ignore file: {suppressed.statement}",
                    )
                )
    return hits, unknown


def db_note(reports_dir: Path) -> str:
    """What the last run's vulnerability DB was (from security/trivy.json), for the answer's footer."""
    try:
        record = json.loads((reports_dir / "security" / "trivy.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "the last run recorded no vulnerability DB (security/trivy.json missing)"
    if not record.get("db_available", True) or "no Trivy vulnerability DB" in str(record.get("db", "")):
        return f"the last run had no vulnerability DB ({record.get('db')}): vulnerabilities cannot be answered"
    return f"vulnerability DB of the last run: {record.get('db')}"


def affected(reports_dir: Path, query: str) -> Answer:
    """Answer `reactor affected <query>`: a vulnerability ID, or a package name with an optional @version."""
    targets = scanned_targets(reports_dir)
    scanned = tuple(f"{t.image} ({t.platform})" for t in targets)
    if VULNERABILITY_ID.match(query):
        hits, unknown = find_vulnerability(targets, query)
        note = db_note(reports_dir)
        if unknown:
            note += "\nnot answered for: " + "; ".join(unknown)
        return Answer(query, "vulnerability", scanned, tuple(hits), note)
    name, _, version = query.partition("@")
    if not name:
        raise AffectedError(f"{query!r}: ask for a vulnerability ID (CVE-2025-1234) or a package (git, git@1:2.47.3)")
    return Answer(query, "package", scanned, tuple(find_package(targets, name, version or None)))
