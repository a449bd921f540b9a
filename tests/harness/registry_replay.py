"""Replays the registry answers recorded under tests/fixtures/registry (see record.py there).

Test-only: it stands in for the clients' seam (`Runner`, `Fetcher`) so the update logic runs offline,
and it fails loudly on any request it has no recording for, so a test cannot silently reach a network.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote

from reactor_harness.build.bootstrap import Mirrors
from reactor_harness.core.commands import CommandResult
from reactor_harness.updates.deb import DebianArchive
from reactor_harness.updates.go import GoModules
from reactor_harness.updates.golang_version import GoToolchains
from reactor_harness.updates.model import RegistryError
from reactor_harness.updates.npm import NpmRegistry
from reactor_harness.updates.outdated import Registries
from reactor_harness.updates.pypi import PythonIndex

RECORDINGS = Path(__file__).parent.parent / "fixtures" / "registry"
ARCHIVE = "http://archive.test/debian"
SECURITY = "http://security.test/debian-security"
INDEX = "http://index.test/simple"
NPM = "http://npm.test"


class ReplayRunner:
    """A fake `run_client`: answers `go list` from the recordings; records every call."""

    def __init__(self, overrides: Mapping[str, CommandResult | RegistryError] | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.overrides = dict(overrides or {})

    def __call__(self, command: list[str], **_options: object) -> CommandResult:
        key = tuple(command)
        self.calls.append(key)
        for fragment, result in self.overrides.items():
            if fragment in " ".join(command):
                if isinstance(result, RegistryError):
                    raise result
                return result
        if command[:2] == ["go", "list"]:
            module = command[-1].split("@", 1)[0]
            name = f"go-list-{module.replace('/', '_')}.json"
        else:
            raise AssertionError(f"no recording for {command}")
        path = RECORDINGS / name
        if not path.is_file():
            return CommandResult(key, 1, "", f"E404 no recording {name}")
        return CommandResult(key, 0, path.read_text(encoding="utf-8"), "")


class ReplayFetcher:
    """A fake `http_get`: the host's Debian mirrors, npm's registry and pip's index, from the recordings."""

    def __init__(self, overrides: Mapping[str, bytes | RegistryError] | None = None) -> None:
        self.urls: list[str] = []
        self.overrides = dict(overrides or {})

    def __call__(self, url: str, headers: Mapping[str, str]) -> bytes:
        self.urls.append(url)
        for fragment, answer in self.overrides.items():
            if fragment in url:
                if isinstance(answer, RegistryError):
                    raise answer
                return answer
        if url.startswith((ARCHIVE, SECURITY)):
            parts = url.split("/")  # .../dists/<suite>/main/binary-<arch>/Packages.gz
            suite, arch = parts[-4], parts[-2].removeprefix("binary-")
            text = (RECORDINGS / f"deb-{suite}-{arch}.Packages").read_bytes()
            return gzip.compress(text)
        if url.startswith(NPM):
            package = unquote(url.removeprefix(NPM + "/"))
            path = RECORDINGS / f"npm-doc-{package.replace('/', '_')}.json"
            if not path.is_file():
                raise RegistryError(f"404 Not Found for {url}")
            return path.read_bytes()
        if url.startswith(INDEX):
            project = url.rstrip("/").rsplit("/", 1)[-1]
            path = RECORDINGS / f"pypi-simple-{project}.json"
            if not path.is_file():
                raise RegistryError(f"404 Not Found for {url}")
            return json.dumps(json.loads(path.read_text(encoding="utf-8"))).encode()
        raise AssertionError(f"no recording for {url}")


def replay_registries(
    runner: ReplayRunner | None = None, fetcher: ReplayFetcher | None = None, suite: str = "trixie"
) -> Registries:
    """Every datasource wired to the recordings."""
    run = runner or ReplayRunner()
    fetch = fetcher or ReplayFetcher()
    go_modules = GoModules(run)
    return Registries(
        {
            "deb": DebianArchive(suite, Mirrors(ARCHIVE, SECURITY), fetch=fetch),
            "npm": NpmRegistry(run, fetch, registry=NPM),
            "pypi": PythonIndex(INDEX, fetch, run),
            "go": go_modules,
            "golang-version": GoToolchains(run),
        },
        go_modules,
    )
