"""The pytest plugin: options, fixtures and hooks that wire the library to the test suite.

Fixtures are thin: the work lives in family/build/containers/engine. Each fixture below can be
overridden in a conftest.py; its docstring says what overriding it does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testinfra.host import Host

from reactor_harness.build.bootstrap import OsImages
from reactor_harness.build.builder import BuildOutcome, BuildSettings, FamilyBuilder, save_image_archive
from reactor_harness.core.containers import (
    Container,
    host_for,
    reap_leftovers,
    remove_run_containers,
    run_labels,
    start_container,
)
from reactor_harness.core.engine import LABEL_HARNESS, Engine, find_client
from reactor_harness.core.errors import EngineUnavailable, FamilyError, HarnessError, PlatformError
from reactor_harness.core.once import RunOnce
from reactor_harness.core.platforms import Platform, native_platform, parse_platforms, why_unrunnable
from reactor_harness.family.discovery import Family
from reactor_harness.family.dockerfile import Dockerfile
from reactor_harness.report.matrix import write_summary

# Areas with their own options, fixtures and report hooks, loaded with this plugin.
pytest_plugins = ["reactor_harness.plugin.report", "reactor_harness.plugin.security", "reactor_harness.plugin.sizes"]

SETTINGS_KEY = pytest.StashKey["HarnessSettings"]()
RUN_ID_INPUT = "reactor_run_id"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class HarnessSettings:
    """The run's configuration, validated once from options and environment."""

    root: Path
    images_dir: Path
    reports_dir: Path
    platforms: tuple[Platform, ...]
    native: Platform
    strict: bool
    selected_images: tuple[str, ...] | None
    ca_bundle: Path | None
    run_id: str
    owner_pid: int  # the process that owns the run's containers: the xdist controller, or this one


@dataclass(frozen=True)
class Target:
    """One image on one platform: what an image check is parametrized over."""

    image: str
    platform: Platform

    def __str__(self) -> str:
        return f"{self.image}-{self.platform}"


