"""pytest glue for the run report: the image × platform matrix in pytest-html, evidence on failures.

Loaded by the harness plugin. Workers tag each test with its image and platform (JUnit properties) and
attach the target's evidence to a failing test; the controller, which sees every worker's reports,
counts outcomes per target, listens to the areas' results (the `pytest_reactor_area_result` hook), puts the
matrix at the top of the HTML report, and writes the gate summary (reports/summary.json).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from pytest_html import extras  # type: ignore[import-untyped]

from reactor_harness.core.errors import FamilyError
from reactor_harness.core.revision import git_revision
from reactor_harness.family.discovery import Family
from reactor_harness.plugin.outcomes import is_not_applicable
from reactor_harness.plugin.results import is_replayed
from reactor_harness.plugin.settings import SETTINGS_KEY, HarnessSettings
from reactor_harness.plugin.workers import is_controller
from reactor_harness.report.evidence import evidence_html
from reactor_harness.report.gate import GATE_SUMMARY_FILE, gate_summary, vulnerability_db_used, write_gate_summary
from reactor_harness.report.matrix import CheckTally, MatrixRow, gate_headline, matrix_rows, render_matrix
from reactor_harness.report.results import AREAS, AreaResult, ReportError, merge_results, results_in
from reactor_harness.report.run_record import RunRecord, write_run_record

IMAGE_PROPERTY = "reactor_image"
PLATFORM_PROPERTY = "reactor_platform"
_RANK = {"passed": 0, "not_applicable": 0, "skipped": 1, "failed": 2, "error": 3}
_EVIDENCE_ATTACHED = pytest.StashKey[bool]()


def _settings(config: pytest.Config) -> HarnessSettings | None:
    return config.stash.get(SETTINGS_KEY, None)


def _reports_dir(config: pytest.Config) -> Path | None:
    settings = _settings(config)
    return None if settings is None else Path(settings.reports_dir)


def pytest_configure(config: pytest.Config) -> None:
    if is_controller(config):
        config.pluginmanager.register(RunReport(config), "reactor-run-report")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Tag an image check with its image and platform (kept in the report and in the JUnit XML)."""
    target = getattr(item, "callspec", None) and item.callspec.params.get("target")  # type: ignore[attr-defined]
    if target is not None and hasattr(target, "image") and hasattr(target, "platform"):
        item.user_properties.append((IMAGE_PROPERTY, str(target.image)))
        item.user_properties.append((PLATFORM_PROPERTY, str(target.platform)))


def target_of(report: pytest.TestReport) -> tuple[str, str] | None:
    """The (image, platform) a test report belongs to, or None for a test of no image.

    Read from the properties set at collection (they travel with xdist's reports), not parsed from the
    test id, where another parameter may look like a target (`[base-linux/amd64-speed]`).
    """
    properties = {str(pair[0]): str(pair[1]) for pair in report.user_properties if len(pair) == 2}
    if IMAGE_PROPERTY in properties and PLATFORM_PROPERTY in properties:
        return properties[IMAGE_PROPERTY], properties[PLATFORM_PROPERTY]
    return None


def _areas_for(item: pytest.Item, areas: dict[str, dict[str, Any]]) -> list[str]:
    """Which areas' evidence explains this failure: the test's own area, and a build that did not pass."""
    wanted: list[str] = []
    build = areas.get("build")
    # A failed build's evidence goes on the one test that reports it in full, not on every test of the target.
    if build is not None and str(build.get("status")) != "passed" and build.get("evidence_on") in (None, item.nodeid):
        wanted.append("build")
    module_area = Path(str(item.fspath)).stem.removeprefix("test_")
    if module_area in AREAS and module_area in areas and module_area not in wanted:
        wanted.append(module_area)
    return wanted


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    if not report.failed or item.stash.get(_EVIDENCE_ATTACHED, False):
        return report
    target = target_of(report)
    if target is None:
        return report
    try:
        areas = merge_results(results_in(item.user_properties)).get(target, {})
    except ReportError as error:
        report.sections.append(("reactor evidence", str(error)))
        return report
    wanted = _areas_for(item, areas)
    if not wanted:
        return report
    evidence = [extras.html(evidence_html(area, areas[area])) for area in wanted]
    report.extras = [*getattr(report, "extras", []), *evidence]  # type: ignore[attr-defined]  # pytest-html reads it
    item.stash[_EVIDENCE_ATTACHED] = True  # one phase carries the evidence, not setup, call and teardown
    return report


