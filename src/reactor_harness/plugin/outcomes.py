"""The strict policy: what cannot run here skips with a reason locally and fails in strict mode (CI)."""

from __future__ import annotations

import pytest

from reactor_harness.plugin.settings import HarnessSettings


def skip_or_fail(settings: HarnessSettings, reason: str) -> None:
    """Skip with the reason locally; fail with it in strict mode (CI), where a skip would hide a gap."""
    __tracebackhide__ = True
    if settings.strict:
        pytest.fail(f"{reason} [strict mode: this would be a skip locally]", pytrace=False)
    pytest.skip(reason)


# The reason prefix of a skip that hides nothing: the check does not apply to this target (an image without
# Debian pins of its own, a debugger under emulation). The report counts these apart from real skips,
# which make a target not clean (report.matrix.MatrixRow.ok).
NOT_APPLICABLE = "not applicable: "


def not_applicable(reason: str) -> None:
    """Skip a check that does not apply to this target; the matrix does not count it as a gap."""
    __tracebackhide__ = True
    pytest.skip(NOT_APPLICABLE + reason)


def is_not_applicable(report: pytest.TestReport) -> bool:
    """Whether a skipped test report came from not_applicable (its reason carries the prefix)."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    return str(reason).removeprefix("Skipped: ").startswith(NOT_APPLICABLE)
