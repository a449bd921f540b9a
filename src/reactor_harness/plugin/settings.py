"""One settings object: every option, ini value and REACTOR_* variable of the harness, validated once.

Precedence for each value: the command-line option, then the environment variable, then the ini value
in `[tool.pytest.ini_options]`, then the default. Bad input is a `pytest.UsageError` naming the fix.
The settings are computed in `pytest_configure` and kept in `config.stash[SETTINGS_KEY]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reactor_harness.checks.sizes.baseline import BASELINE_FILE_NAME, UPDATE_OPTION
from reactor_harness.core.cache import DEFAULT_CACHE_DIR as DEFAULT_RESULTS_CACHE_DIR
from reactor_harness.core.environment import Environment
from reactor_harness.core.errors import FamilyError, PlatformError
from reactor_harness.core.platforms import Platform, native_platform, parse_platforms
from reactor_harness.family.discovery import Family
from reactor_harness.plugin import workers

SETTINGS_KEY = pytest.StashKey["HarnessSettings"]()
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
DEFAULT_IGNOREFILE = ".trivyignore.yaml"
DEFAULT_CACHE_DIR = ".cache/trivy"


@dataclass(frozen=True)
class SecuritySettings:
    """The security gate's options, validated once."""

    ignorefile: Path
    cache_dir: Path
    ignore_unfixed: bool
    require_vulnerability_db: bool
    update_vulnerability_db: bool


@dataclass(frozen=True)
class SizeSettings:
    """The size checks' options: the baseline file and whether this run rewrites it."""

    baseline: Path
    update_baseline: bool


@dataclass(frozen=True)
class CacheSettings:
    """Where results that survive runs are kept (layer sizes, Trivy scans, tool caches), and whether to use them."""

    directory: Path = Path(DEFAULT_RESULTS_CACHE_DIR)
    use_results: bool = True  # False: --no-cache-results, every size and scan is recomputed (and not stored)
    replay: bool = True  # False: --no-replay, no verdict is replayed (plugin.replay; never in strict mode anyway)


