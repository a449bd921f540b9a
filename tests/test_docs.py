"""The documentation keeps up with the sources: README.md's version tables match the pins, and its policy
table is the policy file."""

from __future__ import annotations

import pytest

from reactor_harness.core import environment
from reactor_harness.family import versions_table
from reactor_harness.family.policy import policy_table

pytestmark = pytest.mark.engine_free


def test_readme_version_tables_match_the_pins(family, harness_settings):
    """Every row of README.md's version tables agrees with its pin; a disagreement names the row."""
    readme = harness_settings.root / "README.md"
    try:
        problems = versions_table.check_readme(readme, family)
    except versions_table.VersionsTableError as error:
        problems = [str(error)]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_readme_policy_table_is_the_policy_file(harness_settings, family_policy):
    """README.md's policy table is the one images/policy.toml renders to; a change to either without the
    other fails, showing the table to paste."""
    readme = (harness_settings.root / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- policy:start -->\n", "<!-- policy:end -->"
    assert start in readme, "README.md lost its policy:start marker"
    assert end in readme, "README.md lost its policy:end marker"
    shown = readme[readme.index(start) + len(start) : readme.index(end)]
    expected = policy_table(family_policy)
    assert shown == expected, (
        f"README.md's policy table disagrees with {family_policy.path}; it should read:\n{expected}"
    )


def test_every_harness_option_ini_value_and_variable_is_documented(pytestconfig, harness_settings):
    """README.md names every command-line option of the harness's groups, every reactor_* ini value and every
    REACTOR_* variable the harness reads (an undocumented switch is one nobody finds)."""
    readme = (harness_settings.root / "README.md").read_text(encoding="utf-8")
    parser = pytestconfig._parser  # pytest keeps no public list of option groups
    options = [
        name
        for group in parser._groups
        if group.name.startswith("reactor")
        for option in group.options
        for name in option.names()
        if name.startswith("--")
    ]
    assert "--reactor-strict" in options  # the groups were found
    ini_values = [name for name in parser._inidict if name.startswith("reactor_")]
    missing = [f"`{name}`" for name in [*options, *ini_values] if f"`{name}`" not in readme]
    missing += [name for name in environment.VARIABLES if name not in readme]
    assert not missing, f"README.md does not document: {', '.join(missing)}"
