"""The documentation keeps up with the pins: README.md's version tables match the Dockerfiles and lock files."""

from __future__ import annotations

import pytest

from reactor_harness.family import versions_table


def test_readme_version_tables_match_the_pins(family, harness_settings):
    """Every row of README.md's version tables agrees with its pin; a disagreement names the row."""
    readme = harness_settings.root / "README.md"
    try:
        problems = versions_table.check_readme(readme, family)
    except versions_table.VersionsTableError as error:
        problems = [str(error)]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
