"""Choosing a docker client that can build with BuildKit, and the commands the seam issues."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.errors import APIError, ImageNotFound

from fake_docker_cli import fake_docker
from reactor_harness.core.engine import (
    BuildRequest,
    CommandResult,
    Engine,
    assert_failed,
    assert_succeeded,
    find_client,
)
from reactor_harness.core.errors import EngineUnavailable
from reactor_harness.core.protocols import ContainerSpec
from reactor_harness.core.sdk import SdkEngine


def test_old_client_builds_with_integrated_buildkit(tmp_path):
    client = find_client([fake_docker(tmp_path, "docker20", "20.10.24+dfsg1", False, "20.10.24")])
    assert (client.version, client.build_mode) == ("20.10.24+dfsg1", "integrated")


def test_new_client_without_buildx_is_passed_over_for_one_that_builds(tmp_path):
    """Here /usr/local/bin/docker 28 has no buildx: the harness falls back to Debian's 20.10 client."""
    new = fake_docker(tmp_path, "docker28", "28.2.2", False, "20.10.24")
    old = fake_docker(tmp_path, "docker20", "20.10.24", False, "20.10.24")
    assert find_client([new, old]).path == old


def test_client_with_buildx_builds_through_it(tmp_path):
    client = find_client([fake_docker(tmp_path, "docker28", "28.2.2", True, "28.2.2")])
    assert client.build_mode == "buildx"


def test_no_usable_client_says_why_and_what_to_do(tmp_path):
    with pytest.raises(EngineUnavailable, match=r"28\.2\.2: no buildx plugin.*docker\.io.*\./setup"):
        find_client([fake_docker(tmp_path, "docker28", "28.2.2", False, None), str(tmp_path / "missing")])


def test_ping_without_a_daemon_names_the_setup_command(tmp_path):
    """The SDK finds no engine behind DOCKER_HOST: the error says so and names ./setup."""
    client = find_client([fake_docker(tmp_path, "docker20", "20.10.24", False, None)])
    engine = Engine(client, environment={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    with pytest.raises(EngineUnavailable, match=r"no container engine answers.*no-engine\.sock.*run \./setup"):
        engine.ping()


def test_integrated_build_command(tmp_path):
    docker = fake_docker(tmp_path, "docker20", "20.10.24", False, "20.10.24")
    engine = Engine(find_client([docker]), environment={"PATH": "/usr/bin:/bin"})
    lines: list[str] = []
    result = engine.build(
        BuildRequest(
            dockerfile=Path("images/base/Dockerfile"),
            context=Path("images"),
            tag="reactor-test/base:linux-arm64",
            platform="linux/arm64",
            build_args={"DEBIAN_IMAGE": "d:arm64"},
            labels={"org.reactor.harness": "image"},
            secrets={"build-ca": Path("/etc/ca.pem")},
        ),
        on_line=lines.append,
    )
    assert result.succeeded
    assert lines == ["ok"]
    call = Path(docker + ".calls").read_text().strip()
    assert call == (
        "1 build --progress plain --platform linux/arm64 --network host -f images/base/Dockerfile "
        "-t reactor-test/base:linux-arm64 --build-arg DEBIAN_IMAGE=d:arm64 --label org.reactor.harness=image "
        "--secret id=build-ca,src=/etc/ca.pem images"
    )


def test_a_rebuild_builds_without_the_cache(tmp_path):
    """--rebuild's request adds --no-cache, so every step (apt-get update included) runs again."""
    docker = fake_docker(tmp_path, "docker20", "20.10.24", False, "20.10.24")
    engine = Engine(find_client([docker]), environment={"PATH": "/usr/bin:/bin"})
    request = BuildRequest(Path("images/base/Dockerfile"), Path("images"), "t:1", "linux/amd64", no_cache=True)
    assert engine.build(request).succeeded
    call = Path(docker + ".calls").read_text().strip()
    assert " -t t:1 --no-cache images" in call


def test_buildx_build_command_loads_into_the_engine(tmp_path):
    docker = fake_docker(tmp_path, "docker28", "28.2.2", True, "28.2.2")
    engine = Engine(find_client([docker]), environment={"PATH": "/usr/bin:/bin"})
    engine.build(BuildRequest(dockerfile=Path("D"), context=Path("."), tag="t", platform="linux/amd64"))
    assert Path(docker + ".calls").read_text().split()[:4] == ["buildx", "build", "--load", "--progress"]


def test_terminal_run_puts_options_before_the_image(tmp_path):
    """The `docker run -it` a pty test types carries the run options before the image, the command after it."""
    docker = fake_docker(tmp_path, "docker20", "20.10.24", False, "20.10.24")
    engine = Engine(find_client([docker]), environment={"PATH": "/usr/bin:/bin"})
    spec = ContainerSpec("img", "linux/amd64", {"l": "v"}, ["bash", "-l"], volumes=["/s:/s"], user="root")
    command = engine.terminal_run_command(spec)
    assert command[1:] == (
        "run", "-it", "--rm", "--platform", "linux/amd64", "--network", "none", "--label", "l=v",
        "-v", "/s:/s", "--user", "root", "img", "bash", "-l",
    )  # fmt: skip
    assert engine.terminal_exec_command("c1", ["bash", "-i"])[1:] == ("exec", "-it", "c1", "bash", "-i")


def test_assertions_print_the_whole_result():
    result = CommandResult(("docker", "exec", "c", "false"), 1, "out", "err", 0.1)
    with pytest.raises(AssertionError, match=r"(?s)why: command failed.*exit status: 1.*out.*err"):
        assert_succeeded(result, "why")
    assert_failed(result)
    with pytest.raises(AssertionError, match="expected to fail"):
        assert_failed(CommandResult(("true",), 0, "", ""))


class _RacingApi:
    """A stand-in for the SDK's API client: removing a tag fails as the engine does when another removal of
    the same image id won the race; `remaining` lists the references the engine still has afterwards."""

    def __init__(self, remaining: set[str]) -> None:
        self.remaining = remaining

    def remove_image(self, reference: str, force: bool) -> None:
        raise APIError("500 Server Error", explanation="unrecognized image ID sha256:b059ff")

    def inspect_image(self, reference: str) -> dict[str, str]:
        if reference in self.remaining:
            return {"Id": "sha256:b059ff"}
        raise ImageNotFound(f"No such image: {reference}")


def test_a_removal_that_lost_a_race_counts_when_the_reference_is_gone(monkeypatch):
    """Removing a tag whose image another removal deleted first is done (the tag is gone); a failed removal
    of a tag the engine still has is still an error."""
    sdk = SdkEngine({})
    monkeypatch.setattr(sdk, "api", lambda timeout=None: _RacingApi(remaining=set()))
    assert sdk.remove_images(["reactor-test/size-sample:bloated-gw0"]) == ["reactor-test/size-sample:bloated-gw0"]
    monkeypatch.setattr(sdk, "api", lambda timeout=None: _RacingApi(remaining={"kept:1"}))
    with pytest.raises(APIError):
        sdk.remove_images(["kept:1"])


class _BusyPruneApi:
    def prune_images(self, filters):
        raise APIError("409 Client Error", response=_Response(409), explanation="a prune operation is already running")


class _Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.reason = "Conflict"


def test_a_prune_while_another_run_prunes_removed_nothing_and_is_no_error(monkeypatch):
    """The engine runs one prune at a time: a second run's prune (409) leaves the work to the first."""
    sdk = SdkEngine({})
    monkeypatch.setattr(sdk, "api", lambda timeout=None: _BusyPruneApi())
    assert sdk.prune_dangling_images("org.reactor.harness") == []
