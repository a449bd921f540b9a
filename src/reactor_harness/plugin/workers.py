"""Run identity across xdist: which process this is, and the run id every worker shares.

The run id is xdist's own `testrun_uid`: the controller fixes `--testrunuid` before xdist starts its
workers, and each worker reads it back from its `workerinput`, so no hand-made handoff is needed.
Without xdist the run id is a fresh uuid.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest


def worker_id(config: pytest.Config) -> str | None:
    """The xdist worker's id (gw0, ...), or None in the controller or without xdist.

    Read from the config, not $PYTEST_XDIST_WORKER: a pytest run started inside a worker (pytester)
    inherits that variable without being a worker. (xdist's `get_xdist_worker_id` wants a request.)
    """
    worker_input = getattr(config, "workerinput", None)
    return str(worker_input["workerid"]) if worker_input else None


def is_controller(config: pytest.Config) -> bool:
    """True in the xdist controller, or in the only process of a run without xdist."""
    return not hasattr(config, "workerinput")


def run_id(config: pytest.Config) -> str:
    """The run's id, the same in the controller and every worker (xdist's testrun_uid)."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input and worker_input.get("testrunuid"):
        return str(worker_input["testrunuid"])
    chosen = getattr(config.option, "testrunuid", None)
    if not chosen:
        chosen = uuid.uuid4().hex
        if hasattr(config.option, "testrunuid"):  # xdist is active: its workers get this id as testrun_uid
            config.option.testrunuid = chosen
    return str(chosen)


def shared_directory(config: pytest.Config, basetemp: Path) -> Path:
    """The folder every process of the run shares: the parent of a worker's basetemp, or basetemp itself."""
    return basetemp.parent if worker_id(config) else basetemp


def owner_pid(config: pytest.Config) -> int:
    """The process that owns the run's containers: the xdist controller, or this one."""
    return os.getppid() if worker_id(config) else os.getpid()
