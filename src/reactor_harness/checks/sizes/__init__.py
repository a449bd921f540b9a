"""Image sizes: layer archives read from `docker save`, measured against budgets and a baseline."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["baseline", "layers", "measure", "policy", "table"]
