"""`reactor affected`: the images × platforms of the last run that contain a package or are hit by a
vulnerability, answered offline from a recorded run's SBOMs and Trivy reports."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from reactor_harness.checks.security.affected import AffectedError, affected
from reactor_harness.cli import main

RECORDED = Path(__file__).parent.parent / "fixtures" / "affected"


def test_a_package_is_found_per_image_and_platform_with_its_version():
    answer = affected(RECORDED, "curl")
    assert {(hit.image, hit.platform, hit.version) for hit in answer.hits} == {
        ("base", "linux/amd64", "8.14.1-2+deb13u7"),
        ("go", "linux/arm64", "8.14.1-2+deb13u7"),
    }
    assert answer.scanned == ("base (linux/amd64)", "go (linux/arm64)")


def test_a_source_package_finds_the_binaries_built_from_it():
    """`openssl` (a Debian source package) finds libssl3t64, as Trivy's advisories are per source package."""
    hits = affected(RECORDED, "openssl").hits
    assert [(hit.package, hit.source_package) for hit in hits] == [("libssl3t64", "openssl")]


def test_a_pinned_version_is_matched_by_the_pins_rule():
    """`git@1:2.47.3` (the base pin) matches the installed Debian revision; npm's @npmcli/git is another package."""
    hits = affected(RECORDED, "git@1:2.47.3").hits
    by_purl = {hit.purl.rsplit("@", 1)[0]: hit.status for hit in hits}
    assert by_purl["pkg:deb/debian/git"] == "version matches"
    assert by_purl["pkg:npm/@npmcli/git"] == "other version than 1:2.47.3"
    assert affected(RECORDED, "git@1:2.47.4").hits[0].status == "other version than 1:2.47.4"


def test_an_absent_package_is_in_no_image():
    answer = affected(RECORDED, "emacs")
    assert answer.hits == ()
    assert "emacs: in no image of the last run" in answer.text()


def test_a_vulnerability_names_installed_and_fixed_versions_and_acceptance():
    """CVE-2099-10001 (fixed in a newer revision) is active in base and accepted in go; the answer says which."""
    answer = affected(RECORDED, "cve-2099-10001")
    base = [hit for hit in answer.hits if hit.image == "base"]
    assert {hit.package for hit in base} >= {"curl", "libcurl4t64"}
    curl = next(hit for hit in base if hit.package == "curl")
    assert (curl.version, curl.fixed_version) == ("8.14.1-2+deb13u7", "8.14.1-2+deb13u7+reactor1")
    assert curl.status == "affected (installed is below the fix)"
    go = [hit for hit in answer.hits if hit.image == "go"]
    assert go
    assert all(hit.status.startswith("affected, accepted in the ignore file") for hit in go)
    assert "vulnerability DB of the last run: cached in .cache/trivy/db, updated 2026-12-01" in answer.note
    unfixed = affected(RECORDED, "CVE-2099-10002").hits
    assert {hit.status for hit in unfixed if hit.image == "base"} == {"affected, no fix yet"}


def test_an_unknown_vulnerability_hits_nothing():
    assert affected(RECORDED, "CVE-2024-99999").hits == ()


def _cli(*args: str) -> tuple[int, str, str]:
    output, errors = io.StringIO(), io.StringIO()
    status = main(["affected", *args], output, errors)
    return status, output.getvalue(), errors.getvalue()


def test_the_cli_answers_in_text_and_json_quickly():
    started = time.monotonic()
    status, output, _ = _cli("git", "--reports-dir", str(RECORDED), "--json")
    elapsed = time.monotonic() - started
    assert status == 0
    data = json.loads(output)
    assert {hit["image"] for hit in data["affected"]} == {"base"}
    assert elapsed < 5
    status, output, _ = _cli("sudo", "--reports-dir", str(RECORDED))
    assert status == 0
    assert "base (linux/amd64): sudo 1.9.16p2-3+deb13u5" in output


def test_no_reports_and_published_tags_are_errors_naming_the_fix(tmp_path):
    with pytest.raises(AffectedError, match=r"no SBOM in .*security.*run the gate first"):
        affected(tmp_path, "git")
    status, _, errors = _cli("git", "--reports-dir", str(RECORDED), "--repository-prefix", "r.example/reactor")
    assert status == 2
    assert "attaches no SBOM" in errors
