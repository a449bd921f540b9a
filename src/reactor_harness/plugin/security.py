"""Pytest wiring of the security gate: its options, Trivy, the vulnerability DB, one scan per image × platform.

The policy and the scanning live in reactor_harness.checks.security (gate, trivy); this module only turns
options into settings and work into fixtures. Each scan runs once per run across xdist workers
(RunOnce), in a Trivy cache dir of the worker's own (trivy#650).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from reactor_harness.build.builder import FamilyBuilder, save_image_archive
from reactor_harness.checks.security.accepted import IgnoreFile, SecurityPolicyError, load_ignore_file
from reactor_harness.checks.security.findings import Report, parse_report
from reactor_harness.checks.security.gate import ParentLayers, inherited_layers, parent_image
from reactor_harness.checks.security.scan import ImageScanRecord, scan_dockerfiles, scan_image_for_gate
from reactor_harness.checks.security.stored import cached_scan, scan_key
from reactor_harness.checks.security.summary import security_result_data, vulnerability_db_record
from reactor_harness.checks.security.trivy import Trivy, TrivyNotFound, find_trivy
from reactor_harness.checks.security.vulndb import (
    VulnerabilityDb,
    ensure_vulnerability_db,
    read_db_metadata,
    worker_scan_cache,
)
from reactor_harness.core.cache import ResultCache
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import HarnessError
from reactor_harness.core.once import RunOnce
from reactor_harness.core.platforms import SUPPORTED, Platform, why_unrunnable
from reactor_harness.family.discovery import Family
from reactor_harness.family.policy import FamilyPolicy
from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.plugin.results import record_result
from reactor_harness.plugin.settings import SETTINGS_KEY, HarnessSettings, SecuritySettings
from reactor_harness.plugin.targets import BuiltImage
from reactor_harness.report.results import AreaResult


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS_KEY].security
    try:
        binary = find_trivy()
    except TrivyNotFound as error:
        return [f"security: {error}"]
    metadata = read_db_metadata(settings.cache_dir)
    if metadata and metadata.updated_at:
        age = (dt.datetime.now(dt.UTC) - metadata.updated_at).total_seconds() / 3600
        db = f"DB updated {metadata.updated_at:%Y-%m-%d %H:%M} UTC ({age:.0f} h old)"
    else:
        db = "no DB cached"
    return [f"security: Trivy {binary.version} ({binary.path}); {db} in {settings.cache_dir / 'db'}"]


def skip_unless_vulnerability_db(db: VulnerabilityDb, settings: SecuritySettings, max_age_hours: float) -> None:
    """Skip a check that needs the real vulnerability DB when there is none; fail instead under --require-vuln-db,
    which also fails on a DB older than the policy's max age (a months-old DB restored from a cache is not
    a gate).

    Strict mode alone does not turn this skip into a failure: a CI without internet access cannot have
    the DB, and the skip names exactly what is missing. --require-vuln-db is the switch for a CI that can.
    """
    __tracebackhide__ = True
    if db.available:
        if settings.require_vulnerability_db and db.too_old(max_age_hours):
            pytest.fail(
                f"the vulnerability DB is too old: {db.detail}; the policy allows {max_age_hours:g} h "
                "(images/policy.toml [security] vulnerability_db_max_age_hours). Refresh it (run without "
                "--skip-vuln-db-update where Trivy can download it) [--require-vuln-db]",
                pytrace=False,
            )
        return
    if settings.require_vulnerability_db:
        pytest.fail(f"{db.detail} [--require-vuln-db: the vulnerability gate must run]", pytrace=False)
    pytest.skip(f"{db.detail}; the vulnerability gate needs it (pass --require-vuln-db where it can be downloaded)")


# -- session fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def security_settings(harness_settings: HarnessSettings) -> SecuritySettings:
    """The security gate's validated options. Override to pin them in a suite of your own."""
    return harness_settings.security


@pytest.fixture(scope="session")
def security_reports_dir(harness_settings: HarnessSettings) -> Path:
    """Where Trivy's JSON, SARIF and SBOM outputs go. Override to write them elsewhere."""
    directory = harness_settings.reports_dir / "security"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def trivy(harness_settings: HarnessSettings) -> Trivy:
    """The Trivy binary the gate runs; skips (fails in strict mode) when there is none. Override to use another."""
    try:
        binary = find_trivy()
    except TrivyNotFound as error:
        skip_or_fail(harness_settings, str(error))
        raise  # unreachable: skip_or_fail raises
    return Trivy(binary)


