"""Files other processes read while this one writes them: written whole or not at all.

Evidence files (Trivy's reports, SARIF, SBOMs) are read by other xdist workers while a scan rewrites them
(`reactor affected` reads every SBOM of the reports folder), and results-cache entries by every worker. Each
is written to a temporary sibling and renamed into place, so a reader sees the previous whole file or the new
whole file, never a part.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """A temporary sibling of path to write in the block; when the block ends without an error it replaces
    path in one rename. The temporary file never outlives the block; on an error path is left as it was."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    """Write text to path so that no reader ever sees a part of it."""
    with written_whole(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
