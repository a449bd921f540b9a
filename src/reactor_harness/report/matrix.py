"""The run report: per-target summaries written by each area, merged into an image × platform matrix.

Every area of the suite (build, sizes, security) records what it found for one image on one platform with
`write_summary`; the file lands in `<reports_dir>/summary/<image>-<os>-<arch>.<area>.json`, so workers of
an xdist run never share a file. At the end of the run the controller reads them back (`read_summaries`),
adds the test outcomes per target, and renders the matrix at the top of the HTML report
(`render_matrix`) and a compact machine-readable gate summary (`gate_summary`) that a release records
next to the published image.

Keys each area writes (all optional; the matrix shows what is there and "—" for the rest):

- build: status ("passed" | "failed" | "blocked"), duration_seconds, failed_step, log_tail, log_path
- sizes: status, compressed_bytes, uncompressed_bytes, budget_bytes, baseline_compressed_bytes,
  baseline_uncompressed_bytes, layers: [{size_bytes, created_by}]
- security: status, vulnerabilities: {CRITICAL: n, HIGH: n, ...}, accepted: {SEVERITY: n} or n,
  secrets: n, misconfigurations: n, findings: [{id, severity, package, installed, fixed, title}]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from filelock import FileLock

from reactor_harness.core.errors import HarnessError

AREAS = ("build", "sizes", "security")
SUMMARY_DIR = "summary"
GATE_SUMMARY_FILE = "summary.json"
GATE_SUMMARY_SCHEMA = 1
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
# Bulky evidence stays in the per-area files and the HTML report, out of the compact gate summary.
_EVIDENCE_KEYS = frozenset({"log_tail", "log_path", "layers", "findings"})
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9]+$")
_EVIDENCE_ROWS = 25


class ReportError(HarnessError):
    """A summary could not be written or read."""


def _platform_slug(platform: str) -> str:
    if not _PLATFORM.match(platform):
        raise ReportError(f"platform {platform!r} is not of the form os/arch (e.g. linux/arm64)")
    return platform.replace("/", "-")


def summary_path(reports_dir: Path, image: str, platform: str, area: str) -> Path:
    """Where one area's summary of one image × platform lives."""
    if area not in AREAS:
        raise ReportError(f"unknown summary area {area!r}: use one of {', '.join(AREAS)}")
    if not image or "/" in image:
        raise ReportError(f"image name {image!r} must be a family image name such as 'base'")
    return reports_dir / SUMMARY_DIR / f"{image}-{_platform_slug(platform)}.{area}.json"


def write_summary(reports_dir: Path, image: str, platform: str, area: str, data: Mapping[str, Any]) -> Path:
    """Record what one area found for an image × platform; keys merge into what earlier calls wrote.

    Several tests of an area may each contribute keys (one writes the compressed size, another the
    layers); a file lock keeps concurrent workers from losing each other's keys.
    """
    path = summary_path(reports_dir, image, platform, area)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_suffix(".lock")), timeout=60):
        current: dict[str, Any] = {}
        if path.exists():
            current = dict(json.loads(path.read_text(encoding="utf-8")).get("data", {}))
        current.update(data)
        record = {"image": image, "platform": platform, "area": area, "data": current}
        try:
            text = json.dumps(record, indent=1, sort_keys=True)
        except (TypeError, ValueError) as error:
            raise ReportError(f"summary {area} of {image} ({platform}) is not JSON-serialisable: {error}") from error
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return path


def clear_summaries(reports_dir: Path) -> None:
    """Forget the summaries of an earlier run (the controller calls this as a run starts)."""
    folder = reports_dir / SUMMARY_DIR
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.suffix in {".json", ".lock", ".tmp"}:
            path.unlink(missing_ok=True)


