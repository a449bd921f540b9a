"""The `deb` datasource: the suite's Packages indices (suite, -updates, -security) from the host's mirrors."""

from __future__ import annotations

import lzma
import re
import threading
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from reactor_harness.build.bootstrap import Mirrors
from reactor_harness.updates.clients import Fetcher, http_get
from reactor_harness.updates.model import ARCHITECTURES, RegistryError
from reactor_harness.updates.ordering import debian_pin_form

Index = dict[str, set[str]]  # binary package -> full Debian versions


# Package and the Version of the same paragraph (no blank line between): one C-speed scan of ~60 MB.
_PACKAGE_VERSION = re.compile(rb"^Package: *(\S+)[ \t]*\n(?:[^\n]+\n)*?Version: *(\S+)", re.MULTILINE)


def parse_packages(text: bytes) -> Index:
    """Package -> versions from a Packages index (deb822 paragraphs; only Package and Version are read)."""
    index: Index = {}
    for match in _PACKAGE_VERSION.finditer(text):
        index.setdefault(match.group(1).decode("ascii", "replace"), set()).add(
            match.group(2).decode("ascii", "replace")
        )
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
        # .gz first: a third larger than .xz, but it decompresses six times faster; a suite that only
        # publishes .xz (an empty -updates suite does) is read from that.
        base = f"{mirror.rstrip('/')}/dists/{suite}/{self.component}/binary-{arch}/Packages"
        try:
            url, raw = f"{base}.gz", self.fetch(f"{base}.gz", {})
        except RegistryError as gzip_error:
            if " 404 " not in f" {gzip_error} ":
                raise
            url, raw = f"{base}.xz", self.fetch(f"{base}.xz", {})
        try:
            text = zlib.decompress(raw, wbits=zlib.MAX_WBITS | 16) if url.endswith(".gz") else lzma.decompress(raw)
        except (zlib.error, lzma.LZMAError) as error:
            raise RegistryError(f"{url} is not a compressed Packages index ({error})") from None
        index = parse_packages(text)
        if not index and suite == self.suite:  # -updates and -security may well be empty; the release is not
            raise RegistryError(f"{url} lists no package")
        return index

    def _load(self, suite: str, mirror: str | None, arch: str) -> Index | RegistryError:
        try:
            return self._download(suite, mirror, arch)
        except RegistryError as error:
            return error

    def _ensure_indices(self) -> None:
        """Download every suite × architecture index once, in parallel (a failure is remembered too)."""
        with self._lock:
            if self._indices:
                return
            wanted = [(suite, mirror, arch) for arch in self.architectures for suite, mirror in self.suites]
            with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
                loaded = list(pool.map(lambda entry: self._load(*entry), wanted))
            self._indices = {(suite, arch): index for (suite, _, arch), index in zip(wanted, loaded, strict=True)}

    def index(self, suite: str, arch: str) -> Index:
        """One suite's index for one architecture."""
        self._ensure_indices()
        found = self._indices[(suite, arch)]
        if isinstance(found, RegistryError):
            raise found
        return found

    def versions(self, dep_name: str) -> list[str]:
        """The pin forms (epoch:upstream) of `dep_name` the suites carry for every architecture."""
        per_arch: list[set[str]] = []
        for arch in self.architectures:
            found: set[str] = set()
            for suite, _ in self.suites:
                found |= {debian_pin_form(v) for v in self.index(suite, arch).get(dep_name, ())}
            per_arch.append(found)
        common = set.intersection(*per_arch) if per_arch else set()
        if not common:
            suites = ", ".join(suite for suite, _ in self.suites)
            raise RegistryError(f"{dep_name} is in none of {suites} for {'+'.join(self.architectures)}")
        return sorted(common)
