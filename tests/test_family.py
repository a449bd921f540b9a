"""The contract every image of the family keeps (official-images "global tests"): user, workdir,
entrypoint, labels. Applied once to every image × platform, not copied per image."""

from __future__ import annotations

import time

import pytest

from reactor_harness.core.containers import WaitTimeout, wait_until
from reactor_harness.core.engine import assert_succeeded
from reactor_harness.core.revision import UNKNOWN_REVISION
from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.release.vouch import is_commit

pytestmark = pytest.mark.family

OCI_LABELS = ("title", "description", "source", "version", "revision", "licenses")


@pytest.fixture
def image_config(engine, built_image):
    details = engine.inspect_image(built_image.tag)
    assert details is not None, f"{built_image}: {built_image.tag} vanished from the engine"
    return details["Config"]


def test_runs_as_claude_with_uid_and_gid_1000(image_user_host, built_image):
    """The default user is the non-root claude, UID 1000 / GID 1000."""
    user = image_user_host.user()  # the image's own USER, not an explicit one
    found = (user.name, user.uid, user.group, user.gid)
    assert found == ("claude", 1000, "claude", 1000), (
        f"{built_image}: the image's user is {user.name} (uid {user.uid}), group {user.group} (gid {user.gid}); "
        "expected claude (uid 1000), group claude (gid 1000)"
    )
    assert image_user_host.group("claude").gid == 1000, f"{built_image}: group claude is not GID 1000"


def test_workdir_is_workspace_owned_by_claude(host, built_image, image_config):
    """The working directory is /workspace and claude owns it."""
    assert image_config["WorkingDir"] == "/workspace"
    workspace = host.file("/workspace")
    assert workspace.is_directory, f"{built_image}: /workspace is not a directory"
    assert f"{workspace.user}:{workspace.group}" == "claude:claude", f"{built_image}: /workspace's owner"


def test_entrypoint_is_the_shared_one_under_tini(image_config):
    """Every image keeps base's entrypoint: tini as PID 1 running reactor-entrypoint."""
    assert image_config["Entrypoint"] == ["/usr/bin/tini", "--", "/usr/local/bin/reactor-entrypoint"]


def test_oci_labels_name_this_image(image_config, built_image, harness_settings):
    """Every OCI label is set, the title names this image, and the revision is the commit built."""
    labels = image_config.get("Labels") or {}
    missing = [key for key in OCI_LABELS if not labels.get(f"org.opencontainers.image.{key}")]
    assert not missing, f"{built_image}: missing OCI labels {missing}"
    assert labels["org.opencontainers.image.title"] == f"reactor-{built_image.name}"
    # The revision must be a real commit (not "unknown", which compared with itself before), and the label
    # must carry what the run passed; git is asked once per run (a commit made mid-run would move HEAD).
    revision = built_image.outcome.build_args.get("VCS_REF", UNKNOWN_REVISION)
    if not is_commit(revision):
        skip_or_fail(harness_settings, f"{built_image}: built with VCS_REF={revision!r}: run from a git checkout")
    assert labels["org.opencontainers.image.revision"] == revision


def test_entrypoint_stays_alive_without_a_tty(container, engine, host):
    """With no command and no TTY the container keeps running under tini as PID 1, so `docker exec` works."""
    state = engine.container_state(container.id)
    assert state is not None, f"{container} vanished"
    assert state["Running"], f"{container} is not running: {state}"
    init = host.process.get(pid=1)
    assert init.comm == "tini", f"{container}: PID 1 is {init.comm!r} ({init.args!r}), not tini"


def test_entrypoint_execs_the_command(engine, built_image, container_spec):
    """A command replaces the entrypoint script: it runs as tini's direct child and its output comes back."""
    result = engine.run_once(container_spec(["sh", "-c", "echo ran; cut -d' ' -f4 /proc/$$/stat"]))
    assert_succeeded(result, f"{built_image}: docker run IMAGE COMMAND")
    assert result.stdout.split() == ["ran", "1"], result.describe()


def test_entrypoint_stops_promptly_on_sigterm(engine, built_image, container_spec):
    """`docker stop` ends an idle container at once with exit code 0, not after the 10 s kill timeout."""
    container_id = engine.run_detached(container_spec())
    try:
        # Stop it once it is idle: a signal that arrives before tini and the entrypoint have set up their
        # handlers (seconds, under emulation) is a start-up race, not the behaviour under test.
        wait_until(
            lambda: (engine.exec(container_id, ["pgrep", "-x", "sleep"]).succeeded, "entrypoint not idle yet"),
            timeout=60,
            what=f"{built_image}: the idle entrypoint",
        )
        started = time.monotonic()
        stopped = engine.stop(container_id, timeout_seconds=10)
        elapsed = time.monotonic() - started
        assert_succeeded(stopped, f"{built_image}: docker stop")
        state = engine.container_state(container_id)
        assert state is not None, f"{built_image}: container {container_id} vanished"
        assert state["ExitCode"] == 0, f"{built_image}: exit state {state}"
        assert elapsed < 5, f"{built_image}: docker stop took {elapsed:.1f}s (SIGTERM ignored?)"
    finally:
        engine.remove_containers([container_id])


def test_entrypoint_opens_a_login_shell_on_a_tty(engine, built_image, container_spec):
    """With a TTY and no command, the entrypoint becomes `bash -l` (tini's child), not the idle loop.

    The process is identified by what it is (its comm, and its argv ending in `bash -l`), not by its whole
    command line: under Debian's qemu binfmt handler that line starts with the emulator. The child is read until
    it is settled: caught mid-exec (slow under emulation), its comm can still be the entrypoint's while its
    argv is already bash's.
    """
    container_id = engine.run_detached(container_spec(), tty=True)
    # Prints tini's child as `comm|argv` with the argv's NULs as spaces.
    describe_child = (
        'pid=$(ps -o pid= --ppid 1 | head -n 1 | tr -d " "); [ -n "$pid" ] || exit 1; '
        'printf "%s|%s" "$(cat /proc/$pid/comm)" "$(tr "\\0" " " < /proc/$pid/cmdline)"'
    )
    try:

        def login_shell() -> tuple[bool, str]:
            result = engine.exec(container_id, ["sh", "-c", describe_child])
            if not (result.succeeded and "|" in result.stdout):
                return False, result.describe()
            comm, _, argv = result.stdout.strip().partition("|")
            return comm == "bash" and argv.split()[-2:] == ["bash", "-l"], f"{comm!r} running {argv!r}"

        try:
            wait_until(login_shell, timeout=60, what=f"{built_image}: `bash -l` as tini's child on a TTY")
        except WaitTimeout as error:
            pytest.fail(f"{error} (the entrypoint did not become a login shell)", pytrace=False)
    finally:
        engine.remove_containers([container_id])
