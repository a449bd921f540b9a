"""The Debian packages of a built image, and what changed against the previous build of the same tag.

A rebuild that takes Debian's security revisions (`--rebuild`) shows them here: per image × platform the
packages added, removed and upgraded (or downgraded) between the image the tag named before and the new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reactor_harness.core.engine import Engine

DPKG_QUERY = ("dpkg-query", "-W", "-f", "${Package}\t${Version}\n")


@dataclass(frozen=True)
class PackageDiff:
    """Debian packages added, removed and changed (name -> (before, after)) between two builds of one tag."""

    previous_image: str
    added: Mapping[str, str] = field(default_factory=dict)
    removed: Mapping[str, str] = field(default_factory=dict)
    changed: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> str:
        """`+1 −0 ~3`: added, removed, changed."""
        return f"+{len(self.added)} −{len(self.removed)} ~{len(self.changed)}"

    def lines(self) -> list[str]:
        """One line per package: `+ name version`, `- name version`, `~ name before → after`."""
        return (
            [f"+ {name} {version}" for name, version in sorted(self.added.items())]
            + [f"- {name} {version}" for name, version in sorted(self.removed.items())]
            + [f"~ {name} {before} → {after}" for name, (before, after) in sorted(self.changed.items())]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "previous_image": self.previous_image,
            "added": dict(self.added),
            "removed": dict(self.removed),
            "changed": {name: list(pair) for name, pair in self.changed.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PackageDiff:
        changed = {str(name): (str(pair[0]), str(pair[1])) for name, pair in data.get("changed", {}).items()}
        return cls(str(data["previous_image"]), dict(data.get("added", {})), dict(data.get("removed", {})), changed)


def parse_dpkg_query(output: str) -> dict[str, str]:
    """`name<TAB>version` lines (DPKG_QUERY's format) as a mapping; other lines are ignored."""
    packages: dict[str, str] = {}
    for line in output.splitlines():
        name, tab, version = line.partition("\t")
        if tab and name.strip() and version.strip():
            packages[name.strip()] = version.strip()
    return packages


def diff_packages(previous_image: str, before: Mapping[str, str], after: Mapping[str, str]) -> PackageDiff:
    """What changed from `before` to `after` (both name -> version)."""
    return PackageDiff(
        previous_image=previous_image,
        added={name: after[name] for name in sorted(set(after) - set(before))},
        removed={name: before[name] for name in sorted(set(before) - set(after))},
        changed={
            name: (before[name], after[name])
            for name in sorted(set(before) & set(after))
            if before[name] != after[name]
        },
    )


def installed_packages(engine: Engine, image: str, platform: str, labels: Mapping[str, str]) -> dict[str, str] | None:
    """The image's Debian packages (name -> version), or None when it has no dpkg or cannot run here."""
    result = engine.run_once(image, list(DPKG_QUERY), platform=platform, labels=labels, user="root", timeout=300)
    return parse_dpkg_query(result.stdout) if result.succeeded else None
