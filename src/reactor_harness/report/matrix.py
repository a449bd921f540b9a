"""The image × platform matrix: check tallies, rows merged from the areas' results, and its HTML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from reactor_harness.build.packages import PackageDiff
from reactor_harness.family.policy import SEVERITIES


@dataclass
class CheckTally:
    """How the tests of one image × platform ended."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    failures: list[str] = field(default_factory=list)
    not_applicable: int = 0  # skipped through plugin.outcomes.not_applicable: hides nothing
    replayed: int = 0  # of the passed: verdicts replayed from an earlier run (plugin.replay), not run in this one

    def add(self, outcome: str, test_name: str, *, replayed: bool = False) -> None:
        if outcome == "passed":
            self.passed += 1
            self.replayed += int(replayed)
        elif outcome == "not_applicable":
            self.not_applicable += 1
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
        """No area failed and every check ran and passed.

        A skipped check (say the vulnerability gate without a DB) is not a pass: a summary with one must not
        be publishable. Checks that do not apply to the target skip through plugin.outcomes.not_applicable
        and are counted apart (CheckTally.not_applicable), so they do not block. An area recorded as skipped
        is not a failure here; `unchecked` names it, and `clean` requires nothing unchecked.
        """
        area_failed = any(
            str(data.get("status", "passed")) not in {"passed", "ok", "skipped"} for data in self.areas.values()
        )
        return not area_failed and self.checks.failed == 0 and self.checks.errors == 0 and self.checks.skipped == 0

    @property
    def unchecked(self) -> list[str]:
        """What this target's run did not check, each with the reason ("vulnerabilities (no vulnerability DB)")."""
        build_status = str((self.areas.get("build") or {}).get("status", ""))
        if build_status in {"failed", "blocked"}:
            return [f"every area (the build {build_status})"]
        gaps = []
        for area, what in (("build", "build"), ("sizes", "sizes"), ("security", "vulnerabilities, secrets")):
            data = self.areas.get(area)
            if not data or data.get("status") == "skipped":
                gaps.append(f"{what} ({_reason(data)})")
        security = self.areas.get("security") or {}
        if security.get("status") not in (None, "skipped") and "vulnerabilities" not in security:
            gaps.append(f"vulnerabilities ({security.get('vulnerabilities_not_run') or 'not scanned'})")
        return gaps

    @property
    def clean(self) -> bool:
        """Passed, and every area was checked: only such a target is called clean."""
        return self.ok and not self.unchecked


def _reason(data: Mapping[str, Any] | None) -> str:
    if data and data.get("reason"):
        return str(data["reason"])
    return "no test of the area ran"


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


def number(value: Any) -> float | None:
    """A JSON value as a number, or None if it is not one (booleans are not numbers)."""
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


def _not_run(data: Mapping[str, Any] | None = None) -> str:
    return _cell("none", "not run", escape(_reason(data)))


def _ran(data: Mapping[str, Any] | None) -> bool:
    return bool(data) and (data or {}).get("status") != "skipped"


def _build_cell(data: Mapping[str, Any] | None) -> str:
    if not _ran(data) or data is None:
        return _not_run(data)
    status = str(data.get("status", "unknown"))
    detail = format_duration(number(data.get("duration_seconds")))
    if data.get("failed_step"):
        detail += f"<br>{escape(str(data['failed_step'])[:120])}"
    detail += _package_diff_detail(data.get("package_diff"))
    return _cell(_status_class(status), escape(status), detail)


def _package_diff_detail(value: Any) -> str:
    """The Debian packages changed against the previous build of the tag (--rebuild and every rebuild)."""
    if not isinstance(value, Mapping):
        return ""
    diff = PackageDiff.from_json(value)
    if diff.empty:
        return "<br>Debian packages: unchanged vs previous build"
    items = "".join(f"<li><code>{escape(line)}</code></li>" for line in diff.lines())
    return (
        f"<details><summary>Debian packages {escape(diff.counts())} vs previous build</summary>"
        f"<ul>{items}</ul></details>"
    )


