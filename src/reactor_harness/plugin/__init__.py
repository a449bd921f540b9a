"""The pytest plugin: thin glue that wires the library to the test suite.

`entry` is the pytest11 entry point; it loads one sub-plugin per job. No sub-plugin imports a name
from the entry point: shared names live in their own modules."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = [
    "cleanup",
    "collection",
    "entry",
    "fixtures",
    "hooks",
    "outcomes",
    "process",
    "progress",
    "report",
    "results",
    "security",
    "settings",
    "sizes",
    "targets",
    "workers",
]
