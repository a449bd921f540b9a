"""An in-memory engine for the harness's own tests: images and containers as data, a few programs to exec.

Test-only, and held to the same contract as the real engine: `tests/test_engine_compliance.py` runs
one set of assertions against this fake and the Docker SDK engine, so a test that passes on the fake
is not passing on behaviour the real engine lacks.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reactor_harness.core.commands import CommandResult
from reactor_harness.core.errors import EngineCommandError
from reactor_harness.core.protocols import BuildRequest, ContainerSpec


@dataclass
class FakeContainer:
    """One container of the fake engine."""

    image: str
    labels: dict[str, str]
    environment: dict[str, str]
    user: str
    running: bool = True
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class FakeEngine:
    """Implements `EngineSeam` in memory; `images` maps a reference to its inspect document."""

    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    builds: list[BuildRequest] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)

    # -- images -------------------------------------------------------------------------------------
    def ping(self) -> str:
        return "fake"

    def build(self, request: BuildRequest, on_line: Callable[[str], None] | None = None) -> CommandResult:
        self.builds.append(request)
        self.images[request.tag] = {"Id": f"sha256:{uuid.uuid4().hex}", "Os": "linux", "Architecture": "amd64"}
        if on_line:
            on_line("#1 DONE 0.0s")
        return CommandResult(("docker", "build", "-t", request.tag), 0, "#1 DONE 0.0s\n", "")

    def inspect_image(self, reference: str) -> dict[str, Any] | None:
        return self.images.get(reference)

    def tag(self, source: str, target: str) -> None:
        if source not in self.images:
            raise EngineCommandError(f"cannot tag {source} as {target}: No such image: {source}", source)
        self.images[target] = self.images[source]

    def pull(self, reference: str, platform: str, timeout: float = 120.0) -> CommandResult:
        found = reference in self.images
        return CommandResult(("docker", "pull", reference), 0 if found else 1, "", "" if found else "not found")

    def save_stream(self, references: Sequence[str]) -> Iterator[bytes]:
        missing = [reference for reference in references if reference not in self.images]
        if missing:
            raise EngineCommandError(f"cannot save {', '.join(missing)}: no such image", missing)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            manifest = repr([{"RepoTags": [reference]} for reference in references]).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            archive.addfile(info, io.BytesIO(manifest))
        yield buffer.getvalue()

    def save(self, references: str | Sequence[str], destination: Path) -> None:
        names = [references] if isinstance(references, str) else list(references)
        destination.write_bytes(b"".join(self.save_stream(names)))

    def load(self, archive: Path) -> None:
        if not tarfile.is_tarfile(archive):
            raise EngineCommandError(f"cannot load {archive}: not a tar archive", archive)

    def push(self, reference: str, timeout: float = 3600.0) -> None:
        if reference not in self.images:
            raise EngineCommandError(f"docker push {reference} failed: no such image", reference)
        self.pushed.append(reference)

    def remove_images(self, references: Sequence[str]) -> list[str]:
        return [reference for reference in references if self.images.pop(reference, None) is not None]

    def prune_dangling_images(self, label: str) -> list[str]:
        return []

    # -- containers ---------------------------------------------------------------------------------
    def run_detached(self, spec: ContainerSpec, *, tty: bool = False) -> str:
        if spec.image not in self.images:
            message = f"cannot create a container of {spec.image} ({spec.platform}): No such image"
            raise EngineCommandError(message, spec.image)
        container_id = uuid.uuid4().hex * 2
        self.containers[container_id] = FakeContainer(
            spec.image, dict(spec.labels), dict(spec.environment), spec.user or "root"
        )
        return container_id

    def run_once(self, spec: ContainerSpec, *, timeout: float = 300.0) -> CommandResult:
        container_id = self.run_detached(spec)
        try:
            return self.exec(container_id, spec.command)
        finally:
            self.remove_containers([container_id])

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
        command = ("docker", "exec", container, *argv)
        found = self.containers.get(container)
        if found is None or not found.running:
            return CommandResult(command, 125, "", f"container {container} is not running")
        program, *args = argv
        if program in ("sh", "/bin/sh") and args[:1] == ["-c"] and len(args) == 2:
            # A shell script the fake can run: one simple command, split as the shell would split it.
            ran = self.exec(
                container, shlex.split(args[1]), user=user, workdir=workdir, environment=environment,
                input_bytes=input_bytes, timeout=timeout,
            )  # fmt: skip
            return CommandResult(command, ran.exit_status, ran.stdout, ran.stderr)
        env = {**found.environment, **(environment or {})}
        outputs: dict[str, Callable[[], tuple[int, str, str]]] = {
            "true": lambda: (0, "", ""),
            "false": lambda: (1, "", ""),
            "echo": lambda: (0, " ".join(args) + "\n", ""),
            "id": lambda: (0, (user or found.user) + "\n", ""),
            "pwd": lambda: (0, (workdir or "/") + "\n", ""),
            "printenv": lambda: (0, env[args[0]] + "\n", "") if args[0] in env else (1, "", ""),
            "cat": lambda: _cat(found, args, input_bytes),
        }
        if program not in outputs:
            return CommandResult(command, 127, "", f'exec: "{program}": executable file not found in $PATH')
        status, stdout, stderr = outputs[program]()
        return CommandResult(command, status, stdout, stderr)

    def run_in_shell(
        self, container: str, script: str, *, user: str | None = None, timeout: float = 600.0
    ) -> CommandResult:
        return self.exec(container, ["/bin/sh", "-c", script], user=user, timeout=timeout)

    def copy_into(self, container: str, source: Path, destination: str) -> None:
        found = self.containers.get(container)
        if found is None:
            raise EngineCommandError(f"cannot copy {source} to {container}:{destination}: no such container", source)
        if source.is_dir():
            for path in source.rglob("*"):
                if path.is_file():
                    found.files[f"{destination}/{path.relative_to(source)}"] = path.read_bytes()
        else:
            found.files[destination] = source.read_bytes()

    def container_state(self, container: str) -> dict[str, Any] | None:
        found = self.containers.get(container)
        if found is None:
            return None
        return {"Running": found.running, "Status": "running" if found.running else "exited", "ExitCode": 0}

    def stop(self, container: str, timeout_seconds: int = 10) -> CommandResult:
        found = self.containers.get(container)
        if found is None:
            return CommandResult(("docker", "stop", container), 1, "", f"No such container: {container}")
        found.running = False
        return CommandResult(("docker", "stop", container), 0, container, "")

    def logs(self, container: str) -> CommandResult:
        return CommandResult(("docker", "logs", container), 0 if container in self.containers else 1, "", "")

    def containers_with_label(self, label: str) -> list[dict[str, str]]:
        key, _, value = label.partition("=")
        return [
            {"id": container_id, **found.labels}
            for container_id, found in self.containers.items()
            if key in found.labels and (not value or found.labels[key] == value)
        ]

    def remove_containers(self, ids: Sequence[str]) -> list[str]:
        return [container_id for container_id in ids if self.containers.pop(container_id, None) is not None]


def _cat(container: FakeContainer, args: Sequence[str], input_bytes: bytes | None) -> tuple[int, str, str]:
    if not args:
        return 0, (input_bytes or b"").decode(), ""
    if args[0] in container.files:
        return 0, container.files[args[0]].decode(), ""
    return 1, "", f"cat: {args[0]}: No such file or directory\n"
