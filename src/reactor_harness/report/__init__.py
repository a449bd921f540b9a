"""The run report: per-target results merged into the image × platform matrix and the gate summary."""

from __future__ import annotations
