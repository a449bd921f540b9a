"""The harness's own tests: no engine needed (fakes stand in for docker)."""

from __future__ import annotations

pytest_plugins = ["pytester"]
