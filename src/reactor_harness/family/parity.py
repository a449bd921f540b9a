"""Parity with the upstream images, read from `images/parity.toml`: every upstream tool provided (by a pin
or lock entry of the image that ships it) or excluded with a reason; checked and rendered into the README.

    python -m reactor_harness.family.parity                    # print the README section (Markdown)
    python -m reactor_harness.family.parity --write README.md  # replace it in README.md
    python -m reactor_harness.family.parity --check README.md  # list the problems; exit 1 if any
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactor_harness.core.errors import HarnessError
from reactor_harness.family.discovery import Family
from reactor_harness.family.versions_table import image_rows

PARITY_FILE = "parity.toml"
MARKER_START = "<!-- parity:start -->"
MARKER_END = "<!-- parity:end -->"
COMMAND = "python -m reactor_harness.family.parity --write README.md"
_TEST_REFERENCE = re.compile(r"^(?P<file>tests/[\w/]+\.py)::(?P<test>test_\w+)$")


class ParityError(HarnessError):
    """The parity file is missing or malformed, or the README has no parity section."""


@dataclass(frozen=True)
class Provision:
    """One image's pin or lock entry that ships (part of) an upstream tool."""

    image: str
    pin: str | None  # an ARG of the image's Dockerfile
    lock: str | None  # a package of the image's lock file

    def __str__(self) -> str:
        return f"{self.image}: ARG {self.pin}" if self.pin else f"{self.image}: {self.lock} (lock)"


@dataclass(frozen=True)
class UpstreamTool:
    """An upstream image's tool and what this family does with it."""

    name: str
    upstream: str
    provided: tuple[Provision, ...]
    excluded: str | None
    note: str
    used_in: str | None


@dataclass(frozen=True)
class Parity:
    """The whole parity file: the tools, the aliases per image and the upstream aliases left out."""

    path: Path
    tools: tuple[UpstreamTool, ...]
    aliases: Mapping[str, Mapping[str, str]]
    excluded_aliases: Mapping[str, str]


def _text(table: Mapping[str, Any], key: str, where: str, path: Path, *, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ParityError(f"{path}: {where}: `{key}` must be a non-empty string, not {value!r}")
    return value


def _provision(entry: Any, where: str, path: Path) -> Provision:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("image"), str):
        raise ParityError(
            f"{path}: {where}: each `provided` entry is {{ image = ..., pin = ... }} or {{ ..., lock = ... }}"
        )
    pin, lock = entry.get("pin"), entry.get("lock")
    if (pin is None) == (lock is None) or not isinstance(pin or lock, str):
        raise ParityError(
            f"{path}: {where}: a `provided` entry names exactly one of `pin` (an ARG) or `lock` (a package)"
        )
    return Provision(entry["image"], pin, lock)


def _tool(name: str, table: Any, path: Path) -> UpstreamTool:
    where = f'[tools."{name}"]'
    if not isinstance(table, Mapping):
        raise ParityError(f"{path}: {where} must be a table")
    unknown = set(table) - {"upstream", "provided", "excluded", "note", "used_in"}
    if unknown:
        raise ParityError(f"{path}: {where}: unknown keys {sorted(unknown)}")
    provided = table.get("provided", [])
    if not isinstance(provided, list):
        raise ParityError(f"{path}: {where}: `provided` must be a list of {{ image, pin | lock }}")
    return UpstreamTool(
        name=name,
        upstream=str(_text(table, "upstream", where, path)),
        provided=tuple(_provision(entry, where, path) for entry in provided),
        excluded=_text(table, "excluded", where, path, required=False),
        note=_text(table, "note", where, path, required=False) or "",
        used_in=_text(table, "used_in", where, path, required=False),
    )


def _strings(table: Any, where: str, path: Path) -> dict[str, str]:
    if not isinstance(table, Mapping) or not all(isinstance(v, str) for v in table.values()):
        raise ParityError(f"{path}: [{where}] must map names to strings")
    return dict(table)


