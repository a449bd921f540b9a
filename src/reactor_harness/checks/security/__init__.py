"""The security gate: Trivy found, run and parsed; accepted risks; what fails the gate."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["accepted", "findings", "gate", "scan", "trivy", "vulndb"]
