"""The pytest11 entry point of the harness: it declares the harness's hooks and loads one sub-plugin per job.

No sub-plugin imports a name from this module; what they share lives in `settings`, `targets`, `workers`,
`outcomes` and `results`. The hooks (`hooks`) are declared with `pytest_addhooks`, as pytest-xdist does.
`settings` computes the run's settings in a tryfirst `pytest_configure`, before the others read them.
"""

from __future__ import annotations

import pytest

from reactor_harness.plugin import hooks

pytest_plugins = [
    "reactor_harness.plugin.settings",  # options, ini values, REACTOR_* variables -> one HarnessSettings
    "reactor_harness.plugin.collection",  # markers, image × platform parametrization, test order
    "reactor_harness.plugin.fixtures",  # family, engine, builder, built image, container, hosts
    "reactor_harness.plugin.caching",  # the results cache, tool caches for test containers, cache notices
    "reactor_harness.plugin.cleanup",  # the controller removes what the run started
    "reactor_harness.plugin.replay",  # a test that passed before, nothing it depends on changed: replayed
    "reactor_harness.plugin.results",  # the results channel: areas' typed results reach the controller
    "reactor_harness.plugin.report",  # the image × platform matrix, evidence, the gate summary
    "reactor_harness.plugin.build_failures",  # a failed build reported once, its other tests in one line
    "reactor_harness.plugin.sizes",  # the size area: fixtures and the size table
    "reactor_harness.plugin.security",  # the security area: Trivy, the DB, scans
    "reactor_harness.plugin.process",  # the process: long-lived objects kept out of the garbage collector's walks
]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Declare the harness's own hooks (pytest_reactor_area_result, pytest_reactor_build_finished)."""
    pluginmanager.add_hookspecs(hooks)
