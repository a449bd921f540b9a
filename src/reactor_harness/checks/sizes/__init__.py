"""Image sizes: layer archives read from `docker save`, measured against budgets and a baseline."""

from __future__ import annotations
