"""Long-lived test containers: started once per image × platform, shared by its tests, reaped by label."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core.engine import LABEL_HARNESS, LABEL_PID, LABEL_RUN, CommandResult
from reactor_harness.core.errors import WaitTimeout
from reactor_harness.core.protocols import ContainerEngine, ContainerSpec

USER = "claude"


def wait_until(
    probe: Callable[[], tuple[bool, str]], *, timeout: float, interval: float = 0.2, what: str, hint: str = ""
) -> str:
    """Poll probe until it reports ready or the deadline passes; the last state seen either way."""
    deadline = time.monotonic() + timeout
    while True:
        ready, state = probe()
        if ready:
            return state
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"{what} not ready after {timeout:.0f}s; last state seen: {state}{'; ' + hint if hint else ''}"
            )
        time.sleep(interval)


@dataclass(frozen=True)
class Container:
    """A running container of one image × platform, reached through the engine seam."""

    engine: ContainerEngine
    id: str
    image: str
    platform: str

    def __str__(self) -> str:
        return f"{self.image} ({self.platform}) container {self.id[:12]}"

    def exec(
        self,
        argv: Sequence[str],
        *,
        user: str | None = USER,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        input_bytes: bytes | None = None,
        timeout: float = 600.0,
    ) -> CommandResult:
        return self.engine.exec(
            self.id, argv, user=user, workdir=workdir, environment=env, input_bytes=input_bytes, timeout=timeout
        )

    def shell(self, script: str, *, user: str | None = USER, timeout: float = 600.0) -> CommandResult:
        """`/bin/sh -c script` as `exec` would run it, through the engine's kept shell: for many short
        queries (testinfra's), where a new exec per query would cost more than the query."""
        return self.engine.run_in_shell(self.id, script, user=user, timeout=timeout)

    def sh(
        self, script: str, *, user: str | None = USER, workdir: str | None = None, timeout: float = 600.0
    ) -> CommandResult:
        """Run a script with a non-interactive `sh -c`, as a tool or CI job would."""
        return self.exec(["sh", "-c", script], user=user, workdir=workdir, timeout=timeout)

    def copy_in(self, source: Path, destination: str, owner: str = USER) -> None:
        """Copy a host file or folder into the container, owned by `owner`."""
        self.engine.copy_into(self.id, source, destination)
        chown = self.exec(["chown", "-R", f"{owner}:{owner}", destination], user="root")
        if not chown.succeeded:
            raise AssertionError(f"could not hand {destination} to {owner} in {self}\n{chown.describe()}")

    def copy_to_scratch(self, source: Path, owner: str = USER) -> str:
        """A fresh copy of a host folder under /tmp in the container (a unique name per call); its path.

        Tests share one container per image, so each works on its own copy of a sample project.
        """
        destination = f"/tmp/{source.name}-{uuid.uuid4().hex[:8]}"  # noqa: S108 - inside the container
        self.copy_in(source, destination, owner)
        return destination

    def read_bytes(self, path: str, count: int) -> bytes:
        """The first `count` bytes of a file in the container (e.g. an ELF header)."""
        result = self.exec(["od", "-An", "-v", "-tx1", "-N", str(count), path])
        if not result.succeeded:
            raise AssertionError(f"cannot read {path} in {self}\n{result.describe()}")
        return bytes.fromhex("".join(result.stdout.split()))


@dataclass(frozen=True)
class ToolCache:
    """A toolchain cache a test container mounts from the host, so work tests reuse it across runs.

    It lives in `<cache dir>/tools/<name>/<os>-<arch>` (one per platform: artefacts of one architecture
    are no use to another) and is bind-mounted at `target`, owned by `owner` inside the container. A bind
    mount never enters an image: `docker save` and the scans see the image, not the container.
    """

    name: str  # the folder's name on the host, e.g. "go-build"
    target: str  # where the image's tool looks for it, e.g. /home/claude/.cache/go-build
    owner: str = USER
    # For a toolchain whose cache entries do not depend on the machine the tool runs on, only on the target
    # it builds for: a command that fills the cache of a platform run under emulation, run instead at native
    # speed in the native build of the same image (see warm_tool_caches_natively). Empty: no warm-up.
    warm_natively: tuple[str, ...] = ()
    # The warm-up's environment; "{arch}" in a value becomes the emulated platform's architecture.
    warm_environment: tuple[tuple[str, str], ...] = ()

    def host_folder(self, cache_dir: Path, platform_slug: str) -> Path:
        return cache_dir / "tools" / self.name / platform_slug


def mount_tool_caches(
    caches: Sequence[ToolCache], cache_dir: Path, platform_slug: str
) -> tuple[list[str], list[ToolCache]]:
    """The volume options for the caches whose host folder could be made, and those caches (an unwritable
    cache folder leaves a cache out: its tool then starts cold in the container, as without the cache)."""
    volumes: list[str] = []
    mounted: list[ToolCache] = []
    for cache in caches:
        folder = cache.host_folder(cache_dir, platform_slug)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        volumes.append(f"{folder.resolve()}:{cache.target}")
        mounted.append(cache)
    return volumes, mounted


# The engine creates a missing mount point's parents as root: hand back those below the owner's home too
# (a root-owned ~/.cache would stop claude's other tools from keeping their caches there). Arguments: pairs
# of owner and mount point, so every cache of a container is handed over in one exec.
_HAND_OVER = (
    'while [ "$#" -ge 2 ]; do owner=$1 target=$2; shift 2; chown -R "$owner:$owner" "$target" || exit 1; '
    'home=$(getent passwd "$owner" | cut -d: -f6); dir=$(dirname "$target"); '
    'while [ -n "$home" ] && [ "${dir#"$home"/}" != "$dir" ]; do chown "$owner:$owner" "$dir" || exit 1; '
    'dir=$(dirname "$dir"); done; done'
)


def hand_over_tool_caches(engine: ContainerEngine, container_id: str, caches: Sequence[ToolCache]) -> None:
    """Give each mounted cache (and the folders the mount created in the owner's home) to its owner."""
    if not caches:
        return
    pairs = [part for cache in caches for part in (cache.owner, cache.target)]
    result = engine.exec(container_id, ["sh", "-c", _HAND_OVER, "sh", *pairs], user="root")
    if not result.succeeded:
        targets = ", ".join(cache.target for cache in caches)
        raise WaitTimeout(f"could not hand the tool caches {targets} to their owners\n{result.describe()}")


def warm_tool_caches_natively(
    engine: ContainerEngine,
    native_tag: str,
    native_platform: str,
    target_arch: str,
    target_slug: str,
    caches: Sequence[ToolCache],
    cache_dir: Path,
    labels: Mapping[str, str],
    *,
    timeout: float = 900.0,
) -> list[str]:
    """Fill the caches of an emulated platform (`target_slug`) that declare a warm-up, at native speed.

    Go is the case: a release toolchain identifies its compiler by its version, not by the binary, so
    `GOARCH=arm64 go build std` run by the amd64 build of the same image writes the very entries the arm64
    toolchain looks up under emulation, where compiling the standard library takes minutes. Go's cache key
    holds every input of a compile, so an entry it finds is one it would have written itself; an entry the
    warm-up could not write is compiled in the test container as before. A container of `native_tag` mounts
    the target's cache folders (as the test container will) and runs each warm-up as the cache's owner.
    Returns what went wrong, one line per cache (empty: all warmed); a failure costs time, never a result.
    """
    warmable = [cache for cache in caches if cache.warm_natively]
    if not warmable:
        return []
    volumes, mounted = mount_tool_caches(warmable, cache_dir, target_slug)
    problems = [
        f"tool cache {cache.name} for {target_slug}: its folder under {cache_dir} cannot be made; not warmed"
        for cache in warmable
        if cache not in mounted
    ]
    if not mounted:
        return problems
    container_id = start_container(engine, native_tag, native_platform, labels, volumes=volumes)
    try:
        hand_over_tool_caches(engine, container_id, mounted)
        for cache in mounted:
            environment = {name: value.replace("{arch}", target_arch) for name, value in cache.warm_environment}
            result = engine.exec(
                container_id, cache.warm_natively, user=cache.owner, environment=environment, timeout=timeout
            )
            if not result.succeeded:
                problems.append(
                    f"tool cache {cache.name} for {target_slug}: the native warm-up `{' '.join(cache.warm_natively)}` "
                    f"in {native_tag} failed (exit {result.exit_status}), so the emulated toolchain fills it itself: "
                    f"{(result.stderr or result.stdout).strip()[-300:]}"
                )
    finally:
        engine.remove_containers([container_id])
    return problems


def start_container(
    engine: ContainerEngine,
    tag: str,
    platform: str,
    labels: Mapping[str, str],
    *,
    ready_timeout: float = 60.0,
    environment: Mapping[str, str] | None = None,
    volumes: Sequence[str] = (),
    command: Sequence[str] = (),
) -> str:
    """Start a container with no network and wait until it runs; its id."""
    spec = ContainerSpec(tag, platform, labels, command, environment=dict(environment or {}), volumes=volumes)
    container_id = engine.run_detached(spec)

    def running() -> tuple[bool, str]:
        state = engine.container_state(container_id)
        if state is None:
            return False, "no such container"
        if not state.get("Running") and state.get("Status") in {"exited", "dead"}:
            logs = engine.logs(container_id)
            raise WaitTimeout(
                f"container {container_id[:12]} of {tag} exited (code {state.get('ExitCode')}) instead of staying up; "
                f"its output:\n{logs.stdout}{logs.stderr}"
            )
        return bool(state.get("Running")), str(state.get("Status"))

    wait_until(running, timeout=ready_timeout, what=f"container of {tag}", hint="look at `docker logs` of it")
    return container_id


def run_labels(run_id: str, pid: int | None = None) -> dict[str, str]:
    """Labels that mark a container as this run's (the pid lets a later run tell if the run is gone)."""
    return {LABEL_HARNESS: "container", LABEL_RUN: run_id, LABEL_PID: str(pid if pid is not None else os.getpid())}


def _process_alive(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def reap_leftovers(engine: ContainerEngine, current_run: str) -> list[str]:
    """Remove containers of earlier runs whose pytest process is gone; the ids removed."""
    stale = [
        entry["id"]
        for entry in engine.containers_with_label(f"{LABEL_HARNESS}=container")
        if entry.get(LABEL_RUN) != current_run and not _process_alive(entry.get(LABEL_PID, ""))
    ]
    engine.remove_containers(stale)
    return stale


def remove_run_containers(engine: ContainerEngine, run_id: str) -> list[str]:
    ids = [
        entry["id"]
        for entry in engine.containers_with_label(f"{LABEL_RUN}={run_id}")
        if entry.get(LABEL_HARNESS) == "container"
    ]
    engine.remove_containers(ids)
    return ids
