"""What this host must have installed for a run: each program the harness calls, with the Debian package
that brings it. Named once, here: the bootstrap and the emulation checks take the program names from it,
and ./setup installs exactly these packages (`python -m reactor_harness.core.host` prints them).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class HostTool:
    """A program the harness runs on the host, the Debian package that installs it, and what for."""

    program: str
    package: str
    purpose: str

    def missing_hint(self) -> str:
        return f"{self.program} is not installed (apt-get install {self.package}; ./setup does): needed {self.purpose}"


MMDEBSTRAP = HostTool("mmdebstrap", "mmdebstrap", "to bootstrap Debian when no registry is reachable")
# mmdebstrap refuses a foreign architecture without it: "E: install arch-test for foreign architecture support".
ARCH_TEST = HostTool("arch-test", "arch-test", "by mmdebstrap to bootstrap a foreign architecture")
QEMU_USER = HostTool("qemu-aarch64-static", "qemu-user-static", "to run another architecture's binaries")
UPDATE_BINFMTS = HostTool("update-binfmts", "binfmt-support", "to register qemu as the binfmt handler")

BOOTSTRAP_TOOLS: tuple[HostTool, ...] = (MMDEBSTRAP,)
FOREIGN_BOOTSTRAP_TOOLS: tuple[HostTool, ...] = (ARCH_TEST,)
EMULATION_TOOLS: tuple[HostTool, ...] = (QEMU_USER, UPDATE_BINFMTS)
ALL_TOOLS: tuple[HostTool, ...] = BOOTSTRAP_TOOLS + FOREIGN_BOOTSTRAP_TOOLS + EMULATION_TOOLS


def packages(tools: Iterable[HostTool] = ALL_TOOLS) -> list[str]:
    """The Debian packages that bring the tools, each once, in order."""
    return list(dict.fromkeys(tool.package for tool in tools))


def missing(tools: Iterable[HostTool]) -> list[HostTool]:
    """The tools whose program is not on PATH."""
    return [tool for tool in tools if shutil.which(tool.program) is None]


def main() -> int:
    """Print the packages ./setup must install, one line."""
    print(" ".join(packages()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
