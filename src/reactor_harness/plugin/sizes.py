"""Pytest wiring of the size checks: options, the per-image sizes fixture, and the run's size table.

Each image × platform is measured once per run (across xdist workers); the measurement reaches the
controller as the "sizes" area's result (the harness's one results channel), and the controller writes the
size table to the reports folder, prints it, and (with --update-size-baseline) rewrites the baseline file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reactor_harness.build.builder import FamilyBuilder
from reactor_harness.checks.sizes.baseline import UPDATE_OPTION, BaselineError, SizeBaseline
from reactor_harness.checks.sizes.measure import (
    ImageSizes,
    ParentImage,
    measure_image,
    parent_reference,
)
from reactor_harness.checks.sizes.policy import SizePolicy
from reactor_harness.checks.sizes.stored import StoredImages
from reactor_harness.checks.sizes.table import SizeRow, evidence, markdown_table, size_row
from reactor_harness.core.cache import ResultCache
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import HarnessError
from reactor_harness.core.once import RunOnce
from reactor_harness.family.discovery import Family, ParentLink
from reactor_harness.family.policy import FamilyPolicy, PolicyError, headroom_limit, load_policy
from reactor_harness.plugin.results import record_result
from reactor_harness.plugin.settings import SETTINGS_KEY
from reactor_harness.plugin.targets import BuiltImage
from reactor_harness.plugin.workers import is_controller
from reactor_harness.report.results import AreaResult

REPORT_NAME = "sizes.md"


def sizes_result(
    row: SizeRow, growth_limit: float | None = None, sizes: ImageSizes | None = None, headroom: float = 0.0
) -> AreaResult:
    """A measured size row as the "sizes" area's result (its keys are the ones the matrix reads).

    With the baseline known, the result also carries the baseline's sizes, the growth in percent, and the
    status the size rules give it (over budget, past the headroom it keeps free, or grown past growth_limit,
    fails). With the measurement given, it says how many of its layers' facts came from the results cache.
    """
    data = {key: value for key, value in row.to_json().items() if key not in {"image", "platform"}}
    over_budget = row.compressed_bytes > headroom_limit(row.budget_bytes, headroom)
    change = row.change()
    grew_too_much = change is not None and growth_limit is not None and change.ratio > growth_limit
    data["status"] = "failed" if over_budget or grew_too_much else "passed"
    if row.baseline is not None:
        data["baseline_compressed_bytes"] = row.baseline.compressed_bytes
        data["baseline_uncompressed_bytes"] = row.baseline.uncompressed_bytes
    if change is not None and row.baseline is not None and row.baseline.compressed_bytes:
        data["growth_percent"] = round(change.ratio * 100, 2)
    if sizes is not None:
        data["cache"] = {
            "layers_from_cache": sizes.layers_from_cache,
            "layers": len(sizes.layers),
            "from_cache": sizes.layers_from_cache == len(sizes.layers),
            "archive_saved": sizes.archive_saved,
        }
    return AreaResult(row.image, row.platform, "sizes", data)


def _baseline_or_none(config: pytest.Config) -> SizeBaseline | None:
    """The committed baseline for the result's growth figure; None if unusable (the baseline tests say why)."""
    try:
        return SizeBaseline.load(baseline_path(config), missing_ok=True)
    except BaselineError:
        return None


def size_row_of(result: AreaResult) -> SizeRow:
    """The size row a "sizes" result carries (other keys other tests of the area added are left out)."""
    known = {field.name for field in dataclasses.fields(SizeRow)}
    data = {key: value for key, value in result.data.items() if key in known}
    return SizeRow.from_json({**data, "image": result.image, "platform": result.platform})


def baseline_path(config: pytest.Config) -> Path:
    """The size baseline file this run reads (and, with --update-size-baseline, rewrites)."""
    return config.stash[SETTINGS_KEY].sizes.baseline


def updating_baseline(config: pytest.Config) -> bool:
    """True when this run accepts the measured sizes instead of failing on growth."""
    return config.stash[SETTINGS_KEY].sizes.update_baseline


