"""Expensive work runs once per run, even with several worker processes asking at the same time."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from reactor_harness.core.errors import BootstrapError
from reactor_harness.core.once import OnceFailed, RunOnce


def _worker(directory: str, counter: str, results: str, index: int) -> None:
    def produce() -> str:
        with open(counter, "a", encoding="utf-8") as handle:
            handle.write("built\n")
        time.sleep(0.3)  # hold the lock while the other workers arrive
        return "image-id-1"

    value = RunOnce(Path(directory)).get("build-base-linux-amd64", produce, str, str)
    with open(results, "a", encoding="utf-8") as handle:
        handle.write(f"{index}:{value}\n")


def test_four_processes_share_one_build(tmp_path):
    """Four workers ask for the same build at once: it runs once and all four get its result."""
    counter, results = tmp_path / "counter", tmp_path / "results"
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(str(tmp_path / "once"), str(counter), str(results), i)) for i in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert counter.read_text().splitlines() == ["built"]
    assert sorted(results.read_text().splitlines()) == [f"{i}:image-id-1" for i in range(4)]


def test_a_failure_is_shared_not_retried(tmp_path):
    """When the first worker's work raises, the others see that error instead of trying again."""
    once = RunOnce(tmp_path)
    calls = []

    def produce() -> str:
        calls.append(1)
        raise BootstrapError("mmdebstrap failed")

    with pytest.raises(BootstrapError):
        once.get("os", produce, str, str)
    with pytest.raises(OnceFailed, match="BootstrapError: mmdebstrap failed"):
        once.get("os", produce, str, str)
    assert calls == [1]


def test_completed_lists_finished_values(tmp_path):
    once = RunOnce(tmp_path)
    once.get("container-base", lambda: "abc", str, str)
    once.get("container-go", lambda: "def", str, str)
    assert once.completed("container-") == ["abc", "def"]


def test_the_guard_under_pytest_xdist(pytester):
    """Under `pytest -n 3`, six tests asking for the same session resource produce it once."""
    pytester.makeconftest(
        """
        import os, pytest
        from reactor_harness.core.once import RunOnce

        @pytest.fixture(scope="session")
        def resource(tmp_path_factory):
            base = tmp_path_factory.getbasetemp()
            shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
            def produce():
                with open(shared / "count", "a") as f:
                    f.write("x")
                return "value"
            return RunOnce(shared / "once").get("resource", produce, str, str), shared
        """
    )
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.parametrize("i", range(6))
        def test_uses(resource, i):
            value, shared = resource
            assert value == "value"
            assert (shared / "count").read_text() == "x"
        """
    )
    result = pytester.runpytest("-n", "3", "-p", "no:pytest11.testinfra")
    result.assert_outcomes(passed=6)
