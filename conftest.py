"""Root conftest: intentionally thin.

The harness's options, fixtures and hooks live in the installable plugin `reactor_harness.plugin.entry`
(loaded through its `pytest11` entry point). Override a fixture here to change how this repository's
suite builds or runs images; each fixture's docstring says what overriding it does.
"""

from __future__ import annotations

import pytest

from reactor_harness.core.containers import ToolCache

# pytester runs small suites in a subprocess to test the plugin itself (tests/harness, build failures).
pytest_plugins = ("pytester",)


@pytest.fixture(scope="session")
def tool_caches() -> dict[str, tuple[ToolCache, ...]]:
    """The go image's work tests keep Go's build cache and the analysers' caches (staticcheck, golangci-lint,
    gopls) across runs (a host folder per platform under .cache/reactor/tools/), so a second run does not
    recompile the standard library or re-analyse it; nothing enters the image."""
    home_cache = "/home/claude/.cache"
    return {
        "go": tuple(
            ToolCache(name, f"{home_cache}/{name}") for name in ("go-build", "staticcheck", "golangci-lint", "gopls")
        )
    }
