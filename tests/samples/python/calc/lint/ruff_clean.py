"""The clean counterpart of ruff_error.py: ruff finds nothing here."""

import os


def home() -> str:
    return os.environ.get("HOME", "/")
