"""The commit the images' revision label names: read from git, never a silent "unknown" in strict mode."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reactor_harness.core.errors import HarnessError
from reactor_harness.core.revision import UNKNOWN_REVISION, build_revision, git_revision

ROOT = Path(__file__).resolve().parents[2]


def test_a_folder_outside_git_has_no_revision(tmp_path):
    """A failed lookup is None (the caller decides), not the string 'unknown' a label test would compare."""
    assert git_revision(tmp_path) is None


def test_strict_mode_refuses_to_build_without_a_revision(tmp_path):
    """Strict mode fails naming the cause and the fix; locally the label says 'unknown'."""
    with pytest.raises(HarnessError, match=r"git cannot name the commit .* run from a git checkout"):
        build_revision(tmp_path, strict=True)
    assert build_revision(tmp_path, strict=False) == UNKNOWN_REVISION


def test_a_checkout_gives_its_head(tmp_path):
    git = shutil.which("git")
    assert git, "git is needed by the harness (./setup installs it)"
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        [
            git,
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    head = subprocess.run([git, "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert build_revision(tmp_path, strict=True) == head.stdout.strip()
