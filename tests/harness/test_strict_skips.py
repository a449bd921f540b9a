"""Strict mode has one door: every skip in the suite that hides something that could not run goes through
`plugin.outcomes.skip_or_fail`, so `--reactor-strict` (or CI=true) turns it into a failure (no engine needed)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from reactor_harness.core.environment import REQUIRE_NATIVE, Environment
from reactor_harness.core.platforms import Platform
from reactor_harness.plugin.outcomes import NOT_APPLICABLE, needs_native
from reactor_harness.plugin.settings import require_native

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
_DIRECT_SKIP = re.compile(r"\bpytest\.skip\(")
_READS_CI = re.compile(r"""environ(?:\.get\(|\[)\s*["']CI["']""")


def _suite_files() -> list[Path]:
    # This file names the forbidden shapes in its own examples.
    return sorted(path for path in [*TESTS.rglob("*.py"), ROOT / "conftest.py"] if path.name != Path(__file__).name)


def test_no_test_skips_directly():
    """A `pytest.skip` that would hide a missing tool, engine or scan in CI must be `skip_or_fail`; a check
    that does not apply to its target says so with `not_applicable` (the report counts it apart)."""
    direct = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _suite_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _DIRECT_SKIP.search(line)
    ]
    assert not direct, (
        "use reactor_harness.plugin.outcomes.skip_or_fail(harness_settings, reason) for what could not run, "
        "or not_applicable(reason) for a check that does not apply:\n" + "\n".join(direct)
    )


def test_no_test_reads_ci_itself():
    """Strict mode is the harness's setting (`--reactor-strict`, CI=true, `--strict`), never `CI` read directly."""
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _suite_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _READS_CI.search(line)
    ]
    assert not readers, "read harness_settings.strict instead of the CI variable: " + ", ".join(readers)


@pytest.mark.parametrize("line", ['    pytest.skip("no tool")', 'if os.environ.get("CI"):'])
def test_the_scan_sees_what_it_forbids(line):
    """The patterns match the shapes they forbid (the scan cannot go blind)."""
    assert _DIRECT_SKIP.search(line) or _READS_CI.search(line)


AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


def _outcome(settings, platform: Platform) -> tuple[str, str]:
    """How needs_native ends for a check of `platform`: ran, not applicable (skip) or failed, and its message."""
    try:
        needs_native(settings, platform, "dlv needs ptrace")
    except pytest.skip.Exception as skipped:
        return "skipped", str(skipped)
    except pytest.fail.Exception as failed:
        return "failed", str(failed)
    return "ran", ""


def test_a_native_only_check_runs_natively_and_does_not_apply_under_emulation(harness_settings):
    """A check that needs a native run runs on its own platform; emulated, it does not apply, and its reason says
    where it does run (a native runner of that platform)."""
    settings = replace(harness_settings, native=AMD64, require_native=())
    assert _outcome(settings, AMD64) == ("ran", "")
    outcome, message = _outcome(settings, ARM64)
    assert outcome == "skipped"
    assert message.startswith(NOT_APPLICABLE)
    assert "native linux/arm64 machine" in message
    assert "gate job" in message


def test_a_native_only_check_fails_when_the_run_must_be_native_but_is_emulated(harness_settings):
    """$REACTOR_REQUIRE_NATIVE (the workflow's arm64 job sets it): an emulated run of that platform fails the
    check instead of letting it quietly not apply; strict mode alone does not (not applicable hides nothing)."""
    required = replace(harness_settings, native=AMD64, require_native=(ARM64,))
    outcome, message = _outcome(required, ARM64)
    assert outcome == "failed"
    assert f"{REQUIRE_NATIVE} names linux/arm64" in message
    assert "native linux/arm64 runner" in message
    assert _outcome(replace(harness_settings, native=ARM64, require_native=(ARM64,)), ARM64) == ("ran", "")
    assert _outcome(replace(harness_settings, native=AMD64, require_native=(), strict=True), ARM64)[0] == "skipped"


def test_the_require_native_variable_is_read_as_platforms():
    """$REACTOR_REQUIRE_NATIVE takes a platform list or `all`; unset is none; a bad value names the fix."""
    assert require_native(None) == ()
    assert require_native(" ") == ()
    assert require_native("linux/arm64") == (ARM64,)
    assert require_native("all") == (AMD64, ARM64)
    with pytest.raises(pytest.UsageError, match=r"REACTOR_REQUIRE_NATIVE: unsupported platform 'linux/s390x'"):
        require_native("linux/s390x")
    assert Environment.read({REQUIRE_NATIVE: "linux/arm64"}).require_native == "linux/arm64"
