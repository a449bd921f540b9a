"""Test-only factory of reports folders, as one run of the harness writes them (results.json, summary.json, a
report page, per-target scan files), through the library's own writers so the format cannot drift from a run's.

Kept with the tests: it exists so the merge of several runs' folders is tested without an engine or a run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from reactor_harness.report.gate import GATE_SUMMARY_FILE, gate_summary, write_gate_summary
from reactor_harness.report.matrix import CheckTally, MatrixRow, matrix_rows, render_matrix
from reactor_harness.report.run_record import RUN_RECORD_FILE, RunRecord, tally_from_json, write_run_record

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def target_row(image: str, platform: str, *, failures: Sequence[str] = (), compressed: int = 150_000_000) -> MatrixRow:
    """One image × platform as a run records it: a build, a size, a scan, and its checks' outcomes."""
    tally = CheckTally()
    for number in range(3):
        tally.add("passed", f"test_contract.py::test_{number}[{image}-{platform}]")
    tally.add("not_applicable", f"test_go.py::test_dlv_stops_at_a_breakpoint[{image}-{platform}]")
    for name in failures:
        tally.add("failed", name)
    areas: dict[str, dict[str, Any]] = {
        "build": {"status": "passed", "duration_seconds": 41.0, "image_id": f"sha256:{image}-{platform}"},
        "sizes": {"status": "passed", "compressed_bytes": compressed, "budget_bytes": 200_000_000, "layers": []},
        "security": {"status": "passed", "vulnerabilities": {"HIGH": 0}, "secrets": 0, "misconfigurations": 0},
    }
    return MatrixRow(image=image, platform=platform, areas=areas, checks=tally)


def write_reports(
    folder: Path,
    rows: Iterable[MatrixRow],
    *,
    run_id: str,
    platforms: Sequence[str],
    images: Sequence[str] = ("base",),
    commit: str | None = COMMIT,
    exit_status: int = 0,
) -> Path:
    """A reports folder of one run over `rows`; each target's security area points at its scan file in it."""
    folder.mkdir(parents=True, exist_ok=True)
    security = folder / "security"
    security.mkdir(exist_ok=True)
    (security / "dockerfiles.sarif").write_text('{"runs": []}', encoding="utf-8")
    written = []
    for row in rows:
        slug = row.platform.replace("/", "-")
        scan = security / f"{row.image}-{slug}.json"
        scan.write_text(f'{{"ArtifactName": "{row.image} {row.platform}"}}', encoding="utf-8")
        (security / f"{row.image}-{slug}.sarif").write_text('{"runs": []}', encoding="utf-8")
        areas = {area: dict(data) for area, data in row.areas.items()}
        areas.setdefault("security", {})["report"] = str(scan.resolve())
        written.append(MatrixRow(row.image, row.platform, areas, row.checks))
    areas_by_target = {(row.image, row.platform): row.areas for row in written}
    ordered = matrix_rows(areas_by_target, {(row.image, row.platform): row.checks for row in written}, images)
    (folder / "report.html").write_text(f"<html><body>run {run_id}</body></html>", encoding="utf-8")
    write_gate_summary(folder, gate_summary(ordered, exit_status, run_id, commit=commit))
    write_run_record(
        folder,
        RunRecord(
            run_id=run_id,
            commit=commit,
            exit_status=exit_status,
            reports_dir=str(folder.resolve()),
            platforms=tuple(platforms),
            images=tuple(images),
            rows=tuple(ordered),
        ),
    )
    return folder


# What differs between two runs of the same checks on the same images: when they ran, how long they took, the
# build log's tail (BuildKit prints steps in the order they finish, and the context's transfer size varies), and
# which results came from the results cache (an earlier run filled it; the values are the same).
_RUN_KEYS = frozenset({"run_id", "generated", "merged_from", "reports_dir", "log_tail", "cache"})


def _comparable(value: Any, folder: str) -> Any:
    if isinstance(value, str):
        return value.replace(folder, "<reports>")
    if isinstance(value, dict):
        return {
            key: _comparable(item, folder)
            for key, item in value.items()
            if key not in _RUN_KEYS
            and not key.endswith("_seconds")
            and key != "age_hours"
            and not (key == "problems" and not item)  # a run has none; a merge's are checked on their own
        }
    if isinstance(value, list):
        return [_comparable(item, folder) for item in value]
    return value


def comparable_report(folder: Path) -> dict[str, Any]:
    """A reports folder's matrix and gate summary with timings, run ids and its own path taken out, so the
    report of a merge compares cell for cell with the report of one run over the same targets."""
    where = str(folder.resolve())
    record = _comparable(json.loads((folder / RUN_RECORD_FILE).read_text(encoding="utf-8")), where)
    summary = _comparable(json.loads((folder / GATE_SUMMARY_FILE).read_text(encoding="utf-8")), where)
    rows = [
        MatrixRow(target["image"], target["platform"], target["areas"], tally_from_json(target["checks"]))
        for target in record["targets"]
    ]
    cells = render_matrix(rows, exit_status=record["exit_status"]).split("</tr>")
    return {"record": record, "summary": summary, "matrix": cells}
