"""The one seam through which the harness talks to the container engine (`protocols.EngineSeam`).

Exec, containers, inspect, image save as a stream, label-based cleanup and registry push go through
the Docker SDK (`core.sdk`: straight to the engine's socket, no process per call). The docker CLI is
used only where the SDK cannot do the job: BuildKit builds with secrets and `--platform` (the SDK's
build is the legacy builder on this 20.10 engine) and the commands a person types on a terminal
(`docker run -it`, `docker exec -it`), which the entry-mode tests run on a pseudo-terminal. Both
return the seam's typed `CommandResult`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reactor_harness.core.client import CLIENT_OVERRIDE_ENV, SETUP_HINT, Client, context_endpoint, find_client
from reactor_harness.core.commands import (
    CommandResult,
    CommandTimedOut,
    assert_failed,
    assert_succeeded,
    run_command,
)
from reactor_harness.core.errors import EngineCommandError, EngineUnavailable
from reactor_harness.core.protocols import BuildRequest, ContainerSpec
from reactor_harness.core.sdk import SdkEngine

# Client discovery lives in core/client.py, results in core/commands.py; these names stay importable here.
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


class Engine:
    """The docker engine: the SDK for containers and images, the CLI for BuildKit builds and terminals."""

    def __init__(
        self, client: Client | None = None, environment: Mapping[str, str] | None = None, sdk_host: str | None = None
    ) -> None:
        self._client = client
        self._environment = dict(os.environ if environment is None else environment)
        sdk_environment = dict(self._environment)
        if sdk_host and not sdk_environment.get("DOCKER_HOST"):
            sdk_environment["DOCKER_HOST"] = sdk_host
        self.sdk = SdkEngine(sdk_environment)

    @classmethod
    def connect(cls) -> Engine:
        """Make sure the engine answers; EngineUnavailable otherwise.

        The SDK reads DOCKER_HOST but not the CLI's contexts: without DOCKER_HOST it is pointed at the
        endpoint of the CLI's current context (read from the CLI's files), so both halves of the seam reach
        the same engine. The CLI itself is found when first needed (`client`): a run that builds nothing
        and types no terminal command starts no docker process.
        """
        engine = cls(sdk_host=context_endpoint(os.environ))
        engine.ping()
        return engine

    @property
    def client(self) -> Client:
        """The docker CLI (for BuildKit builds and terminal commands), found on first use; EngineUnavailable,
        saying what to install, when none can build with BuildKit."""
        if self._client is None:
            self._client = find_client()
        return self._client

    # -- the CLI half -----------------------------------------------------------------------------
    def _cli(
        self,
        *args: str,
        timeout: float | None = 600.0,
        check: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run one docker CLI command through the command runner (only what the SDK cannot do)."""
        try:
            result = run_command(
                (self.client.path, *args), environment=self.client_environment, timeout=timeout, on_line=on_line
            )
        except CommandTimedOut as error:
            raise EngineCommandError(
                f"docker command timed out after {timeout}s\n{error.result.describe()}", error.result
            ) from error
        if check and not result.succeeded:
            raise EngineCommandError(f"docker command failed (exit {result.exit_status})\n{result.describe()}", result)
        return result

    def ping(self) -> str:
        """The server version; EngineUnavailable with the engine's words if nothing answers."""
        try:
            return self.sdk.server_version()
        except EngineUnavailable:
            raise
        except Exception as error:
            words = str(error).strip().splitlines()
            raise EngineUnavailable(
                f"no container engine answers ({words[-1] if words else type(error).__name__}); {SETUP_HINT}"
            ) from error

    def build(self, request: BuildRequest, on_line: Callable[[str], None] | None = None) -> CommandResult:
        """A BuildKit build through the CLI (secrets and --platform need it on a 20.10 engine)."""
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
        return self._cli(*args, timeout=None, on_line=on_line)

    def terminal_run_command(self, spec: ContainerSpec) -> tuple[str, ...]:
        """The `docker run -it --rm` a person types, for a caller that runs it on a pseudo-terminal."""
        return (self.client.path, *spec.run_command("-it", "--rm")[1:])

    def terminal_exec_command(self, container: str, argv: Sequence[str]) -> tuple[str, ...]:
        """The `docker exec -it` a person types, for a caller that runs it on a pseudo-terminal."""
        return (self.client.path, "exec", "-it", container, *argv)

    @property
    def client_environment(self) -> dict[str, str]:
        """The environment the docker CLI runs with (for the terminal commands above): a client older than 23
        builds with its integrated BuildKit only when DOCKER_BUILDKIT=1."""
        environment = dict(self._environment)
        if self.client.build_mode == "integrated":
            environment["DOCKER_BUILDKIT"] = "1"
        return environment

    def socket_path(self) -> str | None:
        """The engine's local unix socket (to mount into a container), or None if DOCKER_HOST is not one."""
        host = self.sdk.docker_host
        return host.removeprefix("unix://") if host.startswith("unix://") else None

    # -- images (SDK) -----------------------------------------------------------------------------
    def inspect_image(self, reference: str) -> dict[str, Any] | None:
        """The image's inspect document (as `docker image inspect` prints it), or None if there is none."""
        return self.sdk.inspect_image(reference)

    def tag(self, source: str, target: str) -> None:
        self.sdk.tag(source, target)

    def pull(self, reference: str, platform: str, timeout: float = 120.0) -> CommandResult:
        return self.sdk.pull(reference, platform, timeout)

    def save_stream(self, references: Sequence[str]) -> Iterator[bytes]:
        return self.sdk.save_stream(references)

    def save(self, references: str | Sequence[str], destination: Path) -> None:
        """Stream the images' tarball to destination (written under a temporary name, then renamed)."""
        names = [references] if isinstance(references, str) else list(references)
        partial = destination.with_name(destination.name + ".partial")
        with partial.open("wb") as out:
            for chunk in self.sdk.save_stream(names):
                out.write(chunk)
        partial.replace(destination)

    def load(self, archive: Path) -> None:
        self.sdk.load(archive)

    def push(self, reference: str, timeout: float = 3600.0) -> None:
        self.sdk.push(reference, timeout)

    def remove_images(self, references: Sequence[str]) -> list[str]:
        return self.sdk.remove_images(references)

    def prune_dangling_images(self, label: str) -> list[str]:
        return self.sdk.prune_dangling_images(label)

    # -- containers (SDK) -------------------------------------------------------------------------
    def run_detached(self, spec: ContainerSpec, *, tty: bool = False) -> str:
        """Start a container in the background (with a pseudo-TTY if asked); its id."""
        return self.sdk.create(spec, tty=tty)

    def run_once(self, spec: ContainerSpec, *, timeout: float = 300.0) -> CommandResult:
        """Run the spec's command in a fresh container and remove it; the command's result. A container that
        cannot start (no such user in the image, say) is a failed result with exit status 125, as `docker run`
        gives."""
        shown = spec.run_command("--rm")
        try:
            container_id = self.sdk.create(spec, tty=False)
        except EngineCommandError as error:
            return CommandResult(shown, 125, "", str(error))
        return self.sdk.wait_and_remove(container_id, shown, timeout)

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
        """Run argv in a running container through the SDK; the result names the equivalent CLI line."""
        shown = ["docker", "exec"] + (["-i"] if input_bytes is not None else [])
        shown += ["--user", user] if user else []
        shown += ["--workdir", workdir] if workdir else []
        for key, value in sorted((environment or {}).items()):
            shown += ["-e", f"{key}={value}"]
        return self.sdk.exec(
            container, argv, (*shown, container, *argv), user=user, workdir=workdir,
            environment=environment, input_bytes=input_bytes, timeout=timeout,
        )  # fmt: skip

    def run_in_shell(
        self, container: str, script: str, *, user: str | None = None, timeout: float = 600.0
    ) -> CommandResult:
        """`/bin/sh -c script` in a running container, as `exec` would run it, through a shell the SDK keeps
        open per container and user (a script costs a round trip, not a new exec)."""
        shown = ("docker", "exec", *(["--user", user] if user else []), container, "/bin/sh", "-c", script)
        return self.sdk.run_in_shell(container, script, shown, user=user, timeout=timeout)

    def copy_into(self, container: str, source: Path, destination: str) -> None:
        self.sdk.copy_into(container, source, destination)

    def container_state(self, container: str) -> dict[str, Any] | None:
        return self.sdk.container_state(container)

    def stop(self, container: str, timeout_seconds: int = 10) -> CommandResult:
        return self.sdk.stop(container, timeout_seconds)

    def logs(self, container: str) -> CommandResult:
        return self.sdk.logs(container)

    def containers_with_label(self, label: str) -> list[dict[str, str]]:
        """Every container (running or not) carrying the label, with its labels."""
        return self.sdk.containers_with_label(label)

    def remove_containers(self, ids: Sequence[str]) -> list[str]:
        return self.sdk.remove_containers(ids)
