"""The split gate on real images: the suite run once per platform into two reports folders and merged with
`reactor report merge` reports what one `--platform all` run reports, cell for cell (needs an engine and both
platforms runnable; run it with `pytest tests/test_split_gate.py --platform all`)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from reactor_harness.cli import main as reactor
from reactor_harness.core import environment
from reactor_harness.core.platforms import SUPPORTED, Platform, why_unrunnable
from reactor_harness.plugin.outcomes import not_applicable, skip_or_fail
from reactor_harness.report.gate import GATE_SUMMARY_FILE
from report_factory import comparable_report

ROOT = Path(__file__).resolve().parent.parent
# Cheap on images the run has built already: base's checks and its size measurements (no Trivy DB needed).
SELECTION = ("--images", "base", "tests/test_base.py", "tests/test_sizes.py")
# The outer run's choices must not leak into the runs compared (each names its platforms and images itself);
# its local repository stays, so the runs reuse the images it built.
_OUTER = (environment.CI, environment.PLATFORMS, environment.IMAGES, environment.REQUIRE_NATIVE)


def _run_suite(platform: str, reports: Path) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _OUTER and not name.startswith(("PYTEST_XDIST_", "PYTEST_CURRENT_TEST"))
    }
    # --no-replay: the runs compared are real runs, not verdicts a run before this test kept.
    command = [sys.executable, "-m", "pytest", "-n", "2", "--no-replay", "--platform", platform]
    command += ["--reports-dir", str(reports)]
    return subprocess.run(
        [*command, *SELECTION], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False
    )


def test_per_platform_runs_merge_into_the_report_of_one_run_over_both(
    engine, harness_settings, family_builder, tmp_path
):
    """`--platform linux/amd64` and `--platform linux/arm64` into separate reports folders, merged, equal the
    `--platform all` run's record, summary.json and matrix cell for cell (timings and run ids aside)."""
    platforms = [Platform.parse(name) for name in SUPPORTED]
    if set(harness_settings.platforms) != set(platforms):
        not_applicable("compares per-platform runs with one run over every platform: run it with --platform all")
    for platform in platforms:
        reason = why_unrunnable(platform, harness_settings.native)
        if reason:
            skip_or_fail(harness_settings, reason)
    # Built for this commit first, so no compared run is the one that replaces an earlier build of the tag (that
    # run alone would report the Debian packages changed against it).
    for platform in platforms:
        outcome = family_builder.build("base", platform)
        assert outcome.succeeded, f"base for {platform} did not build: {outcome.error}\n{outcome.log_tail}"
    reports = {}
    for platform in (*SUPPORTED, "all"):
        reports[platform] = tmp_path / f"reports-{platform.replace('/', '-')}"
        run = _run_suite(platform, reports[platform])
        # Failing checks are fine (the comparison covers them); a run that could not report is not.
        assert run.returncode in (0, 1), f"--platform {platform}: exit {run.returncode}\n{run.stdout[-4000:]}"
        assert (reports[platform] / GATE_SUMMARY_FILE).is_file(), run.stdout[-4000:]
    merged = tmp_path / "merged"
    output, errors = io.StringIO(), io.StringIO()
    arguments = ["report", "merge", str(reports[SUPPORTED[0]]), str(reports[SUPPORTED[1]]), "--out", str(merged)]
    status = reactor([*arguments, "--images-dir", str(harness_settings.images_dir), "--images", "base"], output, errors)
    assert status in (0, 1), errors.getvalue()
    assert "problem" not in output.getvalue(), output.getvalue()
    assert comparable_report(merged) == comparable_report(reports["all"])
