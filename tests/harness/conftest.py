"""The harness's own tests: no engine needed (fakes stand in for docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is engine-free (fakes stand in for docker), so its passing verdict may be
    replayed while the checkout's files are unchanged (reactor_harness.plugin.replay)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.engine_free)


@pytest.fixture(autouse=True)
def default_local_repository(monkeypatch):
    """The harness's own tests expect the default `reactor-test` tags, whatever the caller's
    REACTOR_LOCAL_REPOSITORY (set for engine-backed runs that share an engine) says."""
    monkeypatch.delenv("REACTOR_LOCAL_REPOSITORY", raising=False)
