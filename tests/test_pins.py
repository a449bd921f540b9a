"""Every pin of every image is checked: Debian packages through dpkg inside the image, tools through their
version probe (tests/pin_probes.py), checksums by the build. Read from the Dockerfiles, never retyped."""

from __future__ import annotations

import pytest

from pin_probes import VERSION_PROBES
from reactor_harness.family.pins import (
    debian_pins_in_final_image,
    debian_version_matches,
    unchecked_pins,
    unknown_probes,
)
from reactor_harness.plugin.outcomes import not_applicable


def test_every_pin_has_a_check(family):
    """A pin without a check fails the suite, and so does a probe whose pin no longer exists."""
    gaps = [
        f"{name}: {pin.name}={pin.value} ({pin.location})"
        for name in family.build_order
        for pin in unchecked_pins(family[name].dockerfile, VERSION_PROBES.get(name, {}))
    ]
    assert not gaps, "pins nothing checks (add a VersionProbe to tests/pin_probes.py):\n" + "\n".join(gaps)
    stale = {name: unknown_probes(family[name].dockerfile, probes) for name, probes in VERSION_PROBES.items()}
    assert not any(stale.values()), f"probes for pins the Dockerfiles no longer have: {stale}"
    assert set(VERSION_PROBES) <= set(family.images), f"probes for images that do not exist: {sorted(VERSION_PROBES)}"


@pytest.mark.family
def test_debian_packages_match_their_pins(host, built_image):
    """Every Debian package an image's Dockerfile pins is installed at its pinned upstream version."""
    pins = debian_pins_in_final_image(built_image.dockerfile)
    if not pins:
        not_applicable(f"{built_image.name} installs no Debian package of its own (its parent's are checked there)")
    installed = host.debian_packages([pin.dep_name or "" for pin in pins])  # one dpkg-query for them all
    mismatches = []
    for pin in pins:
        package = installed[pin.dep_name or ""]
        found = package.version if package.is_installed else f"nothing ({package.status})"
        if not (package.is_installed and debian_version_matches(package.version, pin.value)):
            mismatches.append(f"{pin.dep_name}: pinned {pin.value} ({pin.location}), installed {found}")
    assert not mismatches, f"{built_image}:\n" + "\n".join(mismatches)


@pytest.mark.family
def test_tools_report_their_pinned_versions(host, built_image):
    """Each non-Debian pin's tool, run from a non-interactive `sh -c` as claude, is exactly the pinned version."""
    probes = VERSION_PROBES.get(built_image.name, {})
    if not probes:
        not_applicable(
            f"{built_image.name} has no non-Debian Dockerfile pin (its lock file's tools are checked in its module)"
        )
    # One exec runs every probe, each in its own `sh -c`; each keeps its own exit status and output.
    results = host.run_each({pin_name: probe.command for pin_name, probe in probes.items()})
    mismatches = []
    for pin_name, probe in sorted(probes.items()):
        pinned = built_image.dockerfile.pin(pin_name).value
        result = results[pin_name]
        found = probe.extract(result.stdout) if result.succeeded else None
        if found != pinned:
            mismatches.append(f"{pin_name} is pinned to {pinned}, the image reports {found}\n{result.describe()}")
    assert not mismatches, f"{built_image}:\n" + "\n\n".join(mismatches)
