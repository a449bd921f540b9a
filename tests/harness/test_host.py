"""The host programs a run needs are declared once (reactor_harness.core.host): ./setup installs exactly
those packages, the bootstrap refuses early and by name when one is missing, and nothing retypes them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reactor_harness.build.bootstrap import DebianReference, Mirrors, OsImages, mmdebstrap_command
from reactor_harness.core import host
from reactor_harness.core.errors import BootstrapError
from reactor_harness.core.platforms import Platform, native_platform, why_unrunnable

SETUP = Path(__file__).resolve().parents[2] / "setup"
FOREIGN = Platform("linux", "arm64" if native_platform().arch == "amd64" else "amd64")


def _setup_code() -> str:
    """./setup without its comments."""
    lines = SETUP.read_text(encoding="utf-8").splitlines()
    return "\n".join(line.split(" #", 1)[0] for line in lines if not line.lstrip().startswith("#"))


def test_setup_installs_the_packages_the_harness_declares():
    """./setup asks the harness for its host packages and installs them; it types none of them itself."""
    code = _setup_code()
    assert re.search(r'host_packages="\$\([^)]*-m reactor_harness\.core\.host\)"', code), "setup must ask the harness"
    assert re.search(r"ensure_packages \$\{host_packages\}", code), "setup must install what the harness printed"
    retyped = [package for package in host.packages() if re.search(rf"(?<![\w.-]){re.escape(package)}(?![\w.-])", code)]
    assert not retyped, f"./setup names host packages the harness already declares: {retyped}"


def test_the_module_prints_every_declared_package():
    """`python -m reactor_harness.core.host` prints each package once, on one line (what ./setup reads)."""
    printed = subprocess.run(
        [sys.executable, "-m", "reactor_harness.core.host"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert printed == host.packages()
    assert {"mmdebstrap", "arch-test", "qemu-user-static", "binfmt-support"} <= set(printed)


def test_the_bootstrap_runs_the_declared_program():
    """The program the bootstrap starts is the one declared with its package."""
    command = mmdebstrap_command(DebianReference("trixie", True), FOREIGN, Path("rootfs.tar"), Mirrors(None, None))
    assert command[0] == host.MMDEBSTRAP.program
    assert host.MMDEBSTRAP in host.BOOTSTRAP_TOOLS


def test_a_foreign_bootstrap_without_arch_test_names_the_package(tmp_path, monkeypatch):
    """Without arch-test, bootstrapping another architecture stops before mmdebstrap, naming what to install."""
    monkeypatch.setattr(host.shutil, "which", lambda program: None if program == "arch-test" else f"/usr/bin/{program}")
    with pytest.raises(BootstrapError, match=r"arch-test is not installed \(apt-get install arch-test; ./setup does\)"):
        OsImages(engine=None, work_dir=tmp_path).bootstrap(DebianReference("trixie", True), FOREIGN, "tag")


def test_a_missing_binfmt_handler_names_the_declared_packages(tmp_path):
    """The emulation check's hint names the packages the harness declares for emulation."""
    reason = why_unrunnable(FOREIGN, native_platform(), binfmt_dir=tmp_path)
    assert reason is not None
    assert " and ".join(host.packages(host.EMULATION_TOOLS)) in reason
