"""`reactor review`: the weekly page from the gate summaries of several runs.

The logic is checked on small summaries written here; the page is checked on the gate summaries of three
real runs (tests/fixtures/review: base built and measured, its size varied between runs), rendered by
headless Chromium.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reactor_harness.cli import main
from reactor_harness.report.review import ReviewError, load_runs, review
from report_browser import chromium, chromium_run

REAL_RUNS = Path(__file__).parent.parent / "fixtures" / "review"


def summary(generated: str, *, status: str, seconds: float, size: int, findings: list[str], expires: str) -> dict:
    security = {
        "vulnerabilities": {"HIGH": len(findings)},
        "gated_findings": [{"id": f, "severity": "HIGH", "package": "curl", "installed": "1", "fixed": "2"}
                           for f in findings],
        "acceptances": [{"id": "CVE-1", "section": "vulnerabilities", "expired_at": expires, "statement": "why"}],
    }  # fmt: skip
    target = {
        "image": "base",
        "platform": "linux/amd64",
        "build": {"status": status, "duration_seconds": seconds},
        "sizes": {"compressed_bytes": size, "budget_bytes": 200_000_000},
        "security": security,
    }
    return {"generated": generated, "commit": "abc", "passed": status == "passed", "targets": [target]}


def write(folder: Path, name: str, data: dict) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "summary.json").write_text(json.dumps(data))


def test_the_review_compares_the_runs(tmp_path):
    """Success rate, new vs open findings, expiring acceptances and growth over 20% come from the runs."""
    write(tmp_path, "a", summary("2026-11-01T00:00:00", status="passed", seconds=100, size=100_000_000,
                                 findings=["CVE-A"], expires="2026-12-20"))  # fmt: skip
    write(tmp_path, "b", summary("2026-11-02T00:00:00", status="failed", seconds=100, size=110_000_000,
                                 findings=["CVE-A"], expires="2026-12-20"))  # fmt: skip
    write(tmp_path, "c", summary("2026-11-03T00:00:00", status="passed", seconds=300, size=125_000_000,
                                 findings=["CVE-A", "CVE-B"], expires="2026-12-20"))  # fmt: skip
    data = review(load_runs([tmp_path], last=10), dt.date(2026, 12, 2))
    assert data.success_rate == pytest.approx(2 / 3)
    assert [(f.id, f.new) for f in data.findings] == [("CVE-A", False), ("CVE-B", True)]
    assert [(e.id, e.days_left) for e in data.expiring] == [("CVE-1", 18)]
    assert [h.target for h in data.grown] == [("base", "linux/amd64")]
    assert [h.target for h in data.unstable_durations] == [("base", "linux/amd64")]
    assert [run.generated for run in load_runs([tmp_path], last=2)] == ["2026-11-02T00:00:00", "2026-11-03T00:00:00"]


def test_no_summary_is_a_clear_error(tmp_path):
    """A folder without summaries names the folder and how to get them."""
    output, errors = io.StringIO(), io.StringIO()
    assert main(["review", str(tmp_path), "--output", str(tmp_path / "r.html")], output, errors) == 2
    assert "no summary.json under" in errors.getvalue()
    assert "gh run download" in errors.getvalue()
    with pytest.raises(ReviewError, match="no such file or folder"):
        load_runs([tmp_path / "missing"], last=3)


class PageReader(HTMLParser):
    """What a browser rendered: the charts' aria labels, the metric cards' values, the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[str] = []
        self.polylines = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "svg":
            self.charts.append(attributes.get("aria-label") or "")
        elif tag == "polyline":
            self.polylines += 1

    def handle_data(self, data):
        self.text.append(data)


def test_the_page_of_three_real_runs_shows_the_size_chart_and_the_key_figures(tmp_path, harness_settings):
    """Three real runs' summaries: the page renders in Chromium with the size chart and the three metric figures."""
    browser = chromium(harness_settings)
    runs = sorted(REAL_RUNS.glob("*/summary.json"))
    assert len(runs) >= 3, f"{REAL_RUNS} should hold the summaries of at least three real runs"
    artifacts = tmp_path / "artifacts"
    shutil.copytree(REAL_RUNS, artifacts)  # as `gh run download` leaves them: one folder per run
    page = tmp_path / "review.html"
    output = io.StringIO()
    assert main(["review", str(artifacts), "--output", str(page), "--today", "2026-12-02"], output) == 0
    printed = output.getvalue()
    assert f"{len(runs)} runs" in printed
    dom = chromium_run(browser, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    reader = PageReader()
    reader.feed(dom.stdout)
    assert {"compressed size against budget", "build success rate", "vulnerability count", "build duration"} <= set(
        reader.charts
    )
    assert reader.polylines >= 4
    text = " ".join(" ".join(reader.text).split())
    for figure in ("build success rate", "build duration stable", "open HIGH/CRITICAL"):
        assert figure in text
    assert "budget base 200 MB" in text
    summaries = [json.loads(path.read_text())["targets"][0] for path in runs]
    sizes = [target["sizes"]["compressed_bytes"] for target in summaries if "sizes" in target]  # not: build failed
    assert sizes[-1] != sizes[0], "the real runs should vary the image so the trend moves"
    grew = (sizes[-1] - sizes[0]) / sizes[0] > 0.2
    assert ("Grew more than 20% over the window: base linux/amd64" in text) == grew
    if any(target["build"]["status"] != "passed" for target in summaries):
        assert "failed" in text
    shot = tmp_path / "review.png"
    result = chromium_run(
        browser, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1300,1600", page.as_uri()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) empty"
