"""Cleanup at the end of a run: the controller removes the containers and untagged images the run left."""

from __future__ import annotations

import pytest

from reactor_harness.core.containers import remove_run_containers
from reactor_harness.core.engine import LABEL_HARNESS, Engine, find_client
from reactor_harness.core.errors import EngineUnavailable, HarnessError
from reactor_harness.plugin.settings import SETTINGS_KEY
from reactor_harness.plugin.workers import worker_id


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller removes the containers the run started and the harness images its builds left
    untagged (workers leave both to it). Tagged images stay, for a look after the run and warm rebuilds."""
    if worker_id(session.config):
        return
    settings = session.config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    try:
        engine = Engine(find_client())
    except EngineUnavailable:
        return  # no client, so this run started no container
    try:
        removed = remove_run_containers(engine, settings.run_id)
    except (HarnessError, OSError) as error:
        if reporter is not None:
            reporter.write_line(f"reactor: could not remove the containers of run {settings.run_id}: {error}", red=True)
        return
    if removed and reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(f"reactor: removed {len(removed)} test container(s) of run {settings.run_id}")
    try:
        engine.prune_dangling_images(LABEL_HARNESS)
    except (HarnessError, OSError) as error:
        if reporter is not None:
            message = (
                f"reactor: could not prune the untagged harness images: {error} (`docker image prune` removes them)"
            )
            reporter.write_line(message, red=True)
