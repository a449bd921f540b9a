"""The weekly review as one self-contained HTML page: tables, and charts drawn as inline SVG (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from reactor_harness.report.matrix import format_bytes, format_duration
from reactor_harness.report.review import (
    DURATION_TOLERANCE,
    EXPIRY_WINDOW_DAYS,
    GROWTH_LIMIT,
    Review,
    TargetHistory,
)

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
_STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { margin-bottom: 4px; } h2 { margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; } th, td { border: 1px solid #ccc; padding: 4px 8px; }
th { background: #eee; text-align: left; } td.ok { background: #e6f4e6; } td.bad { background: #fbe3e3; }
td.none { color: #888; } .cards { display: flex; gap: 16px; flex-wrap: wrap; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: 10px 14px; width: 300px; }
.card .value { font-size: 28px; font-weight: bold; } .card .note { font-size: 12px; color: #555; }
.muted { color: #777; font-size: 13px; }
"""


def _svg_lines(
    series: Sequence[tuple[str, Sequence[float | None]]],
    labels: Sequence[str],
    *,
    width: int = 760,
    height: int = 260,
    unit: str = "",
    limits: Sequence[tuple[str, float]] = (),
    title: str = "",
) -> str:
    """A line chart as inline SVG: one polyline per series, dashed horizontal lines for limits."""
    values = [v for _, points in series for v in points if v is not None] + [value for _, value in limits]
    if not values:
        return '<p class="muted">no data to chart</p>'
    top = max(values) * 1.1 or 1.0
    legend = width > 400  # small charts (the metric cards) have one series and no room for a legend
    left, right, upper, lower = (60, 170, 20, 40) if legend else (44, 12, 10, 30)
    plot_w, plot_h = width - left - right, height - upper - lower
    count = max(len(labels), 2)

    def x(index: int) -> float:
        return left + plot_w * index / (count - 1)

    def y(value: float) -> float:
        return upper + plot_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" class="chart">',
        f'<rect x="{left}" y="{upper}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for step in range(5):
        value = top * step / 4
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end">{value:.0f}{unit}</text>'
        )
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{x(index):.1f}" y="{height - lower + 16}" font-size="10" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for name, value in limits:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#b01c1c" '
            f'stroke-dasharray="6 4"/><text x="{left + plot_w + 6}" y="{y(value) + 4:.1f}" font-size="11" '
            f'fill="#b01c1c">{escape(name)}</text>'
        )
    for number, (name, points) in enumerate(series):
        colour = _COLOURS[number % len(_COLOURS)]
        coordinates = [(x(i), y(v)) for i, v in enumerate(points) if v is not None]
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coordinates)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"/>' for cx, cy in coordinates]
        legend_y = upper + 14 + 16 * number
        if not legend:
            continue
        parts.append(
            f'<rect x="{left + plot_w + 6}" y="{legend_y - 9 + 40}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + plot_w + 20}" y="{legend_y + 40}" font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _name(history: TargetHistory) -> str:
    return f"{history.target[0]} {history.target[1]}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _cards(data: Review) -> str:
    labels = [str(index + 1) for index in range(len(data.runs))]
    rates = []
    for index in range(len(data.runs)):
        seen = [h.build_status[index] for h in data.histories if h.build_status[index] is not None]
        rates.append(100 * sum(s == "passed" for s in seen) / len(seen) if seen else None)
    latest_total = data.vulnerability_totals[-1]
    unstable = data.unstable_durations
    durations = [(_name(h), h.build_seconds) for h in data.histories]
    cards = [
        ("build success rate", _percent(data.success_rate), "builds passed / builds attempted over the window",
         _svg_lines([("success %", rates)], labels, width=280, height=120, unit="%", title="build success rate")),
        ("open HIGH/CRITICAL", "not scanned" if latest_total is None else str(latest_total),
         "findings in the latest run (per run below; gaps: not scanned)",
         _svg_lines([("HIGH+CRITICAL", [None if t is None else float(t) for t in data.vulnerability_totals])],
                    labels, width=280, height=120, title="vulnerability count")),
        ("build duration stable", "yes" if not unstable else f"no ({len(unstable)})",
         f"last build within ±{DURATION_TOLERANCE:.0%} of the window's median",
         _svg_lines(durations, labels, width=280, height=120, unit="s", title="build duration")),
    ]  # fmt: skip
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card" data-metric="{escape(title)}"><div>{escape(title)}</div>'
            f'<div class="value">{escape(value)}</div><div class="note">{escape(note)}</div>{chart}</div>'
            for title, value, note, chart in cards
        )
        + "</div>"
    )


def _builds_table(data: Review) -> str:
    head = "".join(f"<th>{index + 1}</th>" for index in range(len(data.runs)))
    rows = []
    for history in data.histories:
        cells = "".join(
            f'<td class="{"ok" if status == "passed" else ("none" if status is None else "bad")}">'
            f"{escape(status or '—')}<br>{format_duration(seconds) if seconds is not None else ''}</td>"
            for status, seconds in zip(history.build_status, history.build_seconds, strict=True)
        )
        rows.append(f"<tr><th>{escape(_name(history))}</th><td>{_percent(history.success_rate)}</td>{cells}</tr>")
    return f"<table><tr><th>image × platform</th><th>success</th>{head}</tr>{''.join(rows)}</table>"


