"""The README's version table: one table per image (tool -> pinned version), generated from the pins.

Pins come from each Dockerfile's annotated global ARGs and from the lock files beside it:
`requirements*.txt` (`name==version --hash=...`; only the top-level names of a matching `requirements*.in`
when there is one) and `package-lock.json` (the top-level dependencies of `package.json`; devDependencies
never reach an image). An image without a lock file has no lock rows.

    python -m reactor_harness.family.versions_table                    # print the section (Markdown)
    python -m reactor_harness.family.versions_table --write README.md  # replace it in README.md
    python -m reactor_harness.family.versions_table --check README.md  # list the rows that disagree; exit 1 if any
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core.errors import HarnessError
from reactor_harness.family.discovery import Family, Image
from reactor_harness.family.readme_section import GeneratedSection, section_main

COMMAND = "python -m reactor_harness.family.versions_table --write README.md"
_HEADER = ("Tool", "Version", "Datasource", "Pinned in")
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(?P<version>[^\s;\\]+)")
_REQUIREMENT_NAME = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_HEADING = re.compile(r"^###\s+(?P<image>\S+)\s*$")


class VersionsTableError(HarnessError):
    """A lock file cannot be read, or the README has no versions section to compare or write."""


SECTION = GeneratedSection("versions", COMMAND, VersionsTableError)
MARKER_START = SECTION.start_marker
MARKER_END = SECTION.end_marker


@dataclass(frozen=True)
class VersionRow:
    """One row of an image's table, and where its version is pinned (`images/base/Dockerfile:26`)."""

    image: str
    tool: str
    version: str
    datasource: str
    pinned_in: str
    source: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.image, self.tool, self.pinned_in)


@dataclass(frozen=True)
class DocumentedRow:
    """One row as the README has it, with its line in the README."""

    line: int
    image: str
    tool: str
    version: str
    datasource: str
    pinned_in: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.image, self.tool, self.pinned_in)


def _normalise_distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with `\\` continuations joined, each with the number of its first line."""
    start = 0
    parts: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        line = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        if line.rstrip().endswith("\\"):
            parts.append(line.rstrip()[:-1])
            continue
        parts.append(line)
        yield start, " ".join(parts).strip()
        parts = []
    if parts:
        yield start, " ".join(parts).strip()


def requirements_rows(image: str, directory: Path) -> list[VersionRow]:
    """Rows of every `requirements*.txt` lock beside a Dockerfile (top-level names only if a `.in` exists)."""
    rows: list[VersionRow] = []
    for lock in sorted(directory.glob("requirements*.txt")):
        top_level = _top_level_requirements(lock.with_suffix(".in"))
        for line, text in _logical_lines(lock.read_text(encoding="utf-8")):
            if not text or text.startswith("-"):
                continue
            match = _REQUIREMENT.match(text)
            if match is None:
                raise VersionsTableError(
                    f"{lock}:{line}: {text.split()[0]!r} is not locked as `name==version --hash=...`; "
                    "regenerate the lock with the command in its header"
                )
            name = match.group("name")
            if top_level is not None and _normalise_distribution(name) not in top_level:
                continue
            rows.append(VersionRow(image, name, match.group("version"), "pypi", lock.name, f"{lock}:{line}"))
    return rows


def _top_level_requirements(source: Path) -> set[str] | None:
    if not source.is_file():
        return None
    names: set[str] = set()
    for _, text in _logical_lines(source.read_text(encoding="utf-8")):
        match = _REQUIREMENT_NAME.match(text)
        if text and not text.startswith("-") and match:
            names.add(_normalise_distribution(match.group("name")))
    return names


def package_lock_rows(image: str, directory: Path) -> list[VersionRow]:
    """Rows of `package-lock.json`: the top-level dependencies `package.json` declares, at their locked version."""
    lock_path = directory / "package-lock.json"
    if not lock_path.is_file():
        return []
    lock = _read_json(lock_path)
    manifest_path = directory / "package.json"
    manifest = _read_json(manifest_path) if manifest_path.is_file() else lock.get("packages", {}).get("", {})
    names: list[str] = []
    for section in ("dependencies", "optionalDependencies"):  # devDependencies never reach an image
        names.extend(name for name in manifest.get(section, {}) if name not in names)
    rows: list[VersionRow] = []
    for name in names:
        entry = lock.get("packages", {}).get(f"node_modules/{name}") or lock.get("dependencies", {}).get(name)
        if not entry or "version" not in entry:
            raise VersionsTableError(
                f"{lock_path}: package.json declares {name} but the lock has no version for it; "
                "regenerate the lock (`npm install --package-lock-only`)"
            )
        rows.append(VersionRow(image, name, str(entry["version"]), "npm", lock_path.name, str(lock_path)))
    return rows


def _read_json(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise VersionsTableError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise VersionsTableError(f"{path} is not a JSON object")
    return data


def image_rows(image: Image) -> list[VersionRow]:
    """An image's rows: its Dockerfile's version pins in file order, then its lock files'."""
    rows = [
        VersionRow(
            image=image.name,
            tool=pin.dep_name or pin.name,
            version=pin.value,
            datasource=pin.datasource or "",
            pinned_in=f"ARG {pin.name}",
            source=pin.location,
        )
        for pin in image.dockerfile.pins
        if pin.annotation and not pin.is_checksum
    ]
    return rows + requirements_rows(image.name, image.directory) + package_lock_rows(image.name, image.directory)


