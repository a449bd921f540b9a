"""The one seam through which the harness talks to the container engine.

Every engine call (build, run, exec, inspect, save, remove) goes through `Engine.call`, which runs the
docker CLI and returns a `CommandResult` carrying the command, exit status and output. The CLI (not the
SDK) is the seam because BuildKit builds need it: Debian's docker 20.10 client builds with
`DOCKER_BUILDKIT=1`, a modern client through `docker buildx build --load`.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reactor_harness.core.client import CLIENT_OVERRIDE_ENV, SETUP_HINT, Client, find_client
from reactor_harness.core.errors import EngineCommandError, EngineUnavailable

# The client discovery lives in core/client.py; these names stay importable from the engine seam.
__all__ = [
    "CLIENT_OVERRIDE_ENV",
    "LABEL_HARNESS",
    "LABEL_PID",
    "LABEL_RUN",
    "SETUP_HINT",
    "BuildRequest",
    "Client",
    "CommandResult",
    "Engine",
    "assert_failed",
    "assert_succeeded",
    "find_client",
]

# Label keys stamped on everything a run creates, so leftovers can be found and reaped.
LABEL_HARNESS = "org.reactor.harness"
LABEL_RUN = "org.reactor.harness.run"
LABEL_PID = "org.reactor.harness.pid"

_OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one engine command: what ran, how it exited, what it printed."""

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


@dataclass(frozen=True)
class BuildRequest:
    """Everything one `docker build` needs."""

    dockerfile: Path
    context: Path
    tag: str
    platform: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, Path] = field(default_factory=dict)
    network: str = "host"
    target: str | None = None
    no_cache: bool = False  # --no-cache: every step runs again (fresh apt indices, Debian's new revisions)


