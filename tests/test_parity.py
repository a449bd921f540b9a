"""Parity with the upstream images Reactor users run today: every upstream tool is provided (by a pin or
lock entry of the image that ships it, and used in a test) or excluded with a reason, and README.md shows
images/parity.toml as it is."""

from __future__ import annotations

import pytest

from reactor_harness.family import parity

pytestmark = pytest.mark.engine_free

# What the upstream images (dyluth/reactor, images/*/Dockerfile at 45472eb) give a user, by image: the
# contract images/parity.toml answers, tool by tool.
UPSTREAM_TOOLS = {
    "base": [
        "curl",
        "git",
        "ca-certificates",
        "wget",
        "unzip",
        "gnupg2",
        "sudo",
        "socat",
        "ripgrep",
        "jq",
        "fzf",
        "nano",
        "vim",
        "less",
        "procps",
        "htop",
        "build-essential",
        "shellcheck",
        "man-db",
        "docker-cli",
        "node",
        "claude-code",
        "git-prompt",
    ],
    "python": [
        "python3",
        "python3-pip",
        "python3-dev",
        "python3-venv",
        "python3-setuptools",
        "python3-wheel",
        "libffi-dev",
        "libssl-dev",
        "uv",
        "ruff",
        "black",
        "mypy",
        "pytest",
        "pytest-cov",
        "requests",
        "ipython",
        "rich",
    ],
    "node": [
        "typescript",
        "ts-node",
        "@types/node",
        "eslint",
        "prettier",
        "npm-check-updates",
        "nodemon",
        "concurrently",
        "jest",
        "http-server",
    ],
    "go": ["gopls", "dlv", "staticcheck", "golangci-lint", "goimports", "gomodifytags", "gotests"],
}
# The upstream aliases, by image (python: py, ipy; node: ncu, dev, build, test; go: gob … gof).
UPSTREAM_ALIASES = {
    "python": ["py", "ipy"],
    "node": ["ncu", "dev", "build", "test"],
    "go": ["gob", "gor", "got", "gotv", "gom", "gof"],
}


@pytest.fixture(scope="module")
def family_parity(harness_settings) -> parity.Parity:
    """images/parity.toml, read once."""
    return parity.load(harness_settings.root / "images")


def test_every_upstream_tool_is_provided_or_excluded(family_parity, family, harness_settings):
    """An upstream tool neither provided nor excluded fails, and so does a claimed pin or lock entry the
    image does not have, or a named test that does not exist."""
    found = parity.problems(family_parity, family, harness_settings.root, UPSTREAM_TOOLS)
    assert not found, "\n".join(found)


def test_every_upstream_alias_is_defined_or_excluded(family_parity):
    """Each upstream alias is defined for its image or left out with a reason."""
    defined = {image: set(table) for image, table in family_parity.aliases.items()}
    missing = [
        f"{image}: {name}"
        for image, names in UPSTREAM_ALIASES.items()
        for name in names
        if name not in defined.get(image, set()) and name not in family_parity.excluded_aliases
    ]
    assert not missing, f"upstream aliases neither in [aliases.<image>] nor [excluded_aliases]: {missing}"


def test_an_unlisted_tool_or_a_false_claim_fails(family_parity, family, harness_settings):
    """The check itself: a tool missing from the file, and a tool claiming a pin its image lacks, are named."""
    claims_wrong_pin = parity.UpstreamTool(
        "wget", "base", (parity.Provision("python", "WGET_VERSION", None),), None, "", None
    )
    broken = parity.Parity(
        family_parity.path,
        (*[t for t in family_parity.tools if t.name not in {"fzf", "wget"}], claims_wrong_pin),
        family_parity.aliases,
        family_parity.excluded_aliases,
    )
    found = "\n".join(parity.problems(broken, family, harness_settings.root, UPSTREAM_TOOLS))
    assert "upstream base's fzf is neither provided nor excluded" in found
    assert "python's Dockerfile has no pinned ARG WGET_VERSION" in found


def test_readme_parity_section_is_the_parity_file(family_parity, harness_settings):
    """README.md's parity section is what images/parity.toml renders to; a stale one shows the fix."""
    readme = harness_settings.root / "README.md"
    expected = parity.render(family_parity)
    assert parity.documented(readme) == expected, f"README.md's parity section is stale: run `{parity.COMMAND}`"
