"""One contract for the engine seam: the Docker SDK engine and the test suite's fake pass the same assertions.

The fake half runs anywhere; the SDK half needs the engine (it skips without one, and fails in strict mode)
and runs on the base image built in this run.
"""

from __future__ import annotations

import io
import tarfile
import uuid

import pytest

from fake_engine import FakeEngine
from reactor_harness.build.builder import local_tag
from reactor_harness.core.containers import run_labels
from reactor_harness.core.engine import LABEL_RUN
from reactor_harness.core.errors import EngineCommandError
from reactor_harness.core.protocols import ContainerEngine, ContainerSpec, EngineSeam, ImageEngine

pytestmark = pytest.mark.reads_images("base")  # the contract holds of this engine, run on base as tagged


@pytest.fixture(params=["fake", "sdk"])
def seam(request, harness_settings):
    """(engine, image tag, platform) for each implementation of the seam."""
    platform = harness_settings.native
    if request.param == "fake":
        tag = local_tag("base", platform)
        return FakeEngine(images={tag: {"Id": "sha256:" + "0" * 64, "Os": "linux"}}), tag, str(platform)
    return request.getfixturevalue("engine"), request.getfixturevalue("base_tag"), str(platform)


@pytest.fixture
def base_tag(family_builder, harness_settings):
    """The tag of base built in this run for the native platform (its build failure fails the test)."""
    outcome = family_builder.build("base", harness_settings.native)
    if not outcome.succeeded:
        pytest.fail(outcome.failure_report(), pytrace=False)
    return outcome.tag


@pytest.fixture
def labels():
    """Labels of a run of its own, so listing by label sees only this test's containers."""
    return run_labels(f"compliance-{uuid.uuid4().hex[:12]}")


def test_both_implement_the_protocols(seam):
    """The real engine and the fake are both an ImageEngine, a ContainerEngine and so an EngineSeam."""
    engine, _, _ = seam
    assert isinstance(engine, ImageEngine)
    assert isinstance(engine, ContainerEngine)
    assert isinstance(engine, EngineSeam)


def test_inspect_an_image_or_none(seam):
    """An image's inspect document carries its id; an absent image is None, not an error."""
    engine, tag, _ = seam
    assert str(engine.inspect_image(tag)["Id"]).startswith("sha256:")
    assert engine.inspect_image(f"{tag}-absent-{uuid.uuid4().hex[:8]}") is None


def test_exec_reports_status_output_user_workdir_environment_and_input(seam, labels):
    """exec returns the exit status and each stream, and honours user, workdir, environment and stdin."""
    engine, tag, platform = seam
    container = engine.run_detached(ContainerSpec(tag, platform, labels, ["sleep", "300"]))
    try:
        assert engine.exec(container, ["true"]).succeeded
        failed = engine.exec(container, ["false"])
        assert (failed.succeeded, failed.exit_status) == (False, 1)
        assert engine.exec(container, ["echo", "a", "b"]).stdout == "a b\n"
        assert engine.exec(container, ["id", "-un"], user="root").stdout == "root\n"
        assert engine.exec(container, ["pwd"], workdir="/tmp").stdout == "/tmp\n"
        assert engine.exec(container, ["printenv", "REACTOR_X"], environment={"REACTOR_X": "1"}).stdout == "1\n"
        assert engine.exec(container, ["cat"], input_bytes=b"piped\n").stdout == "piped\n"
        missing = engine.exec(container, ["no-such-program"])
        assert not missing.succeeded
        assert "no-such-program" in missing.stdout + missing.stderr
        assert "no-such-program" in " ".join(missing.command)
    finally:
        engine.remove_containers([container])


def test_run_in_shell_answers_as_exec_does(seam, labels):
    """A script through the kept shell gives exec's exit status and streams, as the user asked for."""
    engine, tag, platform = seam
    container = engine.run_detached(ContainerSpec(tag, platform, labels, ["sleep", "300"]))
    try:
        for script, user in [("true", None), ("false", None), ("echo 'a  b'", None), ("id -un", "root"), ("pwd", None),
                             ("cat", None), ("no-such-program --version", None), ("id -un", None)]:  # fmt: skip
            shell = engine.run_in_shell(container, script, user=user)
            exec_ = engine.exec(container, ["/bin/sh", "-c", script], user=user)
            assert (shell.exit_status, shell.stdout, shell.stderr) == (exec_.exit_status, exec_.stdout, exec_.stderr)
            assert script in shell.command
        assert engine.run_in_shell(container, "id -un", user="root").stdout == "root\n"
    finally:
        engine.remove_containers([container])
    gone = engine.run_in_shell(container, "true")
    assert not gone.succeeded, "a removed container's kept shell must not answer"


def test_copy_into_a_new_path(seam, labels, tmp_path):
    """copy_into puts a host file at a path that did not exist in the container."""
    engine, tag, platform = seam
    source = tmp_path / "note.txt"
    source.write_text("copied\n")
    container = engine.run_detached(ContainerSpec(tag, platform, labels, ["sleep", "300"]))
    try:
        engine.copy_into(container, source, "/tmp/copied-note.txt")
        assert engine.exec(container, ["cat", "/tmp/copied-note.txt"]).stdout == "copied\n"
    finally:
        engine.remove_containers([container])


