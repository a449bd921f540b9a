"""The engine seam and the run-wide primitives every other part stands on.

It owns the typed errors (`errors`), the one seam through which every docker call runs (`engine`),
the once-per-run guard shared by xdist workers (`once`), platform parsing and emulation checks
(`platforms`), the host programs a run needs with their packages (`host`) and the long-lived test
containers with their readiness waits (`containers`). Nothing here knows about images, policy or pytest."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["client", "containers", "engine", "environment", "errors", "host", "once", "platforms"]
