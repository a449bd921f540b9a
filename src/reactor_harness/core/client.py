"""Finding the docker CLI the engine seam runs (one that can build with BuildKit), and the engine its
current context names.

$REACTOR_DOCKER_CLIENT wins; otherwise `docker` on PATH, then Debian's /usr/bin/docker. The choice is
probed when an `Engine` first needs the CLI; `core.engine` re-exports `Client` and `find_client`. The
context's endpoint is read from the CLI's own files, so reaching the engine runs no docker process.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
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


DEFAULT_CONTEXT = "default"


def context_endpoint(environ: Mapping[str, str]) -> str | None:
    """The engine endpoint of the docker CLI's current context, or None where the SDK's own default is the
    same engine (the "default" context, or DOCKER_HOST set, which the SDK reads itself).

    Resolved as the CLI resolves it: DOCKER_HOST wins, then DOCKER_CONTEXT, then `currentContext` in
    config.json (under $DOCKER_CONFIG, else ~/.docker); a named context's endpoint is in
    contexts/meta/<sha256 of its name>/meta.json. Read from the files, so no docker process runs.
    A context that is named but cannot be read is an EngineUnavailable that says where and what to do.
    """
    if environ.get("DOCKER_HOST"):
        return None
    config_dir = Path(environ["DOCKER_CONFIG"]) if environ.get("DOCKER_CONFIG") else _home(environ) / ".docker"
    name = environ.get("DOCKER_CONTEXT") or ""
    source = "DOCKER_CONTEXT"
    if not name:
        config = _read_json(config_dir / "config.json", "the docker CLI's configuration")
        name = str(config.get("currentContext") or "") if isinstance(config, dict) else ""
        source = f"currentContext in {config_dir / 'config.json'}"
    if not name or name == DEFAULT_CONTEXT:
        return None
    meta_path = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    if not meta_path.is_file():
        raise EngineUnavailable(
            f"the docker context {name!r} ({source}) does not exist: {meta_path} is missing. "
            "`docker context ls` lists the contexts; `docker context use default` (or unsetting DOCKER_CONTEXT) "
            "goes back to the local engine"
        )
    meta = _read_json(meta_path, f"the docker context {name!r}")
    endpoints = meta.get("Endpoints") if isinstance(meta, dict) else None
    docker_endpoint = endpoints.get("docker") if isinstance(endpoints, dict) else None
    host = docker_endpoint.get("Host") if isinstance(docker_endpoint, dict) else None
    if not isinstance(host, str) or "://" not in host:
        raise EngineUnavailable(
            f"the docker context {name!r} ({source}) names no engine endpoint (Endpoints.docker.Host in {meta_path}): "
            f"`docker context inspect {name}` shows it; `docker context update --docker host=... {name}` sets it"
        )
    return host


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


def _read_json(path: Path, what: str) -> object:
    """A JSON file of the CLI's; {} when it does not exist (the CLI's defaults apply)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise EngineUnavailable(f"cannot read {what} at {path} ({error.strerror}): fix its permissions") from error
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        raise EngineUnavailable(
            f"{what} at {path} is not valid JSON ({error}): the docker CLI cannot read it either; fix or remove it"
        ) from error