def _runs_table(data: Review) -> str:
    rows = "".join(
        f"<tr><td>{index + 1}</td><td>{escape(run.generated)}</td><td><code>{escape(run.commit[:12])}</code></td>"
        f'<td class="{"ok" if run.passed else "bad"}">{"passed" if run.passed else "failed"}</td>'
        f"<td>{escape(str(run.vulnerability_db.get('detail', '—'))[:90])}</td><td>{escape(str(run.source))}</td></tr>"
        for index, run in enumerate(data.runs)
    )
    head = "<tr><th>#</th><th>generated</th><th>commit</th><th>gate</th><th>vulnerability DB</th><th>summary</th></tr>"
    return f"<table>{head}{rows}</table>"


def _findings_section(data: Review) -> str:
    parts = []
    if data.findings:
        rows = "".join(
            f"<tr><td>{'new' if f.new else 'open'}</td><td>{escape(f.target[0])} {escape(f.target[1])}</td>"
            f"<td>{escape(f.id)}</td><td>{escape(f.severity)}</td><td>{escape(f.package)}</td>"
            f"<td>{escape(f.installed)} → {escape(f.fixed or 'no fix yet')}</td></tr>"
            for f in sorted(data.findings, key=lambda f: (not f.new, f.severity != "CRITICAL", f.id))
        )
        head = "<tr><th></th><th>target</th><th>id</th><th>severity</th><th>package</th><th>installed → fixed</th></tr>"
        parts.append(f"<table>{head}{rows}</table>")
    else:
        parts.append("<p>No open HIGH or CRITICAL finding in the targets the latest run scanned.</p>")
    if data.unscanned:
        parts.append(
            "<p><b>Not scanned for vulnerabilities in the latest run:</b> "
            + "; ".join(escape(item) for item in data.unscanned)
            + "</p>"
        )
    return "".join(parts)


def _expiring_section(data: Review) -> str:
    if not data.expiring:
        return f"<p>No accepted risk expires within {EXPIRY_WINDOW_DAYS} days of {data.today}.</p>"
    rows = "".join(
        f"<tr><td>{escape(item.id)}</td><td>{escape(item.section)}</td><td>{item.expires}</td>"
        f'<td class="{"bad" if item.days_left < 0 else ""}">'
        f"{'expired' if item.days_left < 0 else f'{item.days_left} days'}</td><td>{escape(item.statement)}</td></tr>"
        for item in data.expiring
    )
    return f"<table><tr><th>id</th><th>section</th><th>expires</th><th>left</th><th>statement</th></tr>{rows}</table>"


def _growth_section(data: Review) -> str:
    rows = "".join(
        f"<tr><td>{escape(_name(h))}</td><td>{format_bytes(next(v for v in h.compressed if v))}</td>"
        f"<td>{format_bytes(next(v for v in reversed(h.compressed) if v))}</td>"
        f'<td class="{"bad" if (h.growth or 0) > GROWTH_LIMIT else ""}">{(h.growth or 0) * 100:+.1f}%</td></tr>'
        for h in data.histories
        if h.growth is not None
    )
    grown = data.grown
    verdict = (
        f"<p><b>Grew more than {GROWTH_LIMIT:.0%} over the window:</b> {', '.join(escape(_name(h)) for h in grown)}</p>"
        if grown
        else f"<p>No image grew more than {GROWTH_LIMIT:.0%} over the window.</p>"
    )
    table = f"<table><tr><th>target</th><th>first</th><th>last</th><th>growth</th></tr>{rows}</table>" if rows else ""
    return verdict + table


def render_review(data: Review) -> str:
    """The whole page: key metrics, builds, sizes against budget, findings, expiring acceptances, growth."""
    labels = [str(index + 1) for index in range(len(data.runs))]
    megabytes = [(_name(h), [None if v is None else v / 1e6 for v in h.compressed]) for h in data.histories]
    budgets = sorted({(h.target[0], h.budget) for h in data.histories if h.budget is not None})
    limits = [(f"budget {image} {budget / 1e6:.0f} MB", budget / 1e6) for image, budget in budgets]
    size_chart = _svg_lines(megabytes, labels, unit=" MB", limits=limits, title="compressed size against budget")
    duration_chart = _svg_lines(
        [(_name(h), h.build_seconds) for h in data.histories], labels, height=200, unit="s", title="build duration"
    )
    first, last = data.runs[0], data.runs[-1]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reactor images: weekly review</title>
<style>{_STYLE}</style></head><body>
<h1>Reactor images: weekly review</h1>
<p class="muted">{len(data.runs)} runs, {escape(first.generated)} to {escape(last.generated)};
written {data.today}. Runs are numbered oldest first.</p>
<h2>Key metrics</h2>{_cards(data)}
<h2>Compressed size against budget</h2>{size_chart}
<h2>Build status and success rate per image × platform</h2>{_builds_table(data)}
<h2>Build duration</h2>{duration_chart}
<h2>HIGH and CRITICAL findings (latest run)</h2>{_findings_section(data)}
<h2>Accepted risks expiring within {EXPIRY_WINDOW_DAYS} days</h2>{_expiring_section(data)}
<h2>Growth over the window</h2>{_growth_section(data)}
<h2>Runs</h2>{_runs_table(data)}
</body></html>
"""
