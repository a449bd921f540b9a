"""A throwaway OCI registry (Debian's docker-registry) on 127.0.0.1, for the promote and rollback tests.

Test-only, not library code: the release tooling talks to real registries; this one exists so the suite
can prove promote, rollback and the gate-record refusal against a real registry without the network.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from reactor_harness.core.containers import wait_until
from reactor_harness.release.registry import RegistryError

DOCKER_REGISTRY_BINARY = "/usr/bin/docker-registry"
_REGISTRY_CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def local_registry(workdir: Path, binary: str = DOCKER_REGISTRY_BINARY, ready_timeout: float = 30.0) -> Iterator[str]:
    """Run Debian's docker-registry on 127.0.0.1 with storage under workdir; yields its host:port, stops it after."""
    if not Path(binary).exists():
        raise RegistryError(f"no {binary}: apt-get install docker-registry (./setup does)")
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "registry.yml"
    config.write_text(_REGISTRY_CONFIG.format(storage=workdir / "storage", port=port), encoding="utf-8")
    log_path = workdir / "registry.log"
    host = f"127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:

            def answers() -> tuple[bool, str]:
                if process.poll() is not None:
                    raise RegistryError(
                        f"docker-registry exited ({process.returncode}): {log_path.read_text()[-2000:]}"
                    )
                try:
                    status = requests.get(f"http://{host}/v2/", timeout=2).status_code
                except requests.RequestException as error:
                    return False, f"no answer on {host} ({type(error).__name__})"
                return status == 200, f"GET /v2/ answered {status}"

            wait_until(answers, timeout=ready_timeout, what=f"docker-registry on {host}", hint=f"its log: {log_path}")
            yield host
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
