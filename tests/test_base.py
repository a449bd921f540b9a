"""The base image: every pin holds inside the image, and the dev-container contract works for claude."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactor_harness.core.containers import wait_until
from reactor_harness.core.engine import CommandResult, assert_succeeded
from reactor_harness.core.platforms import ELF_MACHINE, elf_machine
from reactor_harness.plugin.outcomes import skip_or_fail

pytestmark = pytest.mark.image("base")

SAMPLES = Path(__file__).parent / "samples" / "base"


def test_claude_has_passwordless_sudo(host, built_image):
    """claude runs root commands with sudo and no password (with no terminal, sudo fails if one were asked)."""
    assert host.user().name == "claude"
    with host.sudo():
        result = host.run("id -u")
    assert result.succeeded, f"{built_image}: sudo as claude exited {result.rc}: {result.stderr or result.stdout}"
    assert result.stdout.strip() == "0", f"{built_image}: sudo as claude ran as uid {result.stdout.strip()}"


def test_home_belongs_to_claude(host):
    """claude's home is /home/claude, owned by claude, with bash as login shell."""
    claude = host.user("claude")
    assert claude.home == "/home/claude"
    assert claude.shell == "/bin/bash"
    assert host.file("/home/claude").user == "claude"


def test_npm_global_install_works_without_sudo(container, built_image):
    """`npm install -g` of a local package works for claude, offline, and puts its command on PATH."""
    container.copy_in(SAMPLES / "hello-cli", "/tmp/hello-cli")
    pack = container.sh("cd /tmp/hello-cli && npm pack --silent")
    assert_succeeded(pack, f"{built_image}: npm pack")
    tarball = pack.stdout.strip().splitlines()[-1]
    install = container.sh(f"npm install -g --offline --no-audit --no-fund /tmp/hello-cli/{tarball}")
    assert_succeeded(install, f"{built_image}: npm install -g as claude")
    run = container.sh("reactor-hello")
    assert_succeeded(run, f"{built_image}: the installed command")
    node_arch = {"amd64": "x64", "arm64": "arm64"}[built_image.platform.arch]
    assert run.stdout.strip() == f"reactor-hello {node_arch}"


def test_non_interactive_shell_sees_the_toolchains(container, built_image):
    """A plain `sh -c` (no login, no .bashrc) finds node, npm, npx, git, docker and the npm global bin."""
    # The kept shell runs `/bin/sh -c script` as claude with the image's environment: what `docker exec c sh -c` runs.
    result = container.shell(
        'for tool in node npm npx git docker jq rg; do command -v "$tool" || exit 1; done; echo "$PATH"'
    )
    assert_succeeded(result, f"{built_image}: tools on PATH in sh -c")
    assert "/home/claude/.npm-global/bin" in result.stdout.splitlines()[-1]


ARCH_CHECKED_BINARIES = ("/usr/local/bin/node", "/usr/bin/docker", "/usr/bin/git", "/usr/bin/tini")
# Each container's ELF headers of every checked binary, read in one exec by the first test that asks.
_ELF_HEADERS: dict[str, dict[str, CommandResult]] = {}


def elf_header(host, binary: str) -> bytes:
    """The first 20 bytes of a binary in the host's container (all checked binaries are read in one exec)."""
    if host.container.id not in _ELF_HEADERS:
        _ELF_HEADERS[host.container.id] = host.run_each(
            {path: f"od -An -v -tx1 -N 20 {path}" for path in ARCH_CHECKED_BINARIES}
        )
    result = _ELF_HEADERS[host.container.id][binary]
    assert_succeeded(result, f"reading the ELF header of {binary}")
    return bytes.fromhex("".join(result.stdout.split()))


@pytest.mark.parametrize("binary", ARCH_CHECKED_BINARIES)
def test_binary_architecture_matches_the_platform(host, built_image, binary):
    """Binaries are built for the image's platform (catches a wrong-arch layer copied from a build stage)."""
    machine = elf_machine(elf_header(host, binary))
    expected = ELF_MACHINE[built_image.platform.arch]
    assert machine == expected, f"{built_image}: {binary} has ELF machine {machine:#x}, expected {expected:#x}"


def test_docker_host_integration_proxies_the_engine_socket(engine, built_image, harness_settings, container_spec):
    """With REACTOR_DOCKER_HOST_INTEGRATION=true, claude reaches the host engine through the socat proxy."""
    socket = engine.socket_path()
    if socket is None or not Path(socket).is_socket():
        reason = f"the engine's socket {socket} is not a local unix socket; cannot mount it into a container"
        skip_or_fail(harness_settings, reason)
    spec = container_spec(
        ["sh", "-c", 'id -un; echo "$DOCKER_HOST"; docker version --format "{{.Server.Version}}"'],
        environment={"REACTOR_DOCKER_HOST_INTEGRATION": "true"},
        volumes=[f"{socket}:/var/run/docker.sock"],
    )
    result = engine.run_once(spec, timeout=120)
    assert_succeeded(result, f"{built_image}: docker through the proxy as claude")
    user, docker_host, server_version = result.stdout.strip().splitlines()[-3:]
    assert user == "claude"
    assert docker_host.startswith("unix:///home/claude/")
    assert server_version == engine.ping()


def test_docker_host_integration_serves_later_exec_sessions(engine, built_image, harness_settings, container_spec):
    """The proxy set up by the entrypoint is the docker CLI's context in later `docker exec` sessions too."""
    socket = engine.socket_path()
    if socket is None or not Path(socket).is_socket():
        reason = f"the engine's socket {socket} is not a local unix socket; cannot mount it into a container"
        skip_or_fail(harness_settings, reason)
    container_id = engine.run_detached(
        container_spec(
            environment={"REACTOR_DOCKER_HOST_INTEGRATION": "true"}, volumes=[f"{socket}:/var/run/docker.sock"]
        )
    )
    try:

        def docker_answers() -> tuple[bool, str]:
            result = engine.exec(container_id, ["docker", "version", "--format", "{{.Server.Version}}"])
            return result.succeeded, result.describe()

        wait_until(docker_answers, timeout=30, interval=0.5, what=f"{built_image}: docker in a later exec session")
    finally:
        engine.remove_containers([container_id])
