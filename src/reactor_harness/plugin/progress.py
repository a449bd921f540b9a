"""Build progress printed past pytest's output capture, so a long build is not silent."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from reactor_harness.plugin.workers import worker_id


def progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """A function that writes one progress line to stderr, prefixed with the worker's id."""
    capture = config.pluginmanager.getplugin("capturemanager")
    worker = worker_id(config)
    prefix = f"[reactor {worker}] " if worker else "[reactor] "

    def emit(line: str) -> None:
        if capture is None:
            sys.stderr.write(prefix + line + "\n")
            return
        with capture.global_and_fixture_disabled():
            sys.stderr.write(prefix + line + "\n")
            sys.stderr.flush()

    return emit
