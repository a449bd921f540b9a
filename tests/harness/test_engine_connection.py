"""Reaching the engine without a docker process: the CLI context read from its files, the CLI found only when a
build or terminal needs it, one API version request per engine, and the end-of-run cleanup beside the reports."""

from __future__ import annotations

import hashlib
import http.server
import json
import socketserver
import threading
import time
from typing import ClassVar

import pytest

from fake_docker_cli import fake_docker
from reactor_harness.core.client import context_endpoint
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import EngineUnavailable, HarnessError
from reactor_harness.core.sdk import SdkEngine
from reactor_harness.plugin.cleanup import Cleanup


def write_context(config_dir, name: str, host: str) -> None:
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host}}}))


def test_the_default_context_leaves_the_sdk_its_own_default(tmp_path):
    assert context_endpoint({"HOME": str(tmp_path)}) is None  # no ~/.docker at all
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"currentContext": "default"}')
    assert context_endpoint({"HOME": str(tmp_path)}) is None


def test_the_current_context_of_config_json_names_the_endpoint(tmp_path):
    config = tmp_path / ".docker"
    write_context(config, "remote", "tcp://10.1.2.3:2376")
    (config / "config.json").write_text('{"auths": {}, "currentContext": "remote"}')
    assert context_endpoint({"HOME": str(tmp_path)}) == "tcp://10.1.2.3:2376"


def test_docker_context_wins_over_config_json_and_docker_host_over_both(tmp_path):
    config = tmp_path / "cli-config"
    write_context(config, "remote", "tcp://10.1.2.3:2376")
    write_context(config, "rootless", "unix:///run/user/1000/docker.sock")
    (config / "config.json").write_text('{"currentContext": "remote"}')
    environ = {"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "rootless"}
    assert context_endpoint(environ) == "unix:///run/user/1000/docker.sock"
    assert context_endpoint({**environ, "DOCKER_HOST": "unix:///elsewhere.sock"}) is None  # the SDK reads it


def test_a_context_that_does_not_exist_says_how_to_list_them(tmp_path):
    with pytest.raises(EngineUnavailable, match=r"context 'gone' \(DOCKER_CONTEXT\) does not exist.*docker context ls"):
        context_endpoint({"HOME": str(tmp_path), "DOCKER_CONTEXT": "gone"})


def test_a_broken_config_json_is_named_with_the_fix(tmp_path):
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"currentContext": ')
    with pytest.raises(EngineUnavailable, match=r"config\.json is not valid JSON.*fix or remove it"):
        context_endpoint({"HOME": str(tmp_path)})


def test_a_context_without_an_engine_endpoint_is_refused(tmp_path):
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"empty").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text('{"Name": "empty", "Endpoints": {}}')
    with pytest.raises(EngineUnavailable, match=r"names no engine endpoint.*docker context update"):
        context_endpoint({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "empty"})


def test_the_cli_is_found_only_when_first_needed(tmp_path, monkeypatch):
    """An engine that only runs containers starts no docker process; the first CLI use finds the client, and
    an old client's commands carry DOCKER_BUILDKIT=1."""
    docker = fake_docker(tmp_path, "docker20", "20.10.24", False, "20.10.24")
    monkeypatch.setenv("REACTOR_DOCKER_CLIENT", docker)
    engine = Engine(environment={"PATH": "/usr/bin:/bin"})
    engine.socket_path()
    assert engine._client is None
    assert engine.client.path == docker
    assert engine.client_environment["DOCKER_BUILDKIT"] == "1"


def test_no_usable_cli_fails_only_what_needs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("REACTOR_DOCKER_CLIENT", fake_docker(tmp_path, "docker28", "28.2.2", False, None))
    engine = Engine(environment={})
    assert engine.socket_path() == "/var/run/docker.sock"
    with pytest.raises(EngineUnavailable, match="no buildx plugin"):
        engine.terminal_exec_command("c1", ["bash"])


