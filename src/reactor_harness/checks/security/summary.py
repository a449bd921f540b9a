"""The security area's result for one image × platform: counts the matrix and the gate summary show.

Computed from the parsed Trivy report the gate's tests read, so the matrix cell and summary.json carry the
same numbers as the JSON in reports/security/.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection
from typing import Any

from reactor_harness.checks.security.accepted import IgnoreFile
from reactor_harness.checks.security.findings import Report
from reactor_harness.checks.security.gate import (
    blocking_misconfigurations,
    blocking_secrets,
    blocking_vulnerabilities,
)
from reactor_harness.checks.security.vulndb import DbMetadata, VulnerabilityDb

NO_DB_REASON = "no vulnerability DB"
_EVIDENCE_FINDINGS = 200  # the report's evidence table shows 25; the rest stay in Trivy's JSON


def vulnerability_db_record(db: VulnerabilityDb, metadata: DbMetadata | None, now: dt.datetime) -> dict[str, Any]:
    """What the run's vulnerability DB was: present or not (and why), its schema version, update time and age."""
    record: dict[str, Any] = {"available": db.available, "detail": db.detail}
    if metadata is not None and db.available:
        record["version"] = metadata.version
        if metadata.updated_at is not None:
            record["updated_at"] = metadata.updated_at.isoformat(timespec="seconds")
            record["age_hours"] = round((now - metadata.updated_at).total_seconds() / 3600, 1)
    return record


def security_result_data(
    report: Report,
    *,
    vulnerability_db: dict[str, Any],
    scanned_vulnerabilities: bool,
    gated_severities: Collection[str],
    ignore_unfixed: bool,
    accepted_risks: IgnoreFile | None,
) -> dict[str, Any]:
    """The "security" area's data: vulnerabilities by severity (or why not scanned), accepted, secrets, misconfig."""
    data: dict[str, Any] = {"vulnerability_db": vulnerability_db}
    secrets = blocking_secrets(report)
    misconfigurations = [m for m in report.misconfigurations if m.failed]
    blocking_misconfig = blocking_misconfigurations(report, severities=gated_severities)
    data["secrets"] = len(secrets)
    data["misconfigurations"] = len(misconfigurations)
    data["misconfigurations_blocking"] = len(blocking_misconfig)
    failed = bool(secrets or blocking_misconfig)
    if scanned_vulnerabilities:
        vulnerabilities = report.vulnerabilities
        data["vulnerabilities"] = dict(Counter(v.severity for v in vulnerabilities))
        blocking = blocking_vulnerabilities(report, severities=gated_severities, ignore_unfixed=ignore_unfixed)
        unique = sorted({(v.id, v.severity, v.package, v.installed_version, v.fixed_version or "") for v in blocking})
        data["gated_findings"] = [
            {"id": id_, "severity": severity, "package": package, "installed": installed, "fixed": fixed}
            for id_, severity, package, installed, fixed in unique
        ]
        data["findings"] = [
            {
                "id": v.id,
                "severity": v.severity,
                "package": v.package,
                "installed": v.installed_version,
                "fixed": v.fixed_version or "",
                "title": v.title,
            }
            for v in vulnerabilities[:_EVIDENCE_FINDINGS]
        ]
        failed = failed or bool(blocking)
    else:
        data["vulnerabilities_not_run"] = NO_DB_REASON
    data["accepted"] = sum(1 for s in report.suppressed if s.kind == "vulnerability")
    if accepted_risks is not None:
        data["acceptances"] = [
            {
                "id": acceptance.id,
                "section": acceptance.section,
                "expired_at": acceptance.expired_at.isoformat() if acceptance.expired_at else None,
                "statement": acceptance.statement or "",
            }
            for acceptance in accepted_risks.acceptances
        ]
    # What was not scanned is not a failure here (the gate's tests skip or fail for it); the matrix reads
    # vulnerabilities_not_run and never calls such a target clean.
    data["status"] = "failed" if failed else "passed"
    return data