def load(images_dir: Path) -> Parity:
    """Read images/parity.toml; raises ParityError naming the entry and the fix when it is malformed."""
    path = images_dir / PARITY_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParityError(
            f"{path} does not exist: list every upstream tool there (see the README's parity section)"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ParityError(f"{path}: not valid TOML: {error}") from None
    tools = data.get("tools")
    if not isinstance(tools, Mapping) or not tools:
        raise ParityError(f"{path}: no [tools.<name>] tables")
    aliases = data.get("aliases", {})
    if not isinstance(aliases, Mapping):
        raise ParityError(f"{path}: [aliases] must hold one table per image")
    return Parity(
        path=path,
        tools=tuple(_tool(name, table, path) for name, table in tools.items()),
        aliases={image: _strings(table, f"aliases.{image}", path) for image, table in aliases.items()},
        excluded_aliases=_strings(data.get("excluded_aliases", {}), "excluded_aliases", path),
    )


def problems(parity: Parity, family: Family, root: Path, upstream_tools: Mapping[str, list[str]]) -> list[str]:
    """Every way the parity file fails its promise: an upstream tool neither provided nor excluded, an
    entry both or neither, a claimed pin or lock entry the image does not have, a named test that does not
    exist, an alias for an image that does not exist."""
    found: list[str] = []
    where = parity.path.name
    by_name = {tool.name: tool for tool in parity.tools}
    for upstream, names in upstream_tools.items():
        for name in names:
            tool = by_name.get(name)
            if tool is None:
                found.append(
                    f'{where}: upstream {upstream}\'s {name} is neither provided nor excluded: add [tools."{name}"]'
                )
            elif tool.upstream != upstream:
                found.append(
                    f'{where}: [tools."{name}"] says upstream = {tool.upstream!r}, upstream had it in {upstream}'
                )
    rows = {name: image_rows(family[name]) for name in family.images}
    for tool in parity.tools:
        label = f'{where}: [tools."{tool.name}"]'
        if bool(tool.provided) == bool(tool.excluded):
            found.append(f"{label}: give exactly one of `provided` (the pins that ship it) or `excluded` (why not)")
        for provision in tool.provided:
            if provision.image not in rows:
                found.append(f"{label}: image {provision.image!r} is not in the family ({', '.join(family.images)})")
                continue
            image_pins = rows[provision.image]
            if provision.pin and not any(row.pinned_in == f"ARG {provision.pin}" for row in image_pins):
                found.append(f"{label}: {provision.image}'s Dockerfile has no pinned ARG {provision.pin}")
            if provision.lock and not any(
                row.tool == provision.lock and not row.pinned_in.startswith("ARG ") for row in image_pins
            ):
                found.append(f"{label}: {provision.image}'s lock file does not pin {provision.lock}")
        if tool.used_in:
            found += _missing_test(label, tool.used_in, root)
    for image in parity.aliases:
        if image not in family.images:
            found.append(f"{where}: [aliases.{image}]: no such image in the family ({', '.join(family.images)})")
    overlap = {name for table in parity.aliases.values() for name in table} & set(parity.excluded_aliases)
    if overlap:
        found.append(f"{where}: aliases both defined and excluded: {sorted(overlap)}")
    return found


def _missing_test(label: str, reference: str, root: Path) -> list[str]:
    match = _TEST_REFERENCE.match(reference)
    if not match:
        return [f"{label}: used_in = {reference!r} is not `tests/<file>.py::<test_name>`"]
    test_file = root / match["file"]
    if not test_file.is_file():
        return [f"{label}: used_in names {match['file']}, which does not exist"]
    if not re.search(rf"^def {match['test']}\(", test_file.read_text(encoding="utf-8"), re.MULTILINE):
        return [f"{label}: used_in names {reference}, but {match['file']} has no such test"]
    return []


def render(parity: Parity) -> str:
    """The README section, markers included: the tools by upstream image, then the aliases."""
    lines = [
        MARKER_START,
        f"<!-- Generated from images/parity.toml by `{COMMAND}`: change that file, then regenerate. -->",
        "",
        "| upstream image | tool | here | pinned by | used in |",
        "| --- | --- | --- | --- | --- |",
    ]
    for tool in parity.tools:
        if tool.excluded:
            here, pinned = f"excluded: {tool.excluded}", "—"
        else:
            images = sorted({p.image for p in tool.provided}, key=[p.image for p in tool.provided].index)
            here = ", ".join(images) + (f" ({tool.note})" if tool.note else "")
            pinned = "; ".join(f"`{p}`" for p in tool.provided)
        used = f"`{tool.used_in.split('::')[-1]}`" if tool.used_in else "—"
        lines.append(f"| {tool.upstream} | {tool.name} | {here} | {pinned} | {used} |")
    lines += ["", "Aliases of interactive shells (none shadows a command or builtin; checked on a terminal):", ""]
    lines += ["| image | alias | runs |", "| --- | --- | --- |"]
    for image, table in parity.aliases.items():
        lines += [f"| {image} | `{name}` | `{command}` |" for name, command in table.items()]
    lines += ["", "Upstream aliases left out:", ""]
    lines += [f"- `{name}`: {reason}" for name, reason in parity.excluded_aliases.items()]
    lines.append(MARKER_END)
    return "\n".join(lines) + "\n"


def _bounds(text: str, readme: Path) -> tuple[int, int]:
    start, end = text.find(MARKER_START), text.find(MARKER_END)
    if start < 0 or end < start:
        raise ParityError(
            f"{readme} has no parity section: add the lines `{MARKER_START}` and `{MARKER_END}`, then run `{COMMAND}`"
        )
    return start, end + len(MARKER_END)


def documented(readme: Path) -> str:
    """The parity section as README.md has it, markers included."""
    text = readme.read_text(encoding="utf-8")
    start, end = _bounds(text, readme)
    return text[start:end] + "\n"


def write_readme(readme: Path, parity: Parity) -> bool:
    """Replace the parity section in place; True if the file changed."""
    text = readme.read_text(encoding="utf-8")
    start, end = _bounds(text, readme)
    updated = text[:start] + render(parity).rstrip("\n") + text[end:]
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reactor_harness.family.parity", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--images-dir", type=Path, default=Path("images"), help="the family's folder (default: images)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, metavar="README", help="replace the section between the markers")
    action.add_argument("--check", type=Path, metavar="README", help="exit 1 if the section differs from the file")
    arguments = parser.parse_args(argv)
    try:
        parity = load(arguments.images_dir)
        if arguments.write:
            changed = write_readme(arguments.write, parity)
            sys.stderr.write(f"{arguments.write}: {'updated' if changed else 'already up to date'}\n")
            return 0
        if arguments.check:
            if documented(arguments.check) != render(parity):
                sys.stdout.write(f"{arguments.check}: the parity section is stale; run `{COMMAND}`\n")
                return 1
            return 0
        sys.stdout.write(render(parity))
        return 0
    except HarnessError as error:
        sys.stderr.write(f"{error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
