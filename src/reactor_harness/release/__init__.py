"""Release tooling: registry client, tags, the gate record, promote/rollback and the `reactor-release` CLI."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["commands", "promote", "registry", "tags"]