class SizeReport:
    """The controller's view of the run's sizes: the table, shrink notices and the baseline rewrite."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rows: dict[tuple[str, str], SizeRow] = {}
        self.lines: list[tuple[str, bool]] = []  # (text, is_problem) for the terminal summary

    def pytest_reactor_area_result(self, config: pytest.Config, result: AreaResult) -> None:
        """Keep each image × platform's measured row."""
        if result.area == "sizes" and {"compressed_bytes", "uncompressed_bytes", "budget_bytes"} <= set(result.data):
            row = size_row_of(result)
            self.rows[(row.image, row.platform)] = row

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.rows:
            return
        path = baseline_path(self.config)
        updating = updating_baseline(self.config)
        try:
            baseline: SizeBaseline | None = SizeBaseline.load(path, missing_ok=updating)
        except BaselineError as error:
            baseline = None
            self.lines.append((f"size baseline not used: {error}", True))
        rows = [row.with_baseline(baseline) for row in self.rows.values()]
        try:
            shrink_notice: float | None = load_policy(self.config.stash[SETTINGS_KEY].images_dir).shrink_notice
        except PolicyError as error:
            shrink_notice = None
            self.lines.append((f"size policy not used: {error}", True))
        for row in rows:
            change = row.change()
            if change is not None and shrink_notice is not None and -change.ratio > shrink_notice:
                self.lines.append(
                    (f"shrank: {change.describe()}" + ("" if updating else f" ({UPDATE_OPTION} keeps the gain)"), False)
                )
        if updating and baseline is not None:
            baseline.updated((row.image, row.platform, row.measured()) for row in rows).write()
            self.lines.append(
                (f"rewrote {len(rows)} entries of the size baseline {path}: review and commit the diff", False)
            )
        reports_dir = self.config.stash[SETTINGS_KEY].reports_dir
        reports_dir.mkdir(parents=True, exist_ok=True)
        table = markdown_table(rows)
        (reports_dir / REPORT_NAME).write_text(table, encoding="utf-8")
        self.lines.insert(
            0, (f"image sizes (MB = 10^6 bytes; written to {reports_dir / REPORT_NAME}):\n{table}", False)
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.lines:
            return
        terminalreporter.section("reactor image sizes")
        for text, problem in self.lines:
            terminalreporter.write_line(text, red=problem)


def pytest_configure(config: pytest.Config) -> None:
    if is_controller(config):  # the controller (or the only process) gathers the sizes
        config.pluginmanager.register(SizeReport(config), "reactor-size-report")


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def size_policy(family_policy: FamilyPolicy) -> SizePolicy:
    """The budgets and thresholds the size checks enforce (images/policy.toml). Override to check against
    other limits."""
    return SizePolicy.from_family(family_policy)


@pytest.fixture(scope="session")
def update_size_baseline(pytestconfig: pytest.Config) -> bool:
    """True when this run accepts the measured sizes (--update-size-baseline) instead of failing on growth."""
    return updating_baseline(pytestconfig)


@pytest.fixture(scope="session")
def size_baseline(pytestconfig: pytest.Config, update_size_baseline: bool) -> SizeBaseline:
    """The committed size baseline; the test errors with the file and the problem if it is unusable."""
    try:
        return SizeBaseline.load(baseline_path(pytestconfig), missing_ok=update_size_baseline)
    except BaselineError as error:
        problem = str(error)
    pytest.fail(problem, pytrace=False)  # outside the except: the report shows the message alone


@pytest.fixture
def parent_image(built_image: BuiltImage, family: Family, family_builder: FamilyBuilder, engine: Engine) -> ParentImage:
    """The image the target's final stage builds FROM, as this run built or found it."""
    dockerfile = built_image.dockerfile
    reference = parent_reference(dockerfile, built_image.outcome.build_args)
    if reference is None:
        return ParentImage(reference=None, diff_ids=())
    link = next(
        (
            source
            for source in family.sources(built_image.name)
            if isinstance(source, ParentLink) and source.arg == dockerfile.final_stage.base_arg
        ),
        None,
    )
    image_id = None
    if link is not None:
        # By the id this run built, not the tag: another run on the same engine may have moved the tag since.
        platform = family_builder.native if link.on_build_platform else built_image.platform
        image_id = family_builder.build(link.parent, platform).image_id
    details = engine.inspect_image(image_id or reference)
    if details is None:
        return ParentImage(reference=reference, image_id=image_id, family_image=link.parent if link else None)
    return ParentImage(
        reference=reference,
        image_id=details.get("Id"),
        diff_ids=tuple(details.get("RootFS", {}).get("Layers", [])),
        family_image=link.parent if link else None,
    )


@pytest.fixture
def image_sizes(
    request: pytest.FixtureRequest,
    built_image: BuiltImage,
    parent_image: ParentImage,
    engine: Engine,
    run_once: RunOnce,
    size_policy: SizePolicy,
    results_cache: ResultCache,
) -> ImageSizes:
    """The target's measured sizes (once per run), with the layer evidence attached to the test report."""

    def measure() -> ImageSizes:
        details = engine.inspect_image(built_image.tag)
        if details is None:
            raise HarnessError(f"{built_image.tag} is no longer in the engine")
        stored = StoredImages(results_cache, lambda: Path(request.getfixturevalue("image_archive")))
        sizes = measure_image(
            stored.layout([str(layer) for layer in details.get("RootFS", {}).get("Layers", [])]),
            image=built_image.name,
            platform=str(built_image.platform),
            uncompressed_bytes=int(details["Size"]),
            cache=stored,
            parent=parent_image.reference,
            parent_diff_ids=parent_image.diff_ids,
            dockerfile=built_image.dockerfile,
            policy=size_policy,
        )
        return dataclasses.replace(
            sizes, layers_from_cache=stored.layers_from_cache, archive_saved=stored.archive_saved
        )

    key = f"sizes-{built_image.name}-{built_image.platform.slug}"
    problem: str | None = None
    try:
        sizes = run_once.get(key, measure, ImageSizes.to_json, ImageSizes.from_json)
    except HarnessError as error:
        problem = f"{built_image}: cannot measure its size: {error}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)  # outside the except: the report shows the message alone
    request.node.add_report_section("setup", "image sizes", evidence(sizes, size_policy))
    row = size_row(sizes, size_policy).with_baseline(_baseline_or_none(request.config))
    record_result(request.node, sizes_result(row, size_policy.growth_limit, sizes, size_policy.headroom))
    return sizes
