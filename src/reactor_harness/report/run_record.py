"""The run record (`results.json`): what one run's matrix is made of, so the runs of several jobs can be merged.

`summary.json` is the compact gate record a release keeps; it leaves out the evidence (log tails, layers,
findings), the names of the failed checks and the not-applicable counts. The run record keeps all of it per
image × platform, with what the run was asked to check (platforms, images) and where its reports folder was, so
`report.merge` can rebuild one matrix, one summary and one gate decision from the reports folders of several
runs (one per platform, on native runners) exactly as one run over every platform would have made them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reactor_harness import __version__
from reactor_harness.report.matrix import CheckTally, MatrixRow
from reactor_harness.report.results import ReportError

RUN_RECORD_FILE = "results.json"
RUN_RECORD_KIND = "reactor-run-record"
RUN_RECORD_SCHEMA = 1


def tally_to_json(tally: CheckTally) -> dict[str, Any]:
    """A target's check outcomes in full: the counts, the not-applicable ones and the failed checks' names."""
    return {
        **tally.to_json(),
        "not_applicable": tally.not_applicable,
        "replayed": tally.replayed,
        "failures": list(tally.failures),
    }


def tally_from_json(data: Mapping[str, Any]) -> CheckTally:
    names = ("passed", "failed", "skipped", "errors", "not_applicable", "replayed")
    counts = {name: int(data.get(name, 0)) for name in names}
    return CheckTally(**counts, failures=[str(name) for name in data.get("failures", [])])


@dataclass(frozen=True)
class RunRecord:
    """One run (or one merge of runs): its identity, what it was asked to check, and its matrix rows."""

    run_id: str
    commit: str | None
    exit_status: int
    reports_dir: str  # the reports folder as written: paths in the areas' data start with it
    platforms: tuple[str, ...]  # the platforms the run was asked for
    images: tuple[str, ...]  # the images it checked (the selection, else the family)
    rows: tuple[MatrixRow, ...]
    problems: tuple[str, ...] = ()  # a merge's reasons to fail the gate (a missing or twice-reported target)
    merged_from: tuple[Mapping[str, Any], ...] = ()  # a merge's inputs: folder, run id, platforms, exit status
    harness_version: str = field(default=__version__)

    @property
    def targets(self) -> list[tuple[str, str]]:
        return [(row.image, row.platform) for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": RUN_RECORD_KIND,
            "schema": RUN_RECORD_SCHEMA,
            "harness_version": self.harness_version,
            "run_id": self.run_id,
            "commit": self.commit,
            "exit_status": self.exit_status,
            "reports_dir": self.reports_dir,
            "platforms": list(self.platforms),
            "images": list(self.images),
            "problems": list(self.problems),
            "merged_from": [dict(entry) for entry in self.merged_from],
            "targets": [
                {"image": row.image, "platform": row.platform, "areas": row.areas, "checks": tally_to_json(row.checks)}
                for row in self.rows
            ],
        }

    @classmethod
    def from_json(cls, data: Any, source: Path) -> RunRecord:
        """The record read from `source`'s JSON; ReportError naming the file, the cause and the fix."""
        if not isinstance(data, Mapping) or data.get("kind") != RUN_RECORD_KIND:
            raise ReportError(f"{source} is not a run record of this harness (no kind {RUN_RECORD_KIND!r} in it)")
        schema, version = data.get("schema"), data.get("harness_version")
        if schema != RUN_RECORD_SCHEMA or version != __version__:
            raise ReportError(
                f"{source} was written by harness {version} (run record schema {schema}); this is harness "
                f"{__version__} (schema {RUN_RECORD_SCHEMA}): merge with the harness that ran the gate (the same "
                "commit's), or run the gate again with this one"
            )
        try:
            rows = tuple(
                MatrixRow(
                    image=str(target["image"]),
                    platform=str(target["platform"]),
                    areas={str(area): dict(values) for area, values in dict(target["areas"]).items()},
                    checks=tally_from_json(dict(target["checks"])),
                )
                for target in data["targets"]
            )
            return cls(
                run_id=str(data["run_id"]),
                commit=None if data.get("commit") is None else str(data["commit"]),
                exit_status=int(data["exit_status"]),
                reports_dir=str(data["reports_dir"]),
                platforms=tuple(str(platform) for platform in data["platforms"]),
                images=tuple(str(image) for image in data["images"]),
                rows=rows,
                problems=tuple(str(problem) for problem in data.get("problems", [])),
                merged_from=tuple(dict(entry) for entry in data.get("merged_from", [])),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ReportError(
                f"{source} is a damaged run record ({type(error).__name__}: {error}): run the gate again"
            ) from error


def write_run_record(reports_dir: Path, record: RunRecord) -> Path:
    """Write the record as `results.json` in the reports folder."""
    path = reports_dir / RUN_RECORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_json(), indent=1, sort_keys=True), encoding="utf-8")
    return path
