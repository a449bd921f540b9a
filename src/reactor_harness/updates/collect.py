"""The pins to keep fresh, read from the same model the tests use: Dockerfile ARGs and the lock files."""

from __future__ import annotations

import re
from pathlib import Path

from reactor_harness.build.bootstrap import DebianReference
from reactor_harness.family.discovery import ExternalBase, Family, Image
from reactor_harness.family.dockerfile import Dockerfile, Pin
from reactor_harness.family.versions_table import package_lock_rows, requirements_rows
from reactor_harness.updates.model import DATASOURCES, PinKind, TrackedPin, UpdatesError

# A global ARG that looks like a version pin but carries no Renovate annotation is a mistake: nothing
# would keep it fresh. (IMAGE_VERSION=dev is metadata, not a pin: its value is not a version.)
_VERSION_NAME = re.compile(r"_VERSION$")
_VERSION_VALUE = re.compile(r"^v?\d")


def _check_annotations(dockerfile: Dockerfile) -> None:
    for name, instruction in dockerfile.global_args.items():
        value = dockerfile.arg_default(name) or ""
        annotated = any(pin.name == name for pin in dockerfile.pins)
        where = f"{dockerfile.path}:{instruction.start_line}"
        if not annotated and _VERSION_NAME.search(name) and _VERSION_VALUE.match(value):
            raise UpdatesError(
                f"{where}: ARG {name}={value} looks like a version pin but has no Renovate annotation; add "
                "`# renovate: datasource=<deb|npm|pypi|go|golang-version> depName=<package>` on the line above"
            )
    for pin in dockerfile.pins:
        if pin.is_checksum and not pin.annotation:
            continue
        where = f"{pin.location}"
        if pin.datasource not in DATASOURCES:
            raise UpdatesError(
                f"{where}: ARG {pin.name} has datasource {pin.datasource!r}, which the update commands do not "
                f"know; use one of {', '.join(DATASOURCES)}"
            )
        if not pin.dep_name:
            raise UpdatesError(f"{where}: ARG {pin.name}'s annotation has no depName; add depName=<package>")


def dockerfile_pins(image: str, dockerfile: Dockerfile) -> list[TrackedPin]:
    """The version ARGs of one Dockerfile, each with the checksum ARGs declared after it."""
    _check_annotations(dockerfile)
    tracked: list[TrackedPin] = []
    pending: list[Pin] = []
    owner: Pin | None = None

    def flush() -> None:
        if owner is not None:
            tracked.append(_arg_pin(image, owner, tuple(pending)))

    for pin in dockerfile.pins:
        if pin.is_checksum and not pin.annotation:
            if owner is None:
                raise UpdatesError(
                    f"{pin.location}: checksum ARG {pin.name} comes before any version pin; declare it right "
                    "after the version ARG it belongs to"
                )
            pending.append(pin)
            continue
        flush()
        owner, pending = pin, []
    flush()
    return tracked


def _arg_pin(image: str, pin: Pin, checksums: tuple[Pin, ...]) -> TrackedPin:
    return TrackedPin(
        image=image,
        name=pin.name,
        datasource=pin.datasource or "",
        dep_name=pin.dep_name or pin.name,
        current=pin.value,
        location=pin.location,
        kind=PinKind.ARG,
        path=pin.dockerfile,
        line=pin.line,
        checksums=checksums,
    )


def lock_pins(image: Image) -> list[TrackedPin]:
    """The top-level pins of the image's lock files (requirements*.txt, package-lock.json)."""
    tracked: list[TrackedPin] = []
    for row in requirements_rows(image.name, image.directory):
        tracked.append(
            TrackedPin(
                image.name,
                row.tool,
                "pypi",
                row.tool,
                row.version,
                row.source,
                PinKind.REQUIREMENTS,
                image.directory / row.pinned_in,
            )
        )
    for row in package_lock_rows(image.name, image.directory):
        tracked.append(
            TrackedPin(
                image.name,
                row.tool,
                "npm",
                row.tool,
                row.version,
                row.source,
                PinKind.PACKAGE_LOCK,
                image.directory / row.pinned_in,
            )
        )
    return tracked


def family_pins(family: Family, images: list[str] | None = None) -> list[TrackedPin]:
    """Every tracked pin of the family (or of the named images), parents first, in file order."""
    names = family.build_order if not images else [n for n in family.build_order if n in images]
    for name in images or []:
        family[name]  # an unknown image name fails with the known ones listed
    tracked: list[TrackedPin] = []
    for name in names:
        image = family[name]
        tracked += dockerfile_pins(name, image.dockerfile) + lock_pins(image)
    return tracked


def debian_suite(family: Family) -> str:
    """The Debian suite the family builds on, read from the `debian:<suite>` images its Dockerfiles name."""
    suites: dict[str, Path] = {}
    for name in family.build_order:
        for source in family.sources(name):
            if isinstance(source, ExternalBase):
                reference = DebianReference.parse(source.reference)
                if reference is not None:
                    suites[reference.suite] = family[name].dockerfile_path
    if len(suites) != 1:
        found = ", ".join(f"{suite} ({path})" for suite, path in suites.items()) or "none"
        raise UpdatesError(
            f"the family must build on exactly one Debian suite for deb pins, found: {found}; "
            "make every Dockerfile build FROM the same debian:<suite>[-slim]"
        )
    return next(iter(suites))
