"""The results cache that survives runs: content keys, entries that cannot be trusted, unwritable folders,
workers racing for one key, and the scan results kept in it (sizes: test_sizes_cache.py). No engine, no Trivy.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import multiprocessing
import os
from pathlib import Path

import pytest

from fake_engine import FakeEngine
from reactor_harness.checks.security.scan import ImageScanRecord
from reactor_harness.checks.security.stored import cached_scan, scan_key
from reactor_harness.checks.sizes.policy import SizePolicy
from reactor_harness.core import files as files_module
from reactor_harness.core.cache import CACHE_FORMAT, CacheNotices, ResultCache
from reactor_harness.core.commands import CommandResult
from reactor_harness.core.containers import ToolCache, mount_tool_caches, warm_tool_caches_natively
from reactor_harness.family.policy import load_policy

REPOSITORY = Path(__file__).parents[2]
POLICY = SizePolicy.from_family(load_policy(REPOSITORY / "images"))
KEY = {"diff_id": "sha256:abc", "code": "1"}


def cache_in(folder: Path, tmp_path: Path, **options) -> ResultCache:
    return ResultCache(folder, notices=CacheNotices(tmp_path / "notices.jsonl"), version="1.0", **options)


def produce_counting(calls: list[int], value: int = 42):
    def produce() -> int:
        calls.append(value)
        return value

    return produce


def get(cache: ResultCache, calls: list[int], value: int = 42, key=KEY):
    return cache.get("things", key, produce_counting(calls, value), lambda v: {"n": v}, lambda d: int(d["n"]))


def test_a_value_is_computed_once_and_read_back_by_a_later_run(tmp_path):
    """A second cache object on the same folder (a later run) reads the value instead of computing it."""
    calls: list[int] = []
    first = get(cache_in(tmp_path / "c", tmp_path), calls)
    second = get(cache_in(tmp_path / "c", tmp_path), calls)
    assert (first.value, first.from_cache) == (42, False)
    assert (second.value, second.from_cache) == (42, True)
    assert calls == [42]


def test_another_key_is_another_entry(tmp_path):
    """Content keys: a changed input (another diff_id) is computed, never served the old value."""
    calls: list[int] = []
    cache = cache_in(tmp_path / "c", tmp_path)
    get(cache, calls, 1)
    other = get(cache, calls, 2, key={**KEY, "diff_id": "sha256:def"})
    assert (other.value, other.from_cache) == (2, False)


def test_no_cache_results_neither_reads_nor_writes(tmp_path):
    """--no-cache-results: every value is computed, and the folder is left alone."""
    calls: list[int] = []
    get(cache_in(tmp_path / "c", tmp_path), calls)
    bypassed = cache_in(tmp_path / "c", tmp_path, enabled=False)
    assert get(bypassed, calls).from_cache is False
    assert calls == [42, 42]
    assert not cache_in(tmp_path / "other", tmp_path, enabled=False).directory.exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="cut-short-by-a-killed-run"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: "[1, 2]", id="not-an-object"),
        pytest.param(lambda text: text.replace('"n":42', '"m":42'), id="value-of-another-shape"),
        pytest.param(lambda text: text.replace('"harness":"1.0"', '"harness":"0.9"'), id="another-harness-version"),
        pytest.param(lambda text: text.replace(f'"format":{CACHE_FORMAT}', '"format":0'), id="another-format"),
        pytest.param(lambda text: text.replace("sha256:abc", "sha256:zzz"), id="another-key"),
    ],
)
def test_an_entry_that_cannot_be_trusted_is_dropped_and_recomputed(tmp_path, damage):
    """A damaged or foreign entry is never used: it is recomputed, rewritten, and the run says so once."""
    calls: list[int] = []
    cache = cache_in(tmp_path / "c", tmp_path)
    get(cache, calls)
    path = cache.entry_path("things", KEY)
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    again = cache_in(tmp_path / "c", tmp_path)
    result = get(again, calls)
    assert (result.value, result.from_cache) == (42, False)
    assert calls == [42, 42]
    assert get(cache_in(tmp_path / "c", tmp_path), calls).from_cache is True  # the rewritten entry is whole
    notices = CacheNotices(tmp_path / "notices.jsonl").read()
    assert len(notices) == 1, notices
    assert "dropped things entries" in notices[0]


def test_damaged_entries_are_reported_once_not_once_each(tmp_path):
    """Several bad entries of one kind give one line in the run's summary, not one per entry."""
    cache = cache_in(tmp_path / "c", tmp_path)
    keys = [{**KEY, "diff_id": f"sha256:{n}"} for n in range(3)]
    for key in keys:
        get(cache, [], key=key)
        cache.entry_path("things", key).write_text("{", encoding="utf-8")
    for key in keys:
        assert get(cache_in(tmp_path / "c", tmp_path), [], key=key).from_cache is False
    assert len(CacheNotices(tmp_path / "notices.jsonl").read()) == 1


