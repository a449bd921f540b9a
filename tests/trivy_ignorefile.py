"""Writing a Trivy ignore file from acceptances, for the end-to-end gate tests.

Test-only, not library code: the harness only reads `.trivyignore.yaml` (people write it, reviewed in a
PR); the tests write throwaway ones to prove that accepting a finding passes the gate and that an
expired acceptance fails it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from reactor_harness.checks.security.accepted import Acceptance


def write_ignore_file(path: Path, acceptances: Iterable[Acceptance]) -> Path:
    """Write acceptances in Trivy's ignore-file format (used by the end-to-end tests)."""
    document: dict[str, list[dict[str, Any]]] = {}
    for acceptance in acceptances:
        entry: dict[str, Any] = {"id": acceptance.id}
        if acceptance.paths:
            entry["paths"] = list(acceptance.paths)
        if acceptance.purls:
            entry["purls"] = list(acceptance.purls)
        if acceptance.statement is not None:
            entry["statement"] = acceptance.statement
        if acceptance.expired_at is not None:
            entry["expired_at"] = acceptance.expired_at  # a YAML date, unquoted: Trivy rejects a quoted one
        document.setdefault(acceptance.section, []).append(entry)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
