"""Platform option parsing, and telling which platforms this host can run."""

from __future__ import annotations

import pytest

from reactor_harness.core.errors import PlatformError
from reactor_harness.core.platforms import Platform, elf_machine, native_platform, parse_platforms, why_unrunnable

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (None, [AMD64]),
        ("", [AMD64]),
        ("all", [AMD64, ARM64]),
        ("ALL", [AMD64, ARM64]),
        ("linux/arm64", [ARM64]),
        ("linux/arm64, linux/amd64,linux/arm64", [ARM64, AMD64]),
    ],
)
def test_platform_option(option, expected):
    assert parse_platforms(option, AMD64) == expected


@pytest.mark.parametrize("option", ["linux/s390x", "arm64", "linux/amd64,,linux/arm64", "windows/amd64"])
def test_bad_platform_option_says_what_is_accepted(option):
    with pytest.raises(PlatformError, match=r"linux/amd64|empty entry"):
        parse_platforms(option, AMD64)


def test_native_platform_from_machine_names():
    assert native_platform("x86_64") == AMD64
    assert native_platform("aarch64") == ARM64
    with pytest.raises(PlatformError, match="riscv64"):
        native_platform("riscv64")


def test_ids_and_slugs_read_well():
    assert str(ARM64) == "linux/arm64"
    assert ARM64.slug == "linux-arm64"


def test_native_platform_always_runs(tmp_path):
    assert why_unrunnable(AMD64, AMD64, tmp_path) is None


def test_foreign_platform_without_handler_names_what_is_missing(tmp_path):
    reason = why_unrunnable(ARM64, AMD64, tmp_path) or ""
    assert "qemu-aarch64" in reason
    assert "qemu-user-static" in reason


def test_foreign_platform_with_disabled_handler(tmp_path):
    (tmp_path / "qemu-aarch64").write_text("disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n")
    reason = why_unrunnable(ARM64, AMD64, tmp_path) or ""
    assert "update-binfmts --enable qemu-aarch64" in reason


def test_foreign_platform_with_enabled_handler_runs(tmp_path):
    (tmp_path / "qemu-aarch64").write_text(
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n"
    )
    assert why_unrunnable(ARM64, AMD64, tmp_path) is None


def test_elf_machine_reads_the_header():
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00" + b"\xb7\x00"
    assert elf_machine(header) == 0xB7
    with pytest.raises(PlatformError, match="not an ELF"):
        elf_machine(b"#!/bin/sh\n" + b"\x00" * 20)


def test_a_handler_without_credentials_flag_cannot_run_sudo(tmp_path):
    """Debian registers qemu without C: sudo then fails under emulation, so the platform is unrunnable."""
    (tmp_path / "qemu-aarch64").write_text(
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n"
    )
    reason = why_unrunnable(ARM64, AMD64, tmp_path) or ""
    assert "lacks the C (credentials) flag (flags: PF)" in reason
    assert "./setup" in reason
