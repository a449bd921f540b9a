"""The gate's policy without an engine: accepted risks, what blocks, how findings are explained, staleness."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from reactor_harness.checks.security.accepted import (
    Acceptance,
    IgnoreFile,
    SecurityPolicyError,
    acceptance_problems,
    load_ignore_file,
    parse_ignore_file,
)
from reactor_harness.checks.security.findings import parse_report
from reactor_harness.checks.security.gate import (
    BlindScanError,
    ParentLayers,
    blocking_misconfigurations,
    blocking_secrets,
    blocking_vulnerabilities,
    describe_vulnerabilities,
    inherited_layers,
    parent_image,
    stale_acceptances,
    stale_verdict,
    used_acceptances,
)
from reactor_harness.checks.security.scan import image_of_dockerfile
from reactor_harness.core.platforms import Platform
from reactor_harness.family.discovery import Family
from reactor_harness.family.policy import load_policy
from trivy_ignorefile import write_ignore_file

FIXTURES = Path(__file__).parent.parent / "fixtures" / "trivy"
TODAY = dt.date(2026, 11, 28)
REPOSITORY_IGNOREFILE = Path(__file__).parent.parent.parent / ".trivyignore.yaml"
# The severities the family's policy gates on (images/policy.toml), as the plugin reads them.
GATED = load_policy(Path(__file__).parent.parent.parent / "images").gated_severities


def ignore(text: str) -> IgnoreFile:
    return parse_ignore_file(text, Path("test.trivyignore.yaml"))


# -- the ignore file --------------------------------------------------------------------------------


@pytest.mark.always_runs("an accepted risk's expiry is read against today")
def test_the_committed_ignore_file_is_valid():
    """The repository's .trivyignore.yaml parses, and every entry it has is complete and current."""
    accepted = load_ignore_file(REPOSITORY_IGNOREFILE)
    assert acceptance_problems(accepted, dt.datetime.now(dt.UTC).date()) == []


def test_entries_are_read_with_their_scope():
    accepted = ignore(
        "vulnerabilities:\n"
        "  - id: CVE-2025-1\n    purls: [pkg:deb/debian/libssl3t64]\n    statement: why\n    expired_at: 2027-01-31\n"
        "misconfigurations:\n  - id: DS-0026\n    paths: [base/Dockerfile]\n"
    )
    first, second = accepted.acceptances
    assert first == Acceptance(
        "vulnerabilities", "CVE-2025-1", "why", dt.date(2027, 1, 31), (), ("pkg:deb/debian/libssl3t64",)
    )
    assert (second.kind, second.paths, second.statement, second.expired_at) == (
        "misconfiguration",
        ("base/Dockerfile",),
        None,
        None,
    )
    assert str(second) == "misconfigurations: DS-0026 (base/Dockerfile)"


def test_an_empty_ignore_file_accepts_nothing():
    assert ignore("").acceptances == ()
    assert ignore("# only comments\nvulnerabilities: []\n").acceptances == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vulnerabilities: [", "is not valid YAML"),
        ("- id: CVE-1\n", "expected a mapping"),
        ("vulns:\n  - id: CVE-1\n", "unknown section(s) vulns"),
        ("vulnerabilities:\n  - statement: no id\n", "every entry needs an id"),
        ("vulnerabilities:\n  - id: CVE-1\n    reason: typo\n", "unknown key(s) reason"),
        ("vulnerabilities:\n  - id: CVE-1\n    expired_at: '2027-01-01'\n", "Trivy fails on a quoted date"),
        ("vulnerabilities:\n  - id: CVE-1\n    paths: usr/lib\n", "paths must be a list of strings"),
    ],
)
def test_a_malformed_ignore_file_is_an_error_naming_it(text, message):
    with pytest.raises(SecurityPolicyError) as raised:
        ignore(text)
    assert "test.trivyignore.yaml" in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_ignore_file_says_to_commit_one(tmp_path):
    with pytest.raises(SecurityPolicyError, match=r"commit a \.trivyignore\.yaml"):
        load_ignore_file(tmp_path / ".trivyignore.yaml")


def test_entries_need_a_statement_and_an_expiry():
    accepted = ignore(
        "vulnerabilities:\n  - id: CVE-1\n  - id: CVE-2\n    statement: why\n"
        "secrets:\n  - id: aws-access-key-id\n    expired_at: 2027-01-01\n"
    )
    problems = acceptance_problems(accepted, TODAY)
    assert problems == [
        "vulnerabilities: CVE-1: no statement and no expired_at (every accepted risk says why, and until when)",
        "vulnerabilities: CVE-2: no expired_at (every accepted risk says why, and until when)",
        "secrets: aws-access-key-id: no statement (every accepted risk says why, and until when)",
    ]


