"""A project from the host, whoever owns it: a folder mounted at /workspace is usable by claude when it
belongs to UID 1000, and, with the documented switch (`--user root -e REACTOR_MATCH_WORKSPACE_OWNER=true`),
when it belongs to any other UID, as a CI runner's checkout (1001) does. git accepts the workspace either
way, and tini stays PID 1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reactor_harness.core.engine import assert_failed, assert_succeeded
from reactor_harness.plugin.outcomes import skip_or_fail

pytestmark = pytest.mark.family

SWITCH = {"REACTOR_MATCH_WORKSPACE_OWNER": "true"}
# What a person does first in a project: write a file, make a repository, ask git about it.
WORK = (
    "id -u; id -g; cat /proc/1/comm; "
    "touch /workspace/made-in-container && git init -q /workspace/repo && git -C /workspace/repo status --short "
    "&& echo workspace-usable"
)


@pytest.fixture
def host_project(tmp_path, harness_settings):
    """A factory: a host folder owned by the given UID/GID, as a project checkout mounted into a container."""

    def make(uid: int, gid: int) -> Path:
        if os.geteuid() != 0:
            skip_or_fail(harness_settings, f"making a folder owned by UID {uid} needs root on the host (run as root)")
        folder = tmp_path / f"project-{uid}"
        folder.mkdir()
        folder.chmod(0o755)
        os.chown(folder, uid, gid)
        return folder

    return make


def _run(engine, container_spec, folder: Path, *, environment=None, user=None):
    spec = container_spec(
        ["sh", "-c", WORK], environment=environment or {}, volumes=[f"{folder}:/workspace"], user=user
    )
    return engine.run_once(spec, timeout=180)


@pytest.mark.parametrize("uid", [1000, 1234], ids=lambda uid: f"owner-{uid}")
def test_switch_makes_a_workspace_of_any_owner_usable(engine, built_image, container_spec, host_project, uid):
    """With the switch, claude takes the folder owner's UID/GID: files it makes belong to the owner on the
    host, git works in it, and tini is still PID 1."""
    folder = host_project(uid, uid)
    result = _run(engine, container_spec, folder, environment=SWITCH, user="root")
    assert_succeeded(result, f"{built_image}: work in a /workspace owned by {uid} with the switch")
    assert result.stdout.split()[:4] == [str(uid), str(uid), "tini", "workspace-usable"], result.describe()
    made = (folder / "made-in-container").stat()
    assert (made.st_uid, made.st_gid) == (uid, uid), f"{built_image}: the file belongs to {made.st_uid}:{made.st_gid}"


def test_without_the_switch_a_foreign_workspace_is_read_only_but_git_accepts_it(
    engine, built_image, container_spec, host_project
):
    """Without the switch claude (1000) cannot write a folder owned by 1234 (why the switch exists), while
    git reads a repository there without a "dubious ownership" refusal."""
    folder = host_project(1234, 1234)

    def run(command: str, user: str | None = None):
        return engine.run_once(container_spec(["sh", "-c", command], volumes=[f"{folder}:/workspace"], user=user))

    made = run("git init -q /workspace/repo && chown -R 1234:1234 /workspace/repo", user="root")
    assert_succeeded(made, f"{built_image}: a repository owned by 1234")
    write = run("touch /workspace/made-in-container")
    assert_failed(write, f"{built_image}: writing a folder owned by 1234 as claude")
    assert "Permission denied" in write.stderr, write.describe()
    status = run("git -C /workspace/repo status --short && git -C /workspace/repo rev-parse --is-inside-work-tree")
    assert_succeeded(status, f"{built_image}: git status in a repository owned by 1234, as claude")
    assert status.stdout.strip().endswith("true"), status.describe()


def test_switch_without_root_says_how_to_use_it(engine, built_image, container_spec, host_project):
    """Asking for the switch in a container that starts as claude fails at once and names the fix."""
    folder = host_project(1234, 1234)
    result = _run(engine, container_spec, folder, environment=SWITCH)
    assert result.exit_status == 64, result.describe()
    assert "add --user root" in result.stderr, result.describe()
