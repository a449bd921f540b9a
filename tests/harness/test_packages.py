"""The package diff a rebuild reports: Debian packages added, removed and changed against the previous build
of the same tag, and how the report shows it (no engine needed)."""

from __future__ import annotations

from reactor_harness.build.packages import PackageDiff, diff_packages, parse_dpkg_query
from reactor_harness.report.matrix import CheckTally, matrix_rows, render_matrix

BEFORE = "curl\t8.14.1-2+deb13u1\nlibssl3t64\t3.5.1-1\nold-tool\t1.0-1\n"
AFTER = "curl\t8.14.1-2+deb13u2\nlibssl3t64\t3.5.1-1\nnew-tool\t2.0-1\n"


def test_dpkg_query_output_reads_as_name_and_version():
    assert parse_dpkg_query(BEFORE + "garbage line\n\n") == {
        "curl": "8.14.1-2+deb13u1",
        "libssl3t64": "3.5.1-1",
        "old-tool": "1.0-1",
    }


def test_the_diff_names_added_removed_and_changed_packages():
    """A security revision shows as a change; unchanged packages are not listed."""
    diff = diff_packages("sha256:old", parse_dpkg_query(BEFORE), parse_dpkg_query(AFTER))
    assert diff.added == {"new-tool": "2.0-1"}
    assert diff.removed == {"old-tool": "1.0-1"}
    assert diff.changed == {"curl": ("8.14.1-2+deb13u1", "8.14.1-2+deb13u2")}
    assert diff.counts() == "+1 −1 ~1"
    assert diff.lines() == ["+ new-tool 2.0-1", "- old-tool 1.0-1", "~ curl 8.14.1-2+deb13u1 → 8.14.1-2+deb13u2"]
    assert PackageDiff.from_json(diff.to_json()) == diff


def test_the_matrix_shows_each_images_package_diff():
    diff = diff_packages("sha256:old", parse_dpkg_query(BEFORE), parse_dpkg_query(AFTER))
    areas = {("base", "linux/amd64"): {"build": {"status": "passed", "package_diff": diff.to_json()}}}
    html = render_matrix(matrix_rows(areas, {("base", "linux/amd64"): CheckTally(passed=1)}))
    assert "Debian packages +1 −1 ~1 vs previous build" in html
    assert "~ curl 8.14.1-2+deb13u1 → 8.14.1-2+deb13u2" in html