@dataclass(frozen=True)
class BuiltImage:
    """An image built in this run for one platform."""

    name: str
    platform: Platform
    tag: str
    outcome: BuildOutcome
    dockerfile: Dockerfile

    def __str__(self) -> str:
        return f"{self.name} ({self.platform})"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reactor", "Reactor image harness")
    group.addoption(
        "--platform",
        dest="reactor_platform",
        default=os.environ.get("REACTOR_PLATFORMS"),
        help="platforms to build and check: a comma list (linux/amd64,linux/arm64), 'all', or empty for the "
        "native one (default: $REACTOR_PLATFORMS or native)",
    )
    group.addoption(
        "--images",
        dest="reactor_images",
        default=os.environ.get("REACTOR_IMAGES"),
        help="comma list of family images to check (default: every image under --images-dir); their parents "
        "are built as needed",
    )
    group.addoption("--images-dir", dest="reactor_images_dir", default="images", help="the image family's folder")
    group.addoption(
        "--reports-dir", dest="reactor_reports_dir", default="reports", help="where build logs and reports are written"
    )
    group.addoption(
        "--build-ca-bundle",
        dest="reactor_ca_bundle",
        default=None,
        help="CA bundle passed to builds as the BuildKit secret 'build-ca' (for TLS-intercepting proxies); default: "
        "$REACTOR_BUILD_CA_BUNDLE, else $SSL_CERT_FILE, else the system bundle if present; 'none' disables it",
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _ca_bundle(option: str | None) -> Path | None:
    candidates = [
        option,
        os.environ.get("REACTOR_BUILD_CA_BUNDLE"),
        os.environ.get("SSL_CERT_FILE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ]
    for candidate in candidates:
        if candidate is None or candidate == "":
            continue
        if candidate.lower() == "none":
            return None
        path = Path(candidate)
        if path.is_file():
            return path
        if candidate in (option, os.environ.get("REACTOR_BUILD_CA_BUNDLE")):
            raise pytest.UsageError(f"--build-ca-bundle {candidate}: no such file (give a PEM bundle, or 'none')")
    return None


def worker_id(config: pytest.Config) -> str | None:
    """The xdist worker's id (gw0, ...), or None in the controller or without xdist.

    Read from the config, not $PYTEST_XDIST_WORKER: a pytest run started inside a worker (pytester)
    inherits that variable without being a worker.
    """
    worker_input = getattr(config, "workerinput", None)
    return str(worker_input["workerid"]) if worker_input else None


def settings_from_config(config: pytest.Config, run_id: str) -> HarnessSettings:
    """Validate the options into HarnessSettings; pytest.UsageError with the fix on bad input."""
    root = config.rootpath
    try:
        native = native_platform()
        platforms = tuple(parse_platforms(config.getoption("reactor_platform"), native))
    except PlatformError as error:
        raise pytest.UsageError(f"--platform: {error}") from error
    images_option = config.getoption("reactor_images")
    selected = None
    images_dir = (root / config.getoption("reactor_images_dir")).resolve()
    if images_option:
        selected = tuple(name.strip() for name in images_option.split(",") if name.strip())
        if not selected:
            raise pytest.UsageError("--images: give a comma list of image names, e.g. --images base,python")
        try:
            family = Family.discover(images_dir)
            for name in selected:
                family[name]  # an unknown name is a FamilyError naming the known ones
        except FamilyError as error:
            raise pytest.UsageError(f"--images: {error}") from error
    strict = bool(config.getoption("strict", default=False)) or _truthy(os.environ.get("CI"))
    return HarnessSettings(
        root=root,
        images_dir=images_dir,
        reports_dir=(root / config.getoption("reactor_reports_dir")).resolve(),
        platforms=platforms,
        native=native,
        strict=strict,
        selected_images=selected,
        ca_bundle=_ca_bundle(config.getoption("reactor_ca_bundle")),
        run_id=run_id,
        owner_pid=os.getppid() if worker_id(config) else os.getpid(),
    )


class _XdistHooks:
    """Hands the controller's run id to every worker (registered only when pytest-xdist is active)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_ID_INPUT] = self.run_id


MARKERS = (
    "image(name): the test checks the named family image, on every requested platform",
    "family: the test checks every image of the family, on every requested platform",
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    worker_input = getattr(config, "workerinput", None)
    run_id = worker_input[RUN_ID_INPUT] if worker_input and RUN_ID_INPUT in worker_input else uuid.uuid4().hex[:12]
    settings = settings_from_config(config, run_id)
    config.stash[SETTINGS_KEY] = settings
    if worker_input is None and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(run_id), "reactor-xdist-hooks")
    _default_reports(config, settings)


def _default_reports(config: pytest.Config, settings: HarnessSettings) -> None:
    """An HTML report and JUnit XML in the reports folder unless the command line chose others."""
    if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
        config.option.htmlpath = str(settings.reports_dir / "report.html")
        config.option.self_contained_html = True
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(settings.reports_dir / "junit.xml")


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS_KEY]
    return [
        f"reactor: platforms {', '.join(map(str, settings.platforms))} (native {settings.native}); "
        f"strict {'on' if settings.strict else 'off'}; run {settings.run_id}; reports in {settings.reports_dir}"
    ]


def _targets_for(metafunc: pytest.Metafunc, settings: HarnessSettings) -> list[Target]:
    family = Family.discover(settings.images_dir)
    names: list[str] = []
    if metafunc.definition.get_closest_marker("family") is not None:
        names = list(family.build_order)
    for marker in metafunc.definition.iter_markers("image"):
        if not marker.args:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: @pytest.mark.image needs an image name")
        for name in marker.args:
            family[name]  # an unknown name is a FamilyError naming the known ones
            if name not in names:
                names.append(name)
    if settings.selected_images is not None:
        names = [name for name in names if name in settings.selected_images]
    return [Target(name, platform) for name in names for platform in settings.platforms]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    settings = metafunc.config.stash[SETTINGS_KEY]
    try:
        targets = _targets_for(metafunc, settings)
    except FamilyError as error:
        raise pytest.UsageError(str(error)) from error
    metafunc.parametrize("target", targets, ids=str)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Engine-free checks (rules, docs, the harness's own tests) run first: they fail in seconds."""
    items.sort(key=lambda item: "target" in getattr(item, "fixturenames", ()))


def skip_or_fail(settings: HarnessSettings, reason: str) -> None:
    """Skip with the reason locally; fail with it in strict mode (CI), where a skip would hide a gap."""
    __tracebackhide__ = True
    if settings.strict:
        pytest.fail(f"{reason} [strict mode: this would be a skip locally]", pytrace=False)
    pytest.skip(reason)


def _progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """Prints build progress past pytest's output capture, so a long build is not silent."""
    capture = config.pluginmanager.getplugin("capturemanager")
    worker = worker_id(config)
    prefix = f"[reactor {worker}] " if worker else "[reactor] "

    def emit(line: str) -> None:
        if capture is None:
            sys.stderr.write(prefix + line + "\n")
            return
        with capture.global_and_fixture_disabled():
            sys.stderr.write(prefix + line + "\n")
            sys.stderr.flush()

    return emit


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> HarnessSettings:
    """The validated run configuration. Override to pin settings in a test suite of your own."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def family(harness_settings: HarnessSettings) -> Family:
    """The image family read from images/*/Dockerfile. Override to check another family folder."""
    return Family.discover(harness_settings.images_dir)


@pytest.fixture(scope="session")
def run_once(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> RunOnce:
    """The once-per-run guard shared by all xdist workers. Override to share work across runs."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id(pytestconfig) else base
    return RunOnce(shared / "reactor-once")


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


def _git_revision(root: Path) -> str:
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return completed.stdout.strip() or "unknown"


@pytest.fixture(scope="session")
def family_builder(
    pytestconfig: pytest.Config, harness_settings: HarnessSettings, family: Family, engine: Engine, run_once: RunOnce
) -> FamilyBuilder:
    """Builds the family once per run. Override to build with other settings (e.g. no CA secret)."""
    progress = _progress_writer(pytestconfig)
    settings = BuildSettings(
        log_dir=harness_settings.reports_dir / "build-logs",
        ca_bundle=harness_settings.ca_bundle,
        metadata_args={"VCS_REF": _git_revision(harness_settings.root)},
    )
    os_images = OsImages(engine, harness_settings.reports_dir / "bootstrap", log=progress, once=run_once)
    return FamilyBuilder(family, engine, os_images, run_once, settings, harness_settings.native, progress)


@pytest.fixture
def built_image(
    request: pytest.FixtureRequest,
    target: Target,
    harness_settings: HarnessSettings,
    family: Family,
    family_builder: FamilyBuilder,
) -> BuiltImage:
    """The target image built in this run (fails with the failing step and log tail if it did not build)."""
    reason = why_unrunnable(target.platform, harness_settings.native)
    if reason:
        skip_or_fail(harness_settings, reason)
    try:
        outcome = family_builder.build(target.image, target.platform)
    except HarnessError as error:
        write_summary(
            harness_settings.reports_dir,
            target.image,
            str(target.platform),
            "build",
            {"status": "failed", "error": str(error)},
        )
        pytest.fail(f"{target}: {error}", pytrace=False)
    write_summary(
        harness_settings.reports_dir,
        target.image,
        str(target.platform),
        "build",
        {
            "status": "passed" if outcome.succeeded else ("blocked" if outcome.blocked_by else "failed"),
            "duration_seconds": outcome.duration_seconds,
            "failed_step": outcome.failed_step,
            "log_tail": outcome.log_tail,
            "log_path": outcome.log_path,
        },
    )
    if not outcome.succeeded:
        if outcome.blocked_by:
            pytest.skip(f"{target}: not built because its parent {outcome.blocked_by} failed to build")
        request.node.add_report_section("setup", "build log tail", outcome.log_tail)
        pytest.fail(outcome.failure_report(), pytrace=False)
    return BuiltImage(
        name=target.image,
        platform=target.platform,
        tag=outcome.tag,
        outcome=outcome,
        dockerfile=family[target.image].dockerfile,
    )


@pytest.fixture
def container(
    built_image: BuiltImage, engine: Engine, run_once: RunOnce, harness_settings: HarnessSettings
) -> Container:
    """The image's long-lived test container (no network), shared by its tests and removed at the end."""
    container_id = run_once.get(
        f"container-{built_image.name}-{built_image.platform.slug}",
        lambda: start_container(
            engine,
            built_image.tag,
            str(built_image.platform),
            run_labels(harness_settings.run_id, harness_settings.owner_pid),
        ),
        str,
        str,
    )
    return Container(engine=engine, id=container_id, image=built_image.name, platform=str(built_image.platform))


@pytest.fixture
def image_archive(built_image: BuiltImage, engine: Engine, run_once: RunOnce) -> Path:
    """The image as a `docker save` tarball, written once per run (size analysis and scanners read it)."""
    return save_image_archive(engine, run_once, built_image.name, built_image.platform, built_image.tag)


@pytest.fixture
def host(container: Container) -> Host:
    """A testinfra Host on the image's container, running commands as claude."""
    return host_for(container)


@pytest.fixture
def root_host(container: Container) -> Host:
    """A testinfra Host on the image's container, running commands as root."""
    return host_for(container, user="root")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller removes the containers the run started and the harness images its builds left
    untagged (workers leave both to it). Tagged images stay, for a look after the run and warm rebuilds."""
    if worker_id(session.config):
        return
    settings = session.config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    try:
        engine = Engine(find_client())
    except EngineUnavailable:
        return  # no client, so this run started no container
    try:
        removed = remove_run_containers(engine, settings.run_id)
        engine.prune_dangling_images(LABEL_HARNESS)
    except (HarnessError, OSError) as error:
        if reporter is not None:
            reporter.write_line(f"reactor: could not remove the containers of run {settings.run_id}: {error}", red=True)
        return
    if removed and reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(f"reactor: removed {len(removed)} test container(s) of run {settings.run_id}")
