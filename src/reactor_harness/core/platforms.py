"""Target platforms: parsing the --platform option and telling which ones this host can run."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core import host
from reactor_harness.core.errors import PlatformError

SUPPORTED = ("linux/amd64", "linux/arm64")
_MACHINE_TO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The binfmt_misc handler qemu-user-static registers for each foreign architecture.
_BINFMT_HANDLER = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}
# ELF e_machine values, to check that a binary in an image matches its platform.
ELF_MACHINE = {"amd64": 0x3E, "arm64": 0xB7}
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


@dataclass(frozen=True, order=True)
class Platform:
    """An OS/architecture pair such as linux/arm64."""

    os: str
    arch: str

    @classmethod
    def parse(cls, text: str) -> Platform:
        value = text.strip().lower()
        if value not in SUPPORTED:
            raise PlatformError(f"unsupported platform {text!r}: choose from {', '.join(SUPPORTED)} or 'all'")
        os_name, arch = value.split("/")
        return cls(os=os_name, arch=arch)

    def __str__(self) -> str:
        return f"{self.os}/{self.arch}"

    @property
    def slug(self) -> str:
        """A tag- and file-name-safe form: linux-arm64."""
        return f"{self.os}-{self.arch}"


def native_platform(machine: str | None = None) -> Platform:
    machine = machine or _platform.machine()
    arch = _MACHINE_TO_ARCH.get(machine.lower())
    if arch is None:
        raise PlatformError(
            f"this host's architecture {machine!r} is not one the family supports ({', '.join(SUPPORTED)})"
        )
    return Platform("linux", arch)


def parse_platforms(option: str | None, native: Platform) -> list[Platform]:
    """Parse the --platform option: a comma list, 'all', or empty for the native platform."""
    if option is None or option.strip() == "":
        return [native]
    if option.strip().lower() == "all":
        return [Platform.parse(p) for p in SUPPORTED]
    platforms: list[Platform] = []
    for part in option.split(","):
        if not part.strip():
            raise PlatformError(f"empty entry in --platform {option!r}: write e.g. linux/amd64,linux/arm64")
        parsed = Platform.parse(part)
        if parsed not in platforms:
            platforms.append(parsed)
    return platforms


def why_unrunnable(target: Platform, native: Platform, binfmt_dir: Path = BINFMT_DIR) -> str | None:
    """None if this host can run the platform's binaries, else what is missing."""
    if target == native:
        return None
    handler_name = _BINFMT_HANDLER[target.arch]
    handler = binfmt_dir / handler_name
    if not handler.exists():
        return (
            f"{target} needs emulation on this {native} host but no binfmt handler {handler} is registered: "
            f"install {' and '.join(host.packages(host.EMULATION_TOOLS))} (the setup script does) and mount binfmt_misc"
        )
    try:
        lines = handler.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        return f"cannot read binfmt handler {handler}: {error}"
    state = lines[0].strip() if lines else "empty"
    if state != "enabled":
        return f"binfmt handler {handler} is registered but {state}: run update-binfmts --enable {handler_name}"
    flags = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("flags:")), "")
    if "C" not in flags:
        return (
            f"binfmt handler {handler} lacks the C (credentials) flag (flags: {flags or 'none'}), so setuid programs "
            "such as sudo fail under emulation: run ./setup, which re-registers it with C"
        )
    return None


def elf_machine(header: bytes) -> int:
    """The e_machine field of an ELF header (first 20 bytes at least)."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        raise PlatformError("not an ELF file (no \\x7fELF magic in the first bytes)")
    if header[5] == 1:
        return int.from_bytes(header[18:20], "little")
    return int.from_bytes(header[18:20], "big")
