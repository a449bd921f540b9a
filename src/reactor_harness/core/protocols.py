"""The engine seam's contract: what the harness asks of a container engine, as two typed Protocols.

`core.engine.Engine` (the Docker SDK, plus the CLI for BuildKit builds and terminals) implements both;
the test suite's fake engine implements them too, and one compliance test holds both to the same
assertions (`tests/test_engine_compliance.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from reactor_harness.core.commands import CommandResult

__all__ = ["BuildRequest", "ContainerEngine", "EngineSeam", "ImageEngine"]


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


@runtime_checkable
class ImageEngine(Protocol):
    """Images: build, inspect, tag, move in and out of the engine, remove."""

    def ping(self) -> str:
        """The server version; EngineUnavailable if nothing answers."""
        ...

    def build(self, request: BuildRequest, on_line: Callable[[str], None] | None = None) -> CommandResult:
        """Build one image × platform with BuildKit."""
        ...

    def inspect_image(self, reference: str) -> dict[str, Any] | None:
        """The image's inspect document, or None if there is no such image."""
        ...

    def tag(self, source: str, target: str) -> None:
        """Give an image another reference."""
        ...

    def pull(self, reference: str, platform: str, timeout: float = 120.0) -> CommandResult:
        """Pull one platform of an image; a failed pull is a non-zero result, not an exception."""
        ...

    def save_stream(self, references: Sequence[str]) -> Iterator[bytes]:
        """The images as one `docker save` tarball, chunk by chunk."""
        ...

    def save(self, references: str | Sequence[str], destination: Path) -> None:
        """Write the images' `docker save` tarball to destination."""
        ...

    def load(self, archive: Path) -> None:
        """Load a `docker save` tarball into the engine."""
        ...

    def push(self, reference: str, timeout: float = 3600.0) -> None:
        """Push an image to its registry; EngineCommandError with the registry's words on failure."""
        ...

    def remove_images(self, references: Sequence[str]) -> list[str]:
        """Remove the images that exist (forced); the references removed."""
        ...

    def prune_dangling_images(self, label: str) -> list[str]:
        """Remove untagged images carrying the label; the ids removed."""
        ...


@dataclass(frozen=True)
class ContainerSpec:
    """A container to start: its image and platform, labels, command, network, environment, bind mounts and user."""

    image: str
    platform: str
    labels: Mapping[str, str]
    command: Sequence[str] = ()
    network: str = "none"
    environment: Mapping[str, str] = field(default_factory=dict)
    volumes: Sequence[str] = ()  # `host:container[:options]`, as `docker run -v`
    user: str | None = None

    def run_options(self) -> list[str]:
        """The `docker run` options that start it (the image and its command come after them)."""
        options = ["--platform", self.platform, "--network", self.network]
        for key, value in sorted(self.labels.items()):
            options += ["--label", f"{key}={value}"]
        for key, value in sorted(self.environment.items()):
            options += ["-e", f"{key}={value}"]
        for volume in self.volumes:
            options += ["-v", volume]
        if self.user:
            options += ["--user", self.user]
        return options

    def run_command(self, *leading: str) -> tuple[str, ...]:
        """The whole `docker run` line, with `leading` options (`--rm`, `-it`) first."""
        return ("docker", "run", *leading, *self.run_options(), self.image, *self.command)


@runtime_checkable
class ContainerEngine(Protocol):
    """Containers: start, exec, inspect, copy into, stop, list and remove by label."""

    def run_detached(self, spec: ContainerSpec, *, tty: bool = False) -> str:
        """Start a container in the background (with a pseudo-TTY if asked); its id."""
        ...

    def run_once(self, spec: ContainerSpec, *, timeout: float = 300.0) -> CommandResult:
        """Run the spec's command in a fresh container and remove it; the command's result."""
        ...

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
        """Run argv in a running container; its result (a non-zero exit is a result, not an exception)."""
        ...

    def run_in_shell(
        self, container: str, script: str, *, user: str | None = None, timeout: float = 600.0
    ) -> CommandResult:
        """Run `/bin/sh -c script` in a running container with exactly the result `exec` of it gives (same user,
        environment and working directory, no stdin); an engine may keep a shell open to answer it faster."""
        ...

    def copy_into(self, container: str, source: Path, destination: str) -> None:
        """Copy a host file or folder to `destination` (a path that does not exist yet) in the container."""
        ...

    def container_state(self, container: str) -> dict[str, Any] | None:
        """The container's State document, or None if there is no such container."""
        ...

    def stop(self, container: str, timeout_seconds: int = 10) -> CommandResult:
        """Stop a container (SIGTERM, then SIGKILL after timeout_seconds)."""
        ...

    def logs(self, container: str) -> CommandResult:
        """What the container's main process printed so far."""
        ...

    def containers_with_label(self, label: str) -> list[dict[str, str]]:
        """Every container (running or not) carrying the label (`key` or `key=value`): its id and labels."""
        ...

    def remove_containers(self, ids: Sequence[str]) -> list[str]:
        """Remove the containers (forced, with their anonymous volumes); the ids removed."""
        ...


@runtime_checkable
class EngineSeam(ImageEngine, ContainerEngine, Protocol):
    """The whole seam: images and containers."""
