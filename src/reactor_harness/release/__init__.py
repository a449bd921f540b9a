"""Release tooling: registry client, tags, the gate record, promote/rollback and the `reactor-release` CLI."""

from __future__ import annotations
