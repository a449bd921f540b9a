"""Strict mode has one door: every skip in the suite that hides something that could not run goes through
`plugin.outcomes.skip_or_fail`, so `--reactor-strict` (or CI=true) turns it into a failure (no engine needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
