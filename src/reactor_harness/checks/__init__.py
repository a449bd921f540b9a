"""What the harness checks beyond running commands in a container: rules, sizes, security.

`rules` holds the Dockerfile maintenance rules, `hadolint` runs hadolint, `sizes` measures images
against their budgets and baseline, `security` runs Trivy and applies the gate. Each area turns engine
output into typed results; the pytest plugin decides how a result becomes a pass, skip or failure."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["hadolint", "rules", "security", "sizes"]
