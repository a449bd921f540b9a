"""Version ordering per datasource, and which newer versions an update level allows.

Each datasource has its own rules: Debian's (epochs, `~` sorts before anything, revisions), semver for
npm and Go modules (pre-releases and Go pseudo-versions are not stable; `+incompatible` is build
metadata), PEP 440 for PyPI, and Go's own release names (`1.26.11`, `1.27rc1`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from debian.debian_support import Version as DebianVersion
from packaging.version import InvalidVersion
from packaging.version import Version as PythonVersion

from reactor_harness.updates.model import Level

_SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
_GO_RELEASE = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:(?P<kind>rc|beta)(?P<number>\d+))?$")
_DEBIAN_NATIVE_UPDATE = re.compile(r"\+deb\d+u\d+$")
_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True)
class ParsedVersion:
    """A version as one datasource orders it: its sort key, release numbers for levels, and stability."""

    text: str
    key: tuple[Any, ...]
    components: tuple[int, ...]
    stable: bool
    epoch: int = 0


def debian_pin_form(full_version: str) -> str:
    """What the family pins of a Debian version: epoch and upstream, without the Debian revision.

    `1:2.47.3-0+deb13u1` -> `1:2.47.3`; a native package's stable update `20250419+deb13u1` -> `20250419`.
    """
    if "-" in full_version:
        return full_version.rsplit("-", 1)[0]
    return _DEBIAN_NATIVE_UPDATE.sub("", full_version)


def _parse_deb(text: str) -> ParsedVersion | None:
    try:
        version = DebianVersion(text)
    except ValueError:
        return None
    epoch = int(version.epoch) if version.epoch else 0
    upstream = version.upstream_version or ""
    return ParsedVersion(text, (version,), tuple(int(n) for n in _NUMBERS.findall(upstream)[:3]), True, epoch)


def _semver(text: str, prefix: str) -> ParsedVersion | None:
    if prefix and not text.startswith(prefix):
        return None
    match = _SEMVER.match(text[len(prefix) :])
    if match is None:
        return None
    numbers = (int(match.group("major")), int(match.group("minor")), int(match.group("patch")))
    pre = match.group("pre")
    # A pre-release sorts before its release; identifiers compare numerically where numeric.
    pre_key: tuple[Any, ...] = (
        (1,) if pre is None else (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    )
    return ParsedVersion(text, (*numbers, pre_key), numbers, pre is None)


def _parse_npm(text: str) -> ParsedVersion | None:
    return _semver(text, "")


def _parse_go(text: str) -> ParsedVersion | None:
    """Go module versions: `v1.2.3`, `v2.0.0+incompatible`; pseudo-versions are pre-releases (not stable)."""
    return _semver(text, "v")


def _parse_pypi(text: str) -> ParsedVersion | None:
    try:
        version = PythonVersion(text)
    except InvalidVersion:
        return None
    stable = not (version.is_prerelease or version.is_devrelease or version.local)
    return ParsedVersion(text, (version,), tuple(version.release[:3]), stable, version.epoch)


def _parse_golang(text: str) -> ParsedVersion | None:
    match = _GO_RELEASE.match(text)
    if match is None:
        return None
    numbers = (int(match.group("major")), int(match.group("minor")), int(match.group("patch") or 0))
    kind = match.group("kind")
    # 1.27beta1 < 1.27rc1 < 1.27.0 (named 1.27 before Go 1.21)
    rank = (0 if kind == "beta" else 1, int(match.group("number"))) if kind else (2, 0)
    return ParsedVersion(text, (*numbers, rank), numbers, kind is None)


PARSERS: dict[str, Callable[[str], ParsedVersion | None]] = {
    "deb": _parse_deb,
    "npm": _parse_npm,
    "pypi": _parse_pypi,
    "go": _parse_go,
    "golang-version": _parse_golang,
}


def parse(datasource: str, text: str) -> ParsedVersion | None:
    """The version as the datasource orders it, or None when it is not one of its versions."""
    return PARSERS[datasource](text)


def sort_versions(datasource: str, versions: Iterable[str]) -> list[str]:
    """The valid versions, oldest first (invalid ones are dropped)."""
    parsed = [p for p in (parse(datasource, v) for v in versions) if p is not None]
    return [p.text for p in sorted(parsed, key=lambda p: p.key)]


def allowed(current: ParsedVersion, candidate: ParsedVersion, level: Level) -> bool:
    """Whether the level lets `current` move to `candidate` (a newer stable version)."""
    if candidate.epoch != current.epoch and level is not Level.MAJOR:
        return False
    if level is Level.PATCH:
        return candidate.components[:2] == current.components[:2]
    if level is Level.MINOR:
        return candidate.components[:1] == current.components[:1]
    return True


@dataclass(frozen=True)
class Choice:
    """What a version list offers a pin: the newest its level allows (if newer) and the newest stable."""

    wanted: str | None
    latest: str | None


def choose(
    datasource: str,
    current_text: str,
    candidates: Iterable[str],
    level: Level,
    eligible: Callable[[ParsedVersion], bool] = lambda _version: True,
) -> Choice:
    """Pick the update for a pin; `eligible` narrows what may be chosen (e.g. Node's LTS lines)."""
    current = parse(datasource, current_text)
    if current is None:
        raise ValueError(f"the pinned version {current_text!r} is not a valid {datasource} version")
    stable = [p for p in (parse(datasource, c) for c in candidates) if p is not None and p.stable]
    latest = max(stable, key=lambda p: p.key, default=None)
    newer = [p for p in stable if p.key > current.key and allowed(current, p, level) and eligible(p)]
    wanted = max(newer, key=lambda p: p.key, default=None)
    return Choice(wanted.text if wanted else None, latest.text if latest else None)