def test_a_folder_that_cannot_be_written_still_gives_correct_results(tmp_path):
    """The cache folder's place is taken by a file: values are computed and returned, the run says so once."""
    blocker = tmp_path / "c"
    blocker.write_text("not a folder", encoding="utf-8")
    calls: list[int] = []
    cache = cache_in(blocker / "results", tmp_path)
    assert [get(cache, calls).value for _ in range(2)] == [42, 42]
    notices = CacheNotices(tmp_path / "notices.jsonl").read()
    assert len(notices) == 1, notices
    assert "cannot be written" in notices[0]
    assert "--no-cache-results" in notices[0]


def test_a_read_only_folder_still_gives_correct_results(tmp_path, monkeypatch):
    """A read-only cache folder (as a non-root user sees it): computed, correct, said once."""
    folder = tmp_path / "c"
    calls: list[int] = []
    get(cache_in(folder, tmp_path), calls, key={**KEY, "diff_id": "sha256:old"})
    if os.geteuid() == 0:
        # Root writes through the modes below; refuse as the kernel refuses anyone else (EACCES).
        real_mkstemp = files_module.tempfile.mkstemp

        def refused(*args, **kwargs):
            if Path(kwargs.get("dir", "")).is_relative_to(folder):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            return real_mkstemp(*args, **kwargs)

        monkeypatch.setattr(files_module.tempfile, "mkstemp", refused)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)
    try:
        assert get(cache_in(folder, tmp_path), calls).value == 42
        assert get(cache_in(folder, tmp_path), calls, key={**KEY, "diff_id": "sha256:old"}).from_cache is True
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755)
    assert len(CacheNotices(tmp_path / "notices.jsonl").read()) == 1


def test_a_read_only_file_system_still_gives_correct_results(tmp_path, monkeypatch):
    """Writes fail with EROFS (a read-only mount, whoever runs): correct values, no partial file left, said once."""

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(files_module.os, "replace", read_only)
    calls: list[int] = []
    cache = cache_in(tmp_path / "c", tmp_path)
    assert [get(cache, calls).value for _ in range(2)] == [42, 42]
    assert not [path for path in (tmp_path / "c").rglob("*") if path.suffix in {".partial", ".json"}]
    notices = CacheNotices(tmp_path / "notices.jsonl").read()
    assert len(notices) == 1, notices
    assert "Read-only file system" in notices[0]


def _race(folder: str, counter: str, barrier) -> int:
    cache = ResultCache(Path(folder), version="1.0")
    barrier.wait()

    def produce() -> int:
        with open(counter, "a", encoding="utf-8") as handle:
            handle.write("x")
        return 7

    return cache.get("things", KEY, produce, lambda v: v, int).value


