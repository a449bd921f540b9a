"""The family's policy read from `images/policy.toml`: the one place its values are declared.

User, layer limits, size budgets and thresholds, and the severities the security gate fails on are
data, not code constants: the checks take them from a `FamilyPolicy`, the tests and README read the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reactor_harness.core.errors import HarnessError

POLICY_FILE = "policy.toml"
MB = 1_000_000
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")  # Trivy's, most severe first


class PolicyError(HarnessError):
    """The policy file is missing or malformed."""


# What the policy file's [security] vulnerability_db_max_age_hours defaults to when absent.
DEFAULT_VULNERABILITY_DB_MAX_AGE_HOURS = 48.0


@dataclass(frozen=True)
class FamilyPolicy:
    """Every policy value of the family, as declared in images/policy.toml."""

    path: Path
    user: str
    uid: int
    layer_limits: Mapping[str, int]
    budgets: Mapping[str, int]  # image name -> compressed budget in bytes
    default_budget: int  # bytes, for every image not named in budgets
    growth_limit: float
    headroom: float  # fraction of its budget every image keeps free
    shrink_notice: float
    waste_limit: int  # bytes
    large_file: int  # bytes
    gated_severities: tuple[str, ...]
    vulnerability_db_max_age_hours: float = DEFAULT_VULNERABILITY_DB_MAX_AGE_HOURS


def headroom_limit(budget: int, headroom: float) -> int:
    """The compressed size an image may reach: its budget less the share of it the image keeps free."""
    return round(budget * (1 - headroom))


def _table(data: Mapping[str, Any], key: str, path: Path) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise PolicyError(f"{path}: no [{key}] table; see the README's policy section for its keys")
    return value


def _number(table: Mapping[str, Any], key: str, where: str, path: Path) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PolicyError(f"{path}: [{where}] {key} must be a non-negative number, not {value!r}")
    return float(value)


def _fraction(table: Mapping[str, Any], key: str, where: str, path: Path) -> float:
    value = _number(table, key, where, path)
    if value >= 1:
        raise PolicyError(f"{path}: [{where}] {key} must be a fraction below 1 (0.20 keeps 20% free), not {value!r}")
    return value


def _integers(table: Mapping[str, Any], where: str, path: Path) -> dict[str, int]:
    result: dict[str, int] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PolicyError(f"{path}: [{where}] {name} must be a non-negative whole number, not {value!r}")
        result[str(name)] = value
    return result


def parse_policy(text: str, path: Path) -> FamilyPolicy:
    """Parse the policy file's text; PolicyError naming the file and the key on bad input."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not valid TOML ({error})") from error
    user = _table(data, "user", path)
    sizes = _table(data, "sizes", path)
    security = _table(data, "security", path)
    name = user.get("name")
    if not isinstance(name, str) or not name:
        raise PolicyError(f'{path}: [user] name must be the non-root user\'s name, e.g. "claude"')
    severities = security.get("gated_severities")
    if not isinstance(severities, list) or not severities or any(s not in SEVERITIES for s in severities):
        raise PolicyError(f"{path}: [security] gated_severities must list some of {', '.join(SEVERITIES)}")
    budgets_mb = _integers(_table(sizes, "budgets_mb", path), "sizes.budgets_mb", path)
    return FamilyPolicy(
        path=path,
        user=name,
        uid=int(_number(user, "uid", "user", path)),
        layer_limits=MappingProxyType(_integers(_table(data, "layers", path), "layers", path)),
        budgets=MappingProxyType({image: mb * MB for image, mb in budgets_mb.items()}),
        default_budget=int(_number(sizes, "default_budget_mb", "sizes", path) * MB),
        growth_limit=_number(sizes, "growth_limit", "sizes", path),
        headroom=_fraction(sizes, "headroom", "sizes", path),
        shrink_notice=_number(sizes, "shrink_notice", "sizes", path),
        waste_limit=int(_number(sizes, "waste_limit_mb", "sizes", path) * MB),
        large_file=int(_number(sizes, "large_file_mb", "sizes", path) * MB),
        gated_severities=tuple(str(severity) for severity in severities),
        vulnerability_db_max_age_hours=(
            _number(security, "vulnerability_db_max_age_hours", "security", path)
            if "vulnerability_db_max_age_hours" in security
            else DEFAULT_VULNERABILITY_DB_MAX_AGE_HOURS
        ),
    )


def load_policy(images_dir: Path) -> FamilyPolicy:
    """Read `<images_dir>/policy.toml`; PolicyError naming the file and the fix if it is missing or malformed."""
    path = images_dir / POLICY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"cannot read the family policy {path}: {error}; commit an images/{POLICY_FILE}") from error
    return parse_policy(text, path)


def policy_table(policy: FamilyPolicy) -> str:
    """The policy as the README's Markdown table (tests/test_docs.py checks the README carries it verbatim)."""

    def mb(size: int) -> str:
        return f"{size / MB:g} MB"

    def most(budget: int) -> str:
        return "at most " + mb(headroom_limit(budget, policy.headroom))

    budgets = ", ".join(f"{image} {mb(size)}" for image, size in sorted(policy.budgets.items()))
    limits = ", ".join(f"{image} {limit}" for image, limit in sorted(policy.layer_limits.items()))
    rows = [
        ("non-root user every image ends on", f"`{policy.user}` (UID/GID {policy.uid})", "`[user]`"),
        ("layers (RUN/COPY/ADD) of each final stage, at most", limits, "`[layers]`"),
        ("compressed size budget", f"{budgets}, every other image {mb(policy.default_budget)}", "`[sizes]`"),
        (
            "share of its budget each image keeps free (compressed, at most)",
            f"{policy.headroom:.0%}: "
            + ", ".join(f"{image} {most(size)}" for image, size in sorted(policy.budgets.items()))
            + f", every other image {most(policy.default_budget)}",
            "`[sizes] headroom`",
        ),
        ("compressed growth over the baseline that fails", f"{policy.growth_limit:.0%}", "`[sizes] growth_limit`"),
        ("shrinking that is reported", f"{policy.shrink_notice:.0%}", "`[sizes] shrink_notice`"),
        (
            "deleted or overwritten bytes an image's own layers may ship",
            mb(policy.waste_limit),
            "`[sizes] waste_limit_mb`",
        ),
        ("files listed as large above", mb(policy.large_file), "`[sizes] large_file_mb`"),
        ("severities that fail the security gate", ", ".join(policy.gated_severities), "`[security]`"),
        (
            "oldest vulnerability DB `--require-vuln-db` accepts",
            f"{policy.vulnerability_db_max_age_hours:g} h",
            "`[security] vulnerability_db_max_age_hours`",
        ),
    ]
    lines = ["| policy | value | in `images/policy.toml` |", "| --- | --- | --- |"]
    lines += [f"| {what} | {value} | {key} |" for what, value, key in rows]
    return "\n".join(lines) + "\n"
