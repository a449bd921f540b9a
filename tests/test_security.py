"""The security gate: no HIGH/CRITICAL vulnerability, no secret and no HIGH/CRITICAL misconfiguration in any
image or Dockerfile unless the accepted-risks file accepts it, with a reason and an expiry.

The gate is also proven end to end, offline: a small vulnerability DB in Trivy's own layout is generated
with advisories for Debian packages really installed in the base image, and the real Trivy scans the real
base image with it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from reactor_harness.checks.security.accepted import Acceptance, IgnoreFile, acceptance_problems
from reactor_harness.checks.security.findings import Report
from reactor_harness.checks.security.gate import (
    blocking_misconfigurations,
    blocking_secrets,
    blocking_vulnerabilities,
    describe_misconfigurations,
    describe_secrets,
    describe_vulnerabilities,
    stale_acceptances,
    stale_verdict,
    used_acceptances,
)
from reactor_harness.checks.security.scan import ImageScanRecord, image_of_dockerfile
from reactor_harness.checks.security.trivy import WHEEL_DISTRIBUTION, ImageScan, Trivy, pinned_version
from reactor_harness.checks.security.vulndb import VulnerabilityDb
from reactor_harness.core.once import RunOnce
from reactor_harness.core.platforms import Platform
from reactor_harness.family.policy import load_policy
from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.plugin.security import SecurityScanner, read_scan, skip_unless_vulnerability_db
from reactor_harness.plugin.settings import SecuritySettings
from trivy_ignorefile import write_ignore_file
from trivydb import Advisory, installed_sources, write_trivy_db

# The gate's own checks always run: they read the DB's age and accepted risks' expiry against today, and write
# this run's evidence (Trivy JSON, SARIF, SBOM). The proofs below, on a generated DB, depend on the image alone.
GATE = pytest.mark.always_runs("reads the DB's age and accepted risks' expiry against today; writes the evidence")

TODAY = dt.datetime.now(dt.UTC).date()
# The severities the family's policy gates on (images/policy.toml), for the offline proofs below.
GATED = load_policy(Path(__file__).parent.parent / "images").gated_severities


class StaleAcceptanceWarning(UserWarning):
    """An accepted risk that suppressed nothing in any scanned image."""


# -- the gate on every image × platform -------------------------------------------------------------


@GATE
@pytest.mark.family
def test_no_unaccepted_high_or_critical_vulnerability(
    built_image, security_scan, vulnerability_db, security_settings, parent_layers, family_policy
):
    """A HIGH or CRITICAL vulnerability fails, fixed or not, unless .trivyignore.yaml accepts it."""
    skip_unless_vulnerability_db(vulnerability_db, security_settings, family_policy.vulnerability_db_max_age_hours)
    assert security_scan.record.vulnerability_db, f"{built_image}: the scan ran without the vulnerability scanner"
    blocking = blocking_vulnerabilities(
        security_scan.report, severities=family_policy.gated_severities, ignore_unfixed=security_settings.ignore_unfixed
    )
    assert not blocking, (
        f"{built_image}: {describe_vulnerabilities(blocking, parent_layers)}\n"
        f"fix them (update the package pin or the parent), or accept each in {security_settings.ignorefile.name} "
        f"with a statement and an expired_at; full report: {security_scan.record.report}"
    )


@GATE
@pytest.mark.family
def test_no_secret_in_the_image(built_image, security_scan, parent_layers):
    """No secret anywhere in the image's files or its config (env, history, labels)."""
    secrets = blocking_secrets(security_scan.report)
    assert not secrets, (
        f"{built_image}: {len(secrets)} secret(s):\n{describe_secrets(secrets, parent_layers)}\n"
        f"full report: {security_scan.record.report}"
    )


@GATE
@pytest.mark.family
def test_image_config_has_no_high_or_critical_misconfiguration(built_image, security_scan, family_policy):
    """Trivy's checks of the image config (user, ports, history) find nothing HIGH or CRITICAL."""
    findings = blocking_misconfigurations(security_scan.report, severities=family_policy.gated_severities)
    assert not findings, f"{built_image}:\n{describe_misconfigurations(findings)}"