def _delta(current: float | None, baseline: float | None) -> str:
    if current is None or baseline is None:
        return "no baseline"
    change = current - baseline
    sign = "+" if change >= 0 else "−"
    percent = f" ({change / baseline * 100:+.1f}%)" if baseline else ""
    return f"{sign}{format_bytes(abs(change))}{percent} vs baseline"


def _size_cell(data: Mapping[str, Any] | None) -> str:
    if not _ran(data) or data is None:
        return _not_run(data)
    compressed = number(data.get("compressed_bytes"))
    budget = number(data.get("budget_bytes"))
    main = format_bytes(compressed) + (f" / {format_bytes(budget)}" if budget is not None else "")
    status = data.get("status")
    if status is None and compressed is not None and budget is not None:
        status = "passed" if compressed < budget else "failed"
    detail = "<br>".join(
        [
            escape(_delta(compressed, number(data.get("baseline_compressed_bytes")))),
            f"uncompressed {format_bytes(number(data.get('uncompressed_bytes')))}",
        ]
    )
    return _cell(_status_class(status), main, detail)


def _severity_counts(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key).upper(): int(count) for key, count in value.items() if isinstance(count, int)}


def _vulnerability_cell(data: Mapping[str, Any] | None) -> str:
    if not _ran(data) or data is None:
        return _not_run(data)
    if "vulnerabilities" not in data:
        return _cell("none", "not run", escape(str(data.get("vulnerabilities_not_run") or "not scanned")))
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
    if not _ran(data) or data is None or ("secrets" not in data and "misconfigurations" not in data):
        return _not_run(data)
    secrets = data.get("secrets")
    misconfigurations = data.get("misconfigurations")
    blocking = data.get("misconfigurations_blocking")
    # Any secret fails; a misconfiguration fails only at a gated severity (when the area says how many are).
    gating = blocking if isinstance(blocking, int) else misconfigurations
    found = sum(value for value in (secrets, gating) if isinstance(value, int))
    main = f"secrets {secrets if secrets is not None else '—'}"
    detail = f"misconfig {misconfigurations if misconfigurations is not None else '—'}"
    if isinstance(blocking, int):
        detail += f" ({blocking} gated)"
    return _cell("bad" if found else "ok", main, detail)


def _checks_cell(tally: CheckTally) -> str:
    if tally.total == 0:
        return _not_run()
    parts = [f"{tally.passed} passed" + (f" ({tally.replayed} replayed)" if tally.replayed else "")]
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
.reactor-gate.ok { color: #1b7a1b; } .reactor-gate.bad { color: #b01c1c; } .reactor-gate.warn { color: #a05a00; }
.reactor-unchecked { color: #a05a00; margin: 2px 0; font-size: 13px; }
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
    gate = "".join(f"<p{attributes}>{escape(line)}</p>" for attributes, line in _gate_lines(rows, exit_status))
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


def gate_headline(rows: Sequence[MatrixRow], exit_status: int | None = None) -> list[str]:
    """The gate in words: passed or failed, how many targets are clean, and what was not checked where.

    A target whose vulnerability scan (or any area) did not run is never counted clean: the lines say what
    was not checked and why.
    """
    return [line for _, line in _gate_lines(rows, exit_status)]


def _gate_lines(rows: Sequence[MatrixRow], exit_status: int | None) -> list[tuple[str, str]]:
    gate_ok = all(row.ok for row in rows) and (exit_status in (None, 0))
    clean = sum(row.clean for row in rows)
    gaps = [(row, row.unchecked) for row in rows if row.unchecked]
    verdict = "passed" if gate_ok else "failed"
    if gate_ok and gaps:
        verdict = "passed on what was checked"
    css = "ok" if gate_ok and not gaps else ("warn" if gate_ok else "bad")
    lines = [(f' class="reactor-gate {css}"', f"Gate {verdict}: {clean} of {len(rows)} targets clean")]
    for row, unchecked in gaps:
        lines.append(
            (' class="reactor-unchecked"', f"not checked on {row.image} {row.platform}: {'; '.join(unchecked)}")
        )
    return lines
