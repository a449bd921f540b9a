"""Reactor image maintenance harness: build, inspect and guard the Reactor container image family."""

from __future__ import annotations

__version__ = "0.1.0"