@dataclass(frozen=True)
class HarnessSettings:
    """The run's configuration, validated once from options, ini values and environment."""

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
    worker: str  # the xdist worker's id, or "main"
    security: SecuritySettings
    sizes: SizeSettings
    rebuild: bool = False  # --rebuild: no build cache, fresh package indices, a package diff per image
    prebuilt: bool = False  # --prebuilt: check the images the local tags name, build nothing
    # $REACTOR_REQUIRE_NATIVE: platforms this run must run natively (the workflow's native runner jobs set it),
    # so a check that cannot run under emulation fails here instead of not applying (plugin.outcomes.needs_native).
    require_native: tuple[Platform, ...] = ()
    cache: CacheSettings = field(default_factory=CacheSettings)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reactor", "Reactor image harness")
    group.addoption(
        "--platform",
        dest="reactor_platform",
        default=None,
        help="platforms to build and check: a comma list (linux/amd64,linux/arm64), 'all', or empty for the "
        "native one (default: $REACTOR_PLATFORMS, else ini reactor_platforms, else native)",
    )
    group.addoption(
        "--images",
        dest="reactor_images",
        default=None,
        help="comma list of family images to check (default: $REACTOR_IMAGES, else every image under "
        "--images-dir); their parents are built as needed",
    )
    group.addoption(
        "--images-dir",
        dest="reactor_images_dir",
        default=None,
        help="the image family's folder (default: ini reactor_images_dir, else images)",
    )
    group.addoption(
        "--reports-dir",
        dest="reactor_reports_dir",
        default=None,
        help="where build logs and reports are written (default: ini reactor_reports_dir, else reports)",
    )
    group.addoption(
        "--build-ca-bundle",
        dest="reactor_ca_bundle",
        default=None,
        help="CA bundle passed to builds as the BuildKit secret 'build-ca' (for TLS-intercepting proxies); default: "
        "$REACTOR_BUILD_CA_BUNDLE, else $SSL_CERT_FILE, else the system bundle if present; 'none' disables it",
    )
    group.addoption(
        "--reactor-strict",
        dest="reactor_strict",
        action="store_true",
        default=False,
        help="strict mode: what cannot run here (no engine, no emulation) fails instead of skipping "
        "(on when CI=true; pytest's own --strict turns it on too)",
    )
    group.addoption(
        "--reactor-cache-dir",
        dest="reactor_cache_dir",
        default=None,
        help="where results that survive runs are kept: layer sizes by diff_id, Trivy scans by image id and "
        f"inputs, the go image's build cache (default: $REACTOR_CACHE_DIR, else {DEFAULT_RESULTS_CACHE_DIR})",
    )
    group.addoption(
        "--no-cache-results",
        dest="reactor_no_cache_results",
        action="store_true",
        default=False,
        help="measure every layer and run every Trivy scan afresh, ignoring and not writing the results cache "
        "(no verdict is replayed either)",
    )
    group.addoption(
        "--no-replay",
        dest="reactor_no_replay",
        action="store_true",
        default=False,
        help="run every test, even one that passed before with nothing it depends on changed since (strict mode, "
        "on CI, never replays)",
    )
    parser.addini("reactor_images_dir", "the image family's folder (default: images)", default="images")
    parser.addini(
        "reactor_reports_dir", "where build logs and reports are written (default: reports)", default="reports"
    )
    parser.addini("reactor_platforms", "default platforms, as for --platform (default: native)", default="")
    group.addoption(
        "--prebuilt",
        dest="reactor_prebuilt",
        action="store_true",
        default=False,
        help="build nothing: check the images the local tags (reactor-test/<image>:<os>-<arch>, or "
        "$REACTOR_LOCAL_REPOSITORY's) name now, e.g. ones an earlier run or a release job built; a missing tag "
        "fails that image's tests",
    )
    group.addoption(
        "--rebuild",
        dest="reactor_rebuild",
        action="store_true",
        default=False,
        help="build every requested image without the build cache, so apt reads fresh indices and Debian's "
        "security revisions land; the report lists each image's Debian packages changed against its previous build",
    )

    sizes = parser.getgroup("reactor-sizes", "Reactor image sizes")
    sizes.addoption(
        UPDATE_OPTION,
        dest="reactor_update_size_baseline",
        action="store_true",
        default=False,
        help="accept the measured sizes: rewrite their entries in the size baseline (others are kept) instead of "
        "failing on growth or a missing entry; commit the diff",
    )
    sizes.addoption(
        "--size-baseline",
        dest="reactor_size_baseline",
        default=None,
        help=f"the committed size baseline file (default: {BASELINE_FILE_NAME} in the images folder)",
    )

    security = parser.getgroup("reactor-security", "Reactor security gate (Trivy)")
    security.addoption(
        "--ignore-unfixed",
        dest="reactor_ignore_unfixed",
        action="store_true",
        default=None,
        help="like Trivy's --ignore-unfixed: HIGH/CRITICAL vulnerabilities without a fixed version do not fail "
        "(default: $REACTOR_IGNORE_UNFIXED, else off: unfixed ones fail unless accepted)",
    )
    security.addoption(
        "--require-vuln-db",
        dest="reactor_require_vuln_db",
        action="store_true",
        default=False,
        help="fail, instead of skipping, when Trivy's vulnerability DB is neither cached nor downloadable "
        "(for CI that can download it, e.g. GitHub Actions)",
    )
    security.addoption(
        "--skip-vuln-db-update",
        dest="reactor_skip_vuln_db_update",
        action="store_true",
        default=False,
        help="use the cached vulnerability DB as it is, never download or refresh it",
    )
    security.addoption(
        "--trivy-ignorefile",
        dest="reactor_trivy_ignorefile",
        default=DEFAULT_IGNOREFILE,
        help="the accepted risks, in Trivy's .trivyignore.yaml format (default: .trivyignore.yaml at the root)",
    )
    security.addoption(
        "--trivy-cache-dir",
        dest="reactor_trivy_cache_dir",
        default=None,
        help="Trivy's cache: the vulnerability DB in <dir>/db and one scan cache per worker "
        f"(default: $REACTOR_TRIVY_CACHE_DIR, else {DEFAULT_CACHE_DIR})",
    )


def ca_bundle(option: str | None, environment: Environment) -> Path | None:
    """The CA bundle builds get: the option, $REACTOR_BUILD_CA_BUNDLE, $SSL_CERT_FILE, the system bundle."""
    candidates = [option, environment.build_ca_bundle, environment.ssl_cert_file, SYSTEM_CA_BUNDLE]
    for candidate in candidates:
        if candidate is None or candidate == "":
            continue
        if candidate.lower() == "none":
            return None
        path = Path(candidate)
        if path.is_file():
            return path
        if candidate in (option, environment.build_ca_bundle):
            raise pytest.UsageError(f"--build-ca-bundle {candidate}: no such file (give a PEM bundle, or 'none')")
    return None


def _option_or(option: str | None, fallback: str | None) -> str | None:
    """The option when given (even empty, which means "none chosen"), else the fallback."""
    return fallback if option is None else option


def _selected_images(option: str | None, images_dir: Path) -> tuple[str, ...] | None:
    if not option:
        return None
    selected = tuple(name.strip() for name in option.split(",") if name.strip())
    if not selected:
        raise pytest.UsageError("--images: give a comma list of image names, e.g. --images base,python")
    try:
        family = Family.discover(images_dir)
        for name in selected:
            family[name]  # an unknown name is a FamilyError naming the known ones
    except FamilyError as error:
        raise pytest.UsageError(f"--images: {error}") from error
    return selected


def require_native(value: str | None) -> tuple[Platform, ...]:
    """The platforms of $REACTOR_REQUIRE_NATIVE (a comma list or 'all'; empty: none)."""
    if value is None or not value.strip():
        return ()
    try:
        return tuple(parse_platforms(value, native_platform()))
    except PlatformError as error:
        raise pytest.UsageError(f"$REACTOR_REQUIRE_NATIVE: {error}") from error


