"""Pytest wiring of the caches that survive runs: the results cache, tool caches mounted into test containers,
and the one summary line per problem the caches met (a read-only folder, entries that could not be trusted).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from reactor_harness.core.cache import CacheNotices, ResultCache
from reactor_harness.core.containers import ToolCache
from reactor_harness.core.once import RunOnce
from reactor_harness.plugin.settings import SETTINGS_KEY, HarnessSettings
from reactor_harness.plugin.workers import is_controller

NOTICES_FILE = "cache-notices.jsonl"


def notices_path(once_directory: Path) -> Path:
    """Where the run's workers note cache problems (in the run's shared once folder)."""
    return once_directory / NOTICES_FILE


@pytest.fixture(scope="session")
def results_cache(harness_settings: HarnessSettings, run_once: RunOnce) -> ResultCache:
    """Layer sizes and Trivy scans kept across runs, keyed by content (--no-cache-results: bypassed). Override
    to keep them elsewhere."""
    return ResultCache(
        harness_settings.cache.directory / "results",
        enabled=harness_settings.cache.use_results,
        notices=CacheNotices(notices_path(run_once.directory)),
    )


@pytest.fixture(scope="session")
def tool_caches() -> Mapping[str, tuple[ToolCache, ...]]:
    """Per image, the tool caches its test container mounts from the host (none by default). Override in a
    conftest.py to let an image's work tests keep a toolchain cache across runs; nothing of it enters an image."""
    return {}


class CacheSummary:
    """The controller's summary of cache problems: each one said once, whichever worker met it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        factory = getattr(self.config, "_tmp_path_factory", None)
        if factory is None:
            return
        notices = CacheNotices(notices_path(factory.getbasetemp() / "reactor-once")).read()
        if not notices:
            return
        terminalreporter.section("reactor caches")
        for line in notices:
            terminalreporter.write_line(line, yellow=True)


def pytest_configure(config: pytest.Config) -> None:
    if is_controller(config) and SETTINGS_KEY in config.stash:
        config.pluginmanager.register(CacheSummary(config), "reactor-cache-summary")
