"""Checking pins: how each pinned version is proven inside an image, and which pins nothing checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from reactor_harness.family.dockerfile import Dockerfile, Pin

_CHECKSUM_VERIFY = re.compile(r"\bsha(256|384|512)sum\b[^|&;]*(-c|--check)\b")


@dataclass(frozen=True)
class VersionProbe:
    """A command whose output shows a tool's version, and the regex that captures it (group 1)."""

    command: str
    pattern: str
    binary: str | None = None  # the program the probe runs, where it is not the command's first word

    @property
    def program(self) -> str:
        """The command the probe runs: what must resolve on PATH for the tool to be usable."""
        return self.binary or self.command.split()[0]

    def extract(self, output: str) -> str | None:
        match = re.search(self.pattern, output, re.MULTILINE)
        return match.group(1) if match else None


# What may follow a pinned `[epoch:]upstream` in an installed version: a Debian revision (`-1`, `-0+deb13u1`,
# `-1+b4`; Debian policy: alphanumerics and `+.~`), or, for a native package (no revision), a stable update
# (`+deb13u1`) and/or a binNMU (`+b1`). Anything else (`~rc1`, `+really2.40.0`, `+dfsg1`) is another upstream.
_DEBIAN_REVISION = re.compile(r"-[0-9A-Za-z][0-9A-Za-z.+~]*")
_NATIVE_UPDATE = re.compile(r"(\+deb\d+u\d+)?(\+b\d+)?")


def debian_version_matches(installed: str, pinned: str) -> bool:
    """A Debian version `installed` is the upstream version `pinned`: `1:2.47.3-0+deb13u1` matches `1:2.47.3`.

    The pin fixes epoch and upstream version exactly; any Debian revision (security updates) is accepted,
    and on a native package (no revision: `20250419+deb13u1`) a stable update or binNMU suffix. The
    Dockerfiles' apt wildcard (`pkg=<pin>-*`, native `pkg=<pin>*`) could take more; this is the check.
    """
    if installed == pinned:
        return True
    if not pinned or not installed.startswith(pinned):
        return False
    rest = installed[len(pinned) :]
    if ":" not in pinned and ":" in installed:
        return False
    return bool(_DEBIAN_REVISION.fullmatch(rest) or (rest and _NATIVE_UPDATE.fullmatch(rest)))


def pin_reference(name: str) -> re.Pattern[str]:
    return re.compile(r"\$\{?" + re.escape(name) + r"\b\}?")


def stages_using(dockerfile: Dockerfile, pin: Pin) -> set[int]:
    """The stages whose instructions refer to the pin (`${NAME}` or `$NAME`)."""
    reference = pin_reference(pin.name)
    return {
        i.stage_index
        for i in dockerfile.instructions
        if i.stage_index >= 0 and i.keyword != "ARG" and reference.search(i.value)
    }


def _runs_using(dockerfile: Dockerfile, pin: Pin) -> list[str]:
    reference = pin_reference(pin.name)
    return [i.value for i in dockerfile.instructions if i.keyword == "RUN" and reference.search(i.value)]


def is_debian_pin(pin: Pin) -> bool:
    return pin.datasource == "deb"


def debian_pins_in_final_image(dockerfile: Dockerfile) -> list[Pin]:
    """Debian package pins installed by the final stage: dpkg inside the image must show them."""
    final = dockerfile.final_stage.index
    return [p for p in dockerfile.pins if is_debian_pin(p) and final in stages_using(dockerfile, p)]


def how_checked(dockerfile: Dockerfile, pin: Pin, probes: Mapping[str, VersionProbe]) -> str | None:
    """How the suite proves the pin, or None when nothing does."""
    if pin.name in probes:
        return "version probe in the image"
    used_in = stages_using(dockerfile, pin)
    if pin.is_checksum:
        if any(_CHECKSUM_VERIFY.search(run) for run in _runs_using(dockerfile, pin)):
            return "verified by sha*sum -c in the build"
        return None
    if is_debian_pin(pin) and pin.dep_name:
        if dockerfile.final_stage.index in used_in:
            return "dpkg version in the image"
        install = re.compile(re.escape(pin.dep_name) + r"=\$\{?" + re.escape(pin.name) + r"\b")
        if used_in and any(install.search(run) for run in _runs_using(dockerfile, pin)):
            return "apt installs exactly this version in a build stage"
    return None


def unchecked_pins(dockerfile: Dockerfile, probes: Mapping[str, VersionProbe]) -> list[Pin]:
    """Pins nothing in the suite checks: each one is a gap the meta-test reports."""
    return [pin for pin in dockerfile.pins if how_checked(dockerfile, pin, probes) is None]


def unknown_probes(dockerfile: Dockerfile, probes: Mapping[str, VersionProbe]) -> list[str]:
    """Probe names that match no pin (a renamed or removed pin leaves its probe behind)."""
    names = {pin.name for pin in dockerfile.pins}
    return sorted(name for name in probes if name not in names)
