"""The gate summary: the run's result in compact JSON, which a release records next to the image."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reactor_harness.report.matrix import MatrixRow

GATE_SUMMARY_FILE = "summary.json"
GATE_SUMMARY_SCHEMA = 2  # 2: commit, vulnerability_db, image_id, not_checked, clean
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

    Self-describing, and it names what it vouches for: the commit built (`commit`), per image × platform its
    image id (its build area's `image_id`), each area's values and what was not checked, and the
    vulnerability DB the scans used (as the security area recorded it, else as given; when Trivy built it
    and its age, or why there was none). `reactor-release publish` refuses a summary that does not match the images
    it is about to push.
    """
    targets = []
    recorded_db: dict[str, Any] | None = None
    for row in rows:
        entry: dict[str, Any] = {"image": row.image, "platform": row.platform, "ok": row.ok, "clean": row.clean}
        entry["checks"] = row.checks.to_json()
        entry["not_checked"] = row.unchecked
        build = row.areas.get("build") or {}
        entry["image_id"] = build.get("image_id")
        for area, data in sorted(row.areas.items()):
            entry[area] = {key: value for key, value in data.items() if key not in _EVIDENCE_KEYS}
        security = row.areas.get("security") or {}
        if recorded_db is None and isinstance(security.get("vulnerability_db"), dict):
            recorded_db = dict(security["vulnerability_db"])
        targets.append(entry)
    # The security area's record says why there was no DB too; the run's Trivy record is the fallback.
    database = recorded_db or (dict(vulnerability_db) if vulnerability_db else None)
    return {
        "schema": GATE_SUMMARY_SCHEMA,
        "run_id": run_id,
        "commit": commit,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "exit_status": int(exit_status),
        "passed": int(exit_status) == 0 and all(target["ok"] for target in targets),
        "vulnerability_db": database or {"available": False, "detail": "no image was scanned in this run"},
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
