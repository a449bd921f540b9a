"""The `deb` datasource: the suite's Packages indices (suite, -updates, -security) from the host's mirrors."""

from __future__ import annotations

import lzma
import threading
from collections.abc import Iterable

from reactor_harness.bootstrap import Mirrors
from reactor_harness.updates.clients import Fetcher, http_get
from reactor_harness.updates.model import ARCHITECTURES, RegistryError
from reactor_harness.updates.ordering import debian_pin_form

Index = dict[str, set[str]]  # binary package -> full Debian versions


def parse_packages(text: str) -> Index:
    """Package -> versions from a Packages index (deb822 paragraphs; only Package and Version are read)."""
    index: Index = {}
    name = version = None
    for line in text.splitlines():
        if not line:
            if name and version:
                index.setdefault(name, set()).add(version)
            name = version = None
        elif line.startswith("Package: "):
            name = line[9:].strip()
        elif line.startswith("Version: "):
            version = line[9:].strip()
    if name and version:
        index.setdefault(name, set()).add(version)
    return index


class DebianArchive:
    """Versions of Debian binary packages in one suite and its updates, for every image architecture."""

    def __init__(
        self,
        suite: str,
        mirrors: Mirrors,
        architectures: Iterable[str] = ARCHITECTURES,
        fetch: Fetcher = http_get,
        component: str = "main",
    ) -> None:
        self.suite = suite
        self.mirrors = mirrors
        self.architectures = tuple(architectures)
        self.fetch = fetch
        self.component = component
        self._indices: dict[tuple[str, str], Index | RegistryError] = {}
        self._lock = threading.Lock()

    @property
    def suites(self) -> list[tuple[str, str | None]]:
        """(suite, mirror) pairs: the release and its point updates from the archive, fixes from security."""
        return [
            (self.suite, self.mirrors.archive),
            (f"{self.suite}-updates", self.mirrors.archive),
            (f"{self.suite}-security", self.mirrors.security),
        ]

    def _download(self, suite: str, mirror: str | None, arch: str) -> Index:
        if not mirror:
            raise RegistryError(
                f"no Debian mirror for {suite} in this host's apt configuration; set REACTOR_DEBIAN_MIRROR "
                "and REACTOR_DEBIAN_SECURITY_MIRROR"
            )
        url = f"{mirror.rstrip('/')}/dists/{suite}/{self.component}/binary-{arch}/Packages.xz"
        raw = self.fetch(url, {})
        try:
            text = lzma.decompress(raw).decode("utf-8")
        except (lzma.LZMAError, UnicodeDecodeError) as error:
            raise RegistryError(f"{url} is not an xz-compressed Packages index ({error})") from None
        index = parse_packages(text)
        if not index:
            raise RegistryError(f"{url} lists no package")
        return index

    def index(self, suite: str, mirror: str | None, arch: str) -> Index:
        """One suite's index for one architecture, downloaded once (a failure is remembered too)."""
        key = (suite, arch)
        with self._lock:
            if key not in self._indices:
                try:
                    self._indices[key] = self._download(suite, mirror, arch)
                except RegistryError as error:
                    self._indices[key] = error
            found = self._indices[key]
        if isinstance(found, RegistryError):
            raise found
        return found

    def versions(self, dep_name: str) -> list[str]:
        """The pin forms (epoch:upstream) of `dep_name` the suites carry for every architecture."""
        per_arch: list[set[str]] = []
        for arch in self.architectures:
            found: set[str] = set()
            for suite, mirror in self.suites:
                found |= {debian_pin_form(v) for v in self.index(suite, mirror, arch).get(dep_name, ())}
            per_arch.append(found)
        common = set.intersection(*per_arch) if per_arch else set()
        if not common:
            suites = ", ".join(suite for suite, _ in self.suites)
            raise RegistryError(f"{dep_name} is in none of {suites} for {'+'.join(self.architectures)}")
        return sorted(common)
