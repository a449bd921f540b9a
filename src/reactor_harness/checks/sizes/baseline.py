"""The committed size baseline: its file format, growth against it, and rewriting it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reactor_harness.checks.sizes.measure import ImageSizes
from reactor_harness.checks.sizes.policy import megabytes, signed_megabytes
from reactor_harness.core.errors import HarnessError

UPDATE_OPTION = "--update-size-baseline"
BASELINE_FILE_NAME = "size-baseline.json"


class BaselineError(HarnessError):
    """The size baseline file is missing, malformed, or has no entry for an image × platform."""


@dataclass(frozen=True)
class BaselineEntry:
    """The last accepted sizes of one image × platform."""

    compressed_bytes: int
    uncompressed_bytes: int


@dataclass(frozen=True)
class SizeChange:
    """How an image's sizes moved against its baseline entry."""

    target: str
    old: BaselineEntry
    new: BaselineEntry

    @property
    def delta(self) -> int:
        return self.new.compressed_bytes - self.old.compressed_bytes

    @property
    def ratio(self) -> float:
        return self.delta / self.old.compressed_bytes if self.old.compressed_bytes else float("inf")

    def describe(self) -> str:
        old, new = self.old, self.new
        return (
            f"{self.target}: compressed {megabytes(old.compressed_bytes)} → {megabytes(new.compressed_bytes)} "
            f"({signed_megabytes(self.delta)}, {self.ratio:+.1%}); "
            f"uncompressed {megabytes(old.uncompressed_bytes)} → {megabytes(new.uncompressed_bytes)} "
            f"({signed_megabytes(new.uncompressed_bytes - old.uncompressed_bytes)})"
        )


def growth_violation(change: SizeChange, limit: float, baseline_path: Path) -> str | None:
    if change.ratio <= limit:
        return None
    return (
        f"{change.describe()}: grew more than {limit:.0%} over the baseline in {baseline_path}. If the growth is "
        f"wanted, rerun with {UPDATE_OPTION} and commit the baseline change with it"
    )


@dataclass
class SizeBaseline:
    """The committed last accepted sizes, per image and platform, read from and written to one JSON file."""

    path: Path
    entries: dict[str, dict[str, BaselineEntry]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, *, missing_ok: bool = False) -> SizeBaseline:
        """The baseline in path; BaselineError naming the file and the problem if it is unusable."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if missing_ok:
                return cls(path)
            raise BaselineError(
                f"no size baseline at {path}: rerun with {UPDATE_OPTION} to record the current sizes, and commit it"
            ) from None
        except OSError as error:
            raise BaselineError(f"cannot read the size baseline {path}: {error}") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise BaselineError(
                f"size baseline {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
                f"fix it, or delete it and rerun with {UPDATE_OPTION}"
            ) from error
        images = data.get("images") if isinstance(data, dict) else None
        if not isinstance(images, dict):
            raise BaselineError(f'size baseline {path}: expected an object with an "images" object at the top')
        entries: dict[str, dict[str, BaselineEntry]] = {}
        for image, platforms in images.items():
            if not isinstance(platforms, dict):
                raise BaselineError(f"size baseline {path}: images.{image} must map platforms to sizes")
            entries[image] = {
                platform: _entry(path, f"images.{image}[{platform!r}]", sizes) for platform, sizes in platforms.items()
            }
        return cls(path, entries)

    def entry(self, image: str, platform: str) -> BaselineEntry:
        """The accepted sizes of one image × platform; BaselineError naming the missing key otherwise."""
        found = self.entries.get(image, {}).get(platform)
        if found is None:
            raise BaselineError(
                f"size baseline {self.path} has no entry images.{image}[{platform!r}]: a new image or platform gets "
                f"one by rerunning with {UPDATE_OPTION} (e.g. --images {image} --platform {platform}); commit the diff"
            )
        return found

    def updated(self, measured: Iterable[tuple[str, str, BaselineEntry]]) -> SizeBaseline:
        """A copy with the measured entries replaced or added; entries not measured stay as they were."""
        entries = {image: dict(platforms) for image, platforms in self.entries.items()}
        for image, platform, entry in measured:
            entries.setdefault(image, {})[platform] = entry
        return SizeBaseline(self.path, entries)

    def dumps(self) -> str:
        document = {
            "comment": (
                "Last accepted image sizes in bytes (compressed: gzipped layers as a registry stores them; "
                f"uncompressed: docker image inspect Size). Rewritten by `pytest tests/test_sizes.py {UPDATE_OPTION}`."
            ),
            "images": {
                image: {platform: asdict(self.entries[image][platform]) for platform in sorted(self.entries[image])}
                for image in sorted(self.entries)
            },
        }
        return json.dumps(document, indent=2) + "\n"

    def write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(self.dumps(), encoding="utf-8")
        temporary.replace(self.path)


def _entry(path: Path, key: str, sizes: Any) -> BaselineEntry:
    if not isinstance(sizes, dict):
        raise BaselineError(
            f"size baseline {path}: {key} must be an object with compressed_bytes and uncompressed_bytes"
        )
    values: dict[str, int] = {}
    for name in ("compressed_bytes", "uncompressed_bytes"):
        value = sizes.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise BaselineError(
                f"size baseline {path}: {key}.{name} must be a positive integer of bytes, found {value!r}"
            )
        values[name] = value
    return BaselineEntry(**values)


def baseline_entry(sizes: ImageSizes) -> BaselineEntry:
    return BaselineEntry(compressed_bytes=sizes.compressed_bytes, uncompressed_bytes=sizes.uncompressed_bytes)
