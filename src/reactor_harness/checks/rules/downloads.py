"""Downloads: every artifact fetched during the build is checked against a checksum pin in the same RUN."""

from __future__ import annotations

import re
from collections.abc import Iterator

from reactor_harness.checks.rules.model import Finding, RuleContext
from reactor_harness.checks.rules.policy import CHECKSUM_PROGRAMS, DOWNLOAD_COMMANDS, RAW_DOWNLOADERS
from reactor_harness.checks.rules.shell import Command, RunScript

_REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)
_CHECK_FLAG = re.compile(r"^(--check|-[A-Za-z]*c[A-Za-z]*)$")


def download_kind(command: Command) -> str | None:
    """`curl`, `npm pack`, `go mod download`, ... if the command downloads; None otherwise."""
    program = "pip" if command.program in {"pip", "pip3"} else command.program
    operands = [word for word in command.arguments if not word.startswith("-")]
    for downloader, subcommand in DOWNLOAD_COMMANDS:
        if program != downloader:
            continue
        if subcommand is None:
            return downloader
        if " ".join(operands[: len(subcommand.split())]) == subcommand:
            return f"{downloader} {subcommand}"
    return None


def _verifies_checksum(run: RunScript) -> bool:
    return any(
        command.program in CHECKSUM_PROGRAMS and any(_CHECK_FLAG.match(arg) for arg in command.arguments)
        for command in run.commands
    )


def check_downloads_verified(context: RuleContext) -> Iterator[Finding]:
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "RUN":
            continue
        run = RunScript.of(instruction)
        kinds = [kind for command in run.commands if (kind := download_kind(command))]
        if not kinds:
            continue
        uses_checksum_pin = bool(run.references & set(context.checksum_pins))
        raw = sorted({kind for kind in kinds if kind in RAW_DOWNLOADERS})
        what = ", ".join(dict.fromkeys(kinds))
        if not uses_checksum_pin:
            yield context.finding(
                instruction,
                "download-verified",
                f"this RUN downloads ({what}) but uses no checksum pin",
                "declare a global `ARG <NAME>_SHA256=<digest>` and check the file against it in the same RUN "
                '(`echo "${<NAME>_SHA256}  <file>" | sha256sum -c -`)',
            )
        elif raw and not _verifies_checksum(run):
            yield context.finding(
                instruction,
                "download-verified",
                f"this RUN downloads with {', '.join(raw)} but never runs a checksum check",
                "check the file against the pinned digest in the same RUN "
                '(`echo "${<NAME>_SHA256}  <file>" | sha256sum -c -`)',
            )


def check_no_add_url(context: RuleContext) -> Iterator[Finding]:
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "ADD":
            continue
        sources = [word for word in instruction.value.split()[:-1] if not word.startswith("--")]
        for source in sources:
            if _REMOTE.match(source):
                yield context.finding(
                    instruction,
                    "no-add-url",
                    f"ADD fetches {source} with no checksum the rules can check",
                    "download it in a RUN with curl and verify it against a *_SHA256 pin in that RUN; use COPY "
                    "for local files",
                )
