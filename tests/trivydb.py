"""A small Trivy vulnerability DB, written in Trivy's own layout, for proving the gate end to end offline.

Trivy reads `<cache-dir>/db/trivy.db` (a bbolt file) and `<cache-dir>/db/metadata.json`. The bbolt file
holds one top-level bucket per data source (`"debian 13"`), in it one bucket per source package, in that
one key per vulnerability ID whose value is the advisory JSON (`{"FixedVersion": ...}` when fixed); a
`vulnerability` bucket with each ID's title and severities; a `data-source` bucket naming each source.

`BoltWriter` writes the bbolt format directly (meta pages, a freelist page, one leaf page per bucket
with overflow pages as needed), so no Go toolchain or binary blob is involved. It writes only what a
reader needs; bbolt's own writer would split large buckets into branch pages, which a reader does not
require.

Test-only, not library code: the harness never writes a vulnerability DB (Trivy downloads the real one);
this fake exists so the suite can prove the gate offline, so it lives with the tests that use it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Union

from reactor_harness.core.errors import HarnessError

# bbolt's on-disk constants.
BOLT_MAGIC = 0xED0CDAED
BOLT_VERSION = 2
PAGE_HEADER = struct.Struct("<QHHI")  # page id, flags, element count, overflow page count
LEAF_ELEMENT = struct.Struct("<IIII")  # flags, pos (from the element itself), key size, value size
BUCKET_HEADER = struct.Struct("<QQ")  # root page id, sequence
META = struct.Struct("<IIII QQ Q Q Q")  # magic, version, page size, flags, root bucket, freelist, pgid, txid
LEAF_PAGE = 0x02
META_PAGE = 0x04
FREELIST_PAGE = 0x10
BUCKET_LEAF = 0x01
MAX_ELEMENTS = 0xFFFF

SCHEMA_VERSION = 2  # the Trivy DB schema Trivy 0.5x-0.7x reads
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
STATUS_AFFECTED = 2  # trivy-db's status enum: 0 unknown, 1 not_affected, 2 affected, 3 fixed, ...

# A bucket's content: keys to values (bytes) or to nested buckets.
Bucket = Mapping[bytes, Union[bytes, "Bucket"]]


class TrivyDbError(HarnessError):
    """A test vulnerability DB could not be written."""


def fnv1a_64(data: bytes) -> int:
    value = 0xCBF29CE484222325
    for byte in data:
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


class BoltWriter:
    """Lays out a tree of buckets as a bbolt file: pages 0-1 meta, 2 freelist, then one leaf per bucket."""

    def __init__(self, page_size: int = 4096) -> None:
        self.page_size = page_size
        self._pages: list[bytes] = []  # page-aligned blocks from page 3 on
        self._next_page = 3

    def _leaf(self, entries: list[tuple[bytes, bytes, int]]) -> int:
        """Write one leaf page (with overflow pages if it needs them); its page id."""
        if len(entries) > MAX_ELEMENTS:
            raise TrivyDbError(f"a bucket of {len(entries)} keys exceeds one leaf page's {MAX_ELEMENTS} elements")
        page_id = self._next_page
        headers = bytearray()
        data = bytearray()
        data_start = PAGE_HEADER.size + LEAF_ELEMENT.size * len(entries)
        for index, (key, value, flags) in enumerate(entries):
            element_offset = PAGE_HEADER.size + LEAF_ELEMENT.size * index
            position = data_start + len(data) - element_offset
            headers += LEAF_ELEMENT.pack(flags, position, len(key), len(value))
            data += key + value
        size = data_start + len(data)
        page_count = max(1, -(-size // self.page_size))
        block = PAGE_HEADER.pack(page_id, LEAF_PAGE, len(entries), page_count - 1) + headers + data
        self._pages.append(block.ljust(page_count * self.page_size, b"\0"))
        self._next_page += page_count
        return page_id

    def _bucket(self, content: Bucket) -> int:
        """Write a bucket and everything under it; the page id of its leaf."""
        entries: list[tuple[bytes, bytes, int]] = []
        for key in sorted(content):
            if not key:
                raise TrivyDbError("bbolt keys cannot be empty")
            value = content[key]
            if isinstance(value, bytes):
                entries.append((key, value, 0))
            else:
                entries.append((key, BUCKET_HEADER.pack(self._bucket(value), 0), BUCKET_LEAF))
        return self._leaf(entries)

    def _meta(self, page_id: int, root: int, txid: int) -> bytes:
        fields = META.pack(BOLT_MAGIC, BOLT_VERSION, self.page_size, 0, root, 0, 2, self._next_page, txid)
        meta = fields + struct.pack("<Q", fnv1a_64(fields))
        return (PAGE_HEADER.pack(page_id, META_PAGE, 0, 0) + meta).ljust(self.page_size, b"\0")

    def write(self, path: Path, root: Bucket) -> None:
        """Write the bucket tree to path (replacing the file)."""
        root_page = self._bucket(root)
        freelist = PAGE_HEADER.pack(2, FREELIST_PAGE, 0, 0).ljust(self.page_size, b"\0")
        blocks = [self._meta(0, root_page, 0), self._meta(1, root_page, 1), freelist, *self._pages]
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(b"".join(blocks))
        temporary.replace(path)


@dataclass(frozen=True)
class Advisory:
    """One advisory for a source package of an OS release; fixed_version None means not fixed yet."""

    vulnerability_id: str
    package: str  # the source package (Trivy matches Debian binaries by their source package)
    severity: str
    title: str
    fixed_version: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise TrivyDbError(
                f"{self.vulnerability_id}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}"
            )


@dataclass(frozen=True)
class DataSource:
    """The data source a test DB's advisories come from, as Trivy names it (bucket, vendor id)."""

    bucket: str = "debian 13"
    vendor: str = "debian"
    name: str = "Reactor test advisories"


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")