@pytest.fixture(scope="session")
def accepted_risks(security_settings: SecuritySettings) -> IgnoreFile:
    """The accepted risks from the ignore file (a missing or malformed file fails the tests that need it)."""
    if not security_settings.ignorefile.is_file():
        pytest.fail(
            f"--trivy-ignorefile {security_settings.ignorefile}: no such file; commit a .trivyignore.yaml "
            "(it may list no entries)",
            pytrace=False,
        )
    try:
        return load_ignore_file(security_settings.ignorefile)
    except SecurityPolicyError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def vulnerability_db(
    trivy: Trivy, security_settings: SecuritySettings, security_reports_dir: Path, run_once: RunOnce
) -> VulnerabilityDb:
    """Trivy's real vulnerability DB: cached, or downloaded once per run; `available` False says why not."""

    def ensure() -> VulnerabilityDb:
        security_settings.cache_dir.mkdir(parents=True, exist_ok=True)
        status = ensure_vulnerability_db(
            trivy, security_settings.cache_dir, security_settings.update_vulnerability_db, dt.datetime.now(dt.UTC)
        )
        record = {
            "binary": str(trivy.binary.path),
            **trivy.version_info(security_settings.cache_dir),
            "db": status.detail,
            "db_available": status.available,
            "db_updated_at": status.updated_at,
            "db_age_hours": status.age_hours,
        }
        (security_reports_dir / "trivy.json").write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
        return status

    return run_once.get("trivy-vulnerability-db", ensure, VulnerabilityDb.to_json, VulnerabilityDb.from_json)


@dataclass
class SecurityScanner:
    """Scans images for the gate, each image × platform once per run whichever worker asks first."""

    trivy: Trivy
    settings: SecuritySettings
    vulnerability_db: VulnerabilityDb
    reports_dir: Path
    run_once: RunOnce
    worker: str = "main"  # the xdist worker's id: each worker scans with a Trivy cache of its own
    key_prefix: str = "trivy-scan"  # the once-per-run key; the generated-DB proof scans under its own
    results_cache: ResultCache | None = None  # scans kept across runs by image id and inputs (None: never)

    def scan(
        self, image: str, platform: Platform, archive: Callable[[], Path], image_id: str | None = None
    ) -> ImageScanRecord:
        """The image's scan: once per run; across runs from the results cache when image_id is known."""

        def scan_now() -> ImageScanRecord:
            with worker_scan_cache(self.settings.cache_dir, self.worker) as cache_dir:
                return scan_image_for_gate(
                    self.trivy,
                    archive(),
                    image=image,
                    platform=str(platform),
                    platform_slug=platform.slug,
                    reports_dir=self.reports_dir,
                    cache_dir=cache_dir,
                    ignorefile=self.settings.ignorefile,
                    ignore_unfixed=self.settings.ignore_unfixed,
                    with_vulnerabilities=self.vulnerability_db.available,
                )

        def produce() -> ImageScanRecord:
            if image_id is None or self.results_cache is None:
                return scan_now()
            key = scan_key(
                image_id=image_id,
                trivy_version=self.trivy.binary.version,
                db_cache_dir=self.settings.cache_dir if self.vulnerability_db.available else None,
                ignorefile=self.settings.ignorefile,
                ignore_unfixed=self.settings.ignore_unfixed,
            )
            stem = f"{image}-{platform.slug}"
            return cached_scan(self.results_cache, key, scan_now, reports_dir=self.reports_dir, stem=stem).value

        key = f"{self.key_prefix}-{image}-{platform.slug}"
        return self.run_once.get(key, produce, ImageScanRecord.to_json, ImageScanRecord.from_json)


@pytest.fixture(scope="session")
def security_scanner(
    harness_settings: HarnessSettings,
    trivy: Trivy,
    security_settings: SecuritySettings,
    vulnerability_db: VulnerabilityDb,
    security_reports_dir: Path,
    run_once: RunOnce,
    results_cache: ResultCache,
) -> SecurityScanner:
    """The run's image scanner. Override to scan with other settings."""
    return SecurityScanner(
        trivy,
        security_settings,
        vulnerability_db,
        security_reports_dir,
        run_once,
        worker=harness_settings.worker,
        results_cache=results_cache,
    )


@pytest.fixture(scope="session")
def dockerfile_scan(
    trivy: Trivy,
    harness_settings: HarnessSettings,
    security_settings: SecuritySettings,
    security_reports_dir: Path,
    run_once: RunOnce,
) -> Report:
    """`trivy config` over the family's Dockerfiles, once per run (no engine needed)."""

    def produce() -> str:
        with worker_scan_cache(security_settings.cache_dir, harness_settings.worker) as cache:
            report = scan_dockerfiles(
                trivy, harness_settings.images_dir, security_reports_dir, security_settings.ignorefile, cache
            )
        return str(report.source)

    try:
        return parse_report(Path(run_once.get("trivy-dockerfiles", produce, str, str)))
    except HarnessError as error:
        pytest.fail(f"trivy config of {harness_settings.images_dir}: {error}", pytrace=False)


