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
    """The go image's work tests keep Go's build cache across runs (a host folder per platform under
    .cache/reactor/tools/), so a second run does not recompile the standard library; nothing enters the image."""
    return {"go": (ToolCache("go-build", "/home/claude/.cache/go-build"),)}
