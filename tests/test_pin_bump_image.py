"""End to end: `reactor pins bump` moves a Python tool and a Go tool in a scratch copy of images/, the
harness builds those images, and the new versions are the ones inside. Needs the engine and the registries.

To have something to bump whatever the registries hold today, each tool is first set back to the patch
release before its pin (relocked like a real stale pin), then `reactor pins bump --level patch --only`
moves it to the newest patch release of its line, exactly as the monthly run would.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from pin_probes import VERSION_PROBES
from reactor_harness import cli
from reactor_harness.build.builder import BUILD_CA_SECRET
from reactor_harness.core.containers import Container, run_labels, start_container
from reactor_harness.core.engine import LABEL_HARNESS, BuildRequest, assert_succeeded
from reactor_harness.family.discovery import Family
from reactor_harness.plugin.outcomes import not_applicable, skip_or_fail
from reactor_harness.updates.collect import family_pins
from reactor_harness.updates.model import Level, PinKind, RegistryError, TrackedPin
from reactor_harness.updates.ordering import allowed, parse
from reactor_harness.updates.outdated import Registries
from reactor_harness.updates.rewrite import regenerate_requirements, rewrite_arg, rewrite_requirement

pytestmark = pytest.mark.always_runs("asks the live registries")

IMAGES = ("python", "go")


def _previous_patch(pin: TrackedPin, versions: list[str]) -> str | None:
    """The newest stable release older than the pin on the same major.minor line (None if there is none)."""
    current = parse(pin.datasource, pin.current)
    assert current is not None
    older = [
        v
        for v in (parse(pin.datasource, text) for text in versions)
        if v is not None and v.stable and v.key < current.key and allowed(current, v, Level.PATCH)
    ]
    return max(older, key=lambda v: v.key).text if older else None


def _stale_candidate(pins: list[TrackedPin], registries: Registries, settings, kind: PinKind, datasource: str):
    for pin in pins:
        if pin.kind is not kind or pin.datasource != datasource:
            continue
        try:
            previous = _previous_patch(pin, registries.sources[datasource].versions(pin.dep_name))
        except RegistryError as error:
            skip_or_fail(settings, f"the {datasource} registry is not reachable from here: {error}")
        if previous:
            return pin, previous
    not_applicable(f"no {datasource} tool of this repository has an older patch release to step back from")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def bumped(family, harness_settings, tmp_path_factory) -> tuple[Path, dict[str, tuple[TrackedPin, str]]]:
    """A scratch images/ where one Python tool and one Go tool were stale and `reactor pins bump` moved them."""
    if harness_settings.selected_images is not None and not set(IMAGES) <= set(harness_settings.selected_images):
        not_applicable(f"needs the images {', '.join(IMAGES)} (--images)")
    images = tmp_path_factory.mktemp("pins-bump") / "images"
    shutil.copytree(family.root, images)
    registries = Registries.real(family)
    pins = family_pins(Family.discover(images), list(IMAGES))
    python_pin, python_stale = _stale_candidate(pins, registries, harness_settings, PinKind.REQUIREMENTS, "pypi")
    go_pin, go_stale = _stale_candidate(pins, registries, harness_settings, PinKind.ARG, "go")

    source = images / "python" / "requirements.in"
    source.write_text(
        rewrite_requirement(source.read_text(), python_pin.name, python_pin.current, python_stale, str(source))
    )
    regenerate_requirements(images / "python", python_pin.path.name)
    dockerfile = images / "go" / "Dockerfile"
    dockerfile.write_text(
        rewrite_arg(dockerfile.read_text(), go_pin.name, go_pin.line, go_pin.current, go_stale, go_pin.location)
    )

    output, errors = io.StringIO(), io.StringIO()
    command = ["pins", "bump", "--images-dir", str(images), "--level", "patch", "--only", python_pin.name, go_pin.name]
    assert cli.main(command, output, errors) == 0, errors.getvalue()
    after = {(p.image, p.name): p.current for p in family_pins(Family.discover(images), list(IMAGES))}
    moved = {
        "python": (python_pin, after[("python", python_pin.name)]),
        "go": (go_pin, after[("go", go_pin.name)]),
    }
    for image, (pin, new) in moved.items():
        stale = python_stale if image == "python" else go_stale
        assert parse(pin.datasource, new).key > parse(pin.datasource, stale).key, f"{pin.label} stayed at {stale}"
        assert f"`{stale}` | `{new}`" in output.getvalue(), output.getvalue()
    return images, moved


@pytest.mark.parametrize("image", IMAGES)
def test_the_bumped_version_is_inside_the_built_image(image, bumped, engine, family_builder, harness_settings):
    """The image built from the bumped copy runs the tool at the version the bump wrote."""
    images, moved = bumped
    pin, new = moved[image]
    platform = harness_settings.native
    build_args, failed_parent = family_builder.resolve_sources(image, platform)
    if failed_parent is not None:
        pytest.fail(f"{image}'s parent {failed_parent.image} did not build:\n{failed_parent.failure_report()}")
    tag = f"reactor-test/pins-bump-{image}:{platform.slug}"  # apart from the suite's own reactor-test/<image>
    request = BuildRequest(
        dockerfile=images / image / "Dockerfile",
        context=images,
        tag=tag,
        platform=str(platform),
        build_args=build_args,
        labels={LABEL_HARNESS: "image"},
        secrets={BUILD_CA_SECRET: harness_settings.ca_bundle} if harness_settings.ca_bundle else {},
    )
    assert_succeeded(family_builder.engine.build(request), f"building the bumped {image}")
    container_id = start_container(
        engine, tag, str(platform), run_labels(harness_settings.run_id, harness_settings.owner_pid)
    )
    try:
        container = Container(engine=engine, id=container_id, image=image, platform=str(platform))
        if pin.kind is PinKind.REQUIREMENTS:
            script = f"import importlib.metadata as m; print(m.version({pin.name!r}))"
            result = container.exec(["/opt/python-tools/venv/bin/python", "-c", script])
            assert_succeeded(result, f"{image}: the version of {pin.name}")
            found = result.stdout.strip()
        else:
            probe = VERSION_PROBES[image][pin.name]
            result = container.sh(probe.command)
            assert_succeeded(result, f"{image}: {probe.command}")
            found = probe.extract(result.stdout)
        assert found == new, f"{image}: {pin.label} was bumped to {new}, the image has {found}\n{result.describe()}"
    finally:
        engine.remove_containers([container_id])
        engine.remove_images([tag])
