"""A small client of the OCI distribution API: manifests, blobs, tags and referrers, over HTTP.

Plain HTTP calls rather than an SDK because promotion must copy a manifest byte for byte (its digest is
the hash of those bytes; re-serialising JSON would make a different image), and every manifest read is
checked against its digest. Token authentication follows the registry's `WWW-Authenticate` challenge,
as the docker client does; loopback registries are reached over plain HTTP, everything else over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

from reactor_harness.core.errors import HarnessError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
ACCEPT_MANIFESTS = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")


class RegistryError(HarnessError):
    """The registry refused a request or answered something that cannot be trusted."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ManifestUnknown(RegistryError):
    """No manifest under that tag or digest."""


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(text: str) -> bool:
    return bool(_DIGEST.match(text))


@dataclass(frozen=True)
class Repository:
    """A repository on a registry: `127.0.0.1:5000/reactor/base` is host `127.0.0.1:5000`, name `reactor/base`."""

    host: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Repository:
        host, _, name = text.strip().partition("/")
        if not name or not ("." in host or ":" in host or host == "localhost"):
            raise RegistryError(
                f"{text!r} does not start with a registry host; write HOST[:PORT]/NAME, e.g. 127.0.0.1:5000/reactor"
            )
        if name != name.lower() or "@" in name or ":" in name:
            raise RegistryError(f"repository name {name!r} must be lower case, without a tag or digest")
        return cls(host=host, name=name)

    def __str__(self) -> str:
        return f"{self.host}/{self.name}"

    def child(self, image: str) -> Repository:
        return Repository(self.host, f"{self.name}/{image}")


