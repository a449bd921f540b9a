"""Reading Trivy's JSON reports: real reports made here (trimmed) and hand-made edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reactor_harness.checks.security.findings import TrivyReportError, parse_report

FIXTURES = Path(__file__).parent.parent / "fixtures" / "trivy"


def test_an_image_report_gives_typed_vulnerabilities_with_their_layer():
    """Each vulnerability keeps ID, package, installed and fixed versions, severity, status, title and layer."""
    report = parse_report(FIXTURES / "image-base-vulns.json")
    assert report.schema_version == 2
    assert report.artifact_type == "container_image"
    assert report.trivy_version == "0.76.0"
    assert (report.os_family, report.os_name) == ("debian", "13.8")
    assert len(report.diff_ids) == 6
    curl = next(v for v in report.vulnerabilities if v.package == "curl")
    assert curl.id == "CVE-2099-10001"
    assert curl.installed_version == "8.14.1-2+deb13u7"
    assert curl.fixed_version == "8.14.1-2+deb13u7+reactor1"
    assert curl.is_fixed
    assert (curl.severity, curl.status, curl.result_class) == ("HIGH", "fixed", "os-pkgs")
    assert curl.title == "curl: test flaw fixed in a newer revision"
    assert curl.layer_diff_id in report.diff_ids
    assert curl.purl is not None
    assert curl.purl.startswith("pkg:deb/debian/curl@")
    unfixed = [v for v in report.vulnerabilities if v.id == "CVE-2099-10002"]
    assert {v.package for v in unfixed} == {"libssl3t64", "openssl", "openssl-provider-legacy"}
    assert all(not v.is_fixed and v.status == "affected" and v.severity == "CRITICAL" for v in unfixed)


def test_an_image_report_also_carries_the_image_config_checks():
    """With --image-config-scanners, the image config is one more result (class config)."""
    report = parse_report(FIXTURES / "image-base-vulns.json")
    assert [(m.id, m.severity, m.failed) for m in report.misconfigurations] == [("DS-0026", "LOW", True)]
    assert report.secrets == []


def test_absent_vulnerabilities_key_means_no_findings_but_packages_are_read():
    """A result without a Vulnerabilities key has none; its Packages are still listed."""
    report = parse_report(FIXTURES / "image-base-clean.json")
    assert report.vulnerabilities == []
    names = {p["Name"] for p in report.packages("os-pkgs")}
    assert {"curl", "libssl3t64", "sudo"} <= names
    assert report.packages("lang-pkgs"), "the Node.js packages are a lang-pkgs result"


def test_absent_or_null_results_mean_no_findings():
    """No Results key (nothing found) or Results null is an empty report, not an error."""
    for name in ("fs-no-results.json", "edge-null-results.json"):
        report = parse_report(FIXTURES / name)
        assert report.results == ()
        assert report.vulnerabilities == report.secrets == report.misconfigurations == []


def test_every_result_class_of_one_report_is_read():
    """os-pkgs, lang-pkgs, config and secret results in one report all yield their findings."""
    report = parse_report(FIXTURES / "rootfs-all-classes.json")
    assert {r.result_class for r in report.results} == {"os-pkgs", "lang-pkgs", "config", "secret"}
    by_class = {v.result_class: v for v in report.vulnerabilities}
    assert by_class["os-pkgs"].package in {"curl", "libssl3t64"}
    assert by_class["lang-pkgs"].package == "left-pad"
    assert by_class["lang-pkgs"].package_path == "app/node_modules/left-pad/package.json"
    assert {m.id for m in report.misconfigurations} == {"DS-0002", "DS-0026", "DS-0029"}
    [secret] = report.secrets
    assert (secret.rule_id, secret.severity, secret.target, secret.start_line) == (
        "github-pat",
        "CRITICAL",
        "srv/deploy.env",
        1,
    )
    assert "****" in secret.match


def test_suppressed_findings_are_read_apart_from_active_ones():
    """Findings an ignore file suppressed (--show-suppressed) are not active; an expired acceptance's are."""
    report = parse_report(FIXTURES / "image-base-suppressed.json")
    assert {v.id for v in report.vulnerabilities} == {"CVE-2099-10002"}  # its acceptance expired
    suppressed = {(s.kind, s.finding_id, s.statement) for s in report.suppressed}
    assert suppressed == {
        ("vulnerability", "CVE-2099-10001", "accepted for the test"),
        ("misconfiguration", "DS-0026", "no healthcheck in a dev container"),
    }
    assert report.misconfigurations == []


def test_an_early_schema_2_report_without_optional_fields_is_read():
    """Status, FixedVersion, Layer and Title may be missing; Vulnerabilities may be null."""
    report = parse_report(FIXTURES / "edge-early-v2.json")
    [finding] = report.vulnerabilities
    assert finding.fixed_version is None
    assert finding.status is None
    assert finding.layer_diff_id is None
    assert finding.title == ""
    assert not finding.is_fixed


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("edge-unknown-schema.json", "has SchemaVersion 3; this harness reads 2"),
        ("edge-no-schema.json", "has SchemaVersion None"),
        ("edge-truncated.json", "is not valid JSON"),
        ("edge-log-before-json.json", "is not valid JSON"),
        ("edge-empty.json", "is empty"),
        ("edge-vulnerability-without-package.json", "a vulnerability without PkgName"),
    ],
)
def test_unreadable_reports_are_errors_naming_the_file(name, message):
    """A report the harness cannot trust is an error that names the file, never an empty result."""
    with pytest.raises(TrivyReportError) as raised:
        parse_report(FIXTURES / name)
    assert str(FIXTURES / name) in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_report_is_an_error_naming_the_file(tmp_path):
    with pytest.raises(TrivyReportError, match=r"cannot read Trivy report .*absent\.json"):
        parse_report(tmp_path / "absent.json")


def test_summary_counts_findings_per_kind_and_severity():
    summary = parse_report(FIXTURES / "rootfs-all-classes.json").summary()
    assert "vulnerabilities: 3 (CRITICAL 1, HIGH 1, MEDIUM 1)" in summary
    assert "secrets: 1 (CRITICAL 1)" in summary
    assert "misconfigurations: 3 (HIGH 2, LOW 1)" in summary


@pytest.mark.parametrize("where", ["Vulnerabilities", "Misconfigurations"])
def test_a_severity_outside_trivys_five_is_an_error(tmp_path, where):
    """A severity the gate does not know (say `IMPORTANT`) would never be gated: the report is refused."""
    raw = json.loads((FIXTURES / "image-base-vulns.json").read_text(encoding="utf-8"))
    entry = next(result[where][0] for result in raw["Results"] if result.get(where))
    entry["Severity"] = "IMPORTANT"
    path = tmp_path / "unknown-severity.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    expected = r"Severity \W*IMPORTANT\W*, not one of Trivy\W*s UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL"
    with pytest.raises(TrivyReportError, match=expected):
        parse_report(path)
