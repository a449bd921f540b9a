"""The Debian packages of a built image, and what changed against the previous build of the same tag.

A rebuild that takes Debian's security revisions (`--rebuild`) shows them here: per image × platform the
packages added, removed and upgraded (or downgraded) between the image the tag named before and the new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reactor_harness.core.cache import ResultCache, layer_stack_key
from reactor_harness.core.protocols import ContainerEngine, ContainerSpec

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


PACKAGES_KIND = "debian-packages"


class _NotListed(Exception):
    """dpkg-query did not answer (no dpkg in the image, or it cannot run here): nothing to keep."""


def installed_packages(
    engine: ContainerEngine,
    image: str,
    platform: str,
    labels: Mapping[str, str],
    *,
    layers: Sequence[str] = (),
    cache: ResultCache | None = None,
) -> dict[str, str] | None:
    """The image's Debian packages (name -> version), or None when it has no dpkg or cannot run here.

    With its layer stack and a results cache, the list is kept by the stack: the same layers hold the same
    dpkg database, so a later build with the same layers (a new revision label only) starts no container.
    """

    def query() -> dict[str, str]:
        result = engine.run_once(ContainerSpec(image, platform, labels, DPKG_QUERY, user="root"), timeout=300)
        if not result.succeeded:
            raise _NotListed
        return parse_dpkg_query(result.stdout)

    try:
        if cache is None or not layers:
            return query()
        key = {"layers": layer_stack_key(layers), "platform": platform, "query": " ".join(DPKG_QUERY)}
        return cache.get(PACKAGES_KIND, key, query, dict, _packages_from_json).value
    except _NotListed:
        return None


def _packages_from_json(data: Any) -> dict[str, str]:
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError("not a name -> version mapping")
    return dict(data)
