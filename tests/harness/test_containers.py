"""Containers: readiness with a deadline, and reaping only what an interrupted run left behind."""

from __future__ import annotations

import os

import pytest

from reactor_harness.core.containers import reap_leftovers, remove_run_containers, run_labels, wait_until
from reactor_harness.core.engine import LABEL_HARNESS, LABEL_PID, LABEL_RUN
from reactor_harness.core.errors import WaitTimeout

DEAD_PID = "999999999"


class FakeEngine:
    """Answers `docker ps --filter label=...` from a fixed list, and records removals."""

    def __init__(self, containers):
        self.containers = containers
        self.removed: list[str] = []

    def containers_with_label(self, label):
        key, _, value = label.partition("=")
        return [c for c in self.containers if key in c and (not value or c[key] == value)]

    def remove_containers(self, ids):
        self.removed.extend(ids)


def container(container_id, **labels):
    return {"id": container_id, **labels}


@pytest.fixture
def engine():
    return FakeEngine(
        [
            container("mine", **{LABEL_HARNESS: "container", LABEL_RUN: "now", LABEL_PID: str(os.getpid())}),
            container("orphan", **{LABEL_HARNESS: "container", LABEL_RUN: "old", LABEL_PID: DEAD_PID}),
            container("concurrent", **{LABEL_HARNESS: "container", LABEL_RUN: "other", LABEL_PID: str(os.getpid())}),
            # A user's own container of a harness-built image inherits only the image's labels.
            container("users", **{LABEL_HARNESS: "image"}),
        ]
    )


def test_only_containers_of_dead_runs_are_reaped(engine):
    assert reap_leftovers(engine, current_run="now") == ["orphan"]
    assert engine.removed == ["orphan"]


def test_the_run_removes_its_own_containers_only(engine):
    assert remove_run_containers(engine, "now") == ["mine"]


def test_run_labels_name_the_owner():
    assert run_labels("abc", 42) == {LABEL_HARNESS: "container", LABEL_RUN: "abc", LABEL_PID: "42"}


def test_wait_until_returns_the_ready_state():
    states = iter([(False, "starting"), (True, "running")])
    assert wait_until(lambda: next(states), timeout=5, interval=0, what="x") == "running"


def test_wait_until_times_out_with_the_last_state_and_a_hint():
    with pytest.raises(WaitTimeout, match=r"registry not ready after 0s; last state seen: HTTP 503; look at its log"):
        wait_until(lambda: (False, "HTTP 503"), timeout=0, interval=0, what="registry", hint="look at its log")