def read_summaries(reports_dir: Path) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Every summary of this run, by (image, platform), then by area."""
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    folder = reports_dir / SUMMARY_DIR
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            key = (str(record["image"]), str(record["platform"]))
            found.setdefault(key, {})[str(record["area"])] = dict(record["data"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ReportError(f"unreadable summary {path}: {error}; delete it and rerun the suite") from error
    return found


@dataclass
class CheckTally:
    """How the tests of one image × platform ended."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, outcome: str, test_name: str) -> None:
        if outcome == "passed":
            self.passed += 1
        elif outcome == "skipped":
            self.skipped += 1
        elif outcome == "error":
            self.errors += 1
            self.failures.append(test_name)
        else:
            self.failed += 1
            self.failures.append(test_name)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.errors

    def to_json(self) -> dict[str, int]:
        return {"passed": self.passed, "failed": self.failed, "skipped": self.skipped, "errors": self.errors}


@dataclass
class MatrixRow:
    """One image on one platform: what each area found and how its checks ended."""

    image: str
    platform: str
    areas: dict[str, dict[str, Any]]
    checks: CheckTally

    @property
    def ok(self) -> bool:
        area_failed = any(str(data.get("status", "passed")) not in {"passed", "ok"} for data in self.areas.values())
        return not area_failed and self.checks.failed == 0 and self.checks.errors == 0


def matrix_rows(
    summaries: Mapping[tuple[str, str], Mapping[str, Mapping[str, Any]]],
    tallies: Mapping[tuple[str, str], CheckTally],
    image_order: Sequence[str] = (),
) -> list[MatrixRow]:
    """Rows for every target that has a summary or a test, family order first, then by name."""
    keys = set(summaries) | set(tallies)
    rank = {name: index for index, name in enumerate(image_order)}
    ordered = sorted(keys, key=lambda key: (rank.get(key[0], len(rank)), key[0], key[1]))
    return [
        MatrixRow(
            image=image,
            platform=platform,
            areas={area: dict(data) for area, data in summaries.get((image, platform), {}).items()},
            checks=tallies.get((image, platform), CheckTally()),
        )
        for image, platform in ordered
    ]


# -- formatting -----------------------------------------------------------------------------------


