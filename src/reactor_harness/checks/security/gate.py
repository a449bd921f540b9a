"""The security gate's policy: what fails, what an accepted risk must say, and how findings are explained.

Accepted risks live in Trivy's own `.trivyignore.yaml` (passed to Trivy with --ignorefile, so a plain
Trivy run honours them too). Trivy drops a finding an entry matches and, once the entry's `expired_at`
has passed, reports it again. The harness adds what Trivy does not (trivy#1758): every entry must give a
`statement` and an `expired_at`, an expired entry fails on its own, and an entry that suppressed nothing
in any scanned image is stale.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from reactor_harness.build.builder import local_tag
from reactor_harness.checks.security.trivy import (
    ConfigScan,
    ImageScan,
    Misconfiguration,
    Report,
    Secret,
    Trivy,
    Vulnerability,
    read_db_metadata,
)
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import HarnessError
from reactor_harness.core.platforms import Platform
from reactor_harness.family.discovery import Family, ParentLink

GATED_SEVERITIES = ("HIGH", "CRITICAL")
# The ignore file's sections and the finding type Trivy's --show-suppressed reports for each.
SECTIONS = {
    "vulnerabilities": "vulnerability",
    "misconfigurations": "misconfiguration",
    "secrets": "secret",
    "licenses": "license",
}
_ENTRY_KEYS = {"id", "paths", "purls", "statement", "expired_at"}


class SecurityPolicyError(HarnessError):
    """The ignore file cannot be read or does not have the shape Trivy and the harness expect."""


@dataclass(frozen=True)
class Acceptance:
    """One accepted risk: an entry of the ignore file."""

    section: str  # vulnerabilities, misconfigurations, secrets, licenses
    id: str
    statement: str | None
    expired_at: dt.date | None
    paths: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The finding type Trivy reports for this section (vulnerability, misconfiguration, ...)."""
        return SECTIONS[self.section]

    def __str__(self) -> str:
        scope = [*self.paths, *self.purls]
        return f"{self.section}: {self.id}" + (f" ({', '.join(scope)})" if scope else "")


@dataclass(frozen=True)
class IgnoreFile:
    """The accepted risks, read from a `.trivyignore.yaml`."""

    path: Path
    acceptances: tuple[Acceptance, ...]

    def in_section(self, section: str) -> list[Acceptance]:
        return [a for a in self.acceptances if a.section == section]


