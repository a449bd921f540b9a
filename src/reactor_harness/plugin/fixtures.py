"""The core fixtures: family, engine, once-per-run guard, builder, built image, container, testinfra hosts.

Fixtures are thin: the work lives in family/, build/ and core/. Each can be overridden in a conftest.py;
its docstring says what overriding it does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from reactor_harness.build.bootstrap import OsImages
from reactor_harness.build.builder import BuildSettings, FamilyBuilder, save_image_archive
from reactor_harness.build.packages import PackageDiff
from reactor_harness.core.cache import ResultCache
from reactor_harness.core.containers import (
    Container,
    ToolCache,
    hand_over_tool_caches,
    mount_tool_caches,
    reap_leftovers,
    run_labels,
    start_container,
    warm_tool_caches_natively,
)
from reactor_harness.core.engine import Engine
from reactor_harness.core.errors import EngineUnavailable, HarnessError
from reactor_harness.core.hosts import ImageHost, host_for
from reactor_harness.core.once import RunOnce
from reactor_harness.core.platforms import why_unrunnable
from reactor_harness.core.protocols import ContainerSpec
from reactor_harness.core.revision import build_revision
from reactor_harness.family.discovery import Family
from reactor_harness.family.policy import FamilyPolicy, PolicyError, load_policy
from reactor_harness.plugin.build_failures import build_failure
from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.plugin.progress import progress_writer
from reactor_harness.plugin.results import record_result
from reactor_harness.plugin.settings import HarnessSettings
from reactor_harness.plugin.targets import BuiltImage, Target
from reactor_harness.plugin.workers import shared_directory
from reactor_harness.report.results import AreaResult


@pytest.fixture(scope="session")
def family(harness_settings: HarnessSettings) -> Family:
    """The image family read from images/*/Dockerfile. Override to check another family folder."""
    return Family.discover(harness_settings.images_dir)


@pytest.fixture(scope="session")
def family_policy(harness_settings: HarnessSettings) -> FamilyPolicy:
    """The family's policy from images/policy.toml (a missing or malformed file fails the tests that need it).
    Override to check against other values."""
    try:
        return load_policy(harness_settings.images_dir)
    except PolicyError as error:
        problem = str(error)
    pytest.fail(problem, pytrace=False)  # outside the except: the report shows the message alone


@pytest.fixture(scope="session")
def run_once(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> RunOnce:
    """The once-per-run guard shared by all xdist workers. Override to share work across runs."""
    return RunOnce(shared_directory(pytestconfig, tmp_path_factory.getbasetemp()) / "reactor-once")


@pytest.fixture(scope="session")
def engine(harness_settings: HarnessSettings, run_once: RunOnce) -> Engine:
    """The container engine; skips (fails in strict mode) when none answers. Override to use another."""
    try:
        connected = Engine.connect()
    except EngineUnavailable as error:
        skip_or_fail(harness_settings, str(error))
        raise  # unreachable: skip_or_fail raises
    run_once.get("reap-leftovers", lambda: reap_leftovers(connected, harness_settings.run_id), _as_list, _as_list)
    return connected


def _as_list(value: Any) -> list[str]:
    return [str(item) for item in value]


@pytest.fixture(scope="session")
def family_builder(
    pytestconfig: pytest.Config,
    harness_settings: HarnessSettings,
    family: Family,
    engine: Engine,
    run_once: RunOnce,
    results_cache: ResultCache,
) -> FamilyBuilder:
    """Builds the family once per run. Override to build with other settings (e.g. no CA secret)."""
    progress = progress_writer(pytestconfig)
    try:
        revision = build_revision(harness_settings.root, harness_settings.strict)
    except HarnessError as error:
        pytest.fail(str(error), pytrace=False)
    settings = BuildSettings(
        log_dir=harness_settings.reports_dir / "build-logs",
        ca_bundle=harness_settings.ca_bundle,
        metadata_args={"VCS_REF": revision},
        rebuild=harness_settings.rebuild,
        prebuilt=harness_settings.prebuilt,
        probe_labels=run_labels(harness_settings.run_id, harness_settings.owner_pid),
        results_cache=results_cache,
    )
    os_images = OsImages(engine, harness_settings.reports_dir / "bootstrap", log=progress, once=run_once)
    return FamilyBuilder(family, engine, os_images, run_once, settings, harness_settings.native, progress)


@pytest.fixture
def built_image(
    request: pytest.FixtureRequest,
    target: Target,
    harness_settings: HarnessSettings,
    family: Family,
    run_once: RunOnce,
) -> BuiltImage:
    """The target image built in this run (fails with the failing step and log tail if it did not build).

    A platform this host cannot run is skipped (or fails, strict) before the builder, and so the engine, is
    asked for: that verdict needs no engine."""
    reason = why_unrunnable(target.platform, harness_settings.native)
    if reason:
        skip_or_fail(harness_settings, reason)
    family_builder: FamilyBuilder = request.getfixturevalue("family_builder")
    try:
        outcome = family_builder.build(target.image, target.platform)
        failure = build_failure(request, target, outcome, family, run_once) if not outcome.succeeded else None
    except EngineUnavailable as error:  # e.g. no docker CLI that builds with BuildKit: as when no engine answers
        skip_or_fail(harness_settings, str(error))
        raise  # unreachable: skip_or_fail raises
    except HarnessError as error:
        record_result(
            request.node,
            AreaResult(target.image, str(target.platform), "build", {"status": "failed", "error": str(error)}),
        )
        pytest.fail(f"{target}: {error}", pytrace=False)
    record_result(
        request.node,
        AreaResult(
            target.image,
            str(target.platform),
            "build",
            {
                "status": "passed" if outcome.succeeded else ("blocked" if outcome.blocked_by else "failed"),
                "duration_seconds": outcome.duration_seconds,
                "failed_step": outcome.failed_step,
                "image_id": outcome.image_id,  # the gate summary ties its verdict to this image
                "package_diff": outcome.package_diff,  # Debian packages changed against the previous build
                "log_tail": outcome.log_tail,
                "log_path": outcome.log_path,
                **(failure.to_result() if failure else {}),
            },
        ),
    )
    if outcome.package_diff is not None:
        diff = PackageDiff.from_json(outcome.package_diff)
        request.node.add_report_section(
            "setup",
            "Debian packages vs the previous build",
            f"{diff.counts()} against {diff.previous_image}\n" + "\n".join(diff.lines()),
        )
    if not outcome.succeeded:
        if outcome.blocked_by:
            pytest.skip(f"{target}: not built because its parent {outcome.blocked_by} failed to build")
        assert failure is not None
        failure.fail(request.node.nodeid, outcome)
    return BuiltImage(
        name=target.image,
        platform=target.platform,
        tag=outcome.tag,
        outcome=outcome,
        dockerfile=family[target.image].dockerfile,
    )


def warm_emulated_tool_caches(
    request: pytest.FixtureRequest,
    built_image: BuiltImage,
    caches: Sequence[ToolCache],
    engine: Engine,
    harness_settings: HarnessSettings,
    results_cache: ResultCache,
) -> None:
    """Before an emulated platform's test container starts: fill its tool caches that declare a native warm-up
    (`ToolCache.warm_natively`) in this run's native build of the same image. What cannot be warmed is said
    once in the run's cache summary and left to the emulated toolchain: it costs time, never a result."""
    native = harness_settings.native
    if built_image.platform == native or not any(cache.warm_natively for cache in caches):
        return
    family_builder: FamilyBuilder = request.getfixturevalue("family_builder")
    try:
        outcome = family_builder.build(built_image.name, native)
        if not outcome.succeeded:
            problems = [
                f"tool caches of {built_image}: not warmed natively, {built_image.name} did not build for {native}"
            ]
        else:
            problems = warm_tool_caches_natively(
                engine,
                outcome.tag,
                str(native),
                built_image.platform.arch,
                built_image.platform.slug,
                caches,
                harness_settings.cache.directory,
                run_labels(harness_settings.run_id, harness_settings.owner_pid),
            )
    except HarnessError as error:
        problems = [
            f"tool caches of {built_image}: the native warm-up failed ({error}); the emulated toolchain fills them"
        ]
    for problem in problems:
        results_cache.notices.note(problem)


@pytest.fixture
def container(
    request: pytest.FixtureRequest,
    built_image: BuiltImage,
    engine: Engine,
    run_once: RunOnce,
    harness_settings: HarnessSettings,
    tool_caches: Mapping[str, tuple[ToolCache, ...]],
    results_cache: ResultCache,
) -> Container:
    """The image's long-lived test container (no network), shared by its tests and removed at the end; it
    mounts the image's tool caches (`tool_caches`) from the host, warmed natively first for an emulated
    platform where a cache declares how."""

    def start() -> str:
        caches = tool_caches.get(built_image.name, ())
        warm_emulated_tool_caches(request, built_image, caches, engine, harness_settings, results_cache)
        volumes, mounted = mount_tool_caches(caches, harness_settings.cache.directory, built_image.platform.slug)
        container_id = start_container(
            engine,
            built_image.tag,
            str(built_image.platform),
            run_labels(harness_settings.run_id, harness_settings.owner_pid),
            volumes=volumes,
        )
        hand_over_tool_caches(engine, container_id, mounted)
        return container_id

    container_id = run_once.get(f"container-{built_image.name}-{built_image.platform.slug}", start, str, str)
    return Container(engine=engine, id=container_id, image=built_image.name, platform=str(built_image.platform))


@pytest.fixture
def container_spec(built_image: BuiltImage, harness_settings: HarnessSettings) -> Callable[..., ContainerSpec]:
    """A factory of containers of the target image for `engine.run_once`/`run_detached`: the image's tag and
    platform and this run's labels (so cleanup finds them), plus the command and options a test gives."""

    def make(command: Sequence[str] = (), **options: Any) -> ContainerSpec:
        labels = run_labels(harness_settings.run_id, harness_settings.owner_pid)
        return ContainerSpec(built_image.tag, str(built_image.platform), labels, tuple(command), **options)

    return make


@pytest.fixture
def image_archive(built_image: BuiltImage, engine: Engine, run_once: RunOnce) -> Path:
    """The image as a `docker save` tarball, written once per run (size analysis and scanners read it)."""
    return save_image_archive(engine, run_once, built_image.name, built_image.platform, built_image.tag)


@pytest.fixture
def host(container: Container, family_policy: FamilyPolicy) -> ImageHost:
    """A testinfra Host on the image's container, running commands as the policy's non-root user (claude)."""
    return host_for(container, user=family_policy.user)


@pytest.fixture
def root_host(container: Container) -> ImageHost:
    """A testinfra Host on the image's container, running commands as root."""
    return host_for(container, user="root")


@pytest.fixture
def image_user_host(container: Container) -> ImageHost:
    """A testinfra Host on the image's container, running commands as the image's own USER (no --user)."""
    return host_for(container, user=None)
