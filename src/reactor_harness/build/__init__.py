"""Building the family once per run: parents first, each image × platform exactly once.

It owns the family builder and its outcomes (`builder`) and the Debian base image, pulled or
bootstrapped with mmdebstrap when no registry is reachable (`bootstrap`)."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["bootstrap", "builder"]
