"""Collection: the image markers, image × platform parametrization with readable ids, and test order."""

from __future__ import annotations

import pytest

from reactor_harness.core.errors import FamilyError
from reactor_harness.family.discovery import Family
from reactor_harness.plugin.settings import SETTINGS_KEY, HarnessSettings
from reactor_harness.plugin.targets import Target

MARKERS = (
    "image(name): the test checks the named family image, on every requested platform",
    "family: the test checks every image of the family, on every requested platform",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def targets_for(metafunc: pytest.Metafunc, settings: HarnessSettings) -> list[Target]:
    """The image × platform targets a test asks for with its markers, narrowed to the selected images."""
    family = Family.discover(settings.images_dir)
    names: list[str] = []
    if metafunc.definition.get_closest_marker("family") is not None:
        names = list(family.build_order)
    for marker in metafunc.definition.iter_markers("image"):
        if not marker.args:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: @pytest.mark.image needs an image name")
        for name in marker.args:
            family[name]  # an unknown name is a FamilyError naming the known ones
            if name not in names:
                names.append(name)
    if settings.selected_images is not None:
        names = [name for name in names if name in settings.selected_images]
    return [Target(name, platform) for name in names for platform in settings.platforms]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    settings = metafunc.config.stash[SETTINGS_KEY]
    try:
        targets = targets_for(metafunc, settings)
    except FamilyError as error:
        raise pytest.UsageError(str(error)) from error
    metafunc.parametrize("target", targets, ids=str)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Engine-free checks (rules, docs, the harness's own tests) run first: they fail in seconds."""
    items.sort(key=lambda item: "target" in getattr(item, "fixturenames", ()))
