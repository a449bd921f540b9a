"""`pins bump`: move the chosen pins with their checksums and locks, all or nothing per image."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reactor_harness.core.errors import HarnessError
from reactor_harness.family.discovery import Image
from reactor_harness.family.dockerfile import Dockerfile, Pin
from reactor_harness.updates.collect import dockerfile_pins, lock_pins
from reactor_harness.updates.model import (
    ChecksumUnavailable,
    Finding,
    LockError,
    PinKind,
    RegistryError,
    TrackedPin,
    UpdatesError,
)
from reactor_harness.updates.outdated import Checksummer
from reactor_harness.updates.rewrite import (
    regenerate_package_lock,
    regenerate_requirements,
    rewrite_arg,
    rewrite_package_json,
    rewrite_requirement,
)

_ARCH = re.compile(r"_(AMD64|ARM64)$")
_ALGORITHM = re.compile(r"_(SHA256|SHA512)(_|$)")


@dataclass(frozen=True)
class Change:
    """One pin moved: old -> new, and the checksum ARGs that moved with it."""

    pin: TrackedPin
    new: str
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageBump:
    """What a bump did to one image: the changes written, the pins left alone (why), or why nothing was written."""

    image: str
    changes: list[Change] = field(default_factory=list)
    skipped: list[tuple[TrackedPin, str]] = field(default_factory=list)
    error: str | None = None
    written: list[Path] = field(default_factory=list)


def selected(findings: Sequence[Finding], only: Sequence[str] = (), images: Sequence[str] = ()) -> list[Finding]:
    """The findings a bump acts on: those with a newer allowed version, narrowed by --only and --image."""
    wanted = set(only)
    chosen = [
        f
        for f in findings
        if f.wanted and (not images or f.pin.image in images) and (not wanted or {f.pin.name, f.pin.dep_name} & wanted)
    ]
    unknown_names = wanted - {n for f in findings for n in (f.pin.name, f.pin.dep_name)}
    if unknown_names:
        raise UpdatesError(
            f"--only {', '.join(sorted(unknown_names))}: no such pin (use an ARG name or a package name)"
        )
    return chosen


def checksum_spec(pin: Pin) -> tuple[str | None, str]:
    """(architecture or None, algorithm) of a checksum ARG, from its name (NODE_SHA512_ARM64 -> arm64, sha512)."""
    algorithm = _ALGORITHM.search(pin.name)
    if algorithm is None:
        raise ChecksumUnavailable(f"{pin.location}: {pin.name} names no sha256/sha512; cannot tell how to compute it")
    arch = _ARCH.search(pin.name)
    return (arch.group(1).lower() if arch else None), algorithm.group(1).lower()


def new_checksums(pin: TrackedPin, version: str, checksummers: dict[str, Checksummer]) -> dict[str, str]:
    """The new value of each checksum ARG that belongs to the pin; raises if any cannot be computed."""
    if not pin.checksums:
        return {}
    source = checksummers.get(pin.datasource)
    if source is None:
        raise ChecksumUnavailable(f"no way to compute checksums for datasource {pin.datasource}")
    values: dict[str, str] = {}
    for checksum in pin.checksums:
        arch, algorithm = checksum_spec(checksum)
        values[checksum.name] = source.checksum(pin.dep_name, version, arch, algorithm)
    return values


def bump_image(
    image: Image,
    findings: Sequence[Finding],
    checksummers: dict[str, Checksummer],
    lock_requirements: Callable[[Path, str], None] = regenerate_requirements,
    lock_packages: Callable[[Path], None] = regenerate_package_lock,
) -> ImageBump:
    """Apply the image's updates in a scratch copy, re-lock, re-read the pins there, then write back."""
    result = ImageBump(image.name)
    changes: list[Change] = []
    for finding in findings:
        assert finding.wanted is not None
        try:
            changes.append(
                Change(finding.pin, finding.wanted, new_checksums(finding.pin, finding.wanted, checksummers))
            )
        except (ChecksumUnavailable, RegistryError) as error:  # a client missing or silent: same outcome
            result.skipped.append((finding.pin, f"checksum not computed, pin left alone: {error}"))
    if not changes:
        return result
    with tempfile.TemporaryDirectory(prefix=f"reactor-bump-{image.name}-") as scratch:
        work = Path(scratch) / image.name
        shutil.copytree(image.directory, work, symlinks=True)
        try:
            touched = _apply(work, image, changes, lock_requirements, lock_packages)
            _verify(work, image.name, changes)
        except (HarnessError, OSError) as error:
            result.error = f"{image.name}: nothing written: {error}"
            return result
        for name in touched:
            _replace(work / name, image.directory / name)
            result.written.append(image.directory / name)
    result.changes = changes
    return result


