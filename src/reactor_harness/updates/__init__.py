"""Keeping the pins fresh: what is outdated per datasource, and bumping pins with their checksums and locks.

Contract of a datasource module (deb, npm, pypi, go, golang_version): a class with
`versions(dep_name) -> list[str]` (every published version, raw; raises `RegistryError` naming the
reason when the registry does not answer usefully) and, where a pin's checksums move with it,
`checksum(dep_name, version, arch, algorithm) -> str` (hex; raises `ChecksumUnavailable`). Ordering and
level filtering live in `ordering`; collecting the pins in `collect`; the commands in `outdated`/`bump`.
"""

from __future__ import annotations

from reactor_harness.updates.model import (
    ChecksumUnavailable,
    Finding,
    Level,
    RegistryError,
    TrackedPin,
    UpdatesError,
)

__all__ = ["ChecksumUnavailable", "Finding", "Level", "RegistryError", "TrackedPin", "UpdatesError"]
