"""The run report: the areas' results merge into the image × platform matrix, which opens the HTML report
and renders in a real browser; failures carry their evidence; the gate summary says what passed."""

from __future__ import annotations

import json

import pytest

from reactor_harness.report.gate import gate_summary
from reactor_harness.report.matrix import CheckTally, format_bytes, matrix_rows, render_matrix
from reactor_harness.report.results import AreaResult, ReportError, merge_results, results_in
from report_browser import MatrixReader, chromium, chromium_run

# -- the library ----------------------------------------------------------------------------------


def test_results_merge_keys_from_several_tests():
    """Two tests of one area each add keys to the same target's result; neither loses the other's."""
    first = AreaResult("base", "linux/amd64", "sizes", {"compressed_bytes": 1, "status": "passed"})
    second = AreaResult("base", "linux/amd64", "sizes", {"layers": [], "status": "failed"})
    merged = merge_results([first, second])
    assert merged == {("base", "linux/amd64"): {"sizes": {"compressed_bytes": 1, "layers": [], "status": "failed"}}}


def test_a_result_travels_as_a_user_property_and_back():
    """What a worker records on its test is what the controller reads from the test's report."""
    result = AreaResult("base", "linux/arm64", "build", {"status": "passed", "duration_seconds": 41.5})
    properties = [("reactor_image", "base"), result.to_property()]
    assert results_in(properties) == [result]


@pytest.mark.parametrize(
    ("image", "platform", "area", "message"),
    [
        ("base", "linux/amd64", "speed", "unknown result area 'speed'"),
        ("base", "amd64", "build", "not of the form os/arch"),
        ("reactor/base", "linux/amd64", "build", "must be a family image name"),
    ],
)
def test_a_malformed_result_is_refused_naming_the_fix(image, platform, area, message):
    with pytest.raises(ReportError, match=message):
        AreaResult(image, platform, area, {})


def test_a_result_that_is_not_json_is_refused():
    with pytest.raises(ReportError, match="not JSON-serialisable"):
        AreaResult("base", "linux/amd64", "build", {"when": object()}).to_property()


def test_an_unreadable_result_property_is_refused_naming_it():
    with pytest.raises(ReportError, match="unreadable result property"):
        results_in([("reactor_result", "{not json")])


def test_missing_areas_render_as_not_run_and_rows_follow_the_family_order():
    tally = CheckTally()
    tally.add("passed", "test_a")
    rows = matrix_rows(
        {("python", "linux/amd64"): {"build": {"status": "passed", "duration_seconds": 83.4}}},
        {("base", "linux/amd64"): tally},
        image_order=["base", "python"],
    )
    assert [(row.image, row.platform) for row in rows] == [("base", "linux/amd64"), ("python", "linux/amd64")]
    html = render_matrix(rows, exit_status=0)
    assert html.count("not run") == 4 + 4  # base: all areas but its checks; python: all but its build
    assert "1m 23s" in html


def test_the_gate_fails_when_any_target_is_not_clean():
    clean, dirty = CheckTally(), CheckTally()
    clean.add("passed", "test_a")
    dirty.add("failed", "test_b")
    rows = matrix_rows({}, {("base", "linux/amd64"): clean, ("base", "linux/arm64"): dirty})
    summary = gate_summary(rows, exit_status=0, run_id="r1")
    assert summary["passed"] is False
    assert [target["ok"] for target in summary["targets"]] == [True, False]


def test_sizes_print_in_decimal_units_as_docker_does():
    assert [format_bytes(512), format_bytes(152_340_000), format_bytes(None)] == ["512 B", "152.3 MB", "—"]


# -- a whole run, through the plugin --------------------------------------------------------------

CONFTEST = """
import pytest
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

@pytest.fixture(autouse=True)
def _build_result(request):
    # stands in for the built_image fixture, which records each build's outcome the same way
    target = request.node.callspec.params.get("target") if hasattr(request.node, "callspec") else None
    if target is not None:
        record_result(request.node, AreaResult(target.image, str(target.platform), "build",
                      {"status": "passed", "duration_seconds": 95.0 if target.platform.arch == "arm64" else 41.0}))
"""

SIZES = """
import pytest
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

pytestmark = pytest.mark.family
BUDGET = 200_000_000

def test_image_fits_its_budget(target, request):
    compressed = {"amd64": 151_200_000, "arm64": 233_900_000}[target.platform.arch]
    record_result(request.node, AreaResult(target.image, str(target.platform), "sizes", {
        "status": "passed" if compressed < BUDGET else "failed",
        "compressed_bytes": compressed, "uncompressed_bytes": compressed * 3, "budget_bytes": BUDGET,
        "baseline_compressed_bytes": 150_000_000,
        "layers": [{"size_bytes": 98_000_000, "created_by": "RUN apt-get install git docker-cli"}],
    }))
    assert compressed < BUDGET, f"{target}: {compressed} bytes compressed, budget {BUDGET}"
"""

