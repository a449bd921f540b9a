"""`pins outdated`: ask each pin's datasource for its versions and choose per the update level."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from reactor_harness.build.bootstrap import host_mirrors
from reactor_harness.family.discovery import Family
from reactor_harness.updates.collect import debian_suite
from reactor_harness.updates.deb import DebianArchive
from reactor_harness.updates.go import GoModules
from reactor_harness.updates.golang_version import GoToolchains
from reactor_harness.updates.model import Finding, Level, RegistryError, TrackedPin
from reactor_harness.updates.npm import NpmRegistry
from reactor_harness.updates.ordering import ParsedVersion, choose, parse
from reactor_harness.updates.policy import UpdatePolicy
from reactor_harness.updates.pypi import PythonIndex

PARALLEL_LOOKUPS = 8  # registry round trips, not CPU: the clients mostly wait


@runtime_checkable
class Checksummer(Protocol):
    """A datasource that can give the checksum of a version's artifact (hex digest)."""

    def checksum(self, dep_name: str, version: str, arch: str | None, algorithm: str) -> str: ...


class Datasource(Protocol):
    """What `outdated` needs of a datasource: every published version of a package."""

    def versions(self, dep_name: str) -> list[str]: ...


@dataclass
class Registries:
    """One client per datasource; tests pass ones that replay recorded answers."""

    sources: dict[str, Datasource]
    go_modules: GoModules | None = None  # to check a Go tool's `go` directive against the pinned toolchain

    def checksummers(self) -> dict[str, Checksummer]:
        """The datasources that can compute a version's checksums (npm's integrity, Go's toolchain zips)."""
        return {name: source for name, source in self.sources.items() if isinstance(source, Checksummer)}

    @classmethod
    def real(cls, family: Family) -> Registries:
        go_modules = GoModules()
        return cls(
            {
                "deb": DebianArchive(debian_suite(family), host_mirrors()),
                "npm": NpmRegistry(),
                "pypi": PythonIndex(),
                "go": go_modules,
                "golang-version": GoToolchains(),
            },
            go_modules,
        )


def _lookup(source: Datasource, pin: TrackedPin) -> list[str] | RegistryError:
    try:
        return source.versions(pin.dep_name)
    except RegistryError as error:
        return error
    except Exception as error:
        return RegistryError(f"unexpected answer: {error.__class__.__name__}: {error}")


def _go_toolchains(pins: Sequence[TrackedPin]) -> dict[str, str]:
    return {pin.image: pin.current for pin in pins if pin.datasource == "golang-version"}


def _newer_go(required: str, pinned: str) -> bool:
    needed, have = parse("golang-version", required), parse("golang-version", pinned)
    return needed is not None and have is not None and needed.key > have.key


def find_outdated(
    pins: Sequence[TrackedPin],
    registries: Registries,
    policy: UpdatePolicy,
    level: Level | None = None,
    today: datetime.date | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[Finding]:
    """A finding per pin, in the pins' order; a registry that fails makes only its own pins unknown."""
    day = today or datetime.date.today()
    lts = policy.lts_majors(day)
    first_of = {(pin.datasource, pin.dep_name): pin for pin in reversed(pins)}  # one lookup per package
    with ThreadPoolExecutor(max_workers=PARALLEL_LOOKUPS) as pool:
        futures = {key: pool.submit(_lookup, registries.sources[key[0]], pin) for key, pin in sorted(first_of.items())}
        answers = {key: future.result() for key, future in futures.items()}
    progress(f"{len(answers)} packages looked up")
    toolchains = _go_toolchains(pins)
    findings: list[Finding] = []
    for pin in pins:
        pin_level = policy.level_for(pin.image, pin.datasource, level)
        answer = answers[(pin.datasource, pin.dep_name)]
        if isinstance(answer, RegistryError):
            findings.append(Finding(pin, pin_level, unknown=str(answer)))
            continue
        findings.append(_decide(pin, pin_level, answer, policy, lts, toolchains, registries))
    return findings


def _decide(
    pin: TrackedPin,
    level: Level,
    versions: list[str],
    policy: UpdatePolicy,
    lts: set[int],
    toolchains: dict[str, str],
    registries: Registries,
) -> Finding:
    notes: list[str] = []
    eligible: Callable[[ParsedVersion], bool] = lambda _version: True  # noqa: E731
    if pin.datasource == "npm" and policy.is_node_binary(pin.dep_name):
        eligible = lambda version: version.components[0] in lts  # noqa: E731
    try:
        choice = choose(pin.datasource, pin.current, versions, level, eligible)
    except ValueError as error:
        return Finding(pin, level, unknown=f"{error} ({pin.location})")
    if choice.latest is None:
        return Finding(pin, level, unknown="the registry lists no stable version")
    wanted = choice.wanted
    latest = parse(pin.datasource, choice.latest)
    if pin.datasource == "npm" and policy.is_node_binary(pin.dep_name) and latest and latest.components[0] not in lts:
        notes.append(f"{choice.latest} is not on an LTS line (update-policy.toml [node.lts-start])")
    if wanted and pin.datasource == "go" and pin.image in toolchains and registries.go_modules is not None:
        try:
            required = registries.go_modules.required_go(pin.dep_name, wanted)
        except RegistryError as error:
            return Finding(pin, level, latest=choice.latest, unknown=f"cannot read {wanted}'s go.mod: {error}")
        if required and _newer_go(required, toolchains[pin.image]):
            notes.append(f"{wanted} needs go {required}, the image pins {toolchains[pin.image]}: held back")
            wanted = None
    return Finding(pin, level, wanted=wanted, latest=choice.latest, notes=tuple(notes))
