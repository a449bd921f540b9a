"""Accepted risks: the `.trivyignore.yaml` file read, validated and checked for expiry.

Accepted risks live in Trivy's own `.trivyignore.yaml` (passed to Trivy with --ignorefile, so a plain
Trivy run honours them too). Trivy drops a finding an entry matches and, once the entry's `expired_at`
has passed, reports it again. The harness adds what Trivy does not (trivy#1758): every entry must give a
`statement` and an `expired_at`, an expired entry fails on its own, and an entry that suppressed nothing
in any scanned image is stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core.errors import HarnessError

# The ignore file's sections and the finding type Trivy's --show-suppressed reports for each.
SECTIONS = {
    "vulnerabilities": "vulnerability",
    "misconfigurations": "misconfiguration",
    "secrets": "secret",
    "licenses": "license",
}
_ENTRY_KEYS = {"id", "paths", "purls", "statement", "expired_at"}


class SecurityPolicyError(HarnessError):
    """The ignore file cannot be read or does not have the shape Trivy and the harness expect."""


@dataclass(frozen=True)
class Acceptance:
    """One accepted risk: an entry of the ignore file."""

    section: str  # vulnerabilities, misconfigurations, secrets, licenses
    id: str
    statement: str | None
    expired_at: dt.date | None
    paths: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The finding type Trivy reports for this section (vulnerability, misconfiguration, ...)."""
        return SECTIONS[self.section]

    def __str__(self) -> str:
        scope = [*self.paths, *self.purls]
        return f"{self.section}: {self.id}" + (f" ({', '.join(scope)})" if scope else "")


@dataclass(frozen=True)
class IgnoreFile:
    """The accepted risks, read from a `.trivyignore.yaml`."""

    path: Path
    acceptances: tuple[Acceptance, ...]

    def in_section(self, section: str) -> list[Acceptance]:
        return [a for a in self.acceptances if a.section == section]


def _date(value: object, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise SecurityPolicyError(
        f"{where}: expired_at {value!r} is not a YAML date; write it unquoted as YYYY-MM-DD "
        "(Trivy fails on a quoted date)"
    )


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SecurityPolicyError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def parse_ignore_file(text: str, path: Path) -> IgnoreFile:
    """Parse ignore-file YAML; SecurityPolicyError naming the file and the entry on a bad shape."""
    import yaml  # here, not at the top: a run that scans nothing does not pay for loading PyYAML (~18 ms)

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SecurityPolicyError(f"{path} is not valid YAML: {error}") from error
    if raw is None:
        return IgnoreFile(path=path, acceptances=())
    if not isinstance(raw, dict):
        raise SecurityPolicyError(f"{path}: expected a mapping with sections {', '.join(SECTIONS)}")
    unknown_sections = sorted(set(raw) - set(SECTIONS))
    if unknown_sections:
        raise SecurityPolicyError(
            f"{path}: unknown section(s) {', '.join(map(str, unknown_sections))}; Trivy reads {', '.join(SECTIONS)}"
        )
    acceptances: list[Acceptance] = []
    for section in SECTIONS:
        entries = raw.get(section) or []
        if not isinstance(entries, list):
            raise SecurityPolicyError(f"{path}: section {section} must be a list of entries")
        for index, entry in enumerate(entries):
            where = f"{path}: {section}[{index}]"
            if not isinstance(entry, dict) or not entry.get("id"):
                raise SecurityPolicyError(f"{where}: every entry needs an id")
            unknown = sorted(set(entry) - _ENTRY_KEYS)
            if unknown:
                raise SecurityPolicyError(
                    f"{where}: unknown key(s) {', '.join(map(str, unknown))} (Trivy would ignore them)"
                )
            statement = entry.get("statement")
            acceptances.append(
                Acceptance(
                    section=section,
                    id=str(entry["id"]),
                    statement=str(statement).strip() if statement not in (None, "") else None,
                    expired_at=_date(entry.get("expired_at"), where),
                    paths=_strings(entry.get("paths"), where, "paths"),
                    purls=_strings(entry.get("purls"), where, "purls"),
                )
            )
    return IgnoreFile(path=path, acceptances=tuple(acceptances))


def load_ignore_file(path: Path) -> IgnoreFile:
    """Read the ignore file; a missing file is an error (the harness always passes one to Trivy)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SecurityPolicyError(
            f"cannot read the accepted-risks file {path}: {error}; commit a .trivyignore.yaml (it may have no entries)"
        ) from error
    return parse_ignore_file(text, path)


def is_expired(acceptance: Acceptance, today: dt.date) -> bool:
    """Expired from its expired_at date on, as Trivy sees it (it compares with midnight UTC of that date)."""
    return acceptance.expired_at is not None and acceptance.expired_at <= today


def acceptance_problems(ignore: IgnoreFile, today: dt.date) -> list[str]:
    """What is wrong with the accepted risks themselves: a missing statement or expiry, or an expired entry."""
    problems: list[str] = []
    for acceptance in ignore.acceptances:
        missing = [
            key
            for key, value in (("statement", acceptance.statement), ("expired_at", acceptance.expired_at))
            if not value
        ]
        if missing:
            problems.append(
                f"{acceptance}: no {' and no '.join(missing)} (every accepted risk says why, and until when)"
            )
        elif acceptance.expired_at is not None and is_expired(acceptance, today):
            problems.append(
                f"{acceptance}: expired on {acceptance.expired_at.isoformat()} ({acceptance.statement}); "
                "fix the finding "
                "or review the risk and set a new expired_at"
            )
    return problems
