"""The pytest plugin, exercised with pytester: ids, option validation, no engine, unrunnable platforms."""

from __future__ import annotations

import gc
import stat
import weakref

import pytest

from reactor_harness.plugin import process

IMAGE_TEST = """
import pytest
pytestmark = pytest.mark.image("base")

def test_needs_the_image(built_image):
    assert built_image.name == "base"
"""


@pytest.fixture
def suite(pytester, monkeypatch):
    """A tiny repository: images/base/Dockerfile and one image check."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("REACTOR_PLATFORMS", raising=False)
    monkeypatch.delenv("REACTOR_IMAGES", raising=False)
    images = pytester.path / "images" / "base"
    images.mkdir(parents=True)
    (images / "Dockerfile").write_text("ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n")
    pytester.makepyfile(test_image=IMAGE_TEST)
    return pytester


@pytest.fixture
def no_engine(suite, monkeypatch):
    """A docker client that answers, and an engine socket where no daemon listens."""
    docker = suite.path / "fake-docker"
    docker.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  "version --format {{.Client.Version}}") echo 20.10.24 ;;\n'
        '  *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1 ;;\n'
        "esac\n"
    )
    docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("REACTOR_DOCKER_CLIENT", str(docker))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{suite.path}/no-engine.sock")
    return suite


def run(pytester, *args):
    return pytester.runpytest("-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", *args)


def test_ids_read_image_and_platform(suite):
    result = run(suite, "--collect-only", "-q", "--platform", "all")
    result.stdout.fnmatch_lines(
        [
            "test_image.py::test_needs_the_image[[]base-linux/amd64[]]",
            "test_image.py::test_needs_the_image[[]base-linux/arm64[]]",
        ]
    )


def test_a_bad_platform_is_a_usage_error(suite):
    result = run(suite, "--platform", "linux/mips")
    result.stderr.fnmatch_lines(["*--platform: unsupported platform 'linux/mips'*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_an_unknown_image_is_a_usage_error_naming_the_known_ones(suite):
    result = run(suite, "--images", "rust")
    result.stderr.fnmatch_lines(["*no image named 'rust'*known: base*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_no_engine_skips_locally_naming_the_setup_command(no_engine):
    result = run(no_engine, "-rs", "--platform", "linux/amd64")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no container engine answers*run ./setup*"])


def test_no_engine_fails_in_ci(no_engine, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = run(no_engine, "--platform", "linux/amd64")
    result.assert_outcomes(errors=1)  # the engine fixture fails, so the test errors in setup
    result.stdout.fnmatch_lines(["*no container engine answers*strict mode*"])


def test_no_engine_fails_with_pytest_strict(no_engine):
    result = run(no_engine, "--strict", "--platform", "linux/amd64")
    result.assert_outcomes(errors=1)


def test_an_unrunnable_platform_skips_locally_and_fails_strict(suite, monkeypatch):
    """A platform without a binfmt handler skips with the handler's name; strict turns that into a failure."""
    import reactor_harness.plugin.fixtures as plugin

    monkeypatch.setattr(plugin, "why_unrunnable", lambda platform, native: f"{platform} needs qemu-aarch64")
    # The engine fixture is not reached: the platform check comes first.
    result = run(suite, "-rs", "--platform", "linux/arm64")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*linux/arm64 needs qemu-aarch64*"])
    strict = run(suite, "--strict", "--platform", "linux/arm64")
    strict.assert_outcomes(errors=1)


def test_workers_share_the_controllers_run_id(suite):
    """Under xdist every worker gets the controller's run id (xdist's testrun_uid), so they label alike."""
    suite.makepyfile(
        test_ids="""
import pytest

@pytest.mark.parametrize("n", range(4))
def test_run_id(n, harness_settings, testrun_uid):
    assert harness_settings.run_id == testrun_uid
    print("RUN-ID", harness_settings.run_id)
"""
    )
    result = run(suite, "-n", "2", "-s", "test_ids.py", "--testrunuid", "fixed-run-7")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*run fixed-run-7;*"])  # the report header names the same run


def test_reactor_strict_turns_skips_into_failures(no_engine):
    """The harness's own --reactor-strict fails what would skip locally, like CI=true."""
    result = run(no_engine, "--reactor-strict", "--platform", "linux/amd64")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no container engine answers*strict mode*"])


def test_ini_values_set_the_images_and_reports_folders(suite):
    """reactor_images_dir / reactor_reports_dir in the ini file move the family and the reports."""
    (suite.path / "images").rename(suite.path / "family")
    suite.makeini("[pytest]\nreactor_images_dir = family\nreactor_reports_dir = out\n")
    result = run(suite, "--collect-only", "--platform", "linux/amd64")
    result.stdout.fnmatch_lines([f"*reports in {suite.path / 'out'}", "*test_needs_the_image[[]base-linux/amd64[]]*"])


def test_importing_the_library_imports_no_pytest_and_every_public_name_loads():
    """`import reactor_harness` stays free of pytest; each name in __all__ resolves to its module's object."""
    import subprocess
    import sys

    code = (
        "import sys, reactor_harness as r\n"
        "assert 'pytest' not in sys.modules, 'import reactor_harness imported pytest'\n"
        "missing = [n for n in r.__all__ if getattr(r, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


def test_no_sub_plugin_imports_from_the_entry_point():
    """The entry point only lists sub-plugins; none of them imports a name back from it."""
    from pathlib import Path

    import reactor_harness.plugin as plugin_package

    folder = Path(plugin_package.__file__).parent
    offenders = [
        path.name
        for path in sorted(folder.glob("*.py"))
        if path.name != "entry.py" and "reactor_harness.plugin.entry" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_prebuilt_and_rebuild_together_are_a_usage_error(suite):
    result = run(suite, "--prebuilt", "--rebuild")
    result.stderr.fnmatch_lines(["*--prebuilt builds nothing and --rebuild builds everything afresh: choose one*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_runs_long_lived_objects_leave_the_collectors_walks_and_new_garbage_does_not(pytestconfig):
    """After configure, what exists is frozen (the collector no longer walks it); a cycle a test makes later
    is still collected, so pytest's end-of-run collections find what they look for."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    process.pytest_configure(pytestconfig)
    assert gc.get_freeze_count() > 10_000  # the modules, classes and functions of every plugin
    cycle = _Cycle()
    alive = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert alive() is None
