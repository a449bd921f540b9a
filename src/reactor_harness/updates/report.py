"""How findings and bumps are shown: a terminal table, JSON for CI, and the pull request's Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reactor_harness.updates.model import Finding

_COLUMNS = ("image", "pin", "datasource", "current", "level", "wanted", "latest", "status")


def _cells(finding: Finding) -> tuple[str, ...]:
    pin = finding.pin
    status = finding.status + (f"; {'; '.join(finding.notes)}" if finding.notes else "")
    return (
        pin.image,
        pin.label,
        pin.datasource,
        pin.current,
        finding.level.value,
        finding.wanted or "-",
        finding.latest or "-",
        status,
    )


def table(findings: Sequence[Finding]) -> str:
    """A plain-text table, one row per pin, columns aligned."""
    rows = [_COLUMNS, *(_cells(f) for f in findings)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    updates = sum(1 for f in findings if f.wanted)
    unknown = sum(1 for f in findings if f.unknown)
    lines.append(f"{len(findings)} pins: {updates} to update, {unknown} unknown")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps({"pins": [f.as_json() for f in findings]}, indent=2) + "\n"
