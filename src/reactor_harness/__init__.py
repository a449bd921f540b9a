"""Reactor image maintenance harness: build, inspect and guard the Reactor container image family.

The library is organised by concern (see the README, "How the harness is built"): `core` (errors, the
engine seam, once-per-run, platforms, containers, environment), `family` (Dockerfiles, discovery, pins,
policy, versions table), `build` (the family builder, the Debian bootstrap), `checks` (rules, hadolint,
sizes, security), `report` (results, matrix, gate summary), `release` (registry, tags, promote, CLI) and
`plugin` (the pytest plugin). The names below are the public API; they load on first use, so
`import reactor_harness` imports neither pytest nor any engine code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "HarnessError": "reactor_harness.core.errors",
    "Environment": "reactor_harness.core.environment",
    "Engine": "reactor_harness.core.engine",
    "BuildRequest": "reactor_harness.core.engine",
    "CommandResult": "reactor_harness.core.engine",
    "RunOnce": "reactor_harness.core.once",
    "Platform": "reactor_harness.core.platforms",
    "parse_platforms": "reactor_harness.core.platforms",
    "native_platform": "reactor_harness.core.platforms",
    "Dockerfile": "reactor_harness.family.dockerfile",
    "Family": "reactor_harness.family.discovery",
    "FamilyPolicy": "reactor_harness.family.policy",
    "load_policy": "reactor_harness.family.policy",
    "FamilyBuilder": "reactor_harness.build.builder",
    "BuildOutcome": "reactor_harness.build.builder",
    "AreaResult": "reactor_harness.report.results",
}

__all__ = [
    "AreaResult",
    "BuildOutcome",
    "BuildRequest",
    "CommandResult",
    "Dockerfile",
    "Engine",
    "Environment",
    "Family",
    "FamilyBuilder",
    "FamilyPolicy",
    "HarnessError",
    "Platform",
    "RunOnce",
    "__version__",
    "load_policy",
    "native_platform",
    "parse_platforms",
]

if TYPE_CHECKING:
    from reactor_harness.build.builder import BuildOutcome, FamilyBuilder
    from reactor_harness.core.engine import BuildRequest, CommandResult, Engine
    from reactor_harness.core.environment import Environment
    from reactor_harness.core.errors import HarnessError
    from reactor_harness.core.once import RunOnce
    from reactor_harness.core.platforms import Platform, native_platform, parse_platforms
    from reactor_harness.family.discovery import Family
    from reactor_harness.family.dockerfile import Dockerfile
    from reactor_harness.family.policy import FamilyPolicy, load_policy
    from reactor_harness.report.results import AreaResult


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reactor_harness' has no attribute {name!r}; public names: {', '.join(__all__)}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