class _VersionCounter(http.server.BaseHTTPRequestHandler):
    """A stand-in engine on a unix socket that answers /version and counts how often it is asked."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).asked.append(self.path)
        body = json.dumps({"ApiVersion": "1.41", "Version": "20.10.24"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: object) -> None:
        pass


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def test_one_api_version_request_serves_every_deadline(tmp_path):
    """The SDK keeps one API client per read deadline; only the first asks the engine its API version."""
    socket_path = tmp_path / "engine.sock"
    _VersionCounter.asked = []
    server = _UnixServer(str(socket_path), _VersionCounter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sdk = SdkEngine({"DOCKER_HOST": f"unix://{socket_path}"})
        clients = [sdk.api(30), sdk.api(60), sdk.api(600)]
        assert sdk.server_version() == "20.10.24"
    finally:
        server.shutdown()
        server.server_close()
    assert {client.api_version for client in clients} == {"1.41"}
    assert [path for path in _VersionCounter.asked if path == "/version"] == ["/version"]  # the negotiation
    assert len(_VersionCounter.asked) == 2  # and server_version's own call


class _SlowRemovals:
    """A stand-in container API: each removal takes 0.2 s, as the engine's unmounting does."""

    def __init__(self) -> None:
        self.removed: list[str] = []

    def remove_container(self, container_id: str, force: bool, v: bool) -> None:
        time.sleep(0.2)
        self.removed.append(container_id)


def test_containers_are_removed_several_at_a_time(monkeypatch):
    sdk = SdkEngine({})
    api = _SlowRemovals()
    monkeypatch.setattr(sdk, "api", lambda timeout=None: api)
    started = time.monotonic()
    assert sdk.remove_containers(["a", "b", "c", "d"]) == ["a", "b", "c", "d"]
    assert time.monotonic() - started < 0.6  # four removals one after another take 0.8 s
    assert sorted(api.removed) == ["a", "b", "c", "d"]


class _RunEngine:
    """A stand-in engine holding two containers of run r1 and one of another run."""

    def __init__(self, *, refuse: bool = False, crash: bool = False) -> None:
        self.refuse, self.crash = refuse, crash
        self.removed: list[str] = []
        self.pruned = False

    def containers_with_label(self, label: str) -> list[dict[str, str]]:
        if self.crash:
            raise KeyError("Labels")
        if self.refuse:
            raise HarnessError("the engine went away")
        run = label.split("=", 1)[1]
        every = [("c1", "r1"), ("c2", "r1"), ("c3", "r2")]
        return [{"id": cid, "org.reactor.harness": "container"} for cid, owner in every if owner == run]

    def remove_containers(self, ids: list[str]) -> list[str]:
        self.removed += ids
        return ids

    def prune_dangling_images(self, label: str) -> list[str]:
        self.pruned = True
        return []


class _Reporter:
    def __init__(self) -> None:
        self.lines: list[tuple[str, bool]] = []

    def ensure_newline(self) -> None:
        pass

    def write_line(self, line: str, red: bool = False) -> None:
        self.lines.append((line, red))


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        (_RunEngine(), [("reactor: removed 2 test container(s) of run r1", False)]),
        (_RunEngine(refuse=True), [("reactor: could not remove the containers of run r1: the engine went away", True)]),
        (_RunEngine(crash=True), [("reactor: the cleanup of run r1 failed: KeyError('Labels')", True)]),
    ],
    ids=["removes-the-runs-own", "engine-refuses", "a-bug-is-said"],
)
def test_the_cleanup_runs_beside_the_reports_and_says_what_it_did(engine, expected):
    cleanup = Cleanup("r1")
    cleanup.start(engine)
    reporter = _Reporter()
    cleanup.finish(reporter)
    assert reporter.lines == expected
    if not engine.refuse and not engine.crash:
        assert engine.removed == ["c1", "c2"]
        assert engine.pruned