def _date(value: object, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise SecurityPolicyError(
        f"{where}: expired_at {value!r} is not a YAML date; write it unquoted as YYYY-MM-DD "
        "(Trivy fails on a quoted date)"
    )


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SecurityPolicyError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def parse_ignore_file(text: str, path: Path) -> IgnoreFile:
    """Parse ignore-file YAML; SecurityPolicyError naming the file and the entry on a bad shape."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SecurityPolicyError(f"{path} is not valid YAML: {error}") from error
    if raw is None:
        return IgnoreFile(path=path, acceptances=())
    if not isinstance(raw, dict):
        raise SecurityPolicyError(f"{path}: expected a mapping with sections {', '.join(SECTIONS)}")
    unknown_sections = sorted(set(raw) - set(SECTIONS))
    if unknown_sections:
        raise SecurityPolicyError(
            f"{path}: unknown section(s) {', '.join(map(str, unknown_sections))}; Trivy reads {', '.join(SECTIONS)}"
        )
    acceptances: list[Acceptance] = []
    for section in SECTIONS:
        entries = raw.get(section) or []
        if not isinstance(entries, list):
            raise SecurityPolicyError(f"{path}: section {section} must be a list of entries")
        for index, entry in enumerate(entries):
            where = f"{path}: {section}[{index}]"
            if not isinstance(entry, dict) or not entry.get("id"):
                raise SecurityPolicyError(f"{where}: every entry needs an id")
            unknown = sorted(set(entry) - _ENTRY_KEYS)
            if unknown:
                raise SecurityPolicyError(
                    f"{where}: unknown key(s) {', '.join(map(str, unknown))} (Trivy would ignore them)"
                )
            statement = entry.get("statement")
            acceptances.append(
                Acceptance(
                    section=section,
                    id=str(entry["id"]),
                    statement=str(statement).strip() if statement not in (None, "") else None,
                    expired_at=_date(entry.get("expired_at"), where),
                    paths=_strings(entry.get("paths"), where, "paths"),
                    purls=_strings(entry.get("purls"), where, "purls"),
                )
            )
    return IgnoreFile(path=path, acceptances=tuple(acceptances))


def load_ignore_file(path: Path) -> IgnoreFile:
    """Read the ignore file; a missing file is an error (the harness always passes one to Trivy)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SecurityPolicyError(
            f"cannot read the accepted-risks file {path}: {error}; commit a .trivyignore.yaml (it may have no entries)"
        ) from error
    return parse_ignore_file(text, path)


def write_ignore_file(path: Path, acceptances: Iterable[Acceptance]) -> Path:
    """Write acceptances in Trivy's ignore-file format (used by the end-to-end tests)."""
    document: dict[str, list[dict[str, Any]]] = {}
    for acceptance in acceptances:
        entry: dict[str, Any] = {"id": acceptance.id}
        if acceptance.paths:
            entry["paths"] = list(acceptance.paths)
        if acceptance.purls:
            entry["purls"] = list(acceptance.purls)
        if acceptance.statement is not None:
            entry["statement"] = acceptance.statement
        if acceptance.expired_at is not None:
            entry["expired_at"] = acceptance.expired_at  # a YAML date, unquoted: Trivy rejects a quoted one
        document.setdefault(acceptance.section, []).append(entry)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def is_expired(acceptance: Acceptance, today: dt.date) -> bool:
    """Expired from its expired_at date on, as Trivy sees it (it compares with midnight UTC of that date)."""
    return acceptance.expired_at is not None and acceptance.expired_at <= today


def acceptance_problems(ignore: IgnoreFile, today: dt.date) -> list[str]:
    """What is wrong with the accepted risks themselves: a missing statement or expiry, or an expired entry."""
    problems: list[str] = []
    for acceptance in ignore.acceptances:
        missing = [
            key
            for key, value in (("statement", acceptance.statement), ("expired_at", acceptance.expired_at))
            if not value
        ]
        if missing:
            problems.append(
                f"{acceptance}: no {' and no '.join(missing)} (every accepted risk says why, and until when)"
            )
        elif acceptance.expired_at is not None and is_expired(acceptance, today):
            problems.append(
                f"{acceptance}: expired on {acceptance.expired_at.isoformat()} ({acceptance.statement}); "
                "fix the finding "
                "or review the risk and set a new expired_at"
            )
    return problems


# -- the gate ---------------------------------------------------------------------------------------


def blocking_vulnerabilities(
    report: Report, ignore_unfixed: bool = False, severities: Collection[str] = GATED_SEVERITIES
) -> list[Vulnerability]:
    """Active (not suppressed) vulnerabilities at a gated severity; without a fix too unless ignore_unfixed."""
    return [v for v in report.vulnerabilities if v.severity in severities and (v.is_fixed or not ignore_unfixed)]


def blocking_secrets(report: Report) -> list[Secret]:
    """Every active secret fails, whatever its severity."""
    return list(report.secrets)


def blocking_misconfigurations(
    report: Report, severities: Collection[str] = GATED_SEVERITIES
) -> list[Misconfiguration]:
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
            GATED_SEVERITIES[::-1].index(v.severity) if v.severity in GATED_SEVERITIES else 9,
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


# -- the vulnerability DB and the per-image scan ----------------------------------------------------


@dataclass(frozen=True)
class VulnerabilityDb:
    """Whether this run has Trivy's real vulnerability DB, where, and in words why (not)."""

    available: bool
    cache_dir: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VulnerabilityDb:
        return cls(**data)


def ensure_vulnerability_db(trivy: Trivy, cache_dir: Path, allow_download: bool, now: dt.datetime) -> VulnerabilityDb:
    """Use the cached DB while it is fresh, else try to download it; say precisely what is missing if neither."""
    metadata = read_db_metadata(cache_dir)
    db_dir = cache_dir / "db"
    if metadata is not None and metadata.is_fresh(now):
        return VulnerabilityDb(True, str(cache_dir), f"cached in {db_dir}, updated {_when(metadata.updated_at)}")
    if not allow_download:
        if metadata is not None:
            return VulnerabilityDb(
                True, str(cache_dir), f"cached in {db_dir} (stale since {_when(metadata.next_update)}; updates are off)"
            )
        return VulnerabilityDb(
            False,
            str(cache_dir),
            f"no Trivy vulnerability DB in {db_dir} (trivy.db + metadata.json) and updates are off",
        )
    download = trivy.download_vulnerability_db(cache_dir)
    refreshed = read_db_metadata(cache_dir)
    if download.succeeded and refreshed is not None:
        return VulnerabilityDb(True, str(cache_dir), f"downloaded into {db_dir}, updated {_when(refreshed.updated_at)}")
    error = _last_line(download.stderr or download.stdout)
    if metadata is not None:
        return VulnerabilityDb(
            True,
            str(cache_dir),
            f"cached in {db_dir} (stale since {_when(metadata.next_update)}; refreshing failed: {error})",
        )
    return VulnerabilityDb(
        False,
        str(cache_dir),
        f"no Trivy vulnerability DB: none cached in {db_dir} (trivy.db + metadata.json) "
        f"and downloading it failed: {error}",
    )


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "at an unknown time"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-400:] if lines else "no output"


