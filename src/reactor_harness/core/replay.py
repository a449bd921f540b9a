"""Verdicts kept across runs: a test that passed is not run again while nothing it depends on has changed.

A test's replay key names everything its verdict can depend on: its node id (the test and its parameters),
the bytes of every file of the checkout it can read (the harness, the tests, the policy, the Dockerfiles of
its image and its parents), the Python environment and tools the run uses, and, for a test of a built
image, that image's id (content-addressed, so a rebuilt image is a new key). A passing verdict is kept under
that key in the results cache (`core.cache`), with what the test recorded (its area results, its report
sections); a later run with the same key replays it instead of running the test, and says so. Failures,
skips and xfails are never kept: they run every time. Tests whose verdict depends on something a key cannot
name (today's date, a live registry) are marked `always_runs` and never replayed; strict mode (CI) replays
nothing, so the gate always runs every check.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from reactor_harness.core.cache import ResultCache
from reactor_harness.core.commands import CommandTimedOut, run_command

REPLAY_KIND = "verdicts"
MAX_SECTIONS_CHARACTERS = 256 * 1024  # a test that printed more than this is not kept: its replay would be heavy


@dataclass(frozen=True)
class CheckoutDigests:
    """Digests of the checkout's files: those outside the family's image folders, and each image folder's."""

    common: str
    images: Mapping[str, str]

    @classmethod
    def of(cls, root: Path, images_dir: Path, image_names: Iterable[str]) -> CheckoutDigests | None:
        """Digest every file git would see in root (tracked, plus untracked and not ignored); None when git
        cannot list them (no checkout, no git), since then no key can name the files a test reads."""
        files = checkout_files(root)
        if files is None:
            return None
        folders = {name: (images_dir / name).resolve() for name in image_names}
        common = hashlib.sha256()
        per_image = {name: hashlib.sha256() for name in folders}
        for relative in sorted(files):
            path = root / relative
            digest = per_image.get(_image_of(path.resolve(), folders), common)
            digest.update(relative.encode() + b"\0" + _file_digest(path).encode() + b"\n")
        return cls(common.hexdigest(), {name: digest.hexdigest() for name, digest in per_image.items()})

    def for_images(self, names: Iterable[str]) -> str:
        """One digest of the common files and the named image folders (a test of one image and its parents)."""
        digest = hashlib.sha256(self.common.encode())
        for name in sorted(set(names)):
            digest.update(f"{name}={self.images.get(name, 'absent')}".encode())
        return digest.hexdigest()

    def everything(self) -> str:
        """One digest of every file (a test that is not about one image may read any Dockerfile)."""
        return self.for_images(self.images)


def checkout_files(root: Path) -> list[str] | None:
    """The checkout's files relative to root, as git sees them (tracked, and untracked but not ignored)."""
    try:
        listed = run_command(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"], timeout=30
        )
    except (CommandTimedOut, OSError):
        return None
    if not listed.succeeded:
        return None
    return sorted({name for name in listed.stdout.split("\0") if name})


def _image_of(path: Path, folders: Mapping[str, Path]) -> str:
    for name, folder in folders.items():
        if path.is_relative_to(folder):
            return name
    return ""


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"  # tracked but deleted: that is part of the checkout's state too
    except IsADirectoryError:
        return "folder"  # a submodule or a nested checkout


# Host programs the harness and its tests run (the engine's CLI, the browser that renders the report, the
# toolchains and clients): a new version of one is a new environment. Looked up on PATH, by size and mtime.
HOST_PROGRAMS = ("docker", "git", "chromium", "go", "node", "npm", "mmdebstrap", "arch-test")


def environment_digest(
    tool_dirs: Sequence[Path] = (),
    variables: Mapping[str, str] | None = None,
    programs: Sequence[str] = HOST_PROGRAMS,
) -> str:
    """What a verdict depends on outside the checkout: the Python and its installed distributions, the
    harness's environment variables (REACTOR_*, CI), the tools installed for the harness and the host programs
    it runs (by name, size and modification time)."""
    variables = os.environ if variables is None else variables
    digest = hashlib.sha256(sys.version.encode())
    distributions = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in metadata.distributions() if dist.metadata["Name"]
    )
    digest.update("\n".join(distributions).encode())
    for name in sorted(variables):
        if name.startswith("REACTOR_") or name == "CI":
            digest.update(f"\n{name}={variables[name]}".encode())
    tools: list[tuple[str, Path]] = []
    for folder in tool_dirs:
        try:
            tools.extend((entry.name, entry) for entry in sorted(folder.iterdir()))
        except OSError:
            continue
    path = variables.get("PATH", os.defpath)
    tools.extend((f"host {name}", Path(found)) for name in programs if (found := shutil.which(name, path=path)))
    for name, entry in tools:
        try:
            status = entry.stat()
        except OSError:
            continue
        digest.update(f"\n{name}:{status.st_size}:{status.st_mtime_ns}".encode())
    return digest.hexdigest()


def replay_key(
    nodeid: str, *, files: str, environment: str, settings: str, images: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The key of a test's verdict: its node id, the files and environment it can read, the run's settings
    that change what it checks, and the ids of the built images it checks (target -> image id)."""
    key = {"test": nodeid, "files": files, "environment": environment, "settings": settings}
    for target, image_id in sorted((images or {}).items()):
        key[f"image {target}"] = image_id
    return key


@dataclass(frozen=True)
class Verdict:
    """A passing verdict as kept: what the test recorded, and when and in which run it passed."""

    run_id: str
    passed_at: str
    duration_seconds: float
    user_properties: tuple[tuple[str, str], ...] = ()
    sections: tuple[tuple[str, str], ...] = field(default=())

    def encode(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "passed_at": self.passed_at,
            "duration_seconds": self.duration_seconds,
            "user_properties": [list(pair) for pair in self.user_properties],
            "sections": [list(pair) for pair in self.sections],
        }

    @classmethod
    def decode(cls, value: Any) -> Verdict:
        return cls(
            run_id=str(value["run_id"]),
            passed_at=str(value["passed_at"]),
            duration_seconds=float(value["duration_seconds"]),
            user_properties=tuple((str(name), str(text)) for name, text in value["user_properties"]),
            sections=tuple((str(title), str(text)) for title, text in value["sections"]),
        )


def keepable_properties(user_properties: Iterable[tuple[str, object]]) -> tuple[tuple[str, str], ...] | None:
    """A test's user properties as they can be kept (name, text), or None when one is not text: a verdict
    whose record cannot be replayed whole is not kept."""
    kept: list[tuple[str, str]] = []
    for name, value in user_properties:
        if not isinstance(value, str):
            return None
        kept.append((str(name), value))
    return tuple(kept)


def keepable_sections(sections: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...] | None:
    """A test's report sections as they can be kept, or None when they are too large to keep."""
    kept = tuple((str(title), str(text)) for title, text in sections)
    if sum(len(title) + len(text) for title, text in kept) > MAX_SECTIONS_CHARACTERS:
        return None
    return kept


class VerdictStore:
    """Passing verdicts in the results cache, one entry per replay key."""

    def __init__(self, cache: ResultCache) -> None:
        self.cache = cache

    def find(self, key: Mapping[str, str]) -> Verdict | None:
        return self.cache.peek(REPLAY_KIND, key, Verdict.decode)

    def keep(self, key: Mapping[str, str], verdict: Verdict) -> None:
        self.cache.put(REPLAY_KIND, key, verdict.encode())


def settings_digest(values: Mapping[str, object]) -> str:
    """A digest of the run settings that change what a test checks."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
