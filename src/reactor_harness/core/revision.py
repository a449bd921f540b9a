"""The checked-out commit, which the images' VCS_REF label and the gate summary record."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_revision(root: Path) -> str:
    """The checked-out commit (recorded in the images' VCS_REF label), or "unknown"."""
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return completed.stdout.strip() or "unknown"
