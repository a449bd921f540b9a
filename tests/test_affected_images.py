"""`reactor affected` on the real images: the SBOM the gate wrote for base answers for a package base really
installs (its pinned git) and for one it does not, in under 5 s (needs an engine and Trivy)."""

from __future__ import annotations

import io
import json
import time

import pytest

from reactor_harness.cli import main

pytestmark = pytest.mark.always_runs("scans with a vulnerability DB whose age is read against today")


@pytest.mark.image("base")
def test_affected_finds_a_pinned_package_of_base_and_not_an_absent_one(built_image, security_scan, harness_settings):
    """The pinned git is reported at a version matching its pin; emacs is in no image; each answer < 5 s."""
    pin = built_image.dockerfile.pin("GIT_VERSION").value
    answers = {}
    for query in (f"git@{pin}", "emacs"):
        output = io.StringIO()
        started = time.monotonic()
        status = main(["affected", query, "--reports-dir", str(harness_settings.reports_dir), "--json"], output)
        elapsed = time.monotonic() - started
        assert status == 0, output.getvalue()
        assert elapsed < 5, f"reactor affected {query} took {elapsed:.1f} s"
        answers[query] = json.loads(output.getvalue())
    mine = [
        hit
        for hit in answers[f"git@{pin}"]["affected"]
        if hit["image"] == "base"
        and hit["platform"] == str(built_image.platform)
        and hit["package"] == "git"
        and hit["purl"].startswith("pkg:deb/")
    ]
    assert [hit["status"] for hit in mine] == ["version matches"], answers[f"git@{pin}"]
    assert mine[0]["version"].startswith(pin)
    # git-man comes from the same Debian source package, so it is listed too, at a matching version.
    debian = [hit for hit in answers[f"git@{pin}"]["affected"] if hit["purl"].startswith("pkg:deb/")]
    assert {hit["status"] for hit in debian} == {"version matches"}
    assert answers["emacs"]["affected"] == []
