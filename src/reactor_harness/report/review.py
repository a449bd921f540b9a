"""The weekly review's data: the gate summaries (summary.json) of the last runs, read and compared.

Sources are folders: a local reports folder, or what `gh run download` left (one folder per artifact);
every summary.json below them is one run. The page itself is drawn by `review_page`.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reactor_harness.core.errors import HarnessError
from reactor_harness.report.gate import GATE_SUMMARY_FILE

GROWTH_LIMIT = 0.20  # an image that grew more than this over the window is listed
EXPIRY_WINDOW_DAYS = 30
DURATION_TOLERANCE = 0.25  # the last build within ±25% of the window's median counts as stable
GATED = ("CRITICAL", "HIGH")

Target = tuple[str, str]  # (image, platform)


class ReviewError(HarnessError):
    """The review has no usable gate summary to read."""


@dataclass(frozen=True)
class Run:
    """One run's gate summary."""

    source: Path
    generated: str
    commit: str
    passed: bool
    targets: Mapping[Target, Mapping[str, Any]]
    vulnerability_db: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.generated[:16].replace('T', ' ')} {self.commit[:7]}"


def _run(path: Path) -> Run:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReviewError(f"{path}: not a readable gate summary ({error}); remove it or pass other folders") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("targets"), list):
        raise ReviewError(f"{path}: no 'targets' list; is it a reactor gate summary (reports/{GATE_SUMMARY_FILE})?")
    targets = {
        (str(entry.get("image")), str(entry.get("platform"))): entry
        for entry in raw["targets"]
        if isinstance(entry, dict)
    }
    database = raw.get("vulnerability_db")
    return Run(
        source=path,
        generated=str(raw.get("generated", "")),
        commit=str(raw.get("commit") or "unknown"),
        passed=bool(raw.get("passed")),
        targets=targets,
        vulnerability_db=database if isinstance(database, dict) else {},
    )


def load_runs(sources: Iterable[Path], last: int) -> list[Run]:
    """The last `last` runs found under the sources (each summary.json is a run), oldest first."""
    paths: list[Path] = []
    for source in sources:
        if source.is_file():
            paths.append(source)
        elif source.is_dir():
            paths.extend(sorted(source.rglob(GATE_SUMMARY_FILE)))
        else:
            raise ReviewError(f"{source}: no such file or folder; pass reports folders or `gh run download` folders")
    if not paths:
        raise ReviewError(
            f"no {GATE_SUMMARY_FILE} under {', '.join(map(str, sources))}: run the suite, or download CI artifacts "
            "with `gh run download`"
        )
    runs = sorted((_run(path) for path in paths), key=lambda run: run.generated)
    return runs[-last:]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class TargetHistory:
    """One image × platform across the window's runs (None where a run did not have it)."""

    target: Target
    build_status: list[str | None] = field(default_factory=list)
    build_seconds: list[float | None] = field(default_factory=list)
    compressed: list[float | None] = field(default_factory=list)
    budget: float | None = None

    @property
    def success_rate(self) -> float | None:
        seen = [status for status in self.build_status if status is not None]
        return sum(status == "passed" for status in seen) / len(seen) if seen else None

    @property
    def growth(self) -> float | None:
        sizes = [size for size in self.compressed if size]
        return (sizes[-1] - sizes[0]) / sizes[0] if len(sizes) >= 2 else None

    @property
    def duration_spread(self) -> float | None:
        """How far the last build time is from the window's median, as a fraction of the median."""
        times = [seconds for seconds in self.build_seconds if seconds is not None]
        if len(times) < 2:
            return None
        median = statistics.median(times)
        return abs(times[-1] - median) / median if median else None


@dataclass(frozen=True)
class Finding:
    """A HIGH or CRITICAL finding open in the latest run."""

    target: Target
    id: str
    severity: str
    package: str
    installed: str
    fixed: str
    new: bool  # not open in the run before


@dataclass(frozen=True)
class Expiring:
    """An accepted risk whose expiry falls within the window (or has passed)."""

    id: str
    section: str
    expires: dt.date
    days_left: int
    statement: str