class Engine:
    """The docker engine, reached through one client binary."""

    def __init__(self, client: Client, environment: Mapping[str, str] | None = None) -> None:
        self.client = client
        self._environment = dict(os.environ if environment is None else environment)
        if client.build_mode == "integrated":
            self._environment["DOCKER_BUILDKIT"] = "1"

    @classmethod
    def connect(cls) -> Engine:
        """Find a client and make sure the engine answers; EngineUnavailable otherwise."""
        engine = cls(find_client())
        engine.ping()
        return engine

    # -- the seam ---------------------------------------------------------------------------------
    def call(
        self,
        *args: str,
        input_bytes: bytes | None = None,
        timeout: float | None = 600.0,
        check: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run one docker CLI command. With on_line, stream combined output line by line to it."""
        command = (self.client.path, *args)
        started = time.monotonic()
        if on_line is None:
            try:
                completed = subprocess.run(
                    command,
                    input=input_bytes,
                    capture_output=True,
                    timeout=timeout,
                    env=self._environment,
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise EngineCommandError(
                    f"docker command timed out after {timeout}s: {' '.join(command)}",
                    CommandResult(
                        command, -1, _decode(error.stdout), _decode(error.stderr), time.monotonic() - started
                    ),
                ) from error
            result = CommandResult(
                command,
                completed.returncode,
                _decode(completed.stdout),
                _decode(completed.stderr),
                time.monotonic() - started,
            )
        else:
            result = self._call_streaming(command, on_line, timeout, started)
        if check and not result.succeeded:
            raise EngineCommandError(f"docker command failed (exit {result.exit_status})\n{result.describe()}", result)
        return result

    def _call_streaming(
        self, command: tuple[str, ...], on_line: Callable[[str], None], timeout: float | None, started: float
    ) -> CommandResult:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._environment,
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
        return CommandResult(command, exit_status, output, "", time.monotonic() - started)

    # -- engine-level operations ------------------------------------------------------------------
    def ping(self) -> str:
        """The server version; EngineUnavailable with the client's words if nothing answers."""
        result = self.call("version", "--format", "{{.Server.Version}}", timeout=30)
        if not result.succeeded or not result.stdout.strip():
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise EngineUnavailable(
                f"no container engine answers ({reason[-1] if reason else 'no output'}); {SETUP_HINT}"
            )
        return result.stdout.strip()

    def build(self, request: BuildRequest, on_line: Callable[[str], None] | None = None) -> CommandResult:
        args: list[str] = ["buildx", "build", "--load"] if self.client.build_mode == "buildx" else ["build"]
        args += ["--progress", "plain", "--platform", request.platform, "--network", request.network]
        args += ["-f", str(request.dockerfile), "-t", request.tag]
        if request.no_cache:
            args.append("--no-cache")
        for key, value in sorted(request.build_args.items()):
            args += ["--build-arg", f"{key}={value}"]
        for key, value in sorted(request.labels.items()):
            args += ["--label", f"{key}={value}"]
        for name, source in sorted(request.secrets.items()):
            args += ["--secret", f"id={name},src={source}"]
        if request.target:
            args += ["--target", request.target]
        args.append(str(request.context))
        return self.call(*args, timeout=None, on_line=on_line)

    def inspect_image(self, reference: str) -> dict[str, Any] | None:
        """`docker image inspect` as a dict, or None if there is no such image."""
        result = self.call("image", "inspect", reference, timeout=60)
        if not result.succeeded:
            return None
        parsed = json.loads(result.stdout)
        return parsed[0] if parsed else None

    def tag(self, source: str, target: str) -> None:
        self.call("tag", source, target, check=True, timeout=60)

    def pull(self, reference: str, platform: str, timeout: float = 120.0) -> CommandResult:
        return self.call("pull", "--platform", platform, reference, timeout=timeout)

    def save(self, reference: str, destination: Path) -> CommandResult:
        return self.call("save", "-o", str(destination), reference, timeout=1800, check=True)

    def load(self, archive: Path) -> CommandResult:
        return self.call("load", "-i", str(archive), timeout=1800, check=True)

    def run_detached(
        self,
        image: str,
        *,
        platform: str,
        labels: Mapping[str, str],
        network: str = "none",
        environment: Mapping[str, str] | None = None,
        volumes: Sequence[str] = (),
        user: str | None = None,
        command: Sequence[str] = (),
        tty: bool = False,
    ) -> str:
        """Start a container in the background (with a pseudo-TTY if asked); its id."""
        options = _run_options(platform, labels, network, environment, volumes, user)
        result = self.call("run", "-d", *(["-t"] if tty else []), *options, image, *command, timeout=300, check=True)
        return result.stdout.strip().splitlines()[-1]

    def run_once(
        self,
        image: str,
        command: Sequence[str],
        *,
        platform: str,
        labels: Mapping[str, str],
        network: str = "none",
        environment: Mapping[str, str] | None = None,
        volumes: Sequence[str] = (),
        user: str | None = None,
        timeout: float = 300.0,
    ) -> CommandResult:
        """Run a command in a fresh container and remove it; the command's result."""
        options = _run_options(platform, labels, network, environment, volumes, user)
        return self.call("run", "--rm", *options, image, *command, timeout=timeout)

    def terminal_run_command(
        self,
        image: str,
        *,
        platform: str,
        labels: Mapping[str, str],
        network: str = "none",
        environment: Mapping[str, str] | None = None,
        volumes: Sequence[str] = (),
        user: str | None = None,
        command: Sequence[str] = (),
    ) -> tuple[str, ...]:
        """The `docker run -it --rm` a person types, for a caller that runs it on a pseudo-terminal."""
        options = _run_options(platform, labels, network, environment, volumes, user)
        return (self.client.path, "run", "-it", "--rm", *options, image, *command)

    def terminal_exec_command(self, container: str, argv: Sequence[str]) -> tuple[str, ...]:
        """The `docker exec -it` a person types, for a caller that runs it on a pseudo-terminal."""
        return (self.client.path, "exec", "-it", container, *argv)

    @property
    def client_environment(self) -> dict[str, str]:
        """The environment the docker CLI runs with (for commands run outside `call`, on a terminal)."""
        return dict(self._environment)

    def exec(
        self,
        container: str,
        argv: Sequence[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
        environment: Mapping[str, str] | None = None,
        input_bytes: bytes | None = None,
        timeout: float = 600.0,
    ) -> CommandResult:
        args = ["exec"]
        if input_bytes is not None:
            args.append("-i")
        if user:
            args += ["--user", user]
        if workdir:
            args += ["--workdir", workdir]
        for key, value in sorted((environment or {}).items()):
            args += ["-e", f"{key}={value}"]
        args.append(container)
        return self.call(*args, *argv, input_bytes=input_bytes, timeout=timeout)

    def copy_into(self, container: str, source: Path, destination: str) -> None:
        self.call("cp", str(source), f"{container}:{destination}", check=True, timeout=300)

    def container_state(self, container: str) -> dict[str, Any] | None:
        result = self.call("container", "inspect", "--format", "{{json .State}}", container, timeout=60)
        if not result.succeeded:
            return None
        state: dict[str, Any] = json.loads(result.stdout)
        return state

    def stop(self, container: str, timeout_seconds: int = 10) -> CommandResult:
        return self.call("stop", "-t", str(timeout_seconds), container, timeout=timeout_seconds + 60)

    def logs(self, container: str) -> CommandResult:
        return self.call("logs", container, timeout=60)

    def containers_with_label(self, label: str) -> list[dict[str, str]]:
        """Every container (running or not) carrying the label, with its labels."""
        result = self.call("ps", "-a", "--filter", f"label={label}", "--format", "{{json .}}", timeout=60, check=True)
        found: list[dict[str, str]] = []
        for line in result.stdout.splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            labels = dict(item.split("=", 1) for item in str(entry.get("Labels", "")).split(",") if "=" in item)
            found.append({"id": str(entry["ID"]), **labels})
        return found

    def remove_containers(self, ids: Sequence[str]) -> CommandResult | None:
        if not ids:
            return None
        return self.call("rm", "-f", "-v", *ids, timeout=300)

    def prune_dangling_images(self, label: str) -> CommandResult:
        return self.call("image", "prune", "-f", "--filter", f"label={label}", timeout=600)


def _run_options(
    platform: str,
    labels: Mapping[str, str],
    network: str,
    environment: Mapping[str, str] | None,
    volumes: Sequence[str],
    user: str | None,
) -> list[str]:
    """The `docker run` options shared by detached and one-shot containers."""
    options = ["--platform", platform, "--network", network]
    for key, value in sorted(labels.items()):
        options += ["--label", f"{key}={value}"]
    for key, value in sorted((environment or {}).items()):
        options += ["-e", f"{key}={value}"]
    for volume in volumes:
        options += ["-v", volume]
    if user:
        options += ["--user", user]
    return options


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")
