"""Hooks the harness declares (registered with `pytest_addhooks`, as pytest-xdist's newhooks.py does).

Areas announce what they found through these hooks; listeners (the run report, the size table)
implement them instead of importing the areas. Both run in the controller (or the only process).
Like every pytest plugin hook (xdist's `pytest_xdist_*`, pytest-html's `pytest_html_*`) their names carry
the `pytest_` prefix, the only names pytest looks up on a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from reactor_harness.report.results import AreaResult


@pytest.hookspec()
def pytest_reactor_area_result(config: pytest.Config, result: AreaResult) -> None:
    """An area's result for one image × platform reached the controller (build, sizes, security, ...).

    Called once per test report that carries the result, so a listener must accept repeats: results of one
    image × platform and area merge key by key, later values winning.
    """


@pytest.hookspec()
def pytest_reactor_build_finished(config: pytest.Config, result: AreaResult) -> None:
    """The build of one image × platform finished (passed, failed or blocked by its parent).

    The same result also reaches `pytest_reactor_area_result` (area "build"); this hook is for listeners that
    care about builds alone, e.g. to print build times.
    """
