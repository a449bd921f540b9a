"""A failed build reported once: the first test that needs it carries the evidence, the others one line.

Across xdist workers, the first test to claim a failed build (through the run's once-per-run guard) fails
with the cause, the failing step, the log path and the log's tail; every other test of that target errors
with one line naming the target, the cause and that first test.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from reactor_harness.build.bootstrap import host_mirrors
from reactor_harness.build.builder import BuildOutcome
from reactor_harness.build.diagnosis import diagnose
from reactor_harness.core.once import RunOnce
from reactor_harness.family.discovery import Family
from reactor_harness.plugin.targets import Target
from reactor_harness.plugin.workers import is_controller
from reactor_harness.report.results import ReportError, results_in

_TAIL_LINES = 8
_LINE_WIDTH = 160
_TOOL_ERROR = re.compile(r"(^|\s)(E: |npm error|error: |curl: \(\d+\)|go: )")
_STEP_PREFIX = re.compile(r"^#\d+ (\d+\.\d+ )?")
_ERROR_LINE = re.compile(r"\b(E: |ERROR|error|FAILED|failed)|Permission denied|No such file|command not found")


def _clip(line: str) -> str:
    flat = " ".join(line.split())
    return flat if len(flat) <= _LINE_WIDTH else flat[: _LINE_WIDTH - 1] + "…"


@dataclass(frozen=True)
class BuildFailure:
    """A failed build's cause in the user's terms and the test that carries its evidence."""

    target: str
    cause: str
    evidence_on: str  # the node id of the test that reports the build in full
    pin: str | None = None  # "ARG NAME=value (Dockerfile:line)" when the cause is a pin

    def to_result(self) -> dict[str, Any]:
        return {"cause": self.cause, "evidence_on": self.evidence_on, "pin": self.pin}

    def fail(self, nodeid: str, outcome: BuildOutcome) -> NoReturn:
        __tracebackhide__ = True
        if nodeid != self.evidence_on:
            where = (self.evidence_on.partition("::")[2] or self.evidence_on).partition("[")[0]
            pytest.fail(f"{self.target} did not build: {self.pin or self.cause[:120]}; see {where}", pytrace=False)
        lines = outcome.log_tail.splitlines()
        # The tool's own error lines (apt's "E:", npm's "npm error") say most; else any line saying error.
        errors = [line for line in lines if _TOOL_ERROR.search(line)] or [
            line for line in lines if _ERROR_LINE.search(line)
        ]
        tail = list(dict.fromkeys(_clip(_STEP_PREFIX.sub("", line)) for line in errors or lines))[-_TAIL_LINES:]
        pytest.fail(
            "\n".join(
                [
                    f"{self.target} did not build: {self.cause}",
                    f"failing step: {_clip(outcome.failed_step or '?')}",
                    f"full log: {outcome.log_path}",
                    "--- the log's error lines (long lines clipped) ---",
                    *tail,
                ]
            ),
            pytrace=False,
        )


def _offered_versions(family: Family, arch: str) -> Any:
    """Versions of a Debian package the images' suite offers for one architecture (the pins' own lookup)."""
    from reactor_harness.updates.collect import debian_suite
    from reactor_harness.updates.deb import DebianArchive

    archive = DebianArchive(debian_suite(family), host_mirrors(), architectures=(arch,))
    return archive.versions


def build_failure(
    request: pytest.FixtureRequest, target: Target, outcome: BuildOutcome, family: Family, once: RunOnce
) -> BuildFailure:
    """The failed build's diagnosis and the test that reports it in full, decided once per run."""

    def diagnosis() -> dict[str, str | None]:
        log = ""
        if outcome.log_path:
            try:
                with open(outcome.log_path, encoding="utf-8", errors="replace") as handle:
                    log = handle.read()
            except OSError:
                log = outcome.log_tail
        arch = target.platform.slug.rsplit("-", 1)[-1]
        found = diagnose(
            log or outcome.log_tail,
            family[target.image].dockerfile,
            outcome.failed_step,
            lambda package: _offered_versions(family, arch)(package),
        )
        return {"cause": found.cause, "pin": found.pin}

    slug = target.platform.slug
    found: dict[str, str | None] = once.get(f"build-cause-{target.image}-{slug}", diagnosis, _same, _same)
    first = once.get(f"build-evidence-{target.image}-{slug}", lambda: request.node.nodeid, str, str)
    return BuildFailure(str(target), str(found["cause"]), first, found.get("pin"))


def _same(value: Any) -> Any:
    return value


def is_secondary_build_error(report: pytest.TestReport) -> bool:
    """A test that errored on a failed build whose full report another test carries."""
    if not report.failed or report.when != "setup":
        return False
    try:
        results = results_in(report.user_properties)
    except ReportError:
        return False
    return any(r.area == "build" and r.data.get("evidence_on") not in (None, report.nodeid) for r in results)


class CondensedBuildErrors:
    """In the terminal, the errors section shows a failed build once; the other tests of it get one line together.

    They still count as errors and are listed, one line each, in pytest's short test summary.
    """

    def __init__(self) -> None:
        self.held: list[pytest.TestReport] = []

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> Generator[None, None, None]:
        errors = terminalreporter.stats.get("error", [])
        self.held = [report for report in errors if is_secondary_build_error(report)]
        if self.held:
            terminalreporter.stats["error"] = [report for report in errors if report not in self.held]
        return (yield)


class RestoreBuildErrors:
    """Puts the held errors back between the errors section and the short summary (plain hooks run there)."""

    def __init__(self, condensed: CondensedBuildErrors) -> None:
        self.condensed = condensed

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        held = self.condensed.held
        if not held:
            return
        terminalreporter.stats.setdefault("error", []).extend(held)
        targets = sorted({str(report.longrepr).partition(" did not build")[0] for report in held})
        terminalreporter.write_line(
            f"reactor: {len(held)} more tests errored because {', '.join(targets)} did not build (evidence above)",
            yellow=True,
        )


def pytest_configure(config: pytest.Config) -> None:
    if is_controller(config):
        condensed = CondensedBuildErrors()
        config.pluginmanager.register(condensed, "reactor-condensed-build-errors")
        config.pluginmanager.register(RestoreBuildErrors(condensed), "reactor-restore-build-errors")
