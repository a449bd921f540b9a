"""The gate summary: the run's result in compact JSON, which a release records next to the image."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reactor_harness.report.matrix import MatrixRow

GATE_SUMMARY_FILE = "summary.json"
GATE_SUMMARY_SCHEMA = 1
# Bulky evidence stays in the HTML report, out of the compact gate summary.
_EVIDENCE_KEYS = frozenset({"log_tail", "log_path", "layers", "findings"})


def gate_summary(
    rows: Iterable[MatrixRow],
    exit_status: int,
    run_id: str,
    *,
    commit: str | None = None,
    vulnerability_db: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's result in compact JSON: what a release records next to the image it publishes.

    It names what it vouches for: the commit built (`commit`), each target's image ID (its build area's
    `image_id`) and the vulnerability DB the scans used (`vulnerability_db`: when Trivy built it, its age);
    `reactor-release publish` refuses a summary that does not match the images it is about to push.
    """
    targets = []
    for row in rows:
        entry: dict[str, Any] = {"image": row.image, "platform": row.platform, "ok": row.ok}
        entry["checks"] = row.checks.to_json()
        for area, data in sorted(row.areas.items()):
            entry[area] = {key: value for key, value in data.items() if key not in _EVIDENCE_KEYS}
        targets.append(entry)
    return {
        "schema": GATE_SUMMARY_SCHEMA,
        "run_id": run_id,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "exit_status": int(exit_status),
        "passed": int(exit_status) == 0 and all(target["ok"] for target in targets),
        "commit": commit,
        "vulnerability_db": dict(vulnerability_db) if vulnerability_db else None,
        "targets": targets,
    }


def vulnerability_db_used(reports_dir: Path) -> dict[str, Any] | None:
    """The vulnerability DB this run's scans used, from `security/trivy.json`; None when there was none."""
    try:
        record = json.loads((reports_dir / "security" / "trivy.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not record.get("db_available") or not record.get("db_updated_at"):
        return None
    return {"updated_at": record["db_updated_at"], "age_hours": record.get("db_age_hours"), "detail": record.get("db")}


def write_gate_summary(reports_dir: Path, summary: Mapping[str, Any]) -> Path:
    path = reports_dir / GATE_SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1, sort_keys=True), encoding="utf-8")
    return path
