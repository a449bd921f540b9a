"""The report tells what the real areas measured: a run of the real size and security areas on the real base
image fills the matrix and summary.json with the values of the size table and of Trivy's own JSON, and a
scan without a vulnerability DB says so in its cell and in the header instead of calling the target clean.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from reactor_harness.build.builder import local_tag
from reactor_harness.report.matrix import format_bytes
from report_browser import MatrixReader, chromium, chromium_run
from trivydb import Advisory, write_trivy_db

pytestmark = pytest.mark.reads_images("base")  # the nested runs check base as tagged, with Trivy and Chromium

REPOSITORY = Path(__file__).parent.parent

SIZES = """
import pytest

@pytest.mark.image("base")
def test_measured(image_sizes):
    assert image_sizes.compressed_bytes > 0
"""

SECURITY = """
import pytest

@pytest.mark.image("base")
def test_scanned(security_scan):
    assert security_scan.report.results is not None
"""

# Unfixed advisories on source packages base really installs: Trivy reports each as affected.
ADVISORIES = [
    Advisory("CVE-2099-20001", "curl", "HIGH", "curl: report test flaw"),
    Advisory("CVE-2099-20002", "openssl", "CRITICAL", "openssl: report test flaw"),
    Advisory("CVE-2099-20003", "sudo", "MEDIUM", "sudo: report test flaw"),
]


@pytest.fixture
def suite(pytester, monkeypatch, engine):
    """A folder holding only report-area tests, run against the repository's real images."""
    for name in ("CI", "REACTOR_PLATFORMS", "REACTOR_IMAGES"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def run(pytester, reports: Path, trivy_cache: Path, *files: str):
    return pytester.runpytest_subprocess(
        "-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", "--images", "base",
        "--images-dir", str(REPOSITORY / "images"), "--reports-dir", str(reports),
        "--trivy-cache-dir", str(trivy_cache), "--skip-vuln-db-update",
        "--trivy-ignorefile", str(REPOSITORY / ".trivyignore.yaml"), *files,
    )  # fmt: skip


def matrix_cells(report_html: Path, browser: str, profile: Path) -> tuple[list[str], list[str]]:
    """The header lines and the base row's cells as Chromium renders the report."""
    dom = chromium_run(browser, profile, "--dump-dom", report_html.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    reader = MatrixReader()
    reader.feed(dom.stdout)
    assert len(reader.rows) == 1, reader.rows
    return reader.header, reader.rows[0][2]


def trivy_counts(report: Path) -> tuple[dict[str, int], int, int]:
    """Vulnerabilities by severity, secrets and failed misconfigurations, read from Trivy's JSON itself."""
    results = json.loads(report.read_text(encoding="utf-8")).get("Results", [])
    severities = Counter(v["Severity"] for r in results for v in r.get("Vulnerabilities", []))
    secrets = sum(len(r.get("Secrets", [])) for r in results)
    failed = sum(1 for r in results for m in r.get("Misconfigurations", []) if m.get("Status") == "FAIL")
    return dict(severities), secrets, failed


def test_without_a_vulnerability_db_the_report_says_what_was_not_checked(suite, tmp_path, harness_settings):
    """No DB: the vulnerability cell and the header say "no vulnerability DB"; no target is called clean."""
    browser = chromium(harness_settings)
    suite.makepyfile(test_security=SECURITY)
    result = run(suite, tmp_path / "reports", tmp_path / "trivy", "test_security.py")
    result.assert_outcomes(passed=1)
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))
    assert summary["vulnerability_db"]["available"] is False
    assert "no Trivy vulnerability DB" in summary["vulnerability_db"]["detail"]
    (target,) = summary["targets"]
    assert target["clean"] is False
    assert "vulnerabilities (no vulnerability DB)" in target["not_checked"]
    assert target["security"]["vulnerabilities_not_run"] == "no vulnerability DB"
    header, cells = matrix_cells(tmp_path / "reports" / "report.html", browser, tmp_path / "profile")
    assert header[0].endswith("0 of 1 targets clean"), header
    native = harness_settings.native
    assert (
        f"not checked on base {native}: sizes (no test of the area ran); vulnerabilities (no vulnerability DB)"
        in header
    )
    assert cells[4] == "not run no vulnerability DB"
    assert cells[3] == "not run no test of the area ran"