def test_an_entry_expires_on_its_date_as_in_trivy():
    """Trivy stops honouring an entry at midnight UTC of expired_at; so does the harness."""
    text = "vulnerabilities:\n  - id: CVE-1\n    statement: why\n    expired_at: {}\n"
    assert acceptance_problems(ignore(text.format("2026-11-29")), TODAY) == []
    [problem] = acceptance_problems(ignore(text.format("2026-11-28")), TODAY)
    assert problem.startswith("vulnerabilities: CVE-1: expired on 2026-11-28 (why)")


def test_written_ignore_files_read_back_and_keep_dates_unquoted(tmp_path):
    acceptances = [Acceptance("vulnerabilities", "CVE-1", "why", dt.date(2027, 1, 2), purls=("pkg:deb/debian/x",))]
    path = write_ignore_file(tmp_path / "ignore.yaml", acceptances)
    assert "expired_at: 2027-01-02\n" in path.read_text()
    assert load_ignore_file(path).acceptances == tuple(acceptances)


# -- what blocks ------------------------------------------------------------------------------------


def test_high_and_critical_block_fixed_or_not_and_ignore_unfixed_drops_the_unfixed():
    report = parse_report(FIXTURES / "rootfs-all-classes.json")
    assert {(v.id, v.severity) for v in blocking_vulnerabilities(report, severities=GATED)} == {
        ("CVE-2099-10001", "HIGH"),
        ("CVE-2099-10002", "CRITICAL"),
    }  # the MEDIUM one on left-pad does not block
    assert {v.id for v in blocking_vulnerabilities(report, severities=GATED, ignore_unfixed=True)} == {"CVE-2099-10001"}


@pytest.mark.parametrize("drop", ["os", "packages", "results"])
def test_a_scan_that_saw_no_os_or_no_package_fails_closed(tmp_path, drop):
    """Zero findings from a scan that detected no OS family or no OS package is not a pass: the gate errors."""
    raw = json.loads((FIXTURES / "image-base-clean.json").read_text(encoding="utf-8"))
    if drop == "os":
        raw["Metadata"].pop("OS")
    elif drop == "packages":
        for result in raw["Results"]:
            if result["Class"] == "os-pkgs":
                result.pop("Packages")
    else:
        raw["Results"] = None
    path = tmp_path / f"blind-{drop}.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(BlindScanError, match=r"detected, so zero vulnerabilities proves nothing") as raised:
        blocking_vulnerabilities(parse_report(path), severities=GATED)
    assert str(path) in str(raised.value)


def test_a_clean_scan_that_saw_the_os_and_its_packages_passes():
    assert blocking_vulnerabilities(parse_report(FIXTURES / "image-base-clean.json"), severities=GATED) == []


def test_every_secret_blocks_and_only_high_or_critical_misconfigurations_do():
    report = parse_report(FIXTURES / "rootfs-all-classes.json")
    assert [s.rule_id for s in blocking_secrets(report)] == ["github-pat"]
    assert sorted(m.id for m in blocking_misconfigurations(report, severities=GATED)) == ["DS-0002", "DS-0029"]


def test_suppressed_findings_do_not_block():
    report = parse_report(FIXTURES / "image-base-suppressed.json")
    assert {v.id for v in blocking_vulnerabilities(report, severities=GATED)} == {"CVE-2099-10002"}


def test_the_failure_lists_id_severity_package_versions_layer_origin_and_title():
    report = parse_report(FIXTURES / "image-base-vulns.json")
    debian_layer = report.diff_ids[0]
    text = describe_vulnerabilities(
        blocking_vulnerabilities(report, severities=GATED),
        ParentLayers("debian:trixie-slim", frozenset({debian_layer})),
    )
    lines = text.splitlines()
    assert lines[0] == "2 vulnerabilities in 6 package(s):"
    assert lines[1].split("  ")[1:3] == ["CVE-2099-10002", "CRITICAL"], "CRITICAL first"
    libssl = next(line for line in lines if " libssl3t64 " in line)
    assert (
        "libssl3t64 3.5.9-1~deb13u1 → no fix yet  parent layer (debian:trixie-slim)  openssl: test flaw with no fix"
        in libssl
    )
    curl = next(line for line in lines if " curl " in line)
    assert "curl 8.14.1-2+deb13u7 → 8.14.1-2+deb13u7+reactor1  own layer sha256:" in curl
    assert curl.endswith("curl: test flaw fixed in a newer revision")


def test_layer_origin_without_a_layer_or_an_inspectable_parent():
    assert ParentLayers("base", frozenset()).origin(None) == "layer unknown"
    unknown = ParentLayers("base as reactor-test/base:linux-amd64", frozenset(), inspected=False)
    assert (
        unknown.origin("sha256:" + "a" * 64)
        == f"layer sha256:{'a' * 12} (parent base as reactor-test/base:linux-amd64 not inspectable)"
    )


