"""Expensive work once per test run, even when pytest-xdist runs several worker processes.

The first worker to ask for a key takes a file lock, does the work and writes the result as JSON;
every other worker waits on the lock and reads that file (the pytest-xdist how-to's pattern).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, Timeout

from reactor_harness.core.errors import HarnessError, WaitTimeout

T = TypeVar("T")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class OnceFailed(HarnessError):
    """The worker that did the work raised; every other worker sees the same error."""


class RunOnce:
    """A directory shared by the run's workers, holding one lock and one result per key."""

    def __init__(self, directory: Path, lock_timeout_seconds: float = 4 * 3600) -> None:
        self.directory = directory
        self.lock_timeout_seconds = lock_timeout_seconds
        directory.mkdir(parents=True, exist_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        safe = _UNSAFE.sub("_", key)
        return self.directory / f"{safe}.lock", self.directory / f"{safe}.json"

    def result_path(self, key: str) -> Path:
        return self._paths(key)[1]

    def get(
        self,
        key: str,
        produce: Callable[[], T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> T:
        """The value for key: produced here if no worker did yet, else read from its result file."""
        lock_path, result_path = self._paths(key)
        try:
            with FileLock(str(lock_path), timeout=self.lock_timeout_seconds):
                if result_path.exists():
                    record = json.loads(result_path.read_text(encoding="utf-8"))
                    if "error" in record:
                        raise OnceFailed(f"{key}: {record['error']}")
                    return decode(record["value"])
                try:
                    value = produce()
                except HarnessError as error:
                    _write(result_path, {"error": f"{type(error).__name__}: {error}"})
                    raise
                _write(result_path, {"value": encode(value)})
                return value
        except Timeout as error:
            raise WaitTimeout(
                f"waited {self.lock_timeout_seconds:.0f}s for another worker to finish {key!r} (lock {lock_path}); "
                "a worker may have hung: look at its build log in the reports folder"
            ) from error

    def completed(self, prefix: str) -> list[Any]:
        """The values of every finished key starting with prefix (for end-of-run cleanup and reports)."""
        values: list[Any] = []
        for path in sorted(self.directory.glob(f"{_UNSAFE.sub('_', prefix)}*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            if "value" in record:
                values.append(record["value"])
        return values


def _write(path: Path, record: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
    temporary.replace(path)
