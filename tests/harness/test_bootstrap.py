"""Bootstrapping the Debian base OS: references, the host's apt mirrors, the mmdebstrap command."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactor_harness.build.bootstrap import (
    SLIM_DPKG_OPTIONS,
    DebianReference,
    Mirrors,
    OsImages,
    host_mirrors,
    mmdebstrap_command,
)
from reactor_harness.core.engine import CommandResult
from reactor_harness.core.errors import BootstrapError
from reactor_harness.core.platforms import Platform

ARM64 = Platform("linux", "arm64")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("debian:trixie-slim", DebianReference("trixie", True)),
        ("docker.io/library/debian:bookworm", DebianReference("bookworm", False)),
        ("ubuntu:24.04", None),
        ("debian@sha256:abc", None),
    ],
)
def test_debian_references(reference, expected):
    assert DebianReference.parse(reference) == expected


def test_each_platform_gets_its_own_local_tag():
    assert DebianReference("trixie", True).local_tag(ARM64) == "reactor-bootstrap/debian:trixie-slim-arm64"


def test_mirrors_come_from_the_hosts_apt_configuration(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    (tmp_path / "sources.list.d" / "other.list").write_text("deb [arch=amd64] https://vendor.example/apt stable main\n")
    assert host_mirrors(tmp_path, environment={}) == Mirrors(
        archive="http://mirror.example/debian", security="http://mirror.example/debian-security"
    )


def test_one_line_sources_and_environment_overrides(tmp_path):
    (tmp_path / "sources.list").write_text("# comment\ndeb http://old.example/debian bullseye main\n")
    mirrors = host_mirrors(tmp_path, environment={"REACTOR_DEBIAN_SECURITY_MIRROR": "http://sec.example/ds"})
    assert mirrors == Mirrors(archive="http://old.example/debian", security="http://sec.example/ds")


def test_slim_command_excludes_docs_and_names_all_suites():
    command = mmdebstrap_command(
        DebianReference("trixie", True),
        ARM64,
        Path("/tmp/rootfs.tar"),
        Mirrors("http://m/debian", "http://m/debian-security"),
    )
    assert command[:4] == ["mmdebstrap", "--variant=minbase", "--architectures=arm64", "--format=tar"]
    assert all(f"--dpkgopt={option}" in command for option in SLIM_DPKG_OPTIONS)
    assert command[-3:] == [
        "deb http://m/debian trixie main",
        "deb http://m/debian trixie-updates main",
        "deb http://m/debian-security trixie-security main",
    ]


def test_without_a_known_mirror_mmdebstrap_uses_its_default():
    command = mmdebstrap_command(DebianReference("trixie", False), ARM64, Path("/r.tar"), Mirrors(None, None))
    assert command[-2:] == ["trixie", "/r.tar"]
    assert not any(word.startswith("--dpkgopt") for word in command)


class FakeEngine:
    def __init__(self, images):
        self.images = images
        self.tags = []

    def inspect_image(self, reference):
        return self.images.get(reference)

    def tag(self, source, target):
        self.tags.append((source, target))

    def pull(self, reference, platform):
        return CommandResult(("docker", "pull"), 1, "", "Error response from daemon: no such host")


def test_a_present_image_of_the_right_architecture_is_reused(tmp_path):
    engine = FakeEngine({"debian:trixie-slim": {"Architecture": "arm64", "Os": "linux"}})
    tag = OsImages(engine, tmp_path).ensure("debian:trixie-slim", ARM64)
    assert tag == "reactor-bootstrap/debian:trixie-slim-arm64"
    assert engine.tags == [("debian:trixie-slim", tag)]


def test_a_non_debian_image_that_cannot_be_pulled_says_what_to_do(tmp_path):
    engine = FakeEngine({"ubuntu:24.04": {"Architecture": "amd64", "Os": "linux"}})  # wrong architecture
    with pytest.raises(
        BootstrapError, match=r"cannot be pulled \(Error response from daemon: no such host\).*docker load"
    ):
        OsImages(engine, tmp_path).ensure("ubuntu:24.04", ARM64)


def test_a_stale_bootstrap_is_made_again_and_each_platform_once_per_run(tmp_path, monkeypatch):
    """A local bootstrap made by another recipe is rebuilt; concurrent askers share one bootstrap."""
    from reactor_harness.core.once import RunOnce

    engine = FakeEngine(
        {
            "reactor-bootstrap/debian:trixie-slim-arm64": {
                "Architecture": "arm64",
                "Os": "linux",
                "Config": {"Labels": {"org.reactor.bootstrap.recipe": "an-older-recipe"}},
            }
        }
    )
    made: list[str] = []
    images = OsImages(engine, tmp_path, once=RunOnce(tmp_path / "once"))
    monkeypatch.setattr(images, "bootstrap", lambda debian, platform, tag: made.append(tag))
    assert images.ensure("debian:trixie-slim", ARM64) == "reactor-bootstrap/debian:trixie-slim-arm64"
    assert images.ensure("debian:trixie-slim", ARM64) == "reactor-bootstrap/debian:trixie-slim-arm64"
    assert made == ["reactor-bootstrap/debian:trixie-slim-arm64"]