def _apply(
    work: Path,
    image: Image,
    changes: Sequence[Change],
    lock_requirements: Callable[[Path, str], None],
    lock_packages: Callable[[Path], None],
) -> list[str]:
    touched: set[str] = set()
    dockerfile = work / image.dockerfile_path.name
    for change in changes:
        pin = change.pin
        if pin.kind is PinKind.ARG:
            text = dockerfile.read_text(encoding="utf-8")
            text = rewrite_arg(text, pin.name, pin.line, pin.current, change.new, pin.location)
            for checksum in pin.checksums:
                text = rewrite_arg(
                    text,
                    checksum.name,
                    checksum.line,
                    checksum.value,
                    change.checksums[checksum.name],
                    checksum.location,
                )
            dockerfile.write_text(text, encoding="utf-8")
            touched.add(dockerfile.name)
        elif pin.kind is PinKind.REQUIREMENTS:
            source = work / pin.path.with_suffix(".in").name
            if not source.is_file():
                raise LockError(f"{pin.path} has no {source.name} beside it to bump {pin.name} in and re-lock from")
            source.write_text(
                rewrite_requirement(
                    source.read_text(encoding="utf-8"),
                    pin.name,
                    pin.current,
                    change.new,
                    str(pin.path.with_suffix(".in")),
                ),
                encoding="utf-8",
            )
            touched |= {source.name, pin.path.name}
        else:
            manifest = work / "package.json"
            manifest.write_text(
                rewrite_package_json(
                    manifest.read_text(encoding="utf-8"),
                    pin.name,
                    pin.current,
                    change.new,
                    str(image.directory / "package.json"),
                ),
                encoding="utf-8",
            )
            touched |= {"package.json", "package-lock.json"}
    for lock in sorted(n for n in touched if n.startswith("requirements") and n.endswith(".txt")):
        lock_requirements(work, lock)
    if "package-lock.json" in touched:
        lock_packages(work)
    return sorted(touched)


def _verify(work: Path, image_name: str, changes: Sequence[Change]) -> None:
    """Re-read the scratch copy with the tests' own model: every change must show, nothing else may move."""
    scratch_image = Image(image_name, work, Dockerfile.parse(work / "Dockerfile"))
    after = {(p.kind, p.name): p.current for p in dockerfile_pins(image_name, scratch_image.dockerfile)}
    after |= {(p.kind, p.name): p.current for p in lock_pins(scratch_image)}
    for change in changes:
        found = after.get((change.pin.kind, change.pin.name))
        if found != change.new:
            raise LockError(f"after the bump {change.pin.label} reads {found!r}, not {change.new}")
    pins = {p.name: p.value for p in scratch_image.dockerfile.pins}
    for change in changes:
        for name, value in change.checksums.items():
            if pins.get(name) != value:
                raise LockError(f"after the bump ARG {name} reads {pins.get(name)!r}, not the computed checksum")


def _replace(source: Path, target: Path) -> None:
    """Write a file next to its target, then rename it over the target (no half-written file)."""
    staging = target.with_name(f".{target.name}.reactor-bump")
    shutil.copyfile(source, staging)
    staging.replace(target)