def family_rows(family: Family) -> list[VersionRow]:
    return [row for name in family.build_order for row in image_rows(family[name])]


def render(family: Family) -> str:
    """The README section, markers included: one table per image, parents first."""
    lines = [
        MARKER_START,
        f"<!-- Generated from the Dockerfile pins and lock files by `{COMMAND}`: change those, then regenerate. -->",
    ]
    for name in family.build_order:
        lines += ["", f"### {name}", ""]
        parents = family.parents(name)
        if parents:
            lines += [f"Built on {', '.join(parents)}: everything listed there is in this image too.", ""]
        lines.append(_table_line(_HEADER))
        lines.append(_table_line(("---",) * len(_HEADER)))
        for row in image_rows(family[name]):
            lines.append(_table_line((row.tool, f"`{row.version}`", row.datasource, f"`{row.pinned_in}`")))
    lines.append(MARKER_END)
    return "\n".join(lines) + "\n"


def _table_line(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def replace_section(text: str, section: str, readme_name: str = "README.md") -> str:
    return SECTION.replace(text, section, readme_name)


def documented_rows(text: str, readme_name: str = "README.md") -> list[DocumentedRow]:
    """The table rows between the markers, each under the image its `### name` heading names."""
    start, end = SECTION.bounds(text, readme_name)
    first_line = text.count("\n", 0, start) + 1
    rows: list[DocumentedRow] = []
    image = ""
    for offset, raw in enumerate(text[start:end].splitlines()):
        heading = _HEADING.match(raw)
        if heading:
            image = heading.group("image")
            continue
        if not raw.startswith("|"):
            continue
        cells = [cell.strip().strip("`").strip() for cell in raw.strip().strip("|").split("|")]
        if tuple(cells) == _HEADER or all(set(cell) <= set("-: ") for cell in cells):
            continue
        cells += [""] * (len(_HEADER) - len(cells))
        rows.append(DocumentedRow(first_line + offset, image, cells[0], cells[1], cells[2], cells[3]))
    return rows


def compare(expected: list[VersionRow], documented: list[DocumentedRow], readme_name: str = "README.md") -> list[str]:
    """Every disagreement between the pins and the README, each naming the row (and its README line)."""
    problems: list[str] = []
    by_key: dict[tuple[str, str, str], DocumentedRow] = {}
    for row in documented:
        if row.key in by_key:
            problems.append(f"{readme_name}:{row.line}: row '{row.image} | {row.tool}' appears twice")
        by_key[row.key] = row
    wanted = {row.key for row in expected}
    for pin in expected:
        found = by_key.get(pin.key)
        label = f"'{pin.image} | {pin.tool}' ({pin.pinned_in})"
        if found is None:
            problems.append(f"{readme_name}: no row {label}, which {pin.source} pins to {pin.version}")
        elif found.version != pin.version:
            problems.append(
                f"{readme_name}:{found.line}: row {label} says {found.version}, but {pin.source} pins {pin.version}"
            )
        elif found.datasource != pin.datasource:
            problems.append(
                f"{readme_name}:{found.line}: row {label} says datasource {found.datasource}, but {pin.source} "
                f"has {pin.datasource}"
            )
    for row in documented:
        if row.key not in wanted:
            problems.append(
                f"{readme_name}:{row.line}: row '{row.image} | {row.tool}' ({row.pinned_in}) matches no pin "
                "(removed or renamed?)"
            )
    return problems


def check_readme(readme: Path, family: Family) -> list[str]:
    """The rows where README disagrees with the pins; raises if README or its versions section is missing."""
    documented = documented_rows(SECTION.read(readme), readme.name)
    problems = compare(family_rows(family), documented, readme.name)
    if problems:
        problems.append(f"regenerate the tables with `{COMMAND}`")
    return problems


def write_readme(readme: Path, family: Family) -> bool:
    """Replace the versions section in place; True if the file changed."""
    return SECTION.write(readme, render(family))


def main(argv: list[str] | None = None) -> int:
    return section_main(
        argv,
        prog="python -m reactor_harness.family.versions_table",
        description="Print, write or check the README's per-image version tables.",
        render=lambda images_dir: render(Family.discover(images_dir)),
        write=lambda readme, images_dir: write_readme(readme, Family.discover(images_dir)),
        check=lambda readme, images_dir: check_readme(readme, Family.discover(images_dir)),
    )


if __name__ == "__main__":
    sys.exit(main())