def db_tree(advisories: Iterable[Advisory], source: DataSource) -> dict[bytes, object]:
    """The bucket tree of a Trivy DB holding the advisories (all from one data source)."""
    packages: dict[bytes, dict[bytes, bytes]] = {}
    details: dict[bytes, bytes] = {}
    for advisory in advisories:
        rank = SEVERITIES.index(advisory.severity)
        if advisory.fixed_version:
            record: dict[str, object] = {"FixedVersion": advisory.fixed_version}
        else:
            record = {"Status": STATUS_AFFECTED, "Severity": rank}
        packages.setdefault(advisory.package.encode(), {})[advisory.vulnerability_id.encode()] = _json(record)
        details[advisory.vulnerability_id.encode()] = _json(
            {
                "Title": advisory.title,
                "Description": f"{advisory.title} (a test advisory written by the Reactor harness).",
                "Severity": advisory.severity,
                "VendorSeverity": {source.vendor: rank},
            }
        )
    return {
        source.bucket.encode(): packages,
        b"vulnerability": details,
        b"data-source": {source.bucket.encode(): _json({"ID": source.vendor, "Name": source.name, "URL": ""})},
    }


def write_trivy_db(
    cache_dir: Path,
    advisories: Iterable[Advisory],
    source: DataSource = DataSource(),  # noqa: B008 - a frozen dataclass, safe as a default
    now: datetime | None = None,
) -> Path:
    """Write `<cache_dir>/db/trivy.db` and `metadata.json` for `trivy --cache-dir <cache_dir> --skip-db-update`.

    Returns the db folder. The metadata says the DB is fresh for a year, so Trivy never wants to update it.
    """
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    db_dir = cache_dir / "db"
    tree = db_tree(advisories, source)
    BoltWriter().write(db_dir / "trivy.db", tree)  # type: ignore[arg-type]  # nested dicts are Buckets
    stamp = moment.isoformat().replace("+00:00", "Z")
    metadata = {
        "Version": SCHEMA_VERSION,
        "NextUpdate": (moment + timedelta(days=365)).isoformat().replace("+00:00", "Z"),
        "UpdatedAt": stamp,
        "DownloadedAt": stamp,
    }
    (db_dir / "metadata.json").write_text(json.dumps(metadata, indent=1), encoding="utf-8")
    return db_dir


@dataclass(frozen=True)
class InstalledSource:
    """A Debian source package installed in an image (through one or more binary packages)."""

    name: str
    version: str  # [epoch:]upstream[-revision], the form Trivy compares with an advisory's FixedVersion


def installed_sources(packages: Iterable[Mapping[str, object]]) -> dict[str, InstalledSource]:
    """The source packages behind Trivy's `Packages` list of an os-pkgs result, by source name."""
    found: dict[str, InstalledSource] = {}
    for package in packages:
        name = str(package.get("SrcName") or package.get("Name") or "")
        version = str(package.get("SrcVersion") or package.get("Version") or "")
        if not name or not version:
            continue
        release = package.get("SrcRelease") if package.get("SrcName") else package.get("Release")
        epoch = package.get("SrcEpoch") if package.get("SrcName") else package.get("Epoch")
        full = f"{epoch}:{version}" if epoch else version
        full = f"{full}-{release}" if release else full
        found.setdefault(name, InstalledSource(name=name, version=full))
    return found
