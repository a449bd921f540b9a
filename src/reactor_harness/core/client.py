"""Finding the docker CLI the engine seam runs: one that can build with BuildKit.

$REACTOR_DOCKER_CLIENT wins; otherwise `docker` on PATH, then Debian's /usr/bin/docker. The choice is
probed once per `Engine`; `core.engine` re-exports `Client` and `find_client`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core import environment
from reactor_harness.core.commands import CommandResult, CommandTimedOut, run_command
from reactor_harness.core.errors import EngineUnavailable

CLIENT_OVERRIDE_ENV = environment.DOCKER_CLIENT
SETUP_HINT = "run ./setup (it installs and starts a Docker engine), or point DOCKER_HOST at a running one"


@dataclass(frozen=True)
class Client:
    """A docker CLI binary and how it builds with BuildKit."""

    path: str
    version: str
    build_mode: str  # "buildx" (docker buildx build --load) or "integrated" (DOCKER_BUILDKIT=1)


def _probe(argv: Sequence[str], timeout: float = 20.0) -> CommandResult | None:
    try:
        return run_command(argv, timeout=timeout)
    except CommandTimedOut:
        return None


def find_client(candidates: Iterable[str] | None = None) -> Client:
    """Pick a docker client that can build with BuildKit.

    Order: $REACTOR_DOCKER_CLIENT, then `docker` on PATH, then Debian's /usr/bin/docker. A client with
    buildx builds through it; a client older than 23 has BuildKit built in (DOCKER_BUILDKIT=1); a newer
    client without buildx cannot build with BuildKit and is passed over.
    """
    if candidates is None:
        override = environment.Environment.read().docker_client
        candidates = [override] if override else [shutil.which("docker") or "", "/usr/bin/docker"]
    seen: list[str] = []
    rejected: list[str] = []
    for candidate in candidates:
        if not candidate or candidate in seen:
            continue
        try:
            status = Path(candidate).stat()
        except OSError:
            continue
        seen.append(candidate)
        identity = (candidate, status.st_ino, status.st_size, status.st_mtime_ns)
        verdict = _FOUND.get(identity) or _judge(candidate)
        if isinstance(verdict, Client):
            _FOUND[identity] = verdict
            return verdict
        rejected.append(verdict)
    detail = "; ".join(rejected) if rejected else "no docker client found"
    raise EngineUnavailable(
        f"no docker client that can build with BuildKit ({detail}): install Debian's docker.io "
        f"(its client has BuildKit built in) or the buildx plugin, or set {CLIENT_OVERRIDE_ENV}; {SETUP_HINT}"
    )


# The clients found, by path and identity on disk (inode, size, mtime): a process that connects more than once
# (a run's fixtures, then its cleanup) probes a binary once, and a replaced binary is probed again. A rejection
# is not kept: the next connection asks again (the binary may have been slow to answer once).
_FOUND: dict[tuple[str, int, int, int], Client] = {}


def _judge(candidate: str) -> Client | str:
    """The client at `candidate`, or why it cannot build with BuildKit."""
    version_run = _probe([candidate, "version", "--format", "{{.Client.Version}}"])
    if version_run is None or not version_run.stdout.strip():
        return f"{candidate}: does not answer `docker version`"
    version = version_run.stdout.strip().splitlines()[0]
    buildx = _probe([candidate, "buildx", "version"])
    if buildx is not None and buildx.succeeded:
        return Client(path=candidate, version=version, build_mode="buildx")
    major = _major(version)
    if major is not None and major < 23:
        return Client(path=candidate, version=version, build_mode="integrated")
    return f"{candidate} {version}: no buildx plugin, and clients from 23 on need it for BuildKit"


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None
