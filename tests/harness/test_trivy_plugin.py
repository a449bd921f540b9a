"""The security gate's pytest wiring, exercised with pytester and a fake Trivy: options, the DB skip/fail rules."""

from __future__ import annotations

import stat

import pytest

from trivydb import write_trivy_db

NEEDS_DB = """
from reactor_harness.plugin.security import skip_unless_vulnerability_db

MAX_AGE_HOURS = 48  # the policy file's default (this tiny suite has no images/policy.toml)

def test_needs_the_db(vulnerability_db, security_settings):
    skip_unless_vulnerability_db(vulnerability_db, security_settings, MAX_AGE_HOURS)

def test_needs_it_too(vulnerability_db, security_settings):
    skip_unless_vulnerability_db(vulnerability_db, security_settings, MAX_AGE_HOURS)
"""


@pytest.fixture
def suite(pytester, monkeypatch):
    """A tiny repository with an ignore file, two checks needing the DB, and a Trivy that cannot download."""
    # PYTEST_XDIST_WORKER too: inherited from an outer xdist run, it would make the inner runs share one
    # once-per-run folder (the outer worker's), and so each other's results.
    for name in (
        "CI",
        "REACTOR_PLATFORMS",
        "REACTOR_IMAGES",
        "REACTOR_TRIVY_CACHE_DIR",
        "REACTOR_IGNORE_UNFIXED",
        "PYTEST_XDIST_WORKER",
    ):
        monkeypatch.delenv(name, raising=False)
    images = pytester.path / "images" / "base"
    images.mkdir(parents=True)
    (images / "Dockerfile").write_text("ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n")
    (pytester.path / ".trivyignore.yaml").write_text("vulnerabilities: []\n")
    pytester.makepyfile(test_db=NEEDS_DB)
    calls = pytester.path / "trivy-calls.log"
    trivy = pytester.path / "fake-trivy"
    trivy.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{calls}"\n'
        'if [ "$1" = "--version" ]; then echo \'{"Version":"0.76.0"}\'; exit 0; fi\n'
        'echo "FATAL failed to download vulnerability DB: lookup: no such host" >&2; exit 1\n'
    )
    trivy.chmod(trivy.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("REACTOR_TRIVY", str(trivy))
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", *args)


def downloads(pytester) -> int:
    log = pytester.path / "trivy-calls.log"
    return sum("--download-db-only" in line for line in log.read_text().splitlines()) if log.exists() else 0


def test_options_sit_in_their_own_group(suite):
    result = run(suite, "--help")
    result.stdout.fnmatch_lines(["Reactor security gate (Trivy):", "*--ignore-unfixed*", "*--require-vuln-db*"])
    result.stdout.fnmatch_lines(["*--skip-vuln-db-update*", "*--trivy-ignorefile*", "*--trivy-cache-dir*"])


def test_a_missing_db_skips_with_the_precise_reason(suite):
    result = run(suite, "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*no Trivy vulnerability DB: none cached in *db (trivy.db + metadata.json)*"])
    result.stdout.fnmatch_lines(["*downloading it failed: FATAL failed to download vulnerability DB*"])


def test_strict_mode_alone_still_skips(suite, monkeypatch):
    """CI=true without --require-vuln-db: a CI without internet access cannot have the DB."""
    monkeypatch.setenv("CI", "true")
    result = run(suite, "-rs")
    result.assert_outcomes(skipped=2)


@pytest.mark.parametrize("ci", ["", "true"])
def test_require_vuln_db_turns_the_skip_into_a_failure(suite, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    result = run(suite, "--require-vuln-db")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*no Trivy vulnerability DB*[[]--require-vuln-db: the vulnerability gate must run[]]*"]
    )


def test_a_cached_db_is_used(suite):
    write_trivy_db(suite.path / ".cache" / "trivy", [])
    result = run(suite, "--require-vuln-db")
    result.assert_outcomes(passed=2)
    assert downloads(suite) == 0


@pytest.mark.parametrize("refresh", ["--skip-vuln-db-update", "failing-download"])
def test_a_db_past_the_policys_max_age_fails_require_vuln_db_naming_its_age(suite, refresh):
    """A months-old DB (a restored CI cache whose refresh failed) does not satisfy --require-vuln-db."""
    import datetime as dt

    write_trivy_db(suite.path / ".cache" / "trivy", [], now=dt.datetime.now(dt.UTC) - dt.timedelta(days=90))
    options = ["--skip-vuln-db-update"] if refresh == "--skip-vuln-db-update" else []
    result = run(suite, "--require-vuln-db", *options)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*the vulnerability DB is too old: *, 21?? h old; the policy allows 48 h*"])
    run(suite, *options).assert_outcomes(passed=2)  # without --require-vuln-db the old DB is still used


def test_skip_vuln_db_update_never_downloads(suite):
    result = run(suite, "-rs", "--skip-vuln-db-update")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*and updates are off*"])
    assert downloads(suite) == 0


def test_the_download_is_tried_once_per_run_across_workers(suite):
    result = run(suite, "-n", "2")
    result.assert_outcomes(skipped=2)
    assert downloads(suite) == 1


def test_no_trivy_skips_locally_and_fails_in_strict_mode(suite, monkeypatch):
    monkeypatch.setenv("REACTOR_TRIVY", str(suite.path / "nowhere" / "trivy"))
    run(suite, "-rs").stdout.fnmatch_lines(["*no Trivy found (*nowhere/trivy (absent))*"])
    monkeypatch.setenv("CI", "true")
    run(suite).assert_outcomes(errors=2)


def test_a_missing_ignore_file_fails_the_checks_that_read_it(suite):
    """Without the ignore file the gate cannot tell accepted risks: the tests that read it fail, naming it."""
    suite.makepyfile(test_risks="def test_reads_the_risks(accepted_risks):\n    pass\n")
    result = run(suite, "test_risks.py", "--trivy-ignorefile", "missing.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--trivy-ignorefile *missing.yaml: no such file; commit a .trivyignore.yaml*"])
