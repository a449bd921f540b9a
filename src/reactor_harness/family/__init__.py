"""The image family as data: Dockerfiles, their parent links, their pins and the README versions table.

It owns the Dockerfile model (`dockerfile`), discovering the family from `images/*/Dockerfile`
(`discovery`), reading pins and matching them against what an image reports (`pins`) and the
generated versions table (`versions_table`). It reads files only: no engine, no pytest."""

from __future__ import annotations

# The modules of this subpackage (import them by name; nothing is re-exported here).
__all__ = ["discovery", "dockerfile", "parity", "pins", "policy", "versions_table"]
