"""The test registry's readiness wait: a registry that never answers fails with what was seen and a hint."""

from __future__ import annotations

import pytest
from pytest_docker.plugin import Services

from local_registry import COMPOSE_FILE, compose_project, wait_for_registry
from reactor_harness.release.registry import RegistryError


def test_a_registry_that_never_answers_fails_with_the_last_state_its_logs_and_a_hint():
    """pytest-docker's own wait times out; the error names the last answer seen, the service logs and a hint."""
    probes = []

    def probe(host):
        probes.append(host)
        return False, "GET /v2/ answered 503"

    with pytest.raises(RegistryError) as raised:
        wait_for_registry(
            Services(None).wait_until_responsive,
            "127.0.0.1:5999",
            logs=lambda: 'level=fatal msg="listen tcp 127.0.0.1:5999: bind: address already in use"',
            timeout=0.5,
            probe=probe,
        )
    message = str(raised.value)
    assert "127.0.0.1:5999 did not become ready" in message
    assert "last state seen: GET /v2/ answered 503" in message
    assert "address already in use" in message
    assert "hint:" in message
    assert "network_mode host" in message
    assert len(probes) > 1
    assert set(probes) == {"127.0.0.1:5999"}


def test_a_registry_that_answers_is_returned_at_once():
    """The wait returns the host as soon as the probe sees a 200."""
    host = wait_for_registry(
        Services(None).wait_until_responsive, "127.0.0.1:5998", logs=lambda: "", probe=lambda h: (True, "200")
    )
    assert host == "127.0.0.1:5998"


def test_the_compose_project_names_the_built_image_and_port_and_uses_the_host_network(tmp_path):
    """The service runs the image the tests built, on the host network, listening on 127.0.0.1 only."""
    compose_file = compose_project(tmp_path, "reactor-seam/test-registry:linux-amd64", 5123)
    assert compose_file.read_text() == COMPOSE_FILE.read_text()
    assert (tmp_path / ".env").read_text().splitlines() == [
        "REACTOR_REGISTRY_IMAGE=reactor-seam/test-registry:linux-amd64",
        "REACTOR_REGISTRY_PORT=5123",
    ]
    text = COMPOSE_FILE.read_text()
    assert "network_mode: host" in text
    assert "REGISTRY_HTTP_ADDR: 127.0.0.1:${REACTOR_REGISTRY_PORT" in text
    assert "networks:" not in text