def format_bytes(size: float | None) -> str:
    """Sizes as Docker prints them (decimal units): 152.3 MB."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # unreachable: the loop returns at GB


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = round(float(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _status_class(status: Any) -> str:
    text = str(status or "").lower()
    if text in {"passed", "ok"}:
        return "ok"
    if text in {"failed", "blocked", "error"}:
        return "bad"
    return "none"


def _cell(css: str, main: str, detail: str = "") -> str:
    extra = f'<div class="detail">{detail}</div>' if detail else ""
    return f'<td class="{css}"><div class="main">{main}</div>{extra}</td>'


def _not_run() -> str:
    return _cell("none", "not run")


def _build_cell(data: Mapping[str, Any] | None) -> str:
    if not data:
        return _not_run()
    status = str(data.get("status", "unknown"))
    detail = format_duration(_number(data.get("duration_seconds")))
    if data.get("failed_step"):
        detail += f"<br>{escape(str(data['failed_step'])[:120])}"
    return _cell(_status_class(status), escape(status), detail)


def _delta(current: float | None, baseline: float | None) -> str:
    if current is None or baseline is None:
        return "no baseline"
    change = current - baseline
    sign = "+" if change >= 0 else "−"
    percent = f" ({change / baseline * 100:+.1f}%)" if baseline else ""
    return f"{sign}{format_bytes(abs(change))}{percent} vs baseline"


def _size_cell(data: Mapping[str, Any] | None) -> str:
    if not data:
        return _not_run()
    compressed = _number(data.get("compressed_bytes"))
    budget = _number(data.get("budget_bytes"))
    main = format_bytes(compressed) + (f" / {format_bytes(budget)}" if budget is not None else "")
    status = data.get("status")
    if status is None and compressed is not None and budget is not None:
        status = "passed" if compressed < budget else "failed"
    detail = "<br>".join(
        [
            escape(_delta(compressed, _number(data.get("baseline_compressed_bytes")))),
            f"uncompressed {format_bytes(_number(data.get('uncompressed_bytes')))}",
        ]
    )
    return _cell(_status_class(status), main, detail)


def _severity_counts(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key).upper(): int(count) for key, count in value.items() if isinstance(count, int)}


def _vulnerability_cell(data: Mapping[str, Any] | None) -> str:
    if not data or "vulnerabilities" not in data:
        return _not_run()
    counts = _severity_counts(data.get("vulnerabilities"))
    main = " · ".join(f"{severity[0]} {counts.get(severity, 0)}" for severity in SEVERITIES[:4])
    accepted = data.get("accepted")
    if isinstance(accepted, Mapping):
        accepted_total = sum(_severity_counts(accepted).values())
    else:
        accepted_total = int(accepted) if isinstance(accepted, int) else 0
    status = data.get("status")
    if status is None:
        status = "failed" if counts.get("CRITICAL", 0) + counts.get("HIGH", 0) > 0 else "passed"
    return _cell(_status_class(status), main, f"accepted {accepted_total}")


def _secrets_cell(data: Mapping[str, Any] | None) -> str:
    if not data or ("secrets" not in data and "misconfigurations" not in data):
        return _not_run()
    secrets = data.get("secrets")
    misconfigurations = data.get("misconfigurations")
    found = sum(value for value in (secrets, misconfigurations) if isinstance(value, int))
    main = f"secrets {secrets if secrets is not None else '—'}"
    detail = f"misconfig {misconfigurations if misconfigurations is not None else '—'}"
    return _cell("bad" if found else "ok", main, detail)


def _checks_cell(tally: CheckTally) -> str:
    if tally.total == 0:
        return _not_run()
    parts = [f"{tally.passed} passed"]
    if tally.failed:
        parts.append(f"{tally.failed} failed")
    if tally.errors:
        parts.append(f"{tally.errors} errors")
    if tally.skipped:
        parts.append(f"{tally.skipped} skipped")
    detail = "<br>".join(escape(name) for name in tally.failures[:6])
    if len(tally.failures) > 6:
        detail += f"<br>… {len(tally.failures) - 6} more"
    return _cell("bad" if tally.failed or tally.errors else "ok", " · ".join(parts), detail)


_STYLE = """
<style>
.reactor-matrix { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; color: #222; }
.reactor-matrix th, .reactor-matrix td { border: 1px solid #ccc; padding: 5px 9px; text-align: left;
  vertical-align: top; }
.reactor-matrix th { background: #eee; }
.reactor-matrix td.ok { background: #e6f4e6; }
.reactor-matrix td.bad { background: #fbe3e3; }
.reactor-matrix td.none { background: #f4f4f4; color: #888; }
.reactor-matrix .main { font-weight: bold; }
.reactor-matrix .detail { color: #555; font-size: 11px; margin-top: 2px; }
.reactor-gate { font-size: 15px; font-weight: bold; }
.reactor-gate.ok { color: #1b7a1b; } .reactor-gate.bad { color: #b01c1c; }
</style>
"""

MATRIX_COLUMNS = (
    "image",
    "platform",
    "build",
    "size (compressed / budget)",
    "vulnerabilities",
    "secrets / misconfig",
    "checks",
)


def render_matrix(rows: Sequence[MatrixRow], exit_status: int | None = None) -> str:
    """The matrix as an HTML fragment for the top of the report."""
    heading = '<h2 id="reactor-matrix-heading">Images × platforms</h2>'
    if not rows:
        return _STYLE + heading + '<p class="reactor-matrix-empty">No image × platform was checked in this run.</p>'
    gate_ok = all(row.ok for row in rows) and (exit_status in (None, 0))
    gate = (
        f'<p class="reactor-gate {"ok" if gate_ok else "bad"}">'
        f"Gate {'passed' if gate_ok else 'failed'}: {sum(row.ok for row in rows)} of {len(rows)} targets clean</p>"
    )
    head = "".join(f"<th>{escape(column)}</th>" for column in MATRIX_COLUMNS)
    body = []
    for row in rows:
        security = row.areas.get("security")
        body.append(
            f'<tr class="reactor-row" data-image="{escape(row.image)}" data-platform="{escape(row.platform)}">'
            f"<th>{escape(row.image)}</th><td>{escape(row.platform)}</td>"
            + _build_cell(row.areas.get("build"))
            + _size_cell(row.areas.get("sizes"))
            + _vulnerability_cell(security)
            + _secrets_cell(security)
            + _checks_cell(row.checks)
            + "</tr>"
        )
    table = (
        f'<table class="reactor-matrix" id="reactor-matrix"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return _STYLE + heading + gate + table


# -- evidence for a failing test ------------------------------------------------------------------


def evidence_html(area: str, data: Mapping[str, Any]) -> str:
    """What an area found, as HTML to attach to a failing test: log tail, layer breakdown, findings."""
    title = f"<h4>{escape(area)} evidence</h4>"
    if area == "build":
        lines = [f"status: {data.get('status', 'unknown')}"]
        if data.get("failed_step"):
            lines.append(f"failing step: {data['failed_step']}")
        if data.get("log_path"):
            lines.append(f"full log: {data['log_path']}")
        return title + f"<pre>{escape(chr(10).join(lines))}\n\n{escape(str(data.get('log_tail', '')))}</pre>"
    if area == "sizes":
        layers = [layer for layer in data.get("layers", []) if isinstance(layer, Mapping)]
        layers.sort(key=lambda layer: -(_number(layer.get("size_bytes")) or 0))
        rows = "".join(
            f"<tr><td>{format_bytes(_number(layer.get('size_bytes')))}</td>"
            f"<td>{escape(str(layer.get('created_by', ''))[:200])}</td></tr>"
            for layer in layers[:_EVIDENCE_ROWS]
        )
        summary = escape(
            ", ".join(
                f"{label} {format_bytes(_number(data.get(key)))}"
                for label, key in (
                    ("compressed", "compressed_bytes"),
                    ("budget", "budget_bytes"),
                    ("uncompressed", "uncompressed_bytes"),
                )
            )
        )
        return title + f"<p>{summary}</p><table><tr><th>size</th><th>created by</th></tr>{rows}</table>"
    if area == "security":
        findings = [finding for finding in data.get("findings", []) if isinstance(finding, Mapping)]
        rank = {severity: index for index, severity in enumerate(SEVERITIES)}
        findings.sort(key=lambda finding: rank.get(str(finding.get("severity", "")).upper(), len(rank)))
        columns = ("id", "severity", "package", "installed", "fixed", "title")
        head = "".join(f"<th>{column}</th>" for column in columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(str(finding.get(column, '')))}</td>" for column in columns) + "</tr>"
            for finding in findings[:_EVIDENCE_ROWS]
        )
        more = f"<p>… {len(findings) - _EVIDENCE_ROWS} more findings</p>" if len(findings) > _EVIDENCE_ROWS else ""
        return title + f"<table><tr>{head}</tr>{rows}</table>{more}"
    return title + f"<pre>{escape(json.dumps(dict(data), indent=1))}</pre>"


# -- the gate summary -----------------------------------------------------------------------------


def gate_summary(rows: Iterable[MatrixRow], exit_status: int, run_id: str) -> dict[str, Any]:
    """The run's result in compact JSON: what a release records next to the image it publishes."""
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
        "targets": targets,
    }


def write_gate_summary(reports_dir: Path, summary: Mapping[str, Any]) -> Path:
    path = reports_dir / GATE_SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1, sort_keys=True), encoding="utf-8")
    return path