def test_containers_are_found_stopped_and_removed_by_label(seam, labels):
    """A labelled container is listed with its labels, stops, and is gone after removal."""
    engine, tag, platform = seam
    container = engine.run_detached(ContainerSpec(tag, platform, labels, ["sleep", "300"]))
    listed = engine.containers_with_label(f"{LABEL_RUN}={labels[LABEL_RUN]}")
    assert [(entry["id"], entry[LABEL_RUN]) for entry in listed] == [(container, labels[LABEL_RUN])]
    assert engine.container_state(container)["Running"] is True
    assert engine.stop(container, timeout_seconds=1).succeeded
    assert engine.container_state(container)["Running"] is False
    assert not engine.exec(container, ["true"]).succeeded
    assert engine.remove_containers([container]) == [container]
    assert engine.containers_with_label(f"{LABEL_RUN}={labels[LABEL_RUN]}") == []
    assert engine.container_state(container) is None
    assert engine.remove_containers([container]) == []


def test_run_once_returns_the_result_and_leaves_no_container(seam, labels):
    """A one-shot container gives its command's output and exit status, then is removed."""
    engine, tag, platform = seam
    result = engine.run_once(ContainerSpec(tag, platform, labels, ["echo", "once"]))
    assert (result.exit_status, result.stdout) == (0, "once\n")
    assert engine.containers_with_label(f"{LABEL_RUN}={labels[LABEL_RUN]}") == []


def test_tag_save_and_remove_images(seam):
    """A tag is inspectable, saves as a tarball with a manifest, and is removed (absent ones are skipped)."""
    engine, tag, _ = seam
    copy = f"{tag}-compliance-{uuid.uuid4().hex[:8]}"
    engine.tag(tag, copy)
    try:
        assert engine.inspect_image(copy)["Id"] == engine.inspect_image(tag)["Id"]
        archive = b"".join(engine.save_stream([copy]))
        with tarfile.open(fileobj=io.BytesIO(archive)) as saved:
            assert "manifest.json" in saved.getnames()
    finally:
        assert engine.remove_images([copy, f"{copy}-absent"]) == [copy]
    assert engine.inspect_image(copy) is None


# -- the SDK's kept shell: what a real shell can say, and how the session ends ------------------------------


@pytest.fixture
def sdk_container(engine, base_tag, harness_settings, labels):
    container = engine.run_detached(ContainerSpec(base_tag, str(harness_settings.native), labels, ["sleep", "300"]))
    yield engine, container
    engine.remove_containers([container])


SHELL_SCRIPTS = {
    "both streams and a status": "echo out; echo err >&2; exit 3",
    "NUL bytes and no newline": "printf 'a\\0b\\0'",
    "a megabyte": "head -c 1048576 /dev/zero | tr '\\0' x",
    "lines that look like the protocol": "printf '0 5 0\\nhello\\n'",
    "stdin is empty, as exec has none": "cat; echo done",
    "several lines": "for n in 1 2 3; do\n  echo $n\ndone",
    "the image's environment and workdir": 'printf "%s|%s|%s" "$HOME" "$PATH" "$PWD"',
    "no shell state carried over": 'printf "[%s]" "$d$s"; cd /tmp; x=1',
}


@pytest.mark.parametrize("script", SHELL_SCRIPTS.values(), ids=SHELL_SCRIPTS.keys())
def test_the_kept_shell_answers_whatever_a_script_prints_as_exec_does(sdk_container, script):
    engine, container = sdk_container
    for user in (None, "root"):
        for _ in range(2):  # the second time through the same kept shell
            shell = engine.run_in_shell(container, script, user=user)
            exec_ = engine.exec(container, ["/bin/sh", "-c", script], user=user)
            assert (shell.exit_status, shell.stdout, shell.stderr) == (exec_.exit_status, exec_.stdout, exec_.stderr)


def test_a_script_that_outlives_its_timeout_fails_and_the_next_one_gets_a_new_shell(sdk_container):
    engine, container = sdk_container
    with pytest.raises(EngineCommandError, match=r"timed out after 1(\.0)?s"):
        engine.run_in_shell(container, "sleep 30", timeout=1)
    assert engine.run_in_shell(container, "echo again").stdout == "again\n"


def test_a_shell_that_died_is_replaced(sdk_container):
    engine, container = sdk_container
    assert engine.run_in_shell(container, "echo first").stdout == "first\n"
    engine.exec(container, ["pkill", "-KILL", "-x", "sh"], user="root")  # every shell of the container, kept or not
    assert engine.run_in_shell(container, "echo second").stdout == "second\n"


def test_a_script_that_removes_the_shells_folder_is_reported_not_rerun(sdk_container):
    """The script ran, but its answer is gone with the folder: it fails saying so, runs once, and the next
    script gets a working folder again."""
    engine, container = sdk_container
    engine.run_in_shell(container, "true", user="root")  # the root shell and its folder exist
    result = engine.run_in_shell(container, "echo ran >> /run/reactor-ran; rm -rf /tmp/tmp.*", user="root")
    assert result.exit_status == -1, result.describe()
    assert "could not be read" in result.stderr
    assert "not run again" in result.stderr
    assert engine.exec(container, ["cat", "/run/reactor-ran"], user="root").stdout == "ran\n"
    assert engine.run_in_shell(container, "echo next", user="root").stdout == "next\n"
