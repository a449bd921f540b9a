"""The pytest11 entry point of the harness: it loads one sub-plugin per job and nothing else.

No sub-plugin imports a name from this module; what they share lives in `settings`, `targets`,
`workers` and `outcomes`. Order matters only for `settings`, whose `pytest_configure` runs first.
"""

from __future__ import annotations

pytest_plugins = [
    "reactor_harness.plugin.settings",  # options, ini values, REACTOR_* variables -> one HarnessSettings
    "reactor_harness.plugin.collection",  # markers, image × platform parametrization, test order
    "reactor_harness.plugin.fixtures",  # family, engine, builder, built image, container, hosts
    "reactor_harness.plugin.cleanup",  # the controller removes what the run started
    "reactor_harness.plugin.report",  # the image × platform matrix, evidence, the gate summary
    "reactor_harness.plugin.sizes",  # the size area: fixtures and the size table
    "reactor_harness.plugin.security",  # the security area: Trivy, the DB, scans
]
