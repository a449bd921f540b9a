"""The update policy: default level per image and datasource, and Node.js's LTS lines (images/update-policy.toml)."""

from __future__ import annotations

import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from reactor_harness.updates.model import DATASOURCES, Level, UpdatesError

POLICY_FILE = "update-policy.toml"


@dataclass(frozen=True)
class UpdatePolicy:
    """Default levels (per datasource, overridable per image) and the Node.js LTS table."""

    defaults: dict[str, Level]
    per_image: dict[str, dict[str, Level]] = field(default_factory=dict)
    node_packages: frozenset[str] = frozenset()
    node_lts_start: dict[int, datetime.date] = field(default_factory=dict)
    node_release_notes: str = ""  # URL template with {version}
    unlisted: dict[str, str] = field(default_factory=dict)  # dep name -> why its registry lists no versions

    def level_for(self, image: str, datasource: str, override: Level | None = None) -> Level:
        """The level a pin gets: the command line's, else the image's, else the datasource's default."""
        if override is not None:
            return override
        return self.per_image.get(image, {}).get(datasource) or self.defaults.get(datasource, Level.PATCH)

    def is_node_binary(self, dep_name: str) -> bool:
        return dep_name in self.node_packages

    def lts_majors(self, today: datetime.date) -> set[int]:
        """The Node.js majors whose LTS has begun by `today`."""
        return {major for major, start in self.node_lts_start.items() if start <= today}

    @classmethod
    def load(cls, path: Path) -> UpdatePolicy:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise UpdatesError(
                f"cannot read the update policy {path}: {error}; create it (see README, Pins)"
            ) from error
        except tomllib.TOMLDecodeError as error:
            raise UpdatesError(f"{path} is not valid TOML: {error}") from error
        defaults = _levels(data.get("defaults", {}), f"{path} [defaults]")
        per_image = {
            image: _levels(levels, f"{path} [images.{image}]") for image, levels in data.get("images", {}).items()
        }
        node = data.get("node", {})
        lts: dict[int, datetime.date] = {}
        for major, start in node.get("lts-start", {}).items():
            if not str(major).isdigit() or not isinstance(start, datetime.date):
                raise UpdatesError(
                    f"{path} [node.lts-start]: {major} = {start!r} must be `<major> = YYYY-MM-DD` (an unquoted date)"
                )
            lts[int(major)] = start
        notes = str(node.get("release-notes", {}).get("url", ""))
        unlisted = data.get("unlisted", {})
        if not isinstance(unlisted, dict) or not all(isinstance(why, str) and why for why in unlisted.values()):
            raise UpdatesError(
                f'{path} [unlisted]: each entry must be `"<dep name>" = "<why its registry lists none>"`'
            )
        return cls(defaults, per_image, frozenset(node.get("packages", [])), lts, notes, dict(unlisted))


def _levels(table: object, where: str) -> dict[str, Level]:
    if not isinstance(table, dict):
        raise UpdatesError(f"{where} must be a table of datasource = level")
    levels: dict[str, Level] = {}
    for datasource, level in table.items():
        if datasource not in DATASOURCES:
            raise UpdatesError(f"{where}: unknown datasource {datasource!r} (known: {', '.join(DATASOURCES)})")
        levels[datasource] = Level.parse(str(level), f"{where} {datasource}: ")
    return levels