# -- stale acceptances ------------------------------------------------------------------------------


def test_stale_entries_are_those_that_suppressed_nothing():
    report = parse_report(FIXTURES / "image-base-suppressed.json")
    accepted = load_ignore_file(FIXTURES / "suppressing.trivyignore.yaml")
    used = {a.id for a in used_acceptances(accepted, [report])}
    assert used == {"CVE-2099-10001", "DS-0026"}
    stale = stale_acceptances(accepted, [report], {"vulnerabilities", "misconfigurations"}, TODAY)
    assert [a.id for a in stale] == ["CVE-2099-99999"]  # the expired CVE-2099-10002 is reported as expired instead


def test_sections_that_were_not_scanned_are_not_judged():
    report = parse_report(FIXTURES / "image-base-suppressed.json")
    accepted = load_ignore_file(FIXTURES / "suppressing.trivyignore.yaml")
    assert stale_acceptances(accepted, [report], {"misconfigurations"}, TODAY) == []


def test_entries_sharing_an_id_are_told_apart_by_statement():
    report = parse_report(FIXTURES / "image-base-suppressed.json")
    accepted = ignore(
        "vulnerabilities:\n"
        "  - id: CVE-2099-10001\n    statement: accepted for the test\n    expired_at: 2099-01-01\n"
        "  - id: CVE-2099-10001\n    paths: [nowhere]\n    statement: another scope\n    expired_at: 2099-01-01\n"
    )
    assert [a.statement for a in stale_acceptances(accepted, [report], {"vulnerabilities"}, TODAY)] == ["another scope"]


def test_dockerfile_scan_findings_map_to_their_image():
    report = parse_report(FIXTURES / "dockerfiles.json")
    assert {image_of_dockerfile(m.target) for m in report.misconfigurations} == {"go", "node", "python"}
    assert {(s.kind, s.finding_id) for s in report.suppressed} == {("misconfiguration", "DS-0026")}


# -- the parent an image's layers come from ---------------------------------------------------------


def _family(tmp_path: Path) -> Family:
    root = tmp_path / "images"
    for name, text in {
        "base": "ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n",
        "python": "ARG BASE_IMAGE=reactor/base:latest\nFROM ${BASE_IMAGE}\n",
        "tool": "FROM scratch\n",
    }.items():
        (root / name).mkdir(parents=True)
        (root / name / "Dockerfile").write_text(text)
    return Family.discover(root)


def test_the_parent_is_this_runs_local_build_or_the_resolved_os_image(tmp_path):
    family = _family(tmp_path)
    arm64 = Platform("linux", "arm64")
    assert parent_image(family, "python", arm64, {}) == ("base", "reactor-test/base:linux-arm64")
    resolved = {"DEBIAN_IMAGE": "reactor-bootstrap/debian:trixie-slim-arm64"}
    assert parent_image(family, "base", arm64, resolved) == (
        "debian:trixie-slim",
        "reactor-bootstrap/debian:trixie-slim-arm64",
    )
    assert parent_image(family, "tool", arm64, {}) is None


class FakeEngine:
    def __init__(self, images):
        self.images = images

    def inspect_image(self, reference):
        return self.images.get(reference)


def test_inherited_layers_come_from_the_parents_rootfs():
    engine = FakeEngine({"reactor-test/base:linux-amd64": {"RootFS": {"Layers": ["sha256:1", "sha256:2"]}}})
    layers = inherited_layers(engine, ("base", "reactor-test/base:linux-amd64"))
    assert layers == ParentLayers("base", frozenset({"sha256:1", "sha256:2"}))
    gone = inherited_layers(engine, ("base", "reactor-test/base:linux-arm64"))
    assert not gone.inspected
    assert inherited_layers(engine, None) == ParentLayers(None, frozenset())


def test_stale_entries_fail_only_in_strict_mode_on_a_run_that_scanned_everything():
    [entry] = ignore("secrets:\n  - id: github-pat\n    statement: old\n    expired_at: 2099-01-01\n").acceptances
    path = Path(".trivyignore.yaml")
    assert stale_verdict([], path, strict=True, covers_everything=True) == (False, "")
    fails, message = stale_verdict([entry], path, strict=True, covers_everything=True)
    assert fails
    assert message == (
        ".trivyignore.yaml: accepted risks that match nothing in any scanned image (remove them):\n"
        "  secrets: github-pat - old"
    )
    assert not stale_verdict([entry], path, strict=False, covers_everything=True)[0]
    fails, message = stale_verdict([entry], path, strict=True, covers_everything=False)
    assert not fails
    assert message.endswith("so this is a warning only)")