@contextmanager
def worker_scan_cache(cache_root: Path, worker: str, lock_timeout_seconds: float = 3600.0) -> Iterator[Path]:
    """A scan cache dir this process alone uses while it scans (trivy#650: a shared cache's lock times out).

    One dir per xdist worker, kept across runs so rescans are warm; a file lock serialises two test runs
    that happen to share a worker name. Its `db` links to the shared `<cache_root>/db`, which scans only read.
    """
    directory = cache_root / "scan-cache" / worker
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "db"
    with FileLock(str(directory) + ".lock", timeout=lock_timeout_seconds):
        if link.is_symlink() and os.readlink(link) != _DB_LINK_TARGET:
            link.unlink()
        elif link.exists() and not link.is_symlink():
            shutil.rmtree(link)
        if not link.is_symlink():
            link.symlink_to(_DB_LINK_TARGET, target_is_directory=True)
        yield directory


_DB_LINK_TARGET = os.path.join("..", "..", "db")


@dataclass(frozen=True)
class ImageScanRecord:
    """The outputs of one image × platform scan, shared by the run's workers as JSON."""

    image: str
    platform: str
    report: str
    sarif: str
    sbom: str
    scanners: tuple[str, ...]
    vulnerability_db: bool
    duration_seconds: float
    trivy_version: str
    command: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageScanRecord:
        return cls(**{**data, "scanners": tuple(data["scanners"]), "command": tuple(data["command"])})


def scan_image_for_gate(
    trivy: Trivy,
    archive: Path,
    *,
    image: str,
    platform: str,
    platform_slug: str,
    reports_dir: Path,
    cache_dir: Path,
    ignorefile: Path,
    ignore_unfixed: bool,
    with_vulnerabilities: bool,
) -> ImageScanRecord:
    """Scan an image archive for vulnerabilities (given a DB), secrets and image-config misconfigurations.

    Writes `<image>-<platform>.json` (Trivy's report), `.sarif` (for GitHub's Security tab) and `.cdx.json`
    (a CycloneDX SBOM) into reports_dir.
    """
    stem = reports_dir / f"{image}-{platform_slug}"
    scanners = ("vuln", "secret") if with_vulnerabilities else ("secret",)
    scan = ImageScan(
        archive=archive,
        output=stem.with_suffix(".json"),
        cache_dir=cache_dir,
        scanners=scanners,
        image_config_scanners=("misconfig", "secret"),
        ignorefile=ignorefile,
        ignore_unfixed=ignore_unfixed,
    )
    outcome = trivy.scan_image(scan)
    sarif = stem.with_suffix(".sarif")
    sbom = stem.with_suffix(".cdx.json")
    trivy.convert(scan.output, "sarif", sarif)
    trivy.convert(scan.output, "cyclonedx", sbom)
    return ImageScanRecord(
        image=image,
        platform=platform,
        report=str(scan.output),
        sarif=str(sarif),
        sbom=str(sbom),
        scanners=scanners,
        vulnerability_db=with_vulnerabilities,
        duration_seconds=round(outcome.result.duration, 2),
        trivy_version=outcome.report.trivy_version or trivy.binary.version,
        command=outcome.result.command,
    )


def scan_dockerfiles(trivy: Trivy, images_dir: Path, reports_dir: Path, ignorefile: Path, cache_dir: Path) -> Report:
    """The misconfiguration scan of the family's Dockerfiles; writes dockerfiles.json and dockerfiles.sarif."""
    output = reports_dir / "dockerfiles.json"
    outcome = trivy.scan_config(
        ConfigScan(directory=images_dir, output=output, cache_dir=cache_dir, ignorefile=ignorefile)
    )
    trivy.convert(output, "sarif", output.with_suffix(".sarif"))
    return outcome.report


def image_of_dockerfile(target: str) -> str:
    """`python/Dockerfile` -> `python`: the family image a `trivy config` result belongs to."""
    return Path(target).parts[0] if len(Path(target).parts) > 1 else target


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
