"""The one results channel: an area's typed result for one image × platform, and how results merge.

An area (build, sizes, security) records an `AreaResult` on the test item that produced it; pytest copies
the item's `user_properties` into every test report, and pytest-xdist carries those reports from the
workers to the controller, so a result reaches the controller the same way with `-n auto` and without it.
There, the harness announces each result through its `pytest_reactor_area_result` hook and listeners (the run
report, the size table) merge them with `merge_results`. Nothing is written to files on the way.

Keys each area records (all optional; the matrix shows what is there and "—" for the rest):

- build: status ("passed" | "failed" | "blocked"), duration_seconds, failed_step, log_tail, log_path
- sizes: status, compressed_bytes, uncompressed_bytes, budget_bytes, baseline_compressed_bytes,
  baseline_uncompressed_bytes, layers: [{size_bytes, created_by}]
- security: status, vulnerabilities: {CRITICAL: n, HIGH: n, ...}, accepted: {SEVERITY: n} or n,
  secrets: n, misconfigurations: n, findings: [{id, severity, package, installed, fixed, title}]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reactor_harness.core.errors import HarnessError

AREAS = ("build", "sizes", "security")
RESULT_PROPERTY = "reactor_result"
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9]+$")


class ReportError(HarnessError):
    """A result could not be recorded or read."""


@dataclass(frozen=True)
class AreaResult:
    """What one area found for one image on one platform."""

    image: str
    platform: str
    area: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.area not in AREAS:
            raise ReportError(f"unknown result area {self.area!r}: use one of {', '.join(AREAS)}")
        if not self.image or "/" in self.image:
            raise ReportError(f"image name {self.image!r} must be a family image name such as 'base'")
        if not _PLATFORM.match(self.platform):
            raise ReportError(f"platform {self.platform!r} is not of the form os/arch (e.g. linux/arm64)")

    @property
    def target(self) -> tuple[str, str]:
        return self.image, self.platform

    def to_property(self) -> tuple[str, str]:
        """The result as a (name, JSON) user property: what travels in test reports, across xdist too."""
        record = {"image": self.image, "platform": self.platform, "area": self.area, "data": dict(self.data)}
        try:
            return RESULT_PROPERTY, json.dumps(record, sort_keys=True)
        except (TypeError, ValueError) as error:
            raise ReportError(
                f"result {self.area} of {self.image} ({self.platform}) is not JSON-serialisable: {error}"
            ) from error

    @classmethod
    def from_property(cls, value: object) -> AreaResult:
        try:
            record = json.loads(str(value))
            return cls(str(record["image"]), str(record["platform"]), str(record["area"]), dict(record["data"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ReportError(f"unreadable result property {str(value)[:200]!r}: {error}") from error


def results_in(user_properties: Iterable[tuple[str, object]]) -> list[AreaResult]:
    """The results among a test's (or a test report's) user properties, in the order recorded."""
    return [AreaResult.from_property(value) for name, value in user_properties if name == RESULT_PROPERTY]


def merge_results(
    results: Iterable[AreaResult], into: dict[tuple[str, str], dict[str, dict[str, Any]]] | None = None
) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Results by (image, platform), then by area; keys of one area merge, later values winning.

    Several tests of an area may each contribute keys (one records the compressed size, another the layers).
    """
    merged = {} if into is None else into
    for result in results:
        merged.setdefault(result.target, {}).setdefault(result.area, {}).update(result.data)
    return merged