def _security(config: pytest.Config, environment: Environment) -> SecuritySettings:
    root = config.rootpath
    # A missing ignore file fails the security tests that read it (accepted_risks), not every run of the suite.
    ignorefile = root / config.getoption("reactor_trivy_ignorefile")
    cache_option = config.getoption("reactor_trivy_cache_dir") or environment.trivy_cache_dir or DEFAULT_CACHE_DIR
    cache_dir = (root / cache_option).resolve()
    if cache_dir.exists() and not cache_dir.is_dir():
        raise pytest.UsageError(f"--trivy-cache-dir {cache_dir}: exists and is not a folder")
    ignore_unfixed = config.getoption("reactor_ignore_unfixed")
    return SecuritySettings(
        ignorefile=ignorefile.resolve(),
        cache_dir=cache_dir,
        ignore_unfixed=environment.ignore_unfixed if ignore_unfixed is None else bool(ignore_unfixed),
        require_vulnerability_db=bool(config.getoption("reactor_require_vuln_db")),
        update_vulnerability_db=not config.getoption("reactor_skip_vuln_db_update"),
    )


def _sizes(config: pytest.Config, images_dir: Path) -> SizeSettings:
    option: str | None = config.getoption("reactor_size_baseline")
    baseline = (config.rootpath / option).resolve() if option else images_dir / BASELINE_FILE_NAME
    return SizeSettings(baseline=baseline, update_baseline=bool(config.getoption("reactor_update_size_baseline")))


def _cache(config: pytest.Config, environment: Environment) -> CacheSettings:
    option = config.getoption("reactor_cache_dir") or environment.cache_dir or DEFAULT_RESULTS_CACHE_DIR
    directory = (config.rootpath / option).resolve()
    if directory.exists() and not directory.is_dir():
        raise pytest.UsageError(f"--reactor-cache-dir {directory}: exists and is not a folder; give a folder")
    return CacheSettings(
        directory=directory,
        use_results=not config.getoption("reactor_no_cache_results"),
        replay=not config.getoption("reactor_no_replay"),
    )


def settings_from_config(config: pytest.Config, environment: Environment | None = None) -> HarnessSettings:
    """Validate options, ini values and environment into HarnessSettings; pytest.UsageError on bad input."""
    environment = Environment.read() if environment is None else environment
    root = config.rootpath
    platform_value = config.getoption("reactor_platform")
    if platform_value is None:
        platform_value = environment.platforms or config.getini("reactor_platforms")
    try:
        native = native_platform()
        platforms = tuple(parse_platforms(platform_value or None, native))
    except PlatformError as error:
        raise pytest.UsageError(f"--platform: {error}") from error
    images_dir = (root / (config.getoption("reactor_images_dir") or config.getini("reactor_images_dir"))).resolve()
    reports_dir = (root / (config.getoption("reactor_reports_dir") or config.getini("reactor_reports_dir"))).resolve()
    # pytest's own --strict is honoured too (older command lines use it); --reactor-strict is the harness's switch.
    strict = bool(config.getoption("reactor_strict")) or bool(config.getoption("strict", default=False))
    if config.getoption("reactor_prebuilt") and config.getoption("reactor_rebuild"):
        raise pytest.UsageError("--prebuilt builds nothing and --rebuild builds everything afresh: choose one")
    return HarnessSettings(
        root=root,
        images_dir=images_dir,
        reports_dir=reports_dir,
        platforms=platforms,
        native=native,
        strict=strict or environment.ci,
        selected_images=_selected_images(
            _option_or(config.getoption("reactor_images"), environment.images), images_dir
        ),
        ca_bundle=ca_bundle(config.getoption("reactor_ca_bundle"), environment),
        run_id=workers.run_id(config),
        owner_pid=workers.owner_pid(config),
        worker=workers.worker_id(config) or "main",
        security=_security(config, environment),
        sizes=_sizes(config, images_dir),
        rebuild=bool(config.getoption("reactor_rebuild")),
        prebuilt=bool(config.getoption("reactor_prebuilt")),
        require_native=require_native(environment.require_native),
        cache=_cache(config, environment),
    )


def default_reports(config: pytest.Config, settings: HarnessSettings) -> None:
    """An HTML report and JUnit XML in the reports folder unless the command line chose others."""
    if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
        config.option.htmlpath = str(settings.reports_dir / "report.html")
        config.option.self_contained_html = True
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(settings.reports_dir / "junit.xml")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate the settings first (other plugins' configure hooks read them), before pytest-html and
    junitxml read their report paths."""
    settings = settings_from_config(config)
    config.stash[SETTINGS_KEY] = settings
    default_reports(config, settings)


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS_KEY]
    return [
        f"reactor: platforms {', '.join(map(str, settings.platforms))} (native {settings.native}); "
        f"strict {'on' if settings.strict else 'off'}; run {settings.run_id}; reports in {settings.reports_dir}"
    ]


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> HarnessSettings:
    """The validated run configuration. Override to pin settings in a test suite of your own."""
    return pytestconfig.stash[SETTINGS_KEY]
