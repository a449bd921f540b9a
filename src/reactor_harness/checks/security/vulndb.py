"""Trivy's vulnerability DB in a cache dir: what its metadata says, keeping it fresh once per run, and
the per-worker scan caches that share it."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from reactor_harness.checks.security.trivy import Trivy

# -- the vulnerability DB in a cache dir --------------------------------------------------------------


@dataclass(frozen=True)
class DbMetadata:
    """What `<cache-dir>/db/metadata.json` says about a vulnerability DB."""

    version: int
    next_update: datetime | None
    updated_at: datetime | None
    downloaded_at: datetime | None

    def is_fresh(self, now: datetime) -> bool:
        return self.next_update is not None and self.next_update > now


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_db_metadata(cache_dir: Path) -> DbMetadata | None:
    """The metadata of the DB in `<cache_dir>/db`, or None when there is no usable DB there."""
    db_dir = cache_dir / "db"
    if not (db_dir / "trivy.db").is_file() or (db_dir / "trivy.db").stat().st_size == 0:
        return None
    try:
        raw = json.loads((db_dir / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("Version"), int):
        return None
    return DbMetadata(
        version=raw["Version"],
        next_update=_timestamp(raw.get("NextUpdate")),
        updated_at=_timestamp(raw.get("UpdatedAt")),
        downloaded_at=_timestamp(raw.get("DownloadedAt")),
    )


# -- the vulnerability DB and the per-image scan ----------------------------------------------------


@dataclass(frozen=True)
class VulnerabilityDb:
    """Whether this run has Trivy's real vulnerability DB, where, and in words why (not)."""

    available: bool
    cache_dir: str
    detail: str
    updated_at: str | None = None  # when Trivy built the DB in use (ISO 8601), if known
    age_hours: float | None = None  # its age when this run checked it

    def too_old(self, max_age_hours: float) -> bool:
        """The DB in use is older than the policy allows, or its age is unknown (fail closed)."""
        return self.available and (self.age_hours is None or self.age_hours > max_age_hours)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VulnerabilityDb:
        return cls(**data)


def ensure_vulnerability_db(trivy: Trivy, cache_dir: Path, allow_download: bool, now: dt.datetime) -> VulnerabilityDb:
    """Use the cached DB while it is fresh, else try to download it; say precisely what is missing if neither.

    The result carries the age of the DB in use (hours since Trivy built it), which the gate holds to
    the policy's vulnerability_db_max_age_hours.
    """
    metadata = read_db_metadata(cache_dir)
    db_dir = cache_dir / "db"
    if metadata is not None and metadata.is_fresh(now):
        return _available(cache_dir, metadata, now, f"cached in {db_dir}")
    if not allow_download:
        if metadata is not None:
            return _available(
                cache_dir,
                metadata,
                now,
                f"cached in {db_dir} (stale since {_when(metadata.next_update)}; updates are off)",
            )
        return VulnerabilityDb(
            False,
            str(cache_dir),
            f"no Trivy vulnerability DB in {db_dir} (trivy.db + metadata.json) and updates are off",
        )
    download = trivy.download_vulnerability_db(cache_dir)
    refreshed = read_db_metadata(cache_dir)
    if download.succeeded and refreshed is not None:
        return _available(cache_dir, refreshed, now, f"downloaded into {db_dir}")
    error = _last_line(download.stderr or download.stdout)
    if metadata is not None:
        return _available(
            cache_dir,
            metadata,
            now,
            f"cached in {db_dir} (stale since {_when(metadata.next_update)}; refreshing failed: {error})",
        )
    return VulnerabilityDb(
        False,
        str(cache_dir),
        f"no Trivy vulnerability DB: none cached in {db_dir} (trivy.db + metadata.json) "
        f"and downloading it failed: {error}",
    )


def _available(cache_dir: Path, metadata: DbMetadata, now: dt.datetime, where: str) -> VulnerabilityDb:
    updated = metadata.updated_at
    age = round((now - updated).total_seconds() / 3600, 1) if updated else None
    age_text = f"{age:g} h old" if age is not None else "of unknown age"
    return VulnerabilityDb(
        True,
        str(cache_dir),
        f"{where}, updated {_when(updated)}, {age_text}",
        updated_at=updated.isoformat() if updated else None,
        age_hours=age,
    )


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "at an unknown time"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-400:] if lines else "no output"


@contextmanager
def worker_scan_cache(cache_root: Path, worker: str, lock_timeout_seconds: float = 3600.0) -> Iterator[Path]:
    """A scan cache dir this process alone uses while it scans (trivy#650: a shared cache's lock times out).

    One dir per xdist worker, kept across runs so rescans are warm; a file lock serialises two test runs
    that happen to share a worker name. Its `db` links to the shared `<cache_root>/db`, which scans only read.
    """
    directory = cache_root / "scan-cache" / worker
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "db"
    with FileLock(str(directory) + ".lock", timeout=lock_timeout_seconds):
        if link.is_symlink() and os.readlink(link) != _DB_LINK_TARGET:
            link.unlink()
        elif link.exists() and not link.is_symlink():
            shutil.rmtree(link)
        if not link.is_symlink():
            link.symlink_to(_DB_LINK_TARGET, target_is_directory=True)
        yield directory


_DB_LINK_TARGET = os.path.join("..", "..", "db")
