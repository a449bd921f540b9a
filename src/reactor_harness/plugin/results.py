"""The results channel's pytest side: areas record typed results on their test; the controller announces them.

`record_result` puts an `AreaResult` on the test item's `user_properties`. pytest copies those into each
phase's report and pytest-xdist sends the reports to the controller, so the controller (or the only
process) sees every result in `pytest_runtest_logreport`, with and without xdist, and announces each one
through the `pytest_reactor_area_result` hook (and a build's through `pytest_reactor_build_finished`).
"""

from __future__ import annotations

import pytest

from reactor_harness.plugin.workers import is_controller
from reactor_harness.report.results import AreaResult, ReportError, results_in

# The user property a replayed verdict's reports carry (plugin.replay): JSON naming the run it passed in.
REPLAY_PROPERTY = "reactor_replayed"


def is_replayed(report: pytest.TestReport) -> bool:
    """Whether a test report is a replayed verdict's rather than a run's."""
    return any(name == REPLAY_PROPERTY for name, _ in report.user_properties)


def record_result(node: pytest.Item, result: AreaResult) -> None:
    """Record an area's result for an image × platform on the test that found it."""
    node.user_properties.append(result.to_property())


class ResultsChannel:
    """In the controller: turns the results carried by test reports into hook calls."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Every phase's report carries the item's properties so far; the teardown report carries them all,
        # and every test that started has one, so each result is announced once per test.
        if report.when != "teardown":
            return
        try:
            results = results_in(report.user_properties)
        except ReportError as error:
            report.sections.append(("reactor results", str(error)))
            return
        for result in results:
            self.config.hook.pytest_reactor_area_result(config=self.config, result=result)
            if result.area == "build":
                self.config.hook.pytest_reactor_build_finished(config=self.config, result=result)


def pytest_configure(config: pytest.Config) -> None:
    if is_controller(config):
        config.pluginmanager.register(ResultsChannel(config), "reactor-results-channel")
