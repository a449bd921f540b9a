"""The tag set of a build: computed once in the library, printed by the CLI for the workflow."""

from __future__ import annotations

import io

import pytest

from reactor_harness.core.platforms import Platform
from reactor_harness.release.commands import run
from reactor_harness.release.tags import (
    TagError,
    build_tag,
    is_build_tag,
    is_valid_tag,
    platform_tag,
    sanitize_tag,
    tags_for,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_the_default_branch_gets_latest_the_build_tag_and_its_own_name():
    tags = tags_for(SHA, "refs/heads/main", "main")
    assert tags.all == ("sha-0123456", "latest", "main")


def test_another_branch_gets_no_latest():
    assert tags_for(SHA, "refs/heads/release/2026.11", "main").all == ("sha-0123456", "release-2026.11")


def test_a_git_tag_is_a_channel_and_a_pull_request_has_none():
    assert tags_for(SHA, "refs/tags/v1.4.0", "main").channels == ("v1.4.0",)
    assert tags_for(SHA, "refs/pull/12/merge", "main").channels == ()


@pytest.mark.parametrize(
    ("branch", "tag"),
    [
        ("feature/Login_v2", "feature-login_v2"),
        ("dependabot/npm_and_yarn/images/node/eslint-9.1.0", "dependabot-npm_and_yarn-images-node-eslint-9.1.0"),
        ("-leading.dash", "leading.dash"),
        ("fix: spaces & symbols!", "fix-spaces-symbols"),
        ("x" * 300, "x" * 128),
        ("émoji🚀branch", "moji-branch"),
    ],
)
def test_branch_names_become_valid_tags(branch, tag):
    assert sanitize_tag(branch) == tag
    assert is_valid_tag(tag)


def test_a_name_with_nothing_to_keep_is_refused():
    with pytest.raises(TagError, match="no character an image tag can keep"):
        sanitize_tag("///")


def test_a_branch_that_looks_like_a_build_tag_is_refused():
    """A branch named sha-1234567 would let a channel shadow an immutable build tag."""
    with pytest.raises(TagError, match="looks like a build tag"):
        tags_for(SHA, "refs/heads/sha-1234567", "main")


def test_a_malformed_sha_is_refused():
    with pytest.raises(TagError, match="not a commit SHA"):
        build_tag("HEAD")


def test_build_and_platform_tags():
    assert is_build_tag("sha-0123456")
    assert not is_build_tag("sha-0123456-linux-amd64")
    assert not is_build_tag("latest")
    assert platform_tag("sha-0123456", Platform("linux", "arm64")) == "sha-0123456-linux-arm64"


def test_the_cli_prints_the_tags_for_the_workflow():
    out = io.StringIO()
    assert (
        run(["tags", "--sha", SHA, "--ref", "refs/heads/main", "--default-branch", "main", "--format", "github"], out)
        == 0
    )
    assert out.getvalue() == "build=sha-0123456\nchannels=latest main\n"