def test_workers_racing_for_one_key_compute_it_once(tmp_path):
    """Two processes (xdist workers) asking for one key at once: one computes, the other reads its entry."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    counter = tmp_path / "counter"
    processes = [context.Process(target=_race, args=(str(tmp_path / "c"), str(counter), barrier)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0]
    assert counter.read_text(encoding="utf-8") == "x"


# -- Trivy scans ------------------------------------------------------------------------------------


def _fake_scan(reports: Path, calls: list[str]):
    def scan() -> ImageScanRecord:
        calls.append("scan")
        stem = reports / "base-linux-amd64"
        for suffix, text in (
            (".json", '{"Results": []}'),
            (".sarif", '{"runs": []}'),
            (".cdx.json", '{"bomFormat": "CycloneDX"}'),
        ):
            stem.with_suffix(suffix).write_text(text, encoding="utf-8")
        return ImageScanRecord(
            image="base",
            platform="linux/amd64",
            report=str(stem.with_suffix(".json")),
            sarif=str(stem.with_suffix(".sarif")),
            sbom=str(stem.with_suffix(".cdx.json")),
            scanners=("secret",),
            vulnerability_db=False,
            duration_seconds=3.2,
            trivy_version="0.76.0",
            command=("trivy", "image"),
        )

    return scan


def _key(tmp_path: Path, **changes):
    ignorefile = tmp_path / ".trivyignore.yaml"
    if not ignorefile.exists():
        ignorefile.write_text("vulnerabilities: []\n", encoding="utf-8")
    arguments = {
        "image_id": "sha256:img",
        "trivy_version": "0.76.0",
        "db_cache_dir": None,
        "ignorefile": ignorefile,
        "ignore_unfixed": False,
    }
    return scan_key(**{**arguments, **changes})


def test_a_cached_scan_writes_the_same_outputs_into_this_runs_reports(tmp_path):
    """A later run with the same image, Trivy, DB and ignore file gets Trivy's outputs back without scanning,
    in its own reports folder, marked as coming from the cache."""
    calls: list[str] = []
    first_reports, second_reports = tmp_path / "r1", tmp_path / "r2"
    first_reports.mkdir()
    second_reports.mkdir()
    first = cached_scan(
        cache_in(tmp_path / "c", tmp_path),
        _key(tmp_path),
        _fake_scan(first_reports, calls),
        reports_dir=first_reports,
        stem="base-linux-amd64",
    )
    second = cached_scan(
        cache_in(tmp_path / "c", tmp_path),
        _key(tmp_path),
        _fake_scan(first_reports, calls),
        reports_dir=second_reports,
        stem="base-linux-amd64",
    )
    assert calls == ["scan"]
    assert (first.from_cache, second.from_cache, second.value.from_cache) == (False, True, True)
    assert Path(second.value.report).parent == second_reports
    for name in ("report", "sarif", "sbom"):
        assert Path(getattr(second.value, name)).read_bytes() == Path(getattr(first.value, name)).read_bytes()
    assert dataclasses.replace(second.value, report="", sarif="", sbom="", from_cache=False) == dataclasses.replace(
        first.value, report="", sarif="", sbom=""
    )


def test_every_input_of_a_scan_is_in_its_key(tmp_path):
    """Another Trivy, another DB, an edited ignore file, --ignore-unfixed or another image: another key."""
    base = _key(tmp_path)
    db = tmp_path / "trivy"
    (db / "db").mkdir(parents=True)
    (db / "db" / "metadata.json").write_text('{"Version": 2, "UpdatedAt": "2026-12-01T00:00:00Z"}', encoding="utf-8")
    with_db = _key(tmp_path, db_cache_dir=db)
    (db / "db" / "metadata.json").write_text('{"Version": 2, "UpdatedAt": "2026-12-02T00:00:00Z"}', encoding="utf-8")
    newer_db = _key(tmp_path, db_cache_dir=db)
    variants = [
        _key(tmp_path, trivy_version="0.77.0"),
        with_db,
        newer_db,
        _key(tmp_path, ignore_unfixed=True),
        _key(tmp_path, image_id="sha256:other"),
    ]
    (tmp_path / ".trivyignore.yaml").write_text("vulnerabilities:\n  - id: CVE-1\n", encoding="utf-8")
    variants.append(_key(tmp_path))
    assert len({json.dumps(key, sort_keys=True) for key in [base, *variants]}) == len(variants) + 1
    assert with_db["scanners"] == "vuln,secret"
    assert base["db"] == "no DB"


def test_a_cached_scan_cut_short_is_scanned_again(tmp_path):
    """A scan entry whose report does not parse is not trusted: Trivy runs again."""
    calls: list[str] = []
    reports = tmp_path / "r"
    reports.mkdir()
    cache = cache_in(tmp_path / "c", tmp_path)
    cached_scan(cache, _key(tmp_path), _fake_scan(reports, calls), reports_dir=reports, stem="base-linux-amd64")
    path = cache.entry_path("trivy-scans", _key(tmp_path))
    record = json.loads(path.read_text(encoding="utf-8"))
    record["value"]["report"] = '{"Results": ['
    path.write_text(json.dumps(record), encoding="utf-8")
    again = cached_scan(
        cache_in(tmp_path / "c", tmp_path),
        _key(tmp_path),
        _fake_scan(reports, calls),
        reports_dir=reports,
        stem="base-linux-amd64",
    )
    assert calls == ["scan", "scan"]
    assert again.from_cache is False
    assert json.loads(Path(again.value.report).read_text(encoding="utf-8")) == {"Results": []}


# -- the plugin's wiring ----------------------------------------------------------------------------

SETTINGS_TEST = """
def test_settings(harness_settings, results_cache):
    print("CACHE", harness_settings.cache.directory, harness_settings.cache.use_results, results_cache.enabled)
