"""The security gate: Trivy found, run and parsed; accepted risks; what fails the gate."""

from __future__ import annotations
