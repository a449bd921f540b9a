"""The engine seam's Docker SDK half: exec, containers, inspect, image streams, label cleanup, push.

The SDK talks to the engine's socket directly (no process per call). Every call returns the seam's own
types (`CommandResult`, plain dicts); the `command` of a result is the equivalent docker CLI line, so a
failure message reads as a command a person can re-run.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import socket
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.utils import parse_repository_tag
from docker.utils.socket import consume_socket_output, demux_adaptor, frames_iter

from reactor_harness.core.client import SETUP_HINT
from reactor_harness.core.commands import CommandResult
from reactor_harness.core.errors import EngineCommandError, EngineUnavailable
from reactor_harness.core.protocols import ContainerSpec

# The CLI's exit status for "the engine refused" (as `docker run` uses it), for results of refused calls.
ENGINE_REFUSED = 125
# Containers removed at once at the end of a run (each removal waits mostly on the engine's unmounting).
_PARALLEL_REMOVALS = 8


class SdkEngine:
    """Container and image operations through the Docker SDK's low-level API client."""

    def __init__(self, environment: Mapping[str, str], default_timeout: float = 600.0) -> None:
        self._environment = dict(environment)
        self._clients: dict[float | None, docker.APIClient] = {}
        self._default_timeout = default_timeout
        self._shells: dict[tuple[str, str], _Shell] = {}

    @property
    def docker_host(self) -> str:
        """The engine endpoint the SDK talks to."""
        return self._environment.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def api(self, timeout: float | None = None) -> docker.APIClient:
        """An API client whose socket reads give up after `timeout` seconds (one client per deadline). The
        first one asks the engine for its API version; the others reuse the answer (one request each less)."""
        key = self._default_timeout if timeout is None else timeout
        if key not in self._clients:
            version = next(iter(self._clients.values())).api_version if self._clients else "auto"
            try:
                kwargs = docker.utils.kwargs_from_env(environment=self._environment)
                self._clients[key] = docker.APIClient(version=version, timeout=key, **kwargs)
            except DockerException as error:
                where = self.docker_host
                raise EngineUnavailable(f"no container engine answers at {where} ({error}); {SETUP_HINT}") from error
        return self._clients[key]

    def close(self) -> None:
        for shell in self._shells.values():
            shell.close()
        self._shells.clear()
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # -- images -----------------------------------------------------------------------------------
    def server_version(self) -> str:
        return str(self.api(30).version()["Version"])

    def inspect_image(self, reference: str) -> dict[str, Any] | None:
        try:
            details: dict[str, Any] = self.api(60).inspect_image(reference)
        except (ImageNotFound, NotFound):
            return None
        return details

    def tag(self, source: str, target: str) -> None:
        repository, tag = parse_repository_tag(target)
        try:
            self.api(60).tag(source, repository, tag or "latest")
        except APIError as error:
            raise EngineCommandError(f"cannot tag {source} as {target}: {error.explanation}", error) from error

    def pull(self, reference: str, platform: str, timeout: float) -> CommandResult:
        repository, tag = parse_repository_tag(reference)
        command = ("docker", "pull", "--platform", platform, reference)
        started = time.monotonic()
        lines: list[str] = []
        try:
            for event in self.api(timeout).pull(
                repository, tag or "latest", platform=platform, stream=True, decode=True
            ):
                if "error" in event:
                    return CommandResult(command, 1, "\n".join(lines), str(event["error"]), time.monotonic() - started)
                lines.append(str(event.get("status", "")))
        except (APIError, requests.RequestException) as error:
            return CommandResult(command, 1, "\n".join(lines), str(error), time.monotonic() - started)
        return CommandResult(command, 0, "\n".join(lines), "", time.monotonic() - started)

    def save_stream(self, references: Sequence[str], timeout: float = 1800.0) -> Iterator[bytes]:
        """`docker save` of the references as one tarball, streamed (the engine's /images/get)."""
        api = self.api(timeout)
        url = f"{api.base_url}/v{api.api_version}/images/get"
        response = api.get(url, params={"names": list(references)}, stream=True)
        if response.status_code != 200:
            raise EngineCommandError(
                f"cannot save {', '.join(references)}: the engine answered {response.status_code} {response.text}",
                response,
            )
        yield from response.iter_content(chunk_size=1 << 20)

    def load(self, archive: Path, timeout: float = 1800.0) -> None:
        with archive.open("rb") as stream:
            for event in self.api(timeout).load_image(stream):
                if "error" in event:
                    raise EngineCommandError(f"cannot load {archive}: {event['error']}", event)

    def push(self, reference: str, timeout: float) -> None:
        repository, tag = parse_repository_tag(reference)
        for event in self.api(timeout).push(repository, tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise EngineCommandError(f"docker push {reference} failed: {event['error']}", event)

    def remove_images(self, references: Sequence[str]) -> list[str]:
        removed: list[str] = []
        for reference in references:
            try:
                self.api(120).remove_image(reference, force=True)
            except (ImageNotFound, NotFound):
                continue
            except APIError:
                # Two removals of tags of one image id race inside the engine ("unrecognized image ID" from
                # the slower one): the reference being gone is what was asked; one still there is an error.
                if self.inspect_image(reference) is not None:
                    raise
            removed.append(reference)
        return removed

    def prune_dangling_images(self, label: str) -> list[str]:
        """Remove untagged images carrying the label; the ids removed. The engine runs one prune at a time: when
        another run's prune is under way (409), that one removes them, and this one removed nothing."""
        try:
            pruned = self.api(600).prune_images(filters={"dangling": True, "label": label})
        except APIError as error:
            if error.status_code == 409:
                return []
            raise
        return [str(entry.get("Deleted") or entry.get("Untagged")) for entry in pruned.get("ImagesDeleted") or []]

    # -- containers -------------------------------------------------------------------------------
    def create(self, spec: ContainerSpec, *, tty: bool) -> str:
        api = self.api(300)
        host_config = api.create_host_config(network_mode=spec.network, binds=list(spec.volumes) or None)
        try:
            created = api.create_container(
                spec.image,
                command=list(spec.command) or None,
                user=spec.user or "",
                tty=tty,
                environment=dict(spec.environment),
                labels=dict(spec.labels),
                host_config=host_config,
                platform=spec.platform,
            )
        except APIError as error:
            message = f"cannot create a container of {spec.image} ({spec.platform}): {error.explanation}"
            raise EngineCommandError(message, error) from error
        container_id = str(created["Id"])
        try:
            api.start(container_id)
        except APIError as error:
            api.remove_container(container_id, force=True, v=True)
            raise EngineCommandError(f"cannot start a container of {spec.image}: {error.explanation}", error) from error
        return container_id

    def wait_and_remove(self, container_id: str, command: tuple[str, ...], timeout: float) -> CommandResult:
        api = self.api(timeout)
        started = time.monotonic()
        try:
            status = int(api.wait(container_id, timeout=timeout)["StatusCode"])
            stdout = api.logs(container_id, stdout=True, stderr=False).decode("utf-8", errors="replace")
            stderr = api.logs(container_id, stdout=False, stderr=True).decode("utf-8", errors="replace")
        except requests.ConnectionError as error:  # the read deadline passed
            result = CommandResult(command, -1, "", f"still running after {timeout}s", time.monotonic() - started)
            raise EngineCommandError(f"docker run timed out after {timeout}s\n{result.describe()}", result) from error
        finally:
            self.api(300).remove_container(container_id, force=True, v=True)
        return CommandResult(command, status, stdout, stderr, time.monotonic() - started)

    def exec(
        self,
        container: str,
        argv: Sequence[str],
        command: tuple[str, ...],
        *,
        user: str | None,
        workdir: str | None,
        environment: Mapping[str, str] | None,
        input_bytes: bytes | None,
        timeout: float,
    ) -> CommandResult:
        api = self.api(timeout)
        started = time.monotonic()
        try:
            exec_id = api.exec_create(
                container,
                list(argv),
                stdin=input_bytes is not None,
                user=user or "",
                workdir=workdir,
                environment=dict(environment) if environment else None,
            )["Id"]
            if input_bytes is None:
                stdout, stderr = api.exec_start(exec_id, demux=True)
            else:
                stdout, stderr = _exec_with_input(api, exec_id, input_bytes)
            exit_status = api.exec_inspect(exec_id)["ExitCode"]
        except APIError as error:  # no such container, or it is not running
            return CommandResult(command, ENGINE_REFUSED, "", str(error.explanation), time.monotonic() - started)
        except requests.ConnectionError as error:  # the read deadline passed
            result = CommandResult(command, -1, "", f"still running after {timeout}s", time.monotonic() - started)
            raise EngineCommandError(f"docker exec timed out after {timeout}s\n{result.describe()}", result) from error
        return CommandResult(
            command,
            int(exit_status if exit_status is not None else -1),
            (stdout or b"").decode("utf-8", errors="replace"),
            (stderr or b"").decode("utf-8", errors="replace"),
            time.monotonic() - started,
        )

    def run_in_shell(
        self, container: str, script: str, command: tuple[str, ...], *, user: str | None, timeout: float
    ) -> CommandResult:
        """`/bin/sh -c script` in the container, through the shell kept open for (container, user): the result
        an exec of it would give, without the engine's cost of a new exec. A session that cannot be opened or
        has died is replaced once; if that fails too, the script runs as a plain exec (which reports why)."""
        key = (container, user or "")
        started = time.monotonic()
        for _attempt in range(2):
            shell = self._shells.get(key)
            if shell is None:
                try:
                    shell = _Shell.open(self.api(), container, user)
                except (APIError, OSError, requests.RequestException, ShellBroken):
                    break
                self._shells[key] = shell
            try:
                status, stdout, stderr = shell.run(script, timeout)
            except ShellBroken as error:
                self._forget_shell(key)
                if not error.answered:
                    continue
                reason = f"the kept shell's answer could not be read ({error}); the script ran and is not run again"
                return CommandResult(command, -1, "", reason, time.monotonic() - started)
            except TimeoutError as error:
                self._forget_shell(key)
                result = CommandResult(command, -1, "", f"still running after {timeout}s", time.monotonic() - started)
                raise EngineCommandError(
                    f"docker exec timed out after {timeout}s\n{result.describe()}", result
                ) from error
            return CommandResult(
                command,
                status,
                stdout.decode("utf-8", errors="replace"),
                stderr.decode("utf-8", errors="replace"),
                time.monotonic() - started,
            )
        return self.exec(
            container, ["/bin/sh", "-c", script], command, user=user, workdir=None, environment=None,
            input_bytes=None, timeout=timeout,
        )  # fmt: skip

    def _forget_shell(self, key: tuple[str, str]) -> None:
        shell = self._shells.pop(key, None)
        if shell is not None:
            shell.close()

    def copy_into(self, container: str, source: Path, destination: str) -> None:
        target = PurePosixPath(destination)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(str(source), arcname=target.name)
        try:
            self.api(300).put_archive(container, str(target.parent), buffer.getvalue())
        except APIError as error:
            raise EngineCommandError(
                f"cannot copy {source} to {container[:12]}:{destination}: {error.explanation}", error
            ) from error

    def container_state(self, container: str) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = self.api(60).inspect_container(container)["State"]
        except NotFound:
            return None
        return state

    def stop(self, container: str, timeout_seconds: int) -> CommandResult:
        command = ("docker", "stop", "-t", str(timeout_seconds), container)
        started = time.monotonic()
        try:
            self.api(timeout_seconds + 60).stop(container, timeout=timeout_seconds)
        except APIError as error:
            return CommandResult(command, 1, "", str(error.explanation), time.monotonic() - started)
        return CommandResult(command, 0, container, "", time.monotonic() - started)

    def logs(self, container: str) -> CommandResult:
        command = ("docker", "logs", container)
        api = self.api(60)
        try:
            stdout = api.logs(container, stdout=True, stderr=False).decode("utf-8", errors="replace")
            stderr = api.logs(container, stdout=False, stderr=True).decode("utf-8", errors="replace")
        except APIError as error:
            return CommandResult(command, 1, "", str(error.explanation))
        return CommandResult(command, 0, stdout, stderr)

    def containers_with_label(self, label: str) -> list[dict[str, str]]:
        found = self.api(60).containers(all=True, filters={"label": label})
        return [
            {"id": str(entry["Id"]), **{str(k): str(v) for k, v in (entry.get("Labels") or {}).items()}}
            for entry in found
        ]

    def remove_containers(self, ids: Sequence[str]) -> list[str]:
        """Force-remove the containers, several at a time (the engine's unmounting of one does not wait for
        another's); the ids that were there to remove."""
        for key in [key for key in self._shells if key[0] in ids]:
            self._forget_shell(key)
        if not ids:
            return []
        api = self.api(300)

        def remove(container_id: str) -> str | None:
            try:
                api.remove_container(container_id, force=True, v=True)
            except NotFound:
                return None
            return container_id

        with ThreadPoolExecutor(max_workers=min(len(ids), _PARALLEL_REMOVALS)) as pool:
            return [container_id for container_id in pool.map(remove, ids) if container_id]


def _exec_with_input(api: docker.APIClient, exec_id: str, input_bytes: bytes) -> tuple[bytes, bytes]:
    """Start an exec on a raw socket, write input_bytes to its stdin, close it, and read both streams."""
    raw = api.exec_start(exec_id, socket=True)
    sock: socket.socket = getattr(raw, "_sock", raw)
    sock.sendall(input_bytes)
    sock.shutdown(socket.SHUT_WR)
    frames = frames_iter(raw, tty=False)
    output = consume_socket_output((demux_adaptor(*frame) for frame in frames), demux=True)
    raw.close()
    stdout, stderr = output
    return stdout or b"", stderr or b""


class ShellBroken(Exception):
    """The kept shell ended or answered out of protocol: it is dropped. `answered`: part of its answer came
    back, so the script ran and must not run again; otherwise a new shell (or an exec) runs it."""

    def __init__(self, reason: str, *, answered: bool = False) -> None:
        super().__init__(reason)
        self.answered = answered


# The kept shell's protocol. It starts in a private temporary folder (removed when the shell ends); each
# script runs as `/bin/sh -c script` with no stdin and its streams in files, then the shell writes one line
# "<status> <stdout bytes> <stderr bytes>" and both files, so any output, NUL bytes included, comes back whole.
_SHELL_START = b"d=$(mktemp -d) || exit 125; trap 'rm -rf \"$d\"' EXIT\n"
_SHELL_STEP = (
    '[ -d "$d" ] || d=$(mktemp -d) || exit 125; '  # a script may have removed the folder (rm -rf /tmp/*)
    '/bin/sh -c {script} </dev/null >"$d/o" 2>"$d/e"; s=$?; '
    'printf "%s %s %s\\n" "$s" $(wc -c <"$d/o") $(wc -c <"$d/e"); cat "$d/o" "$d/e"\n'
)
_FRAME_HEADER = 8  # the engine's stream framing: stream type, 3 bytes of padding, a 4-byte big-endian length
_STDOUT, _STDERR = 1, 2


class _Shell:
    """One `/bin/sh` exec left running in a container, its stdin taking scripts and its stdout answering."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._socket: socket.socket = getattr(raw, "_sock", raw)
        self._stdout = bytearray()  # bytes of answers read and not consumed yet
        self._stderr = bytearray()  # what the shell itself said on stderr (kept for the error message)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, api: docker.APIClient, container: str, user: str | None) -> _Shell:
        exec_id = api.exec_create(container, ["/bin/sh"], stdin=True, user=user or "")["Id"]
        shell = cls(api.exec_start(exec_id, socket=True))
        try:
            shell._socket.sendall(_SHELL_START)
        except OSError as error:
            shell.close()
            raise ShellBroken(str(error)) from error
        return shell

    def run(self, script: str, timeout: float) -> tuple[int, bytes, bytes]:
        with self._lock:
            self._socket.settimeout(timeout)
            answered = False  # once the answer's first line is in, the script has run
            try:
                self._socket.sendall(_SHELL_STEP.format(script=shlex.quote(script)).encode())
                header = self._line()
                answered = True
                status, out_size, err_size = (int(field) for field in header.split())
                body = self._exactly(out_size + err_size)
            except ValueError:
                raise ShellBroken(f"its answer began {header[:200]!r}", answered=True) from None
            except TimeoutError:
                raise
            except (OSError, ShellBroken) as error:
                raise ShellBroken(str(error), answered=answered) from error
        return status, body[:out_size], body[out_size:]

    def _line(self) -> bytes:
        while (end := self._stdout.find(b"\n")) < 0:
            self._frame()
        line = bytes(self._stdout[:end])
        del self._stdout[: end + 1]
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self._stdout) < size:
            self._frame()
        data = bytes(self._stdout[:size])
        del self._stdout[:size]
        return data

    def _frame(self) -> None:
        header = self._receive(_FRAME_HEADER)
        payload = self._receive(int.from_bytes(header[4:8], "big"))
        if header[0] == _STDERR:
            self._stderr += payload
        else:
            self._stdout += payload

    def _receive(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self._socket.recv(size - len(data))
            if not chunk:
                said = self._stderr.decode("utf-8", errors="replace").strip()
                raise ShellBroken(f"the shell ended{': ' + said if said else ''}")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        """End the shell: its stdin closes, so it exits and its trap removes its folder."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._raw.close()
        with contextlib.suppress(OSError):
            self._socket.close()