"""

NOTICE_TEST = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_notes(results_cache, n):
    results_cache.notices.note("results cache x cannot be written (Read-only file system)")
"""


@pytest.fixture
def plugin_suite(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("REACTOR_CACHE_DIR", raising=False)
    (pytester.path / "images" / "base").mkdir(parents=True)
    (pytester.path / "images" / "base" / "Dockerfile").write_text("FROM debian:trixie-slim\n")
    return pytester


def _run(pytester, *args):
    return pytester.runpytest("-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", "-s", *args)


def test_the_cache_options_reach_the_settings(plugin_suite):
    """--reactor-cache-dir and --no-cache-results reach the one settings object and the results cache."""
    plugin_suite.makepyfile(test_settings=SETTINGS_TEST)
    default = _run(plugin_suite)
    default.stdout.fnmatch_lines([f"*CACHE {plugin_suite.path / '.cache' / 'reactor'} True True"])
    chosen = _run(plugin_suite, "--reactor-cache-dir", "elsewhere", "--no-cache-results")
    chosen.stdout.fnmatch_lines([f"*CACHE {plugin_suite.path / 'elsewhere'} False False"])


def test_a_cache_dir_that_is_a_file_is_a_usage_error(plugin_suite):
    """--reactor-cache-dir naming a file stops the run with the cause and the fix."""
    plugin_suite.makepyfile(test_settings=SETTINGS_TEST)
    (plugin_suite.path / "afile").write_text("x")
    result = _run(plugin_suite, "--reactor-cache-dir", "afile")
    result.stderr.fnmatch_lines(["*--reactor-cache-dir *afile: exists and is not a folder; give a folder*"])


def test_a_cache_problem_is_said_once_in_the_summary(plugin_suite):
    """Met by several tests in two xdist workers, a cache problem is one line of the run's summary."""
    plugin_suite.makepyfile(test_notes=NOTICE_TEST)
    result = _run(plugin_suite, "-n", "2")
    result.assert_outcomes(passed=3)
    lines = [line for line in result.stdout.lines if "cannot be written (Read-only file system)" in line]
    assert len(lines) == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["*reactor caches*"])


# -- tool caches ------------------------------------------------------------------------------------


