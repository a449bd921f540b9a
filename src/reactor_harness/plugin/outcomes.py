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