def _short_name(nodeid: str) -> str:
    """`tests/test_sizes.py::test_budget[base-linux/amd64]` -> `test_sizes.py::test_budget[base-linux/amd64]`."""
    path, _, rest = nodeid.partition("::")
    return f"{Path(path).name}::{rest}" if rest else nodeid


def _family_order(config: pytest.Config) -> list[str]:
    settings = _settings(config)
    if settings is None:
        return []
    try:
        return Family.discover(Path(settings.images_dir)).build_order
    except FamilyError:
        return []


class RunReport:
    """The controller's view of the run: outcomes per target, then the matrix and the gate summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, tuple[tuple[str, str], str]] = {}
        self.results: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.rows: list[MatrixRow] = []
        self.exit_status: int | None = None
        self.skip_reasons: dict[tuple[tuple[str, str], str], str] = {}
        self.replayed: set[str] = set()  # node ids whose verdict was replayed (plugin.replay), not run

    def pytest_reactor_area_result(self, config: pytest.Config, result: AreaResult) -> None:
        """Merge each area's result into its target's row."""
        merge_results([result], into=self.results)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep each image check's worst outcome (an error in teardown outranks a pass)."""
        target = target_of(report)
        if target is None:
            return
        if report.skipped and is_not_applicable(report):
            outcome = "not_applicable"
        elif report.when == "call":
            outcome = "skipped" if report.skipped else ("failed" if report.failed else "passed")
        elif report.failed:
            outcome = "error"
        elif report.skipped:
            outcome = "skipped"
        else:
            return
        if report.skipped:
            self._note_skip(report, target)
        previous = self.outcomes.get(report.nodeid)
        if previous is None or _RANK[outcome] > _RANK[previous[1]]:
            self.outcomes[report.nodeid] = (target, outcome)
        if report.when == "call" and is_replayed(report):
            self.replayed.add(report.nodeid)

    def _note_skip(self, report: pytest.TestReport, target: tuple[str, str]) -> None:
        """Remember why an area's test skipped, so its matrix cell says why the area did not run."""
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        area = Path(report.nodeid.partition("::")[0]).stem.removeprefix("test_")
        for name in {area, "build"} & set(AREAS):
            self.skip_reasons.setdefault((target, name), reason)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Merge the results and outcomes into the matrix; write the gate summary (before pytest-html renders)."""
        reports_dir = _reports_dir(self.config)
        if reports_dir is None:
            return
        tallies: dict[tuple[str, str], CheckTally] = {}
        for nodeid, (target, outcome) in sorted(self.outcomes.items()):
            tallies.setdefault(target, CheckTally()).add(outcome, _short_name(nodeid), replayed=nodeid in self.replayed)
        for (target, area), reason in self.skip_reasons.items():
            if target in tallies and area not in self.results.get(target, {}):
                self.results.setdefault(target, {})[area] = {"status": "skipped", "reason": reason}
        self.exit_status = int(exitstatus)
        self.rows = matrix_rows(self.results, tallies, _family_order(self.config))
        settings = _settings(self.config)
        run_id = settings.run_id if settings is not None else ""
        commit = git_revision(settings.root) if settings is not None else None
        summary = gate_summary(
            self.rows, int(exitstatus), run_id, commit=commit, vulnerability_db=vulnerability_db_used(reports_dir)
        )
        write_gate_summary(reports_dir, summary)
        # The whole matrix, for `reactor report merge` of the per-platform runs (report.run_record).
        images = (settings.selected_images if settings is not None else None) or _family_order(self.config)
        record = RunRecord(
            run_id=run_id,
            commit=commit,
            exit_status=int(exitstatus),
            reports_dir=str(reports_dir),
            platforms=tuple(str(platform) for platform in settings.platforms) if settings is not None else (),
            images=tuple(images),
            rows=tuple(self.rows),
        )
        write_run_record(reports_dir, record)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = "Reactor images: test report"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        """The matrix opens the report's summary."""
        prefix.insert(0, render_matrix(self.rows, exit_status=int(session.exitstatus)))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        reports_dir = _reports_dir(self.config)
        if reports_dir is not None and self.rows:
            for line in gate_headline(self.rows, self.exit_status):
                terminalreporter.write_line(f"reactor: {line}")
            terminalreporter.write_line(f"reactor: gate summary {reports_dir / GATE_SUMMARY_FILE}")
