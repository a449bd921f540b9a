"""The `golang-version` datasource: Go releases as the golang.org/toolchain module's versions.

`v0.0.1-go1.26.11.linux-amd64` is Go 1.26.11 for linux/amd64; a release counts once it exists for every
image architecture. Its checksum is the sha256 of that module zip, which `go mod download` verifies
against the Go checksum database before it hands the zip over.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from reactor_harness.updates.clients import Runner, run_client
from reactor_harness.updates.go import go_command, list_module
from reactor_harness.updates.model import ARCHITECTURES, ChecksumUnavailable, RegistryError

TOOLCHAIN_MODULE = "golang.org/toolchain"
_TOOLCHAIN_VERSION = re.compile(r"^v0\.0\.1-go(?P<go>[0-9][0-9a-z.]*)\.(?P<os>[a-z0-9]+)-(?P<arch>[a-z0-9]+)$")
_CHECKSUM_DB_OVERRIDES = ("GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GOINSECURE")


def toolchain_version(go_version: str, arch: str) -> str:
    return f"v0.0.1-go{go_version}.linux-{arch}"


class GoToolchains:
    """Go releases available for every architecture, and the sha256 of each one's module zip."""

    def __init__(self, run: Runner = run_client, architectures: tuple[str, ...] = ARCHITECTURES) -> None:
        self.run = run
        self.architectures = architectures

    def versions(self, dep_name: str) -> list[str]:
        listed = list_module(self.run, f"{TOOLCHAIN_MODULE}@latest").get("Versions") or []
        if not isinstance(listed, list):
            raise RegistryError(f"go list -m {TOOLCHAIN_MODULE}: Versions is not a list")
        platforms: dict[str, set[str]] = {}
        for entry in listed:
            match = _TOOLCHAIN_VERSION.match(str(entry))
            if match and match.group("os") == "linux":
                platforms.setdefault(match.group("go"), set()).add(match.group("arch"))
        found = [go for go, arches in platforms.items() if set(self.architectures) <= arches]
        if not found:
            raise RegistryError(f"{TOOLCHAIN_MODULE} lists no Go release for linux/{'+'.join(self.architectures)}")
        return found

    def _checksum_database_on(self) -> None:
        result = go_command(self.run, ["env", "-json", "GOSUMDB", "GOFLAGS", *_CHECKSUM_DB_OVERRIDES])
        if not result.succeeded:
            raise ChecksumUnavailable(f"go env: {result.last_error_line()}")
        try:
            settings = json.loads(result.stdout)
        except json.JSONDecodeError:
            raise ChecksumUnavailable("go env -json answered something that is not JSON") from None
        if settings.get("GOSUMDB", "off") == "off" or any(settings.get(name) for name in _CHECKSUM_DB_OVERRIDES):
            raise ChecksumUnavailable(
                "the go command would not verify the toolchain against the Go checksum database "
                "(GOSUMDB is off or GONOSUMDB/GONOSUMCHECK/GOPRIVATE/GOINSECURE is set); unset them"
            )
        if "-insecure" in settings.get("GOFLAGS", ""):
            raise ChecksumUnavailable("GOFLAGS has -insecure: the toolchain's checksum would not be verified")

    def checksum(self, dep_name: str, version: str, arch: str | None, algorithm: str) -> str:
        """sha256 of the toolchain module zip for linux/<arch>, downloaded and verified by `go mod download`."""
        if arch is None or algorithm != "sha256":
            raise ChecksumUnavailable(f"the Go toolchain has one sha256 per architecture, not a {algorithm} for all")
        self._checksum_database_on()
        module = f"{TOOLCHAIN_MODULE}@{toolchain_version(version, arch)}"
        result = go_command(self.run, ["mod", "download", "-json", module])
        try:
            answer = json.loads(result.stdout)
        except json.JSONDecodeError:
            raise ChecksumUnavailable(f"go mod download {module}: {result.last_error_line()}") from None
        if not result.succeeded or answer.get("Error") or not answer.get("Zip"):
            raise ChecksumUnavailable(f"go mod download {module}: {answer.get('Error') or result.last_error_line()}")
        digest = hashlib.sha256()
        with Path(answer["Zip"]).open("rb") as archive:
            for block in iter(lambda: archive.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