SECURITY = """
import pytest
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

pytestmark = pytest.mark.family

def test_no_high_or_critical_findings(target, request):
    record_result(request.node, AreaResult(target.image, str(target.platform), "security", {
        "status": "passed", "vulnerabilities": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 3, "LOW": 11},
        "accepted": {"HIGH": 1}, "secrets": 0, "misconfigurations": 0, "findings": [],
    }))
"""

CONTRACT = """
import pytest

pytestmark = pytest.mark.family

def test_runs_as_claude(target):
    pass

def test_tools_on_path(target):
    pass

@pytest.mark.parametrize("name", ["tiny-linux/amd64-lookalike"])
def test_not_an_image_check(name):
    pass  # its id looks like a target's, but it checks no image: the matrix must not count it
"""


@pytest.fixture
def fake_suite(pytester, monkeypatch):
    """A repository with one image, and checks that record summaries as the real areas do (no engine)."""
    for name in ("CI", "REACTOR_PLATFORMS", "REACTOR_IMAGES"):
        monkeypatch.delenv(name, raising=False)
    image = pytester.path / "images" / "tiny"
    image.mkdir(parents=True)
    (image / "Dockerfile").write_text("FROM scratch\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sizes=SIZES, test_security=SECURITY, test_contract=CONTRACT)
    # A summary file left by an earlier harness version's run must not reach this run's matrix.
    leftover = pytester.path / "reports" / "summary" / "ghost-linux-amd64.build.json"
    leftover.parent.mkdir(parents=True)
    leftover.write_text(json.dumps({"image": "ghost", "platform": "linux/amd64", "area": "build", "data": {}}))
    return pytester


def run_suite(pytester, *args):
    return pytester.runpytest(
        "-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", "-p", "reactor_harness.plugin.report", *args
    )


@pytest.fixture
def finished_run(fake_suite):
    """The fake suite run under xdist for both platforms: arm64 is over its size budget."""
    result = run_suite(fake_suite, "-n", "2", "--platform", "all")
    result.assert_outcomes(passed=8, failed=1)
    return fake_suite.path / "reports"


def test_every_run_writes_the_report_the_junit_and_the_gate_summary(finished_run):
    """A plain `pytest -n 2` leaves report.html (matrix first), junit.xml (targets as properties), summary.json."""
    html = (finished_run / "report.html").read_text(encoding="utf-8")
    assert html.index('id="reactor-matrix"') < html.index('id="results-table"'), "the matrix must open the report"
    assert "ghost" not in html, "a summary of an earlier run leaked into this run's matrix"
    junit = (finished_run / "junit.xml").read_text(encoding="utf-8")
    assert '<property name="reactor_platform" value="linux/arm64"' in junit
    gate = json.loads((finished_run / "summary.json").read_text(encoding="utf-8"))
    assert gate["passed"] is False
    assert gate["exit_status"] == 1
    by_platform = {target["platform"]: target for target in gate["targets"]}
    assert by_platform["linux/amd64"]["ok"] is True
    assert by_platform["linux/arm64"]["checks"] == {"passed": 3, "failed": 1, "skipped": 0, "errors": 0}
    assert "layers" not in by_platform["linux/arm64"]["sizes"], "bulky evidence belongs in the report, not the gate"


def test_a_failure_carries_its_areas_evidence(finished_run):
    """The size failure shows the layer breakdown in its details; passing tests carry none."""
    html = (finished_run / "report.html").read_text(encoding="utf-8")
    assert html.count("sizes evidence") == 1
    assert "RUN apt-get install git docker-cli" in html


def test_the_matrix_renders_in_a_browser(finished_run, tmp_path, harness_settings):
    """Headless Chromium shows one matrix row per image × platform with the right results, and a screenshot."""
    browser = chromium(harness_settings)
    page = (finished_run / "report.html").as_uri()
    dom = chromium_run(browser, tmp_path / "profile", "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    reader = MatrixReader()
    reader.feed(dom.stdout)
    assert [(image, platform) for image, platform, _ in reader.rows] == [
        ("tiny", "linux/amd64"),
        ("tiny", "linux/arm64"),
    ]
    amd64, arm64 = (cells for _, _, cells in reader.rows)
    assert amd64[2:] == [
        "passed 41s",
        "151.2 MB / 200.0 MB +1.2 MB (+0.8%) vs baseline uncompressed 453.6 MB",
        "C 0 · H 0 · M 3 · L 11 accepted 1",
        "secrets 0 misconfig 0",
        "4 passed",
    ]
    assert arm64[2].startswith("passed 1m 35s")
    assert arm64[3].startswith("233.9 MB / 200.0 MB")
    assert arm64[6] == "3 passed · 1 failed test_sizes.py::test_image_fits_its_budget[tiny-linux/arm64]"
    assert reader.result_rows >= 9, "pytest-html's own results table did not render (its script failed?)"

    screenshot = tmp_path / "screenshots" / "report-matrix.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = chromium_run(browser, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1400,900", page)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000, "the screenshot is (nearly) empty"


LISTENER = """
import json
import pytest
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

SEEN = []

def pytest_reactor_area_result(config, result):
    SEEN.append([result.image, result.platform, result.area, dict(result.data)])

def pytest_reactor_build_finished(config, result):
    SEEN.append(["build-finished", result.image, result.platform])

def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):
        (session.config.rootpath / "seen.json").write_text(json.dumps(sorted(SEEN)))
"""

RECORDING = """
import pytest
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

pytestmark = pytest.mark.family

def test_records(target, request):
    record_result(request.node, AreaResult(target.image, str(target.platform), "build", {"status": "passed"}))
    record_result(request.node, AreaResult(target.image, str(target.platform), "sizes", {"compressed_bytes": 7}))
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["without xdist", "with -n 2"])
def test_results_reach_the_controller_the_same_way_with_and_without_xdist(pytester, monkeypatch, workers):
    """Each recorded result reaches the controller's hook listeners once, with and without xdist."""
    for name in ("CI", "REACTOR_PLATFORMS", "REACTOR_IMAGES"):
        monkeypatch.delenv(name, raising=False)
    (pytester.path / "images" / "tiny").mkdir(parents=True)
    (pytester.path / "images" / "tiny" / "Dockerfile").write_text("FROM scratch\n")
    pytester.makeconftest(LISTENER)
    pytester.makepyfile(test_recording=RECORDING)
    result = pytester.runpytest("-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", "--platform", "all", *workers)
    result.assert_outcomes(passed=2)
    seen = json.loads((pytester.path / "seen.json").read_text())
    assert seen == sorted(
        [
            ["build-finished", "tiny", "linux/amd64"],
            ["build-finished", "tiny", "linux/arm64"],
            ["tiny", "linux/amd64", "build", {"status": "passed"}],
            ["tiny", "linux/amd64", "sizes", {"compressed_bytes": 7}],
            ["tiny", "linux/arm64", "build", {"status": "passed"}],
            ["tiny", "linux/arm64", "sizes", {"compressed_bytes": 7}],
        ]
    )


def test_a_target_with_a_skipped_check_is_not_clean_and_its_summary_cannot_pass():
    """A skipped check (the vulnerability gate without a DB, say) is not a pass: the row is not ok and the
    gate summary does not pass; a check that does not apply (not_applicable) does not block."""
    skipped = CheckTally()
    skipped.add("passed", "test_a")
    skipped.add("skipped", "test_no_unaccepted_high_or_critical_vulnerability")
    rows = matrix_rows({}, {("base", "linux/amd64"): skipped})
    assert not rows[0].ok
    assert not gate_summary(rows, exit_status=0, run_id="r")["passed"]
    not_applying = CheckTally()
    not_applying.add("passed", "test_a")
    not_applying.add("not_applicable", "test_dlv_stops_at_a_breakpoint")
    assert matrix_rows({}, {("go", "linux/arm64"): not_applying})[0].ok


def test_a_not_applicable_skip_is_told_from_a_real_one(tmp_path):
    """The report reads the reason's prefix that plugin.outcomes.not_applicable puts on the skip."""
    from types import SimpleNamespace

    from reactor_harness.plugin.outcomes import NOT_APPLICABLE, is_not_applicable

    applies_not = SimpleNamespace(longrepr=("t.py", 3, f"Skipped: {NOT_APPLICABLE}no Debian pin of its own"))
    gap = SimpleNamespace(longrepr=("t.py", 3, "Skipped: no Trivy vulnerability DB"))
    assert is_not_applicable(applies_not)
    assert not is_not_applicable(gap)


def test_the_header_never_calls_a_target_clean_when_an_area_did_not_run():
    """No vulnerability DB, a skipped area, a failed build: each target says what was not checked, none is clean."""
    results = {
        ("base", "linux/amd64"): {
            "build": {"status": "passed"},
            "sizes": {"status": "passed", "compressed_bytes": 1, "budget_bytes": 2},
            "security": {
                "status": "passed",
                "secrets": 0,
                "misconfigurations": 0,
                "vulnerabilities_not_run": "no vulnerability DB",
            },
        },
        ("base", "linux/arm64"): {"build": {"status": "skipped", "reason": "no binfmt handler qemu-aarch64"}},
        ("go", "linux/amd64"): {"build": {"status": "failed"}},
    }
    tallies = {key: CheckTally(passed=1) for key in results}
    rows = matrix_rows(results, tallies, ["base", "go"])
    assert [row.clean for row in rows] == [False, False, False]
    assert rows[0].unchecked == ["vulnerabilities (no vulnerability DB)"]
    assert rows[1].unchecked[0] == "build (no binfmt handler qemu-aarch64)"
    assert rows[2].unchecked == ["every area (the build failed)"]
    html = render_matrix(rows, exit_status=1)
    assert "0 of 3 targets clean" in html
    assert "not checked on base linux/amd64: vulnerabilities (no vulnerability DB)" in html
    assert 'not run</div><div class="detail">no vulnerability DB' in html
    summary = gate_summary(rows, 1, "run", commit="abc123")
    assert summary["commit"] == "abc123"
    assert summary["targets"][0]["not_checked"] == ["vulnerabilities (no vulnerability DB)"]
    assert summary["vulnerability_db"] == {"available": False, "detail": "no image was scanned in this run"}
