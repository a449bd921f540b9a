"""Rewriting pins in place: one ARG value, one requirements.in line, one package.json entry; then the locks.

Every edit changes the version text and nothing else (line endings, quotes, comments, annotations stay
byte for byte), and refuses when the file does not hold the expected old value where the model said.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

from reactor_harness.updates.clients import Runner, run_client
from reactor_harness.updates.model import LockError, UpdatesError

LOCK_TIMEOUT = 600.0
# A lock for another Python (`--python-version 3.13`) needs no interpreter of that version: without this, uv
# tries to download one first and, where that download is refused, spends ~10 s a lock on retries (measured).
UV_LOCK_ENVIRONMENT = {"UV_PYTHON_DOWNLOADS": "never"}
_UV_HEADER = re.compile(r"^#\s+(uv pip compile .*)$", re.MULTILINE)


def rewrite_arg(text: str, name: str, line: int, old: str, new: str, where: str) -> str:
    """The Dockerfile text with `ARG name=old` on `line` (1-based) changed to `new`, every other byte kept."""
    lines = text.splitlines(keepends=True)
    if not 1 <= line <= len(lines):
        raise UpdatesError(f"{where}: line {line} is past the end of the file; re-read the pins")
    body = lines[line - 1]
    content = body.rstrip("\r\n")
    pattern = re.compile(rf"^(\s*ARG\s+{re.escape(name)}=)(['\"]?){re.escape(old)}\2(\s*)$")
    if not pattern.match(content):
        raise UpdatesError(f"{where}: line {line} is not `ARG {name}={old}`; the file changed since it was read")
    lines[line - 1] = (
        pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{new}{m.group(2)}{m.group(3)}", content) + body[len(content) :]
    )
    return "".join(lines)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def rewrite_requirement(text: str, name: str, old: str, new: str, where: str) -> str:
    """requirements.in with `name==old` changed to `name==new` (extras, markers and comments kept)."""
    requirement = re.compile(
        r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<extras>\[[^\]]*\])?(?P<op>\s*==\s*)(?P<version>[^\s;#\\]+)"
    )
    lines = text.splitlines(keepends=True)
    hits = 0
    for index, body in enumerate(lines):
        match = requirement.match(body)
        if match and _normalise(match.group("name")) == _normalise(name):
            if match.group("version") != old:
                raise UpdatesError(f"{where}: {name} is pinned to {match.group('version')}, not {old}")
            lines[index] = body[: match.start("version")] + new + body[match.end("version") :]
            hits += 1
    if hits != 1:
        raise UpdatesError(f"{where}: expected one `{name}=={old}` line, found {hits}; pin each tool once")
    return "".join(lines)


def rewrite_package_json(text: str, name: str, old: str, new: str, where: str) -> str:
    """package.json with the dependency `"name": "old"` changed to `"new"` (formatting kept)."""
    entry = re.compile(rf'("{re.escape(name)}"\s*:\s*"){re.escape(old)}(")')
    rewritten, count = entry.subn(lambda m: f"{m.group(1)}{new}{m.group(2)}", text)
    if count != 1:
        raise UpdatesError(f'{where}: expected one `"{name}": "{old}"` entry, found {count}; pin exact versions once')
    return rewritten


def uv_command(lock: Path) -> list[str]:
    """The command the lock's header says regenerated it (`uv pip compile ... -o requirements.txt`)."""
    match = _UV_HEADER.search(lock.read_text(encoding="utf-8")[:2000])
    if match is None:
        raise LockError(f"{lock} has no `uv pip compile` command in its header; cannot regenerate it")
    command = shlex.split(match.group(1))
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    return [uv, *command[1:]]


def regenerate_requirements(directory: Path, lock_name: str, run: Runner = run_client) -> None:
    """Re-lock requirements.txt (hashes included) from requirements.in in `directory`, as its header says."""
    lock = directory / lock_name
    result = run(uv_command(lock), cwd=directory, env=UV_LOCK_ENVIRONMENT, timeout=LOCK_TIMEOUT)
    if not result.succeeded:
        raise LockError(f"uv pip compile failed for {lock_name}: {result.last_error_line()}")


def regenerate_package_lock(directory: Path, run: Runner = run_client) -> None:
    """Re-lock package-lock.json from package.json in `directory` without running any package's scripts."""
    command = ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"]
    result = run(command, cwd=directory, timeout=LOCK_TIMEOUT)
    if not result.succeeded:
        raise LockError(f"npm install --package-lock-only failed: {result.last_error_line()}")
