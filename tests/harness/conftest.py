"""The harness's own tests: no engine needed (fakes stand in for docker)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def default_local_repository(monkeypatch):
    """The harness's own tests expect the default `reactor-test` tags, whatever the caller's
    REACTOR_LOCAL_REPOSITORY (set for engine-backed runs that share an engine) says."""
    monkeypatch.delenv("REACTOR_LOCAL_REPOSITORY", raising=False)
