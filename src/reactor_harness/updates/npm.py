"""The `npm` datasource: the package documents of the registry npm is configured for (`npm config get
registry`), for versions and sha512 integrity; `npm view` for a release's project page.

The documents are read over HTTP rather than through one `npm view` per package: each npm process costs
about a second of CPU, which on two busy cores made `pins outdated` ten seconds slower.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import quote

from reactor_harness.updates.clients import Fetcher, Runner, http_get, run_client
from reactor_harness.updates.model import ChecksumUnavailable, RegistryError

# The Node.js binaries are published per architecture under Node's own architecture names.
_NODE_ARCH = {"amd64": "x64", "arm64": "arm64"}
_ARCH_SUFFIX = re.compile(r"-(x64|arm64)$")


def _npm_error(stdout: str, stderr: str) -> str:
    """npm's own error summary (`E404 ...`) from its JSON error output, else its last line."""
    for text in (stdout, stderr):
        try:
            error = json.loads(text).get("error", {})
        except (json.JSONDecodeError, AttributeError):
            continue
        if isinstance(error, dict) and (error.get("code") or error.get("summary")):
            return f"{error.get('code', '')} {error.get('summary', '')}".strip().splitlines()[0]
    lines = [line for line in (stderr or stdout).splitlines() if line.strip()]
    return lines[-1] if lines else "npm view failed without output"


ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"


class NpmRegistry:
    """Versions and integrity of npm packages, from the package documents of npm's configured registry."""

    def __init__(self, run: Runner = run_client, fetch: Fetcher = http_get, registry: str | None = None) -> None:
        self.run = run
        self.fetch = fetch
        self._registry = registry
        self._documents: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()

    def registry(self) -> str:
        """The registry npm uses (`npm config get registry`: its config files and environment), asked once."""
        with self._lock:
            if self._registry is None:
                result = self.run(["npm", "config", "get", "registry"])
                if not result.succeeded or not result.stdout.strip().startswith("http"):
                    raise RegistryError(f"npm config get registry: {result.last_error_line()}")
                self._registry = result.stdout.strip().rstrip("/")
            return self._registry

    def document(self, dep_name: str) -> dict[str, object]:
        """The package document (every version with its dist), fetched once per package."""
        if dep_name not in self._documents:
            url = f"{self.registry()}/{quote(dep_name, safe='@')}"
            raw = self.fetch(url, {"Accept": ACCEPT})
            try:
                document = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise RegistryError(f"the npm registry's answer for {dep_name} is not JSON") from None
            if not isinstance(document, dict) or not isinstance(document.get("versions"), dict):
                raise RegistryError(f"the npm registry's answer for {dep_name} has no versions")
            self._documents[dep_name] = document
        return self._documents[dep_name]

    def _view(self, spec: str, *fields: str) -> object:
        result = self.run(["npm", "view", spec, *fields, "--json"])
        if not result.succeeded:
            raise RegistryError(f"npm view {spec}: {_npm_error(result.stdout, result.stderr)}")
        try:
            return json.loads(result.stdout) if result.stdout.strip() else None
        except json.JSONDecodeError:
            raise RegistryError(f"npm view {spec} answered something that is not JSON") from None

    def versions(self, dep_name: str) -> list[str]:
        versions = self.document(dep_name)["versions"]
        assert isinstance(versions, dict)
        return [str(version) for version in versions]

    def package_for(self, dep_name: str, arch: str | None) -> str:
        """The package whose tarball a checksum covers: the pin's own, or its sibling for another architecture."""
        if arch is None:
            return dep_name
        if not _ARCH_SUFFIX.search(dep_name) or arch not in _NODE_ARCH:
            raise ChecksumUnavailable(f"{dep_name} has no per-architecture packages for {arch}")
        return _ARCH_SUFFIX.sub(f"-{_NODE_ARCH[arch]}", dep_name)

    def checksum(self, dep_name: str, version: str, arch: str | None, algorithm: str) -> str:
        """The hex digest of the package tarball, from the registry's `dist.integrity` (sha512 only)."""
        package = self.package_for(dep_name, arch)
        try:
            versions = self.document(package)["versions"]
        except RegistryError as error:
            raise ChecksumUnavailable(str(error)) from None
        entry = versions.get(version) if isinstance(versions, dict) else None
        dist = entry.get("dist") if isinstance(entry, dict) else None
        integrity = dist.get("integrity") if isinstance(dist, dict) else None
        if not isinstance(integrity, str):
            raise ChecksumUnavailable(f"the npm registry lists no dist.integrity for {package}@{version}")
        for entry in integrity.split():
            name, _, digest = entry.partition("-")
            if name == algorithm:
                try:
                    return base64.b64decode(digest, validate=True).hex()
                except ValueError:
                    break
        raise ChecksumUnavailable(f"{package}@{version}'s integrity {integrity[:20]}... carries no valid {algorithm}")

    def project_page(self, dep_name: str, version: str) -> str:
        """The package's repository (its releases page) or homepage, as the registry lists it; "" if none."""
        try:
            answer = self._view(f"{dep_name}@{version}", "repository.url", "homepage")
        except RegistryError:
            return ""
        if isinstance(answer, str):
            answer = {"repository.url": answer}
        if not isinstance(answer, dict):
            return ""
        repository = str(answer.get("repository.url") or answer.get("url") or "")
        repository = re.sub(r"^git\+", "", repository).removesuffix(".git")
        if repository.startswith("https://github.com/"):
            return f"{repository}/releases"
        return str(answer.get("homepage") or repository)
