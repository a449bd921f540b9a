"""Dockerfile parsing: pins, stages and their FROM arguments are read from the file, not retyped."""

from __future__ import annotations

import pytest

from reactor_harness.core.errors import DockerfileError
from reactor_harness.family.dockerfile import Dockerfile, parse_annotation

DOCKERFILE = """\
# renovate: datasource=deb depName=git
ARG GIT_VERSION=1:2.47.3
ARG TOOL_SHA256=abc123
ARG BASE_IMAGE=reactor/base:latest
ARG UNPINNED=1.0
# just a comment
ARG DOCUMENTED=2.0

FROM --platform=$BUILDPLATFORM ${BASE_IMAGE} AS fetch
ARG GIT_VERSION
RUN apt-get install -y "git=${GIT_VERSION}-*"

FROM ${BASE_IMAGE}
USER claude
"""


@pytest.fixture
def dockerfile(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE)
    return Dockerfile.parse(path)


def test_annotated_args_and_checksums_are_pins(dockerfile):
    """Only annotated global ARGs and *_SHA256-style ARGs are pins; other ARGs are build parameters."""
    assert [pin.name for pin in dockerfile.pins] == ["GIT_VERSION", "TOOL_SHA256"]
    git = dockerfile.pin("GIT_VERSION")
    assert (git.value, git.datasource, git.dep_name, git.line) == ("1:2.47.3", "deb", "git", 2)
    assert dockerfile.pin("TOOL_SHA256").is_checksum


def test_stages_know_their_from_argument_and_platform(dockerfile):
    """Each stage records the ARG it builds FROM and whether it runs on the build platform."""
    fetch, final = dockerfile.stages
    assert (fetch.base_arg, fetch.alias, fetch.runs_on_build_platform) == ("BASE_IMAGE", "fetch", True)
    assert (final.base_arg, final.alias, final.runs_on_build_platform) == ("BASE_IMAGE", None, False)
    assert dockerfile.final_stage is final
    assert [i.value for i in dockerfile.final_instructions("USER")] == ["claude"]


def test_arg_defaults_are_unquoted(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text('ARG IMAGE="debian:trixie-slim"\nFROM ${IMAGE}\n')
    assert Dockerfile.parse(path).arg_default("IMAGE") == "debian:trixie-slim"


def test_malformed_annotation_is_an_error_naming_the_fix():
    with pytest.raises(DockerfileError, match="key=value"):
        parse_annotation("renovate: datasource deb")


def test_a_pin_without_a_value_is_an_error(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("# renovate: datasource=deb depName=git\nARG GIT_VERSION\nFROM scratch\n")
    with pytest.raises(DockerfileError, match="GIT_VERSION has no default value"):
        _ = Dockerfile.parse(path).pins


def test_a_dockerfile_without_from_is_an_error(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("ARG X=1\n")
    with pytest.raises(DockerfileError, match="no FROM"):
        Dockerfile.parse(path)


def test_a_missing_dockerfile_is_an_error_naming_it(tmp_path):
    with pytest.raises(DockerfileError, match="cannot read Dockerfile"):
        Dockerfile.parse(tmp_path / "nope" / "Dockerfile")