@dataclass
class Review:
    """What the page shows: per-target histories, findings, expiring acceptances, and the key metrics."""

    runs: list[Run]
    histories: list[TargetHistory]
    findings: list[Finding]
    unscanned: list[str]  # targets whose latest run did not scan vulnerabilities, with why
    expiring: list[Expiring]
    vulnerability_totals: list[int | None]  # HIGH+CRITICAL open per run (None: not scanned)
    today: dt.date

    @property
    def success_rate(self) -> float | None:
        seen = [status for history in self.histories for status in history.build_status if status is not None]
        return sum(status == "passed" for status in seen) / len(seen) if seen else None

    @property
    def grown(self) -> list[TargetHistory]:
        return [h for h in self.histories if h.growth is not None and h.growth > GROWTH_LIMIT]

    @property
    def unstable_durations(self) -> list[TargetHistory]:
        return [h for h in self.histories if h.duration_spread is not None and h.duration_spread > DURATION_TOLERANCE]


def _gated(entry: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    security = entry.get("security")
    if not isinstance(security, Mapping) or "vulnerabilities" not in security:
        return None
    return [f for f in security.get("gated_findings", []) if isinstance(f, Mapping) and f.get("severity") in GATED]


def review(runs: Sequence[Run], today: dt.date) -> Review:
    """Compare the runs: histories per target, open and new findings, acceptances expiring soon."""
    if not runs:
        raise ReviewError("no run to review")
    keys = sorted({key for run in runs for key in run.targets})
    histories = []
    for key in keys:
        history = TargetHistory(key)
        for run in runs:
            entry = run.targets.get(key, {})
            build = entry.get("build") if isinstance(entry.get("build"), Mapping) else {}
            sizes = entry.get("sizes") if isinstance(entry.get("sizes"), Mapping) else {}
            history.build_status.append(str(build["status"]) if build and "status" in build else None)
            history.build_seconds.append(_number(build.get("duration_seconds")) if build else None)
            history.compressed.append(_number(sizes.get("compressed_bytes")) if sizes else None)
            history.budget = _number(sizes.get("budget_bytes")) if sizes else history.budget
        histories.append(history)
    latest, previous = runs[-1], (runs[-2] if len(runs) > 1 else None)
    findings: list[Finding] = []
    unscanned: list[str] = []
    for key, entry in sorted(latest.targets.items()):
        gated = _gated(entry)
        if gated is None:
            security = entry.get("security") if isinstance(entry.get("security"), Mapping) else {}
            why = (security or {}).get("vulnerabilities_not_run") or "the security area did not run"
            unscanned.append(f"{key[0]} {key[1]}: {why}")
            continue
        before = {str(f.get("id")) for f in (_gated(previous.targets.get(key, {})) or [])} if previous else set()
        for item in gated:
            finding_id = str(item.get("id"))
            findings.append(
                Finding(
                    target=key,
                    id=finding_id,
                    severity=str(item.get("severity")),
                    package=str(item.get("package")),
                    installed=str(item.get("installed")),
                    fixed=str(item.get("fixed") or ""),
                    new=finding_id not in before,
                )
            )
    totals: list[int | None] = []
    for run in runs:
        per_target = [_gated(entry) for entry in run.targets.values()]
        scanned = [found for found in per_target if found is not None]
        totals.append(sum(len(found) for found in scanned) if scanned else None)
    return Review(list(runs), histories, findings, unscanned, _expiring(latest, today), totals, today)


def _expiring(run: Run, today: dt.date) -> list[Expiring]:
    found: dict[tuple[str, str], Expiring] = {}
    for entry in run.targets.values():
        security = entry.get("security")
        if not isinstance(security, Mapping):
            continue
        for acceptance in security.get("acceptances", []):
            try:
                expires = dt.date.fromisoformat(str(acceptance.get("expired_at")))
            except ValueError:
                continue
            days = (expires - today).days
            if days <= EXPIRY_WINDOW_DAYS:
                key = (str(acceptance.get("section")), str(acceptance.get("id")))
                found[key] = Expiring(key[1], key[0], expires, days, str(acceptance.get("statement", "")))
    return sorted(found.values(), key=lambda item: item.expires)
