"""The update model: tracked pins, update levels, findings, and the errors of the update commands."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from reactor_harness.core.errors import HarnessError
from reactor_harness.family.dockerfile import Pin

DATASOURCES = ("deb", "npm", "pypi", "go", "golang-version")
ARCHITECTURES = ("amd64", "arm64")


class UpdatesError(HarnessError):
    """A pin cannot be tracked (unknown datasource, no annotation) or an update command was misused."""


class RegistryError(HarnessError):
    """A registry did not answer, answered 404, or answered something that is not a version list."""


class ChecksumUnavailable(HarnessError):
    """A checksum that must move with a version cannot be computed or verified; that pin stays."""


class LockError(HarnessError):
    """Regenerating a lock file failed; the image's files are left as they were."""


class Level(enum.Enum):
    """How far an update may go: patch (same major.minor), minor (same major), major (anything newer)."""

    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"

    @classmethod
    def parse(cls, text: str, where: str = "") -> Level:
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(level.value for level in cls)
            raise UpdatesError(f"{where}unknown update level {text!r}: use one of {choices}") from None


class PinKind(enum.Enum):
    """Where a tracked version lives: a Dockerfile ARG, a requirements lock, or an npm lock."""

    ARG = "arg"
    REQUIREMENTS = "requirements"
    PACKAGE_LOCK = "package-lock"


@dataclass(frozen=True)
class TrackedPin:
    """A pinned version the update commands look after, read from a Dockerfile or a lock file."""

    image: str
    name: str  # the ARG name, or the package name for lock pins
    datasource: str
    dep_name: str
    current: str
    location: str  # file:line
    kind: PinKind
    path: Path
    line: int = 0  # 1-based line of the ARG (0 for lock pins, whose files are regenerated)
    checksums: tuple[Pin, ...] = ()  # checksum ARGs that must move with this version (ARG pins only)

    @property
    def label(self) -> str:
        return f"ARG {self.name}" if self.kind is PinKind.ARG else f"{self.path.name}: {self.name}"


@dataclass(frozen=True)
class Finding:
    """One pin's answer: the newest version its level allows, the newest overall, or why it is unknown."""

    pin: TrackedPin
    level: Level
    wanted: str | None = None  # newest allowed by the level, when newer than the pin
    latest: str | None = None  # newest stable version overall
    unknown: str | None = None  # why the registry's answer is missing
    notes: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        if self.unknown is not None:
            return f"unknown ({self.unknown})"
        if self.wanted is not None:
            return "update"
        if self.latest is not None and self.latest != self.pin.current:
            return f"up to date at {self.level.value} level"
        return "up to date"

    def as_json(self) -> dict[str, object]:
        return {
            "image": self.pin.image,
            "pin": self.pin.label,
            "datasource": self.pin.datasource,
            "dep_name": self.pin.dep_name,
            "location": self.pin.location,
            "current": self.pin.current,
            "level": self.level.value,
            "wanted": self.wanted,
            "latest": self.latest,
            "status": self.status,
            "unknown": self.unknown,
            "notes": list(self.notes),
        }
