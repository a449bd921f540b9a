"""Planted ruff finding: F401, an import nothing uses."""

import os


def answer() -> int:
    return 42
