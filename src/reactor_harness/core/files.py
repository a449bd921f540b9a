"""Files other processes read while this one writes them: written whole or not at all.

Evidence files (Trivy's reports, SARIF, SBOMs) are read by other xdist workers while a scan rewrites them
(`reactor affected` reads every SBOM of the reports folder). Each is written to a temporary sibling and
renamed into place, so a reader sees the previous whole file or the new whole file, never a part.
"""

from __future__ import annotations

import os
from pathlib import Path


def partial_path(path: Path) -> Path:
    """A temporary sibling of path for this process to write before `os.replace` puts it in place."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def write_text_atomically(path: Path, text: str) -> None:
    """Write text to path so that no reader ever sees a part of it."""
    temporary = partial_path(path)
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
