"""Evidence for a failing test: what an area found, as HTML to attach to its report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from reactor_harness.family.policy import SEVERITIES
from reactor_harness.report.matrix import format_bytes, number

_EVIDENCE_ROWS = 25


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
        layers.sort(key=lambda layer: -(number(layer.get("size_bytes")) or 0))
        rows = "".join(
            f"<tr><td>{format_bytes(number(layer.get('size_bytes')))}</td>"
            f"<td>{escape(str(layer.get('created_by', ''))[:200])}</td></tr>"
            for layer in layers[:_EVIDENCE_ROWS]
        )
        summary = escape(
            ", ".join(
                f"{label} {format_bytes(number(data.get(key)))}"
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
