"""The commit a run builds from: what the images' revision label, the gate summary and its record name."""

from __future__ import annotations

from pathlib import Path

from reactor_harness.core.commands import CommandTimedOut, run_command
from reactor_harness.core.errors import HarnessError

UNKNOWN_REVISION = "unknown"


def git_revision(root: Path) -> str | None:
    """The checked-out commit (recorded in the images' VCS_REF label), or None when git cannot say."""
    try:
        completed = run_command(["git", "-C", str(root), "rev-parse", "HEAD"], timeout=10)
    except CommandTimedOut:
        return None
    revision = completed.stdout.strip()
    return revision if completed.succeeded and revision else None


def build_revision(root: Path, strict: bool) -> str:
    """The VCS_REF the images are labelled with: the commit, or "unknown" locally; strict mode refuses to
    build images whose revision label would not name the commit they vouch for."""
    revision = git_revision(root)
    if revision is not None:
        return revision
    if strict:
        raise HarnessError(
            f"git cannot name the commit checked out in {root} (git rev-parse HEAD failed), so the images' "
            "org.opencontainers.image.revision label would say 'unknown'; run from a git checkout with git "
            "installed (on CI: actions/checkout) [strict mode]"
        )
    return UNKNOWN_REVISION
