"""Cleanup at the end of a run: the controller removes the containers and untagged images the run left.

The removal starts first in the controller's sessionfinish and runs while the reports are written; the
terminal summary (or, with no terminal, unconfigure) waits for it and says what it removed. Workers leave
all of it to the controller.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reactor_harness.core.client import context_endpoint
from reactor_harness.core.containers import remove_run_containers
from reactor_harness.core.engine import LABEL_HARNESS, Engine
from reactor_harness.core.errors import EngineUnavailable, HarnessError
from reactor_harness.plugin.settings import SETTINGS_KEY
from reactor_harness.plugin.workers import worker_id


@dataclass
class Cleanup:
    """The run's cleanup under way: its thread, and the lines (text, whether red) it has to say."""

    run_id: str
    lines: list[tuple[str, bool]] = field(default_factory=list)
    thread: threading.Thread | None = None

    def clean(self, engine: Engine) -> None:
        """Remove the run's containers, then prune the untagged harness images; every outcome becomes a line."""
        try:
            removed = remove_run_containers(engine, self.run_id)
        except (HarnessError, OSError) as error:
            self.lines.append((f"reactor: could not remove the containers of run {self.run_id}: {error}", True))
            return
        if removed:
            self.lines.append((f"reactor: removed {len(removed)} test container(s) of run {self.run_id}", False))
        try:
            engine.prune_dangling_images(LABEL_HARNESS)
        except (HarnessError, OSError) as error:
            message = (
                f"reactor: could not prune the untagged harness images: {error} (`docker image prune` removes them)"
            )
            self.lines.append((message, True))

    def start(self, engine: Engine) -> None:
        def run() -> None:
            try:
                self.clean(engine)
            except Exception as error:  # a bug here must still be said, not lost in a thread
                self.lines.append((f"reactor: the cleanup of run {self.run_id} failed: {error!r}", True))

        self.thread = threading.Thread(target=run, name="reactor-cleanup")
        self.thread.start()

    def finish(self, reporter: pytest.TerminalReporter | None) -> None:
        """Wait for the cleanup and say what it did (on the terminal, if there is one)."""
        if self.thread is not None:
            self.thread.join()
        if reporter is None:
            return
        for text, red in self.lines:
            reporter.ensure_newline()
            reporter.write_line(text, red=red)


CLEANUP_KEY = pytest.StashKey[Cleanup]()


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """The controller starts removing the containers the run started and the harness images its builds left
    untagged, before any other plugin's sessionfinish writes its report. Tagged images stay, for a look after
    the run and warm rebuilds."""
    _start_cleanup(session.config)
    return (yield)


def _start_cleanup(config: pytest.Config) -> None:
    if worker_id(config):
        return
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return
    cleanup = Cleanup(settings.run_id)
    config.stash[CLEANUP_KEY] = cleanup
    try:
        engine = Engine(sdk_host=context_endpoint(os.environ))
    except EngineUnavailable as error:
        cleanup.lines.append((f"reactor: could not look for the containers of run {settings.run_id}: {error}", True))
        return
    socket = engine.socket_path()
    if socket is not None and not Path(socket).exists():
        return  # no local engine, so this run started no container
    cleanup.start(engine)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    _finish(config, terminalreporter)


def pytest_unconfigure(config: pytest.Config) -> None:
    _finish(config, None)  # a run without a terminal reporter still waits for its cleanup


def _finish(config: pytest.Config, reporter: pytest.TerminalReporter | None) -> None:
    cleanup = config.stash.get(CLEANUP_KEY, None)
    if cleanup is not None:
        del config.stash[CLEANUP_KEY]
        cleanup.finish(reporter)
