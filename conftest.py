"""Root conftest: intentionally thin.

The harness's options, fixtures and hooks live in the installable plugin `reactor_harness.plugin.entry`
(loaded through its `pytest11` entry point). Override a fixture here to change how this repository's
suite builds or runs images; each fixture's docstring says what overriding it does.
"""

from __future__ import annotations

# pytester runs small suites in a subprocess to test the plugin itself (tests/harness, build failures).
pytest_plugins = ("pytester",)
