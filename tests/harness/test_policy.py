"""The family policy file: images/policy.toml is the one place policy values live, and bad input is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactor_harness.family.discovery import Family
from reactor_harness.family.policy import PolicyError, load_policy, parse_policy

IMAGES = Path(__file__).parents[2] / "images"
GOOD = (IMAGES / "policy.toml").read_text(encoding="utf-8")


def test_the_repository_policy_covers_every_image_with_a_layer_limit():
    """Every family image has a layer limit, and the gate's severities are the high ones."""
    policy = load_policy(IMAGES)
    assert set(policy.layer_limits) == set(Family.discover(IMAGES).images)
    assert set(policy.gated_severities) == {"HIGH", "CRITICAL"}
    assert policy.user == "claude"
    assert policy.uid == 1000
    assert policy.vulnerability_db_max_age_hours == 48


def test_the_vulnerability_db_max_age_defaults_to_48_hours_and_rejects_nonsense():
    """Absent, the DB's max age is 48 h; a negative or textual one is refused naming the key."""
    without = "\n".join(line for line in GOOD.splitlines() if not line.startswith("vulnerability_db_max_age_hours"))
    assert parse_policy(without, Path("policy.toml")).vulnerability_db_max_age_hours == 48
    bad = GOOD.replace("vulnerability_db_max_age_hours = 48", 'vulnerability_db_max_age_hours = "two days"')
    with pytest.raises(PolicyError, match=r"\[security\] vulnerability_db_max_age_hours must be a non-negative number"):
        parse_policy(bad, Path("policy.toml"))


def test_a_missing_policy_file_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(PolicyError, match=r"cannot read the family policy .*policy.toml.*commit an images/policy.toml"):
        load_policy(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('gated_severities = ["HIGH", "CRITICAL"]', 'gated_severities = ["SEVERE"]'), "gated_severities must list"),
        (("base = 4", "base = -4"), r"\[layers\] base must be a non-negative whole number"),
        (("growth_limit = 0.20", 'growth_limit = "a lot"'), r"\[sizes\] growth_limit must be a non-negative number"),
        (("[user]", "[person]"), r"no \[user\] table"),
        (('name = "claude"', 'name = ""'), r"\[user\] name must be"),
        (("uid = 1000", "uid = = 1"), "not valid TOML"),
    ],
)
def test_malformed_policy_values_are_refused_naming_the_key(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(PolicyError, match=message):
        parse_policy(GOOD.replace(old, new, 1), tmp_path / "policy.toml")
