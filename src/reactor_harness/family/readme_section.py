"""A generated README section between two marker lines, and the print/--write/--check command of its generator.

Each generator (the version tables, the parity table) renders its section, markers included, from files
under images/; this module finds the section in README.md, replaces it, and runs the shared command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core.errors import HarnessError


@dataclass(frozen=True)
class GeneratedSection:
    """One generated section: its marker name, the command that regenerates it, and the error it raises."""

    name: str  # the markers are `<!-- {name}:start -->` and `<!-- {name}:end -->`
    command: str
    error: type[HarnessError]

    @property
    def start_marker(self) -> str:
        return f"<!-- {self.name}:start -->"

    @property
    def end_marker(self) -> str:
        return f"<!-- {self.name}:end -->"

    def bounds(self, text: str, readme_name: str) -> tuple[int, int]:
        """Where the section starts and ends (markers included); the error names the markers and the command."""
        start, end = text.find(self.start_marker), text.find(self.end_marker)
        if start < 0 or end < 0 or end < start:
            raise self.error(
                f"{readme_name} has no {self.name} section: add a line `{self.start_marker}` and, below it, a line "
                f"`{self.end_marker}` where it goes, then run `{self.command}`"
            )
        return start, end + len(self.end_marker)

    def documented(self, text: str, readme_name: str) -> str:
        """The section as the README has it, markers included."""
        start, end = self.bounds(text, readme_name)
        return text[start:end] + "\n"

    def replace(self, text: str, rendered: str, readme_name: str) -> str:
        """The README text with the section replaced by `rendered`."""
        start, end = self.bounds(text, readme_name)
        return text[:start] + rendered.rstrip("\n") + text[end:]

    def read(self, readme: Path) -> str:
        """The README's text; the error names the markers to add when the file does not exist."""
        if not readme.is_file():
            raise self.error(
                f"{readme} does not exist: create it with the lines `{self.start_marker}` and `{self.end_marker}`, "
                f"then run `{self.command}`"
            )
        return readme.read_text(encoding="utf-8")

    def write(self, readme: Path, rendered: str) -> bool:
        """Replace the section in place; True if the file changed."""
        text = self.read(readme)
        updated = self.replace(text, rendered, readme.name)
        if updated != text:
            readme.write_text(updated, encoding="utf-8")
        return updated != text


def section_main(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    render: Callable[[Path], str],
    write: Callable[[Path, Path], bool],
    check: Callable[[Path, Path], list[str]],
) -> int:
    """The generator's command line: print the section, `--write README`, or `--check README` (exit 1 on problems).

    render(images_dir), write(readme, images_dir) and check(readme, images_dir) do the generator's own part;
    a HarnessError from them is printed and exits 2.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--images-dir", type=Path, default=Path("images"), help="the family's folder (default: images)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, metavar="README", help="replace the section between the markers")
    action.add_argument("--check", type=Path, metavar="README", help="list the problems; exit 1 if any")
    arguments = parser.parse_args(argv)
    try:
        if arguments.write:
            changed = write(arguments.write, arguments.images_dir)
            sys.stderr.write(f"{arguments.write}: {'updated' if changed else 'already up to date'}\n")
            return 0
        if arguments.check:
            problems = check(arguments.check, arguments.images_dir)
            sys.stdout.writelines(f"{problem}\n" for problem in problems)
            return 1 if problems else 0
        sys.stdout.write(render(arguments.images_dir))
        return 0
    except HarnessError as error:
        sys.stderr.write(f"{error}\n")
        return 2
