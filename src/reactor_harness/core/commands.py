"""The one command runner for every external tool (the docker CLI, Trivy, hadolint, mmdebstrap, git).

`run_command` runs an argv (never a shell string) and returns a `CommandResult` carrying the command,
exit status and output; with `on_line` it streams the combined output line by line. A command that
outlives its deadline raises `CommandTimedOut` carrying what it printed so far.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core.errors import HarnessError

__all__ = ["CommandResult", "CommandTimedOut", "assert_failed", "assert_succeeded", "run_command"]

_OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one command: what ran, how it exited, what it printed."""

    command: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str
    duration: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.exit_status == 0

    def describe(self, tail: int = _OUTPUT_TAIL) -> str:
        """The whole result as text for an assertion message (long output keeps its tail)."""
        return (
            f"command: {' '.join(self.command)}\n"
            f"exit status: {self.exit_status} ({self.duration:.1f}s)\n"
            f"--- stdout ---\n{_tail(self.stdout, tail)}\n"
            f"--- stderr ---\n{_tail(self.stderr, tail)}"
        )

    def last_error_line(self) -> str:
        """The last line the command printed (stderr first): the reason a one-line message can give."""
        lines = [line for line in (self.stderr or self.stdout).strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else f"exit {self.exit_status}, no output"


class CommandTimedOut(HarnessError):
    """A command was still running at its deadline and was killed; carries what it printed."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(message)
        self.result = result


def _tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text.rstrip("\n")
    return "[... " + str(len(text) - limit) + " characters cut ...]\n" + text[-limit:].rstrip("\n")


def assert_succeeded(result: CommandResult, what: str = "") -> None:
    """Fail the test with the whole result unless the command exited 0."""
    __tracebackhide__ = True
    if not result.succeeded:
        raise AssertionError(f"{what + ': ' if what else ''}command failed\n{result.describe()}")


def assert_failed(result: CommandResult, what: str = "") -> None:
    """Fail the test with the whole result unless the command exited non-zero."""
    __tracebackhide__ = True
    if result.succeeded:
        raise AssertionError(
            f"{what + ': ' if what else ''}command was expected to fail but exited 0\n{result.describe()}"
        )


def run_command(
    command: Sequence[str],
    *,
    environment: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
    timeout: float | None = 600.0,
    on_line: Callable[[str], None] | None = None,
    cwd: Path | None = None,
) -> CommandResult:
    """Run one external command; a missing binary is exit status 127 with the OS's words in stderr."""
    argv = tuple(command)
    env = dict(os.environ if environment is None else environment)
    started = time.monotonic()
    try:
        if on_line is not None:
            return _run_streaming(argv, env, on_line, timeout, started, cwd)
        completed = subprocess.run(
            argv, input=input_bytes, capture_output=True, timeout=timeout, env=env, check=False, cwd=cwd
        )
    except subprocess.TimeoutExpired as error:
        result = CommandResult(argv, -1, _decode(error.stdout), _decode(error.stderr), time.monotonic() - started)
        raise CommandTimedOut(f"{argv[0]} timed out after {timeout}s\n{result.describe()}", result) from error
    except OSError as error:
        return CommandResult(argv, 127, "", f"cannot run {argv[0]}: {error}", time.monotonic() - started)
    return CommandResult(
        argv, completed.returncode, _decode(completed.stdout), _decode(completed.stderr), time.monotonic() - started
    )


def _run_streaming(
    argv: tuple[str, ...],
    env: dict[str, str],
    on_line: Callable[[str], None],
    timeout: float | None,
    started: float,
    cwd: Path | None = None,
) -> CommandResult:
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        errors="replace",
    )
    timer = threading.Timer(timeout, process.kill) if timeout else None
    if timer:
        timer.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            on_line(line.rstrip("\n"))
        exit_status = process.wait()
    finally:
        if timer:
            timer.cancel()
    output = "".join(lines)
    if timer is not None and exit_status < 0 and time.monotonic() - started >= (timeout or 0):
        output += f"\n[harness] killed after the {timeout}s deadline\n"
    return CommandResult(argv, exit_status, output, "", time.monotonic() - started)


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")
