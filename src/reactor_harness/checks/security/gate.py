"""The security gate's rules: which findings fail, how each is explained (own or inherited layer), stale acceptances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.build.builder import local_tag
from reactor_harness.checks.security.accepted import Acceptance, IgnoreFile, is_expired
from reactor_harness.checks.security.findings import Misconfiguration, Report, Secret, Vulnerability
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import HarnessError
from reactor_harness.core.platforms import Platform
from reactor_harness.family.discovery import Family, ParentLink

# Display order of gated findings: the most severe first. (Which severities are gated is policy:
# images/policy.toml [security] gated_severities, passed in by the caller.)
_ORDER = ("CRITICAL", "HIGH")
# -- the gate ---------------------------------------------------------------------------------------


class BlindScanError(HarnessError):
    """A vulnerability scan that saw no OS or no OS package: zero findings from it prove nothing."""


def require_os_inventory(report: Report) -> None:
    """Fail closed: a scan must have detected the OS family and listed its packages to vouch for an image.

    Trivy reads `Results: null` when it recognised nothing (an unsupported OS, a broken archive, a
    distroless layout it does not know); the gate must not read that as "clean".
    """
    packages = report.packages("os-pkgs")
    if report.os_family and packages:
        return
    missing = "no OS family" if not report.os_family else "no OS package"
    raise BlindScanError(
        f"Trivy report {report.source} ({report.artifact_name}): {missing} detected, so zero vulnerabilities "
        "proves nothing; check that the image has /etc/os-release and a dpkg status file and that the "
        "scan ran with the pinned Trivy (packages are listed by default)"
    )


def blocking_vulnerabilities(
    report: Report, *, severities: Collection[str], ignore_unfixed: bool = False
) -> list[Vulnerability]:
    """Active (not suppressed) vulnerabilities at a gated severity; without a fix too unless ignore_unfixed.

    Raises BlindScanError when the scan detected no OS or no OS package (see require_os_inventory).
    """
    require_os_inventory(report)
    return [v for v in report.vulnerabilities if v.severity in severities and (v.is_fixed or not ignore_unfixed)]


def blocking_secrets(report: Report) -> list[Secret]:
    """Every active secret fails, whatever its severity."""
    return list(report.secrets)


def blocking_misconfigurations(report: Report, *, severities: Collection[str]) -> list[Misconfiguration]:
    return [m for m in report.misconfigurations if m.failed and m.severity in severities]


@dataclass(frozen=True)
class ParentLayers:
    """The layers an image inherits: its parent's name and the parent's rootfs diff IDs."""

    parent: str | None
    diff_ids: frozenset[str]
    inspected: bool = True  # False when the parent could not be inspected: origins are then unknown

    def origin(self, diff_id: str | None) -> str:
        """Where a finding's layer comes from: the parent image or the image's own build."""
        if diff_id is None:
            return "layer unknown"
        if not self.inspected:
            return f"layer {_short(diff_id)} (parent {self.parent} not inspectable)"
        if diff_id in self.diff_ids:
            return f"parent layer ({self.parent})"
        return f"own layer {_short(diff_id)}"


def _short(diff_id: str) -> str:
    algorithm, _, digest = diff_id.partition(":")
    return f"{algorithm}:{digest[:12]}" if digest else diff_id[:19]


def describe_vulnerabilities(findings: Sequence[Vulnerability], layers: ParentLayers) -> str:
    """One line per finding: ID, severity, package installed → fixed, layer origin, title."""
    ordered = sorted(
        findings,
        key=lambda v: (
            _ORDER.index(v.severity) if v.severity in _ORDER else 9,
            v.id,
            v.package,
        ),
    )
    lines = []
    for finding in ordered:
        fixed = finding.fixed_version or "no fix yet"
        where = f" [{finding.package_path}]" if finding.package_path else ""
        lines.append(
            f"  {finding.id}  {finding.severity}  {finding.package}{where} {finding.installed_version} → {fixed}  "
            f"{layers.origin(finding.layer_diff_id)}  {finding.title or '(no title)'}"
        )
    unique = len({f.id for f in findings})
    return f"{unique} vulnerabilit{'y' if unique == 1 else 'ies'} in {len(findings)} package(s):\n" + "\n".join(lines)


def describe_secrets(findings: Sequence[Secret], layers: ParentLayers) -> str:
    return "\n".join(
        f"  {s.rule_id}  {s.severity}  {s.target}{':' + str(s.start_line) if s.start_line else ''}  "
        f"{layers.origin(s.layer_diff_id)}  {s.title}  (match: {s.match})"
        for s in findings
    )


def describe_misconfigurations(findings: Sequence[Misconfiguration]) -> str:
    return "\n".join(
        f"  {m.id}  {m.severity}  {m.target}{':' + str(m.start_line) if m.start_line else ''}  {m.title}: {m.message}"
        for m in findings
    )


# -- stale acceptances ------------------------------------------------------------------------------


def used_acceptances(ignore: IgnoreFile, reports: Iterable[Report]) -> set[Acceptance]:
    """The acceptances that suppressed at least one finding in the reports.

    Trivy names the finding type, ID and the entry's statement for each suppressed finding; entries
    sharing an ID are told apart by their statement.
    """
    used: set[Acceptance] = set()
    suppressed = [s for report in reports for s in report.suppressed if s.status == "ignored"]
    for acceptance in ignore.acceptances:
        matching = [s for s in suppressed if s.kind == acceptance.kind and s.finding_id == acceptance.id]
        same_id = [a for a in ignore.acceptances if a.kind == acceptance.kind and a.id == acceptance.id]
        if len(same_id) > 1:
            matching = [s for s in matching if s.statement == (acceptance.statement or "")]
        if matching:
            used.add(acceptance)
    return used


def stale_acceptances(
    ignore: IgnoreFile, reports: Iterable[Report], judged_sections: Collection[str], today: dt.date
) -> list[Acceptance]:
    """Unexpired acceptances of the judged sections that suppressed nothing in any report.

    Only sections whose scanners ran over every image can be judged (without a vulnerability DB, say,
    no vulnerability entry can match). Expired entries are reported by acceptance_problems instead.
    """
    used = used_acceptances(ignore, reports)
    return [
        a for a in ignore.acceptances if a.section in judged_sections and a not in used and not is_expired(a, today)
    ]


# -- where a finding's layer comes from -------------------------------------------------------------


def parent_image(
    family: Family, image: str, platform: Platform, build_args: Mapping[str, str]
) -> tuple[str, str] | None:
    """The image the final stage builds FROM: (name to show, engine reference), or None (scratch, a stage).

    A family parent is this run's local build of it (build.local_tag); an outside base (the Debian OS
    image) is the tag the build resolved it to, from the build's args.
    """
    arg = family[image].dockerfile.final_stage.base_arg
    if arg is None:
        return None
    for source in family.sources(image):
        if source.arg != arg:
            continue
        if isinstance(source, ParentLink):
            return source.parent, local_tag(source.parent, platform)
        return source.reference, build_args.get(arg, source.reference)
    return None


def inherited_layers(engine: Engine, parent: tuple[str, str] | None) -> ParentLayers:
    """The parent's rootfs diff IDs as the engine has them (empty if there is no parent or it is gone)."""
    if parent is None:
        return ParentLayers(parent=None, diff_ids=frozenset())
    name, reference = parent
    details = engine.inspect_image(reference)
    if details is None:
        return ParentLayers(parent=f"{name} as {reference}", diff_ids=frozenset(), inspected=False)
    layers = details.get("RootFS", {}).get("Layers") or []
    return ParentLayers(parent=name, diff_ids=frozenset(str(layer) for layer in layers))


def stale_verdict(
    stale: Sequence[Acceptance], ignorefile: Path, strict: bool, covers_everything: bool
) -> tuple[bool, str]:
    """Whether stale acceptances fail the run, and the message: they fail only in strict mode on a run that
    scanned every image on every platform (an entry may match only an image or architecture not scanned)."""
    if not stale:
        return False, ""
    message = f"{ignorefile}: accepted risks that match nothing in any scanned image (remove them):\n" + "\n".join(
        f"  {a} - {a.statement}" for a in stale
    )
    if not covers_everything:
        message += "\n(this run did not scan every image on every platform, so this is a warning only)"
    return strict and covers_everything, message
