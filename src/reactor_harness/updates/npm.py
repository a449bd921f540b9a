"""The `npm` datasource: `npm view` (the registry npm is configured for), versions and sha512 integrity."""

from __future__ import annotations

import base64
import json
import re

from reactor_harness.updates.clients import Runner, run_client
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


class NpmRegistry:
    """Versions and integrity of npm packages, through `npm view <package> --json`."""

    def __init__(self, run: Runner = run_client) -> None:
        self.run = run

    def _view(self, spec: str, *fields: str) -> object:
        result = self.run(["npm", "view", spec, *fields, "--json"])
        if not result.succeeded:
            raise RegistryError(f"npm view {spec}: {_npm_error(result.stdout, result.stderr)}")
        try:
            return json.loads(result.stdout) if result.stdout.strip() else None
        except json.JSONDecodeError:
            raise RegistryError(f"npm view {spec} answered something that is not JSON") from None

    def versions(self, dep_name: str) -> list[str]:
        answer = self._view(dep_name, "versions")
        if isinstance(answer, str):  # a package with a single version answers a string
            answer = [answer]
        if not isinstance(answer, list) or not all(isinstance(v, str) for v in answer):
            raise RegistryError(f"npm view {dep_name} versions did not answer a list of versions")
        return list(answer)

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
            integrity = self._view(f"{package}@{version}", "dist.integrity")
        except RegistryError as error:
            raise ChecksumUnavailable(str(error)) from None
        if not isinstance(integrity, str):
            raise ChecksumUnavailable(f"npm view {package}@{version} has no dist.integrity")
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
