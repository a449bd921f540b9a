"""The registry client against a scripted HTTP server on loopback: token challenges (as GitHub's registry
sends them), pagination, and content that does not match its digest."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reactor_harness.release.registry import Registry, RegistryError, Repository, sha256_digest

SCOPE = "repository:reactor/tiny:pull"
TOKEN = "token-1"  # noqa: S105 - a made-up credential the fake registry checks
GOOD_BASIC = "Basic " + base64.b64encode(f"bot:{TOKEN}".encode()).decode()


class FakeRegistry(BaseHTTPRequestHandler):
    token_requests: list[str] = []  # noqa: RUF012 - shared by the handler instances of one server

    def log_message(self, format, *args):  # keep the test output quiet
        pass

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        host = f"127.0.0.1:{self.server.server_address[1]}"
        if self.path.startswith("/token"):
            self.token_requests.append(self.path)
            if self.headers.get("Authorization") != GOOD_BASIC:
                return self._send(401)
            return self._send(200, json.dumps({"token": "t-1"}).encode())
        if self.headers.get("Authorization") != "Bearer t-1":
            challenge = f'Bearer realm="http://{host}/token",service="fake",scope="{SCOPE}"'
            return self._send(401, b"{}", {"WWW-Authenticate": challenge})
        if self.path.startswith("/v2/reactor/tiny/tags/list"):
            if "last=a" in self.path:
                return self._send(200, json.dumps({"tags": ["b"]}).encode())
            link = '</v2/reactor/tiny/tags/list?n=1000&last=a>; rel="next"'
            return self._send(200, json.dumps({"tags": ["a"]}).encode(), {"Link": link})
        if self.path == "/v2/reactor/tiny/manifests/tampered":
            body = b'{"mediaType": "application/vnd.oci.image.index.v1+json"}'
            return self._send(200, body, {"Docker-Content-Digest": sha256_digest(b"something else")})
        return self._send(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')


@pytest.fixture
def fake_host():
    FakeRegistry.token_requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_token_challenge_is_answered_once_and_pages_are_followed(fake_host):
    registry = Registry(fake_host, username="bot", password=TOKEN)
    assert registry.tags("reactor/tiny") == ["a", "b"]
    assert len(FakeRegistry.token_requests) == 1, "the token is reused for the same scope"
    assert "scope=repository%3Areactor%2Ftiny%3Apull" in FakeRegistry.token_requests[0]


def test_wrong_credentials_name_the_problem(fake_host):
    with pytest.raises(RegistryError, match=r"refused a token.*check the credentials"):
        Registry(fake_host, username="bot", password=TOKEN + "-wrong").tags("reactor/tiny")


def test_a_manifest_that_does_not_match_its_digest_is_rejected(fake_host):
    with pytest.raises(RegistryError, match="content hashes to"):
        Registry(fake_host, username="bot", password=TOKEN).get_manifest("reactor/tiny", "tampered")


def test_loopback_is_plain_http_and_other_hosts_https():
    assert Registry("127.0.0.1:5000").base_url == "http://127.0.0.1:5000"
    assert Registry("registry.example.test").base_url == "https://registry.example.test"


@pytest.mark.parametrize("text", ["reactor/base", "127.0.0.1:5000/Reactor/base", "127.0.0.1:5000/base:latest"])
def test_a_repository_must_name_its_host_and_be_lower_case(text):
    with pytest.raises(RegistryError):
        Repository.parse(text)
