"""The run report: per-target results merged into the image × platform matrix and the gate summary."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["evidence", "gate", "matrix", "results"]
