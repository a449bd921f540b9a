"""`--rebuild`: every requested image is built again without the build cache, and its Debian packages are
compared with the previous build of the same tag (needs an engine; run with `--rebuild`)."""

from __future__ import annotations

import pytest

from reactor_harness.build.packages import PackageDiff
from reactor_harness.plugin.outcomes import not_applicable


@pytest.mark.family
def test_a_rebuild_runs_every_step_and_reports_the_package_diff(built_image, harness_settings):
    """With --rebuild no build step comes from the cache, and the outcome carries the package diff against
    the image the tag named before (the report's build cell and the test's setup section show it)."""
    if not harness_settings.rebuild:
        not_applicable("runs with --rebuild only (the weekly rescan and the emergency procedure pass it)")
    log = built_image.outcome.log_path
    assert log, f"{built_image}: no build log"
    with open(log, encoding="utf-8") as handle:
        text = handle.read()
    assert "CACHED" not in text, f"{built_image}: --rebuild took steps from the build cache ({log})"
    if built_image.outcome.package_diff is None:
        not_applicable(f"{built_image}: no previous build of {built_image.tag} in this engine to compare with")
    diff = PackageDiff.from_json(built_image.outcome.package_diff)
    assert diff.previous_image != built_image.outcome.image_id
