"""`--rebuild`: every requested image is built again without the build cache, and its Debian packages are
compared with the previous build of the same tag (needs an engine; run with `--rebuild`)."""

from __future__ import annotations

import re

import pytest

from reactor_harness.build.packages import PackageDiff
from reactor_harness.plugin.outcomes import not_applicable

_STEP = re.compile(r"^#(\d+) \[[^\]]+\] (RUN .*)$")


def cached_run_steps(log: str) -> list[str]:
    """The RUN steps BuildKit answered from its cache (`#N CACHED` after `#N [stage i/n] RUN ...`). FROM and
    steps shared by two stages of the same build say CACHED under --no-cache too; they are not RUN steps."""
    runs = {match.group(1): match.group(2)[:80] for match in map(_STEP.match, log.splitlines()) if match}
    return sorted({runs[number] for number in re.findall(r"^#(\d+) CACHED$", log, re.MULTILINE) if number in runs})


def test_the_cache_check_sees_a_cached_run_step():
    """The log reading behind the --rebuild check (no engine needed)."""
    log = "#4 [base 1/2] FROM docker.io/library/debian\n#4 CACHED\n#5 [stage-1 2/6] RUN apt-get update\n#5 CACHED\n"
    assert cached_run_steps(log) == ["RUN apt-get update"]
    assert cached_run_steps(log.replace("#5 CACHED", "#5 DONE 9.1s")) == []


@pytest.mark.family
def test_a_rebuild_runs_every_step_and_reports_the_package_diff(built_image, harness_settings):
    """With --rebuild no build step comes from the cache, and the outcome carries the package diff against
    the image the tag named before (the report's build cell and the test's setup section show it)."""
    if not harness_settings.rebuild:
        not_applicable("runs with --rebuild only (the weekly rescan and the emergency procedure pass it)")
    log = built_image.outcome.log_path
    assert log, f"{built_image}: no build log"
    with open(log, encoding="utf-8") as handle:
        cached = cached_run_steps(handle.read())
    assert not cached, f"{built_image}: --rebuild took RUN steps from the build cache ({log}): {cached}"
    if built_image.outcome.package_diff is None:
        not_applicable(f"{built_image}: no previous build of {built_image.tag} in this engine to compare with")
    diff = PackageDiff.from_json(built_image.outcome.package_diff)
    assert diff.previous_image != built_image.outcome.image_id
