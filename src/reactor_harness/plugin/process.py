"""The pytest process itself: what lives as long as the run is kept out of the garbage collector's walks.

The imported modules (the Docker SDK, testinfra, pytest's plugins, the harness) and the collected tests
stay until the process ends, yet every full collection walks them: Python's own as the run allocates,
and the five pytest runs at the end (`gc_collect_harder`, to surface unraisable exceptions). On the
benchmark's run that was ~125 ms of a 2 s process. `gc.freeze()` moves what exists at configure time,
and again once collection is done, to the permanent generation; what a test creates is collected as
before, so the end-of-run collections still find what they look for.
"""

from __future__ import annotations

import gc

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    gc.freeze()  # every plugin is imported by now


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()  # the collected items, their fixtures' definitions and the test modules