def test_the_matrix_and_summary_carry_what_the_areas_measured(suite, tmp_path, harness_settings, engine):
    """Sizes equal the size table, vulnerability/secret/misconfig counts equal Trivy's JSON, ids equal the engine's."""
    browser = chromium(harness_settings)
    write_trivy_db(tmp_path / "trivy", ADVISORIES)
    suite.makepyfile(test_sizes=SIZES, test_security=SECURITY)
    reports = tmp_path / "reports"
    result = run(suite, reports, tmp_path / "trivy")
    result.assert_outcomes(passed=2)
    native = harness_settings.native
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    (target,) = summary["targets"]
    head = subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert summary["commit"] == head.stdout.strip()
    assert summary["vulnerability_db"]["available"] is True
    assert summary["vulnerability_db"]["version"] == 2
    assert 0 <= summary["vulnerability_db"]["age_hours"] < 1
    assert target["image_id"] == (engine.inspect_image(local_tag("base", native)) or {}).get("Id")

    # Sizes: the matrix and summary.json against the size table the sizes area wrote.
    table_row = next(line for line in (reports / "sizes.md").read_text().splitlines() if line.startswith("| base |"))
    cells_md = [cell.strip() for cell in table_row.strip("|").split("|")]
    compressed_mb, budget_mb, uncompressed_mb = float(cells_md[2]), float(cells_md[3]), float(cells_md[4])
    sizes = target["sizes"]
    assert round(sizes["compressed_bytes"] / 1e6, 1) == compressed_mb
    assert round(sizes["uncompressed_bytes"] / 1e6, 1) == uncompressed_mb
    assert sizes["budget_bytes"] / 1e6 == budget_mb
    growth = re.search(r"\(([+-]\d+\.\d)%\)", cells_md[5])
    assert growth, f"the committed baseline has base {native}: {table_row}"
    assert f"{sizes['growth_percent']:+.1f}" == growth.group(1)

    # Security: the summary against Trivy's JSON, counted here from the file itself.
    severities, secrets, misconfigurations = trivy_counts(Path(target["security"]["report"]))
    # One finding per binary package built from the advised source package (curl, libcurl4t64, ...).
    assert set(severities) == {"HIGH", "CRITICAL", "MEDIUM"}, severities
    assert target["security"]["vulnerabilities"] == severities
    assert target["security"]["secrets"] == secrets
    assert target["security"]["misconfigurations"] == misconfigurations
    assert {f["id"] for f in target["security"]["gated_findings"]} == {"CVE-2099-20001", "CVE-2099-20002"}
    assert target["not_checked"] == []
    assert target["checks"] == {"passed": 2, "failed": 0, "skipped": 0, "errors": 0}

    header, cells = matrix_cells(reports / "report.html", browser, tmp_path / "profile")
    assert header == ["Gate failed: 0 of 1 targets clean"], "two gated findings fail the security area"
    assert cells[3].startswith(f"{format_bytes(sizes['compressed_bytes'])} / {format_bytes(sizes['budget_bytes'])} ")
    assert f"({growth.group(1)}%) vs baseline" in cells[3]
    assert f"uncompressed {format_bytes(sizes['uncompressed_bytes'])}" in cells[3]
    assert cells[4] == (
        f"C {severities['CRITICAL']} · H {severities['HIGH']} · M {severities['MEDIUM']} · L 0 accepted 0"
    )
    gated = target["security"]["misconfigurations_blocking"]
    assert cells[5] == f"secrets {secrets} misconfig {misconfigurations} ({gated} gated)"
    assert cells[6] == "2 passed"

    screenshot = tmp_path / "screenshots" / "report-matrix.png"
    screenshot.parent.mkdir()
    shot = chromium_run(browser, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1400,900",
                        (reports / "report.html").as_uri())  # fmt: skip
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000, "the screenshot is (nearly) empty"