@dataclass(frozen=True)
class Descriptor:
    """What a manifest says about another object: its type, digest and size (plus optional fields)."""

    media_type: str
    digest: str
    size: int
    platform: Mapping[str, str] | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            data["artifactType"] = self.artifact_type
        if self.platform:
            data["platform"] = dict(self.platform)
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Descriptor:
        return cls(
            media_type=str(data["mediaType"]),
            digest=str(data["digest"]),
            size=int(data["size"]),
            platform=data.get("platform"),
            artifact_type=data.get("artifactType"),
            annotations=data.get("annotations"),
        )


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry stores it."""

    raw: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def descriptor(self, **extra: Any) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.raw), **extra)


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


@dataclass
class Registry:
    """One registry host, with optional credentials (a token for GitHub's registry, say)."""

    host: str
    username: str | None = None
    password: str | None = None
    timeout: float = 60.0
    plain_http: bool | None = None  # default: plain HTTP for loopback hosts only
    session: requests.Session = field(default_factory=requests.Session)
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        plain = self.plain_http if self.plain_http is not None else bool(_LOOPBACK.match(self.host))
        return f"{'http' if plain else 'https'}://{self.host}"

    # -- transport --------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        repository: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        absolute_url: str | None = None,
    ) -> requests.Response:
        url = absolute_url or f"{self.base_url}/v2/{repository}/{path}"
        scope = f"repository:{repository}:" + ("pull" if method in {"GET", "HEAD"} else "pull,push")
        sent = dict(headers or {})
        for attempt in range(2):
            token = self._tokens.get(scope)
            if token:
                sent["Authorization"] = token
            try:
                response = self.session.request(
                    method, url, headers=sent, data=data, params=params, timeout=self.timeout, allow_redirects=True
                )
            except requests.RequestException as error:
                raise RegistryError(f"{method} {url}: {error}; is the registry at {self.base_url} up?") from error
            if response.status_code != 401 or attempt == 1:
                return response
            self._tokens[scope] = self._authorize(response, scope)
        raise AssertionError("unreachable")  # the loop returns on its second pass

    def _authorize(self, response: requests.Response, scope: str) -> str:
        """An Authorization header answering the registry's challenge."""
        scheme, params = _parse_challenge(response.headers.get("WWW-Authenticate", ""))
        credentials = (self.username, self.password) if self.username and self.password else None
        if scheme == "basic":
            if credentials is None:
                raise RegistryError(f"{self.host} wants a user name and password: set them (see --help)", 401)
            encoded = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode("ascii")
            return f"Basic {encoded}"
        if scheme != "bearer" or "realm" not in params:
            raise RegistryError(f"{self.host} answered 401 with an unknown challenge {scheme!r}", 401)
        query = {"service": params.get("service", self.host), "scope": scope}
        try:
            token_response = self.session.get(params["realm"], params=query, auth=credentials, timeout=self.timeout)
        except requests.RequestException as error:
            raise RegistryError(f"token request to {params['realm']} failed: {error}") from error
        if token_response.status_code != 200:
            raise RegistryError(
                f"{self.host} refused a token for {scope} ({token_response.status_code}): check the credentials "
                "and that they may push to this repository",
                token_response.status_code,
            )
        body = token_response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"{self.host}'s token service answered without a token")
        return f"Bearer {token}"

    @staticmethod
    def _fail(response: requests.Response, what: str) -> RegistryError:
        detail = response.text[:500].strip()
        kind = ManifestUnknown if response.status_code == 404 and "manifest" in what else RegistryError
        return kind(f"{what}: {response.status_code} {detail}", response.status_code)

    # -- manifests --------------------------------------------------------------------------------
    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """A manifest by tag or digest, checked against the digest it is known by."""
        response = self._request("GET", repository, f"manifests/{reference}", headers={"Accept": ACCEPT_MANIFESTS})
        if response.status_code != 200:
            raise self._fail(response, f"manifest {repository}:{reference}")
        raw = response.content
        digest = sha256_digest(raw)
        expected = reference if is_digest(reference) else response.headers.get("Docker-Content-Digest", digest)
        if digest != expected:
            raise RegistryError(f"manifest {repository}@{reference}: content hashes to {digest}, not {expected}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        media_type = json.loads(raw).get("mediaType") or media_type
        return Manifest(raw=raw, media_type=media_type, digest=digest)

    def resolve(self, repository: str, reference: str) -> str | None:
        """The digest a tag points at, or None if there is no such tag."""
        try:
            return self.get_manifest(repository, reference).digest
        except ManifestUnknown:
            return None

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> tuple[str, bool]:
        """Store a manifest under a tag or its digest; its digest, and whether the registry indexed its subject."""
        response = self._request(
            "PUT", repository, f"manifests/{reference}", headers={"Content-Type": media_type}, data=raw
        )
        if response.status_code not in (200, 201):
            raise self._fail(response, f"pushing manifest {repository}:{reference}")
        digest = sha256_digest(raw)
        answered = response.headers.get("Docker-Content-Digest", digest)
        if answered != digest:
            raise RegistryError(f"pushed {repository}:{reference} as {digest} but the registry stored {answered}")
        return digest, "OCI-Subject" in response.headers

    # -- blobs ------------------------------------------------------------------------------------
    def get_blob(self, repository: str, digest: str) -> bytes:
        response = self._request("GET", repository, f"blobs/{digest}")
        if response.status_code != 200:
            raise self._fail(response, f"blob {repository}@{digest}")
        if sha256_digest(response.content) != digest:
            raise RegistryError(f"blob {repository}@{digest}: content does not match its digest")
        return response.content

    def push_blob(self, repository: str, data: bytes, media_type: str) -> Descriptor:
        """Upload a blob (monolithically; these are small JSON documents) unless it is already there."""
        digest = sha256_digest(data)
        descriptor = Descriptor(media_type, digest, len(data))
        if self._request("HEAD", repository, f"blobs/{digest}").status_code == 200:
            return descriptor
        started = self._request("POST", repository, "blobs/uploads/")
        if started.status_code != 202 or "Location" not in started.headers:
            raise self._fail(started, f"starting a blob upload to {repository}")
        location = urljoin(self.base_url + "/", started.headers["Location"])
        finished = self._request(
            "PUT",
            repository,
            "",
            absolute_url=location + ("&" if "?" in location else "?") + f"digest={digest}",
            headers={"Content-Type": "application/octet-stream"},
            data=data,
        )
        if finished.status_code != 201:
            raise self._fail(finished, f"uploading blob {digest} to {repository}")
        return descriptor

    # -- tags and referrers -----------------------------------------------------------------------
    def tags(self, repository: str) -> list[str]:
        """Every tag of a repository (following pagination); empty if the repository does not exist."""
        found: list[str] = []
        url: str | None = f"{self.base_url}/v2/{repository}/tags/list?n=1000"
        while url:
            response = self._request("GET", repository, "", absolute_url=url)
            if response.status_code == 404:
                return found
            if response.status_code != 200:
                raise self._fail(response, f"listing tags of {repository}")
            found.extend(response.json().get("tags") or [])
            next_link = re.search(r"<([^>]+)>;\s*rel=\"?next\"?", response.headers.get("Link", ""))
            url = urljoin(self.base_url + "/", next_link.group(1)) if next_link else None
        return found

    def referrers(self, repository: str, digest: str, artifact_type: str) -> list[Descriptor] | None:
        """Artifacts whose subject is `digest`, from the referrers API; None if the registry has no such API."""
        response = self._request("GET", repository, f"referrers/{digest}", params={"artifactType": artifact_type})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"referrers of {repository}@{digest}")
        manifests = response.json().get("manifests") or []
        return [Descriptor.from_json(entry) for entry in manifests if entry.get("artifactType") == artifact_type]