@GATE
@pytest.mark.family
def test_sarif_and_sbom_are_written(built_image, security_scan):
    """Each scan leaves SARIF for GitHub's Security tab and a CycloneDX SBOM listing the OS packages."""
    sarif = json.loads(Path(security_scan.record.sarif).read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "Trivy"
    sbom = json.loads(Path(security_scan.record.sbom).read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX"
    os_packages = {p["Name"] for p in security_scan.report.packages("os-pkgs")}
    listed = {c.get("name") for c in sbom.get("components", [])}
    assert os_packages, f"{built_image}: Trivy listed no OS package"
    assert os_packages <= listed, f"{built_image}: the SBOM misses {sorted(os_packages - listed)[:10]}"


# -- engine-free checks -----------------------------------------------------------------------------


def test_dockerfiles_have_no_high_or_critical_misconfiguration(dockerfile_scan, harness_settings, family_policy):
    """`trivy config` on images/ finds nothing HIGH or CRITICAL in any Dockerfile."""
    selected = harness_settings.selected_images
    findings = [
        m
        for m in blocking_misconfigurations(dockerfile_scan, severities=family_policy.gated_severities)
        if selected is None or image_of_dockerfile(m.target) in selected
    ]
    assert not findings, describe_misconfigurations(findings)


def test_trivy_is_the_version_the_project_pins(trivy, harness_settings):
    """The Trivy that runs is the one pyproject.toml pins (reports of another version differ)."""
    pinned = pinned_version(harness_settings.root / "pyproject.toml")
    assert pinned, f"pin Trivy in pyproject.toml's dependencies ({WHEEL_DISTRIBUTION}==<version>)"
    assert trivy.binary.version == pinned, (
        f"{trivy.binary.path} is Trivy {trivy.binary.version}; the project pins {pinned} "
        f"({WHEEL_DISTRIBUTION} in pyproject.toml): install that version or point REACTOR_TRIVY at it"
    )


def test_accepted_risks_have_a_statement_and_an_expiry(accepted_risks):
    """Every accepted risk says why and until when, and none has expired."""
    problems = acceptance_problems(accepted_risks, TODAY)
    assert not problems, f"{accepted_risks.path}:\n" + "\n".join(f"  {p}" for p in problems)


def test_no_stale_accepted_risk(request, accepted_risks, dockerfile_scan, vulnerability_db, harness_settings):
    """An accepted risk that suppresses nothing in any scanned image is reported (a failure in strict mode)."""
    if not accepted_risks.acceptances:
        return  # nothing accepted, nothing can be stale, and no image needs building for it
    family_security_scans = request.getfixturevalue("family_security_scans")
    if family_security_scans.missing:
        missing = "; ".join(family_security_scans.missing)
        skip_or_fail(harness_settings, f"cannot judge stale accepted risks; not scanned: {missing}")
    judged = {"secrets", "misconfigurations"} | ({"vulnerabilities"} if vulnerability_db.available else set())
    stale = stale_acceptances(accepted_risks, [*family_security_scans.reports, dockerfile_scan], judged, TODAY)
    fails, message = stale_verdict(
        stale, accepted_risks.path, harness_settings.strict, family_security_scans.covers_everything
    )
    if fails:
        pytest.fail(message, pytrace=False)
    if message:
        warnings.warn(StaleAcceptanceWarning(message), stacklevel=1)


# -- the gate proven end to end with a generated DB ---------------------------------------------------

# Source packages the base image really installs: curl in its own layer, openssl (libssl3t64) in the
# Debian layer it inherits, sudo in its own layer.
FIXED_HIGH = Advisory("CVE-2099-10001", "curl", "HIGH", "curl: test flaw fixed in a newer revision")
UNFIXED_CRITICAL = Advisory("CVE-2099-10002", "openssl", "CRITICAL", "openssl: test flaw without a fix")
FIXED_LONG_AGO = Advisory("CVE-2099-10003", "sudo", "HIGH", "sudo: test flaw fixed in an older version")


@dataclass
class GateProof:
    """The real base image, a generated DB with three advisories for it, and a way to scan with acceptances
    through the gate's own path (SecurityScanner: once-per-run scan, per-worker Trivy cache, ignore file)."""

    trivy: Trivy
    archive: Path
    db_root: Path
    work: Path
    installed: dict[str, str]
    settings: SecuritySettings
    run_once: RunOnce
    worker: str
    image: str
    platform: Platform
    scans: Iterator[int] = field(default_factory=itertools.count)
    records: list[ImageScanRecord] = field(default_factory=list)

    def scan(self, acceptances: list[Acceptance], ignore_unfixed: bool = False) -> Report:
        number = next(self.scans)
        ignorefile = write_ignore_file(self.work / f"scan-{number}.trivyignore.yaml", acceptances)
        reports = self.work / f"scan-{number}"
        reports.mkdir()
        scanner = SecurityScanner(
            trivy=self.trivy,
            settings=replace(
                self.settings, ignorefile=ignorefile, ignore_unfixed=ignore_unfixed, cache_dir=self.db_root
            ),
            vulnerability_db=VulnerabilityDb(True, str(self.db_root), "generated for the proof"),
            reports_dir=reports,
            run_once=self.run_once,
            worker=self.worker,
            key_prefix=f"gate-proof-{self.work.parent.name}-{number}",  # one per test and scan
        )
        record = scanner.scan(self.image, self.platform, lambda: self.archive)
        self.records.append(record)
        return read_scan(record).report


def accept(advisory: Advisory, expires: dt.date, statement: str = "accepted by the gate's own test") -> Acceptance:
    return Acceptance("vulnerabilities", advisory.vulnerability_id, statement, expires)


@pytest.fixture
def gate_proof(built_image, image_archive, trivy, run_once, tmp_path, security_settings, harness_settings) -> GateProof:
    """A DB with a HIGH fixed in a newer revision, an unfixed CRITICAL and a HIGH fixed in an older version."""

    def inventory() -> dict[str, str]:
        empty_db = run_once.directory / f"trivy-empty-db-{built_image.platform.slug}"
        write_trivy_db(empty_db, [])
        output = empty_db / "inventory.json"
        report = trivy.scan_image(
            ImageScan(image_archive, output, empty_db, ("vuln",), cache_backend="memory", ignorefile=None)
        ).report
        assert not report.vulnerabilities, "an empty DB reported vulnerabilities"
        return {s.name: s.version for s in installed_sources(report.packages("os-pkgs")).values()}

    installed = run_once.get(f"trivy-gate-inventory-{built_image.platform.slug}", inventory, dict, dict)
    needed = {FIXED_HIGH.package, UNFIXED_CRITICAL.package, FIXED_LONG_AGO.package}
    assert needed <= set(installed), (
        f"{built_image} no longer installs {sorted(needed - set(installed))}: pick other packages for the proof"
    )
    advisories = [
        replace(FIXED_HIGH, fixed_version=f"{installed[FIXED_HIGH.package]}+reactor1"),  # a newer revision
        UNFIXED_CRITICAL,
        replace(FIXED_LONG_AGO, fixed_version="0~reactor1"),  # older than any installed version
    ]
    # One DB and scan cache per worker for the run (the advisories are the same for every proof test): Trivy
    # analyses base's layers once per worker, as the gate's kept worker cache does, and every proof scan
    # still matches the generated DB and applies its own ignore file afresh.
    db_root = run_once.directory / f"gate-proof-{built_image.platform.slug}-{harness_settings.worker}"
    if not (db_root / "db" / "metadata.json").is_file():
        write_trivy_db(db_root, advisories)
    work = tmp_path / "scans"
    work.mkdir()
    return GateProof(
        trivy=trivy,
        archive=image_archive,
        db_root=db_root,
        work=work,
        installed=installed,
        settings=security_settings,
        run_once=run_once,
        worker=harness_settings.worker,
        image=built_image.name,
        platform=built_image.platform,
    )


@pytest.mark.image("base")
def test_the_proof_scans_through_the_gates_own_path(gate_proof):
    """The proof's scan is the gate's: SecurityScanner with the ignore file passed, the worker's own cache
    (linked to the generated DB), the gate's scanners and its JSON/SARIF/SBOM outputs."""
    gate_proof.scan([accept(FIXED_HIGH, TODAY + dt.timedelta(days=30))])
    (record,) = gate_proof.records
    command = " ".join(record.command)
    assert record.scanners == ("vuln", "secret")
    assert record.vulnerability_db
    assert f"--ignorefile {gate_proof.work / 'scan-0.trivyignore.yaml'}" in command
    assert f"--cache-dir {gate_proof.db_root / 'scan-cache' / gate_proof.worker}" in command
    assert Path(record.sbom).is_file()
    assert Path(record.sarif).is_file()


def ids(findings) -> set[str]:
    return {f.id for f in findings}


@pytest.mark.image("base")
def test_gate_fails_on_a_fixed_high_and_an_unfixed_critical(gate_proof, parent_layers, built_image):
    """Both fail the gate, the one fixed in an older version is not reported, and the failure explains each."""
    report = gate_proof.scan([])
    blocking = blocking_vulnerabilities(report, severities=GATED)
    assert ids(blocking) == {FIXED_HIGH.vulnerability_id, UNFIXED_CRITICAL.vulnerability_id}
    assert FIXED_LONG_AGO.vulnerability_id not in ids(report.vulnerabilities)
    text = describe_vulnerabilities(blocking, parent_layers)
    curl = gate_proof.installed["curl"]
    assert f"{FIXED_HIGH.vulnerability_id}  HIGH  curl {curl} → {curl}+reactor1  own layer sha256:" in text, text
    assert f"{UNFIXED_CRITICAL.vulnerability_id}  CRITICAL  libssl3t64 " in text, text
    libssl = next(line for line in text.splitlines() if " libssl3t64 " in line)
    assert "no fix yet" in libssl, text
    assert "parent layer (debian:trixie-slim)" in libssl, text
    assert UNFIXED_CRITICAL.title in libssl, text


@pytest.mark.image("base")
def test_accepting_both_with_statement_and_future_expiry_passes(gate_proof):
    """Accepted with a statement and a future expiry, neither finding blocks, and both acceptances are used."""
    acceptances = [
        accept(FIXED_HIGH, TODAY + dt.timedelta(days=30)),
        accept(UNFIXED_CRITICAL, TODAY + dt.timedelta(days=30)),
    ]
    report = gate_proof.scan(acceptances)
    assert blocking_vulnerabilities(report, severities=GATED) == []
    assert {s.finding_id for s in report.suppressed} == {FIXED_HIGH.vulnerability_id, UNFIXED_CRITICAL.vulnerability_id}
    ignore = _ignore_file(acceptances)
    assert acceptance_problems(ignore, TODAY) == []
    assert used_acceptances(ignore, [report]) == set(acceptances)


@pytest.mark.image("base")
def test_an_expired_acceptance_fails_again(gate_proof):
    """Past its expired_at, an acceptance no longer suppresses its finding, and the entry itself fails."""
    acceptances = [
        accept(FIXED_HIGH, TODAY + dt.timedelta(days=30)),
        accept(UNFIXED_CRITICAL, TODAY - dt.timedelta(days=1)),
    ]
    report = gate_proof.scan(acceptances)
    assert ids(blocking_vulnerabilities(report, severities=GATED)) == {UNFIXED_CRITICAL.vulnerability_id}
    problems = acceptance_problems(_ignore_file(acceptances), TODAY)
    assert len(problems) == 1, problems
    assert f"vulnerabilities: {UNFIXED_CRITICAL.vulnerability_id}: expired on" in problems[0]


@pytest.mark.image("base")
def test_ignore_unfixed_drops_only_the_unfixed(gate_proof):
    """Like Trivy's --ignore-unfixed, the option lets the unfixed CRITICAL pass and still fails the fixed HIGH."""
    report = gate_proof.scan([], ignore_unfixed=True)
    assert ids(blocking_vulnerabilities(report, severities=GATED, ignore_unfixed=True)) == {FIXED_HIGH.vulnerability_id}
    unfiltered = gate_proof.scan([])
    assert ids(blocking_vulnerabilities(unfiltered, severities=GATED, ignore_unfixed=True)) == {
        FIXED_HIGH.vulnerability_id
    }


@pytest.mark.image("base")
def test_an_acceptance_matching_nothing_is_stale(gate_proof):
    """An entry for a vulnerability the image does not have (or no longer has) is stale; used ones are not."""
    nowhere = Advisory("CVE-2099-10009", "curl", "HIGH", "in no DB")
    acceptances = [
        accept(FIXED_HIGH, TODAY + dt.timedelta(days=30)),
        accept(FIXED_LONG_AGO, TODAY + dt.timedelta(days=30)),
        accept(nowhere, TODAY + dt.timedelta(days=30)),
    ]
    report = gate_proof.scan(acceptances)
    stale = stale_acceptances(_ignore_file(acceptances), [report], {"vulnerabilities"}, TODAY)
    assert {a.id for a in stale} == {FIXED_LONG_AGO.vulnerability_id, nowhere.vulnerability_id}


def _ignore_file(acceptances):
    return IgnoreFile(path=Path("generated.trivyignore.yaml"), acceptances=tuple(acceptances))
