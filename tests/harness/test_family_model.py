"""The family is discovered from images/*/Dockerfile; parents come from each Dockerfile's FROM argument."""

from __future__ import annotations

import pytest

from reactor_harness.core.errors import FamilyError
from reactor_harness.family.discovery import ExternalBase, Family, ParentLink


def write_image(root, name, text):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(text)


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "images"
    write_image(root, "base", "ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n")
    write_image(root, "python", "ARG BASE_IMAGE=reactor/base:latest\nFROM ${BASE_IMAGE}\n")
    write_image(
        root,
        "go",
        "ARG BUILD_BASE=ghcr.io/reactor/base:1\nARG BASE_IMAGE=reactor/base:latest\n"
        "FROM --platform=$BUILDPLATFORM ${BUILD_BASE} AS tools\nFROM ${BASE_IMAGE}\n",
    )
    return root


def test_build_order_puts_parents_first(images):
    family = Family.discover(images)
    assert family.build_order == ["base", "go", "python"]
    assert family.parents("python") == ["base"]
    assert family.ancestors("go") == ["base"]


def test_sources_tell_build_platform_stages_apart(images):
    """A FROM --platform=$BUILDPLATFORM stage needs the parent built for the native platform."""
    family = Family.discover(images)
    assert family.sources("go") == [
        ParentLink(arg="BUILD_BASE", parent="base", on_build_platform=True),
        ParentLink(arg="BASE_IMAGE", parent="base", on_build_platform=False),
    ]
    assert family.sources("base") == [ExternalBase("DEBIAN_IMAGE", "debian:trixie-slim", on_build_platform=False)]


def test_a_cycle_is_an_error_naming_it(tmp_path):
    root = tmp_path / "images"
    write_image(root, "a", "ARG P=reactor/b:1\nFROM ${P}\n")
    write_image(root, "b", "ARG P=reactor/a:1\nFROM ${P}\n")
    with pytest.raises(FamilyError, match="cycle: a -> b -> a"):
        Family.discover(root)


def test_one_arg_for_both_platforms_is_an_error(tmp_path):
    root = tmp_path / "images"
    write_image(root, "base", "FROM scratch\n")
    write_image(root, "x", "ARG B=reactor/base:1\nFROM --platform=$BUILDPLATFORM ${B} AS t\nFROM ${B}\n")
    with pytest.raises(FamilyError, match="declare one ARG for each"):
        Family.discover(root).sources("x")


def test_from_arg_without_default_is_an_error(tmp_path):
    root = tmp_path / "images"
    write_image(root, "x", "ARG B\nFROM ${B}\n")
    with pytest.raises(FamilyError, match="has no default"):
        Family.discover(root)


def test_unknown_image_names_the_known_ones(images):
    with pytest.raises(FamilyError, match=r"known: base, go, python"):
        Family.discover(images)["rust"]


def test_an_empty_or_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FamilyError, match="no images folder"):
        Family.discover(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FamilyError, match="no image found"):
        Family.discover(tmp_path / "empty")


def test_the_repository_family_has_base_at_its_root(pytestconfig):
    family = Family.discover(pytestconfig.rootpath / "images")
    assert family.build_order[0] == "base"
    for name in family.images:
        assert name == "base" or family.ancestors(name)[0] == "base", f"{name} does not build on base"