def test_tool_caches_are_per_platform_host_folders_under_the_cache_dir(tmp_path):
    """Each tool cache is a host folder per platform under <cache dir>/tools, mounted at the tool's path."""
    caches = (ToolCache("go-build", "/home/claude/.cache/go-build"),)
    volumes, mounted = mount_tool_caches(caches, tmp_path / "c", "linux-amd64")
    folder = tmp_path / "c" / "tools" / "go-build" / "linux-amd64"
    assert volumes == [f"{folder}:/home/claude/.cache/go-build"]
    assert mounted == list(caches)
    assert folder.is_dir()
    arm, _ = mount_tool_caches(caches, tmp_path / "c", "linux-arm64")
    assert arm != volumes


def test_an_unwritable_cache_dir_leaves_the_tool_cache_out(tmp_path):
    """When the host folder cannot be made, the container starts without that mount (the tool starts cold)."""
    (tmp_path / "c").write_text("a file", encoding="utf-8")
    volumes, mounted = mount_tool_caches((ToolCache("go-build", "/x"),), tmp_path / "c", "linux-amd64")
    assert (volumes, mounted) == ([], [])


class WarmupEngine(FakeEngine):
    """The fake engine, recording the containers started and the commands run; `go` exits `go_status`."""

    def __init__(self, go_status: int = 0) -> None:
        super().__init__(images={"reactor-test/go:linux-amd64": {"Id": "sha256:native"}})
        self.go_status = go_status
        self.specs: list = []
        self.calls: list[tuple] = []

    def run_detached(self, spec, *, tty=False):
        self.specs.append(spec)
        return super().run_detached(spec, tty=tty)

    def exec(self, container, argv, *, user=None, workdir=None, environment=None, input_bytes=None, timeout=600.0):
        self.calls.append((tuple(argv), user, dict(environment or {})))
        if argv[0] == "go":
            return CommandResult(tuple(argv), self.go_status, "", "cgo: C compiler not found" if self.go_status else "")
        return CommandResult(tuple(argv), 0, "", "")  # the hand-over of the mounted folders


GO_BUILD = ToolCache(
    "go-build",
    "/home/claude/.cache/go-build",
    warm_natively=("go", "build", "std"),
    warm_environment=(("GOARCH", "{arch}"), ("CGO_ENABLED", "0")),
)


def warm(engine, tmp_path, caches=(GO_BUILD,)):
    return warm_tool_caches_natively(
        engine, "reactor-test/go:linux-amd64", "linux/amd64", "arm64", "linux-arm64", caches, tmp_path / "c", {"l": "1"}
    )


def test_a_native_warm_up_fills_the_emulated_platforms_folder_as_its_owner(tmp_path):
    """The native image's container mounts the arm64 folder at the tool's path; the warm-up runs there as the
    cache's owner with GOARCH=arm64; then the container is gone."""
    engine = WarmupEngine()
    assert warm(engine, tmp_path) == []
    (spec,) = engine.specs
    folder = tmp_path / "c" / "tools" / "go-build" / "linux-arm64"
    assert (spec.image, spec.platform, list(spec.volumes)) == (
        "reactor-test/go:linux-amd64",
        "linux/amd64",
        [f"{folder}:/home/claude/.cache/go-build"],
    )
    assert engine.calls[-1] == (("go", "build", "std"), "claude", {"GOARCH": "arm64", "CGO_ENABLED": "0"})
    assert engine.containers == {}


def test_a_failed_warm_up_is_a_notice_and_the_container_is_still_removed(tmp_path):
    """A warm-up that fails names the cache, the command and its error; it costs time, never a result."""
    engine = WarmupEngine(go_status=1)
    (problem,) = warm(engine, tmp_path)
    for part in ("go-build for linux-arm64", "`go build std`", "exit 1"):
        assert part in problem
    assert "C compiler not found" in problem
    assert engine.containers == {}


def test_caches_without_a_warm_up_start_no_container(tmp_path):
    """Only caches that declare a warm-up are warmed: the analysers' caches are left alone."""
    engine = WarmupEngine()
    assert warm(engine, tmp_path, (ToolCache("staticcheck", "/home/claude/.cache/staticcheck"),)) == []
    assert engine.specs == []