# -- per image × platform ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityScan:
    """One image × platform's scan: where its outputs are and the parsed report."""

    record: ImageScanRecord
    report: Report


def read_scan(record: ImageScanRecord) -> SecurityScan:
    return SecurityScan(record=record, report=parse_report(Path(record.report)))


def _accepted_or_none(settings: SecuritySettings) -> IgnoreFile | None:
    """The accepted risks for the result's record; None when unreadable (the accepted_risks fixture says why)."""
    try:
        return load_ignore_file(settings.ignorefile)
    except (SecurityPolicyError, OSError):
        return None


def security_result(scan: SecurityScan, scanner: SecurityScanner, policy: FamilyPolicy, now: dt.datetime) -> AreaResult:
    """The "security" area's result for the matrix and the gate summary, from the scan the gate's tests read."""
    metadata = read_db_metadata(scanner.settings.cache_dir)
    data = security_result_data(
        scan.report,
        vulnerability_db=vulnerability_db_record(scanner.vulnerability_db, metadata, now),
        scanned_vulnerabilities=scan.record.vulnerability_db,
        gated_severities=policy.gated_severities,
        ignore_unfixed=scanner.settings.ignore_unfixed,
        accepted_risks=_accepted_or_none(scanner.settings),
    )
    data["report"] = scan.record.report
    data["cache"] = {"from_cache": scan.record.from_cache}  # True: Trivy's outputs came from the results cache
    return AreaResult(scan.record.image, scan.record.platform, "security", data)


@pytest.fixture
def security_scan(
    request: pytest.FixtureRequest,
    built_image: BuiltImage,
    security_scanner: SecurityScanner,
    family_policy: FamilyPolicy,
) -> SecurityScan:
    """The image's Trivy scan (vulnerabilities when the DB is there, secrets, image-config misconfigurations);
    the image archive is saved only when the scan is not in the results cache."""
    try:
        record = security_scanner.scan(
            built_image.name,
            built_image.platform,
            lambda: Path(request.getfixturevalue("image_archive")),
            built_image.outcome.image_id,
        )
        scan = read_scan(record)
    except HarnessError as error:
        pytest.fail(f"{built_image}: {error}", pytrace=False)
    record_result(request.node, security_result(scan, security_scanner, family_policy, dt.datetime.now(dt.UTC)))
    origin = "from the results cache (scanned earlier" if record.from_cache else "scan took"
    request.node.add_report_section(
        "call",
        "trivy",
        f"{scan.report.summary()}\n{origin} {record.duration_seconds:.1f}s"
        f"{')' if record.from_cache else ''}; report {record.report}",
    )
    return scan


@pytest.fixture
def parent_layers(built_image: BuiltImage, family: Family, engine: Engine) -> ParentLayers:
    """The layers the image inherits from its parent, to tell inherited findings from the image's own."""
    parent = parent_image(family, built_image.name, built_image.platform, built_image.outcome.build_args)
    return inherited_layers(engine, parent)


# -- every image of the run -------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyScans:
    """The scans of every selected image × platform, and what could not be scanned (and why)."""

    reports: tuple[Report, ...]
    missing: tuple[str, ...]
    covers_everything: bool  # every family image on every supported platform was scanned


@pytest.fixture(scope="session")
def family_security_scans(
    harness_settings: HarnessSettings,
    family: Family,
    family_builder: FamilyBuilder,
    engine: Engine,
    run_once: RunOnce,
    security_scanner: SecurityScanner,
) -> FamilyScans:
    """Every selected image × platform built and scanned (reusing the run's builds and scans), for checks
    that look across the whole family, such as stale accepted risks."""
    names = list(harness_settings.selected_images or family.build_order)
    reports: list[Report] = []
    missing: list[str] = []
    for name in names:
        for platform in harness_settings.platforms:
            reason = why_unrunnable(platform, harness_settings.native)
            if reason:
                missing.append(f"{name} ({platform}): {reason}")
                continue
            try:
                outcome = family_builder.build(name, platform)
                if not outcome.succeeded:
                    missing.append(f"{name} ({platform}): did not build")
                    continue
                archive = partial(save_image_archive, engine, run_once, name, platform, outcome.tag)
                record = security_scanner.scan(name, platform, archive, outcome.image_id)
                reports.append(read_scan(record).report)
            except HarnessError as error:
                missing.append(f"{name} ({platform}): {error}")
    everything = set(names) >= set(family.images) and {str(p) for p in harness_settings.platforms} >= set(SUPPORTED)
    return FamilyScans(reports=tuple(reports), missing=tuple(missing), covers_everything=everything)
