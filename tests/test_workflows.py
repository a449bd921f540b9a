"""The GitHub workflows: clean under actionlint and zizmor, pinned, least-privileged, and gating before
they push (no engine needed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reactor_harness.core.environment import REQUIRE_NATIVE
from reactor_harness.core.platforms import SUPPORTED, Platform
from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.release.commands import run as release_cli
from reactor_harness.report.merge import reports_artifact

pytestmark = pytest.mark.engine_free

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT_ENV = "REACTOR_ACTIONLINT"
ACTIONLINT_BUILT_BY_SETUP = ROOT / ".cache" / "reactor" / "bin" / "actionlint"
GATE_COMMAND = 'pytest -n auto --platform "${PLATFORM}" --reactor-strict --require-vuln-db'
MERGE_COMMAND = "reactor report merge platform-reports/reports-* --out reports --platform all"
# GitHub's hosted runners of each architecture (`runner.arch` as GitHub spells it): the gate's native runners.
NATIVE_RUNNERS = {"linux/amd64": ("ubuntu-24.04", "X64"), "linux/arm64": ("ubuntu-24.04-arm", "ARM64")}
_USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?P<comment>.*)$", re.MULTILINE)


def _tool(harness_settings, name: str, *candidates: Path | str | None) -> str:
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    skip_or_fail(harness_settings, f"no {name}: run ./setup (it installs the pinned {name})")
    raise AssertionError("unreachable")


def _load(path: Path) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); the workflows' trigger map is under it.
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True)) or {}


@pytest.fixture(scope="module")
def images_workflow():
    return _load(ROOT / ".github" / "workflows" / "images.yml")


def test_the_workflows_exist():
    assert {path.name for path in WORKFLOWS} >= {"images.yml", "release.yml", "rollback.yml", "pins.yml", "rescan.yml"}


def test_actionlint_finds_nothing(harness_settings):
    actionlint = _tool(
        harness_settings,
        "actionlint",
        os.environ.get(ACTIONLINT_ENV),
        shutil.which("actionlint"),
        ACTIONLINT_BUILT_BY_SETUP,
    )
    result = subprocess.run(
        [actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_even_pedantic(harness_settings):
    zizmor = _tool(harness_settings, "zizmor", Path(sys.executable).parent / "zizmor", shutil.which("zizmor"))
    # --offline: the audits that ask GitHub's API (impostor commits, known-vulnerable actions) cannot run here.
    result = subprocess.run(
        [zizmor, "--offline", "--persona", "pedantic", "--no-progress", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit_with_its_version_noted(path):
    uses = list(_USES.finditer(path.read_text(encoding="utf-8")))
    loose = [
        match.group(0).strip()
        for match in uses
        if not re.fullmatch(r"[0-9a-f]{40}", match.group("ref"))
        or not re.search(r"#\s*v\d+\.\d+\.\d+", match.group("comment"))
    ]
    assert not loose, f"{path.name}: pin each action to a full commit SHA with a `# vX.Y.Z` comment: {loose}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_permissions_are_granted_per_job_only(path):
    """The workflow grants nothing by default; each job names exactly what it needs."""
    workflow = _load(path)
    assert workflow.get("permissions") == {}, f"{path.name}: start from `permissions: {{}}`"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"
        assert "write-all" not in str(job["permissions"])


def _runs(job: dict) -> str:
    return " ".join(str(step.get("run", "")) for step in job["steps"])


def _step(job: dict, text: str) -> dict:
    """The job's one step whose run, uses or name contains `text`."""
    (found,) = [step for step in job["steps"] if any(text in str(step.get(key, "")) for key in ("run", "uses", "name"))]
    return found


def test_pull_requests_run_the_gate_and_push_nothing(images_workflow):
    """Only the publish job may push; it needs the gate (every platform's job and the join) and runs only for
    pushes to main."""
    jobs = images_workflow["jobs"]
    assert GATE_COMMAND in _runs(jobs["platform-gate"])
    assert MERGE_COMMAND in _runs(jobs["gate"])
    writers = [name for name, job in jobs.items() if job["permissions"].get("packages") == "write"]
    assert writers == ["publish"]
    publish = jobs["publish"]
    assert sorted(publish["needs"]) == ["gate", "platform-gate"]
    assert "github.event_name == 'push'" in publish["if"]
    assert "refs/heads/main" in publish["if"]
    assert "pull_request" not in publish["if"]


def test_each_platform_of_the_family_is_gated_on_a_native_runner(images_workflow):
    """One gate job per platform of the family's single list (core.platforms.SUPPORTED), on a runner of that
    architecture, running the suite for that platform only; QEMU is registered only on a runner that is not
    native to it, and a failing platform does not cancel the other (the join job must see both)."""
    job = images_workflow["jobs"]["platform-gate"]
    entries = job["strategy"]["matrix"]["include"]
    assert [entry["platform"] for entry in entries] == list(SUPPORTED)
    for entry in entries:
        assert (entry["runner"], entry["runner-arch"]) == NATIVE_RUNNERS[entry["platform"]], entry
        assert entry["slug"] == Platform.parse(entry["platform"]).slug
    assert job["runs-on"] == "${{ matrix.runner }}"
    assert job["strategy"]["fail-fast"] is False
    assert _step(job, "pytest -n auto")["env"]["PLATFORM"] == "${{ matrix.platform }}"
    qemu = _step(job, "docker/setup-qemu-action")
    assert qemu["if"] == "${{ runner.arch != matrix.runner-arch }}", "QEMU only as a fallback"
    upload = _step(job, "Upload the platform's report")
    assert upload["with"]["name"] == "reports-${{ matrix.slug }}"
    assert [reports_artifact(platform) for platform in SUPPORTED] == [f"reports-{entry['slug']}" for entry in entries]


def test_the_native_arm64_job_fails_if_a_native_only_check_does_not_run(images_workflow):
    """On its native runner each platform's gate sets REACTOR_REQUIRE_NATIVE to its platform, so dlv's breakpoint
    test (needs_native) fails there instead of not applying; the QEMU fallback leaves it unset."""
    gate = _step(images_workflow["jobs"]["platform-gate"], "pytest -n auto")
    assert gate["env"][REQUIRE_NATIVE] == "${{ runner.arch == matrix.runner-arch && matrix.platform || '' }}"
    assert "needs_native(" in (ROOT / "tests" / "test_go.py").read_text(encoding="utf-8")


def test_the_join_job_merges_every_platforms_report_into_the_gate(images_workflow):
    """The join job (`gate`) needs every platform's job, runs even when one failed, merges their reports with
    `reactor report merge` against every platform (a missing report fails it) and uploads the merged report,
    which the Security tab and publish read."""
    jobs = images_workflow["jobs"]
    gate = jobs["gate"]
    assert gate["needs"] == "platform-gate"
    assert "!cancelled()" in gate["if"]
    download = _step(gate, "actions/download-artifact")
    assert download["with"] == {"pattern": "reports-*", "path": "platform-reports"}
    assert _step(gate, "Upload the merged report")["with"]["name"] == "reports"
    assert jobs["security-tab"]["needs"] == "gate"
    assert _step(jobs["publish"], "reports/summary.json")


def test_the_images_pushed_are_the_ones_the_gate_tested(images_workflow):
    """Each platform's job saves the images it tested; publish loads every platform's and pushes them with
    reactor-release, which joins them into multi-arch indexes: no rebuild, no YAML tags."""
    jobs = images_workflow["jobs"]
    gate_runs = _runs(jobs["platform-gate"])
    assert gate_runs.index(GATE_COMMAND) < gate_runs.index("reactor-release save")
    assert 'reactor-release save --output "tested-images-${SLUG}.tar" --platform "${PLATFORM}"' in gate_runs
    assert (
        _step(jobs["platform-gate"], "Upload the tested images")["with"]["name"] == "tested-images-${{ matrix.slug }}"
    )
    download = _step(jobs["publish"], "Download each platform's tested images")
    assert download["with"] == {"pattern": "tested-images-*", "merge-multiple": True}
    publish_runs = _runs(jobs["publish"])
    assert 'docker load -i "${archive}"' in publish_runs
    assert "reactor-release publish" in publish_runs
    assert "--platform all" in publish_runs
    text = (ROOT / ".github" / "workflows" / "images.yml").read_text(encoding="utf-8")
    for tag_logic in ("docker tag", "docker push", "docker build", "build-push-action", ":latest", "type=sha"):
        assert tag_logic not in text, f"images.yml must leave {tag_logic!r} to reactor-release and the harness"


# Files that cannot change what the gate decides: prose, the other workflows (each checked here), and the
# benchmark scripts (they measure the harness; the suite never runs them).
_GATE_INDEPENDENT = re.compile(r"^(README\.md|\.gitignore|\.github/workflows/(?!images\.yml$)[^/]+|benchmarks/.+)$")


def _tracked_files(harness_settings) -> list[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        skip_or_fail(harness_settings, "no git checkout: the tracked files cannot be listed (run from a git clone)")
    result = subprocess.run([git, "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.split()


def _matches_filter(path: str, pattern: str) -> bool:
    # GitHub's path filters: `**` crosses folders, `*` does not.
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, path) is not None


def test_every_file_that_changes_the_gate_triggers_it(images_workflow, harness_settings):
    """A change to any tracked file the gate reads (accepted risks, hadolint config, setup, conftest, .ci)
    runs the gate on pull requests and on main; only prose and the other workflows are left out."""
    triggers = _triggers(images_workflow)
    for event in ("pull_request", "push"):
        paths = triggers[event].get("paths")
        if paths is None:
            continue  # no filter: every change runs the gate
        missed = [
            path
            for path in _tracked_files(harness_settings)
            if not _GATE_INDEPENDENT.match(path) and not any(_matches_filter(path, pattern) for pattern in paths)
        ]
        assert not missed, f"{event}: images.yml's path filter leaves out files the gate reads: {missed}"
    for required in (".trivyignore.yaml", ".hadolint.yaml", "setup", "conftest.py", ".ci/run"):
        for event in ("pull_request", "push"):
            paths = triggers[event].get("paths")
            assert paths is None or any(_matches_filter(required, pattern) for pattern in paths), (event, required)


def test_the_cli_commands_the_workflows_call_exist(capsys):
    """Every `reactor-release <command>` in a workflow is one the CLI knows (a rename breaks this test, not CI)."""
    called = {
        match.group(1)
        for path in WORKFLOWS
        for match in re.finditer(r"reactor-release (\w+)", path.read_text(encoding="utf-8"))
    }
    assert called >= {"save", "tags", "publish", "list", "rollback"}
    for command in sorted(called):
        with pytest.raises(SystemExit) as exit_info:
            release_cli([command, "--help"])
        assert exit_info.value.code == 0, command
    capsys.readouterr()


def test_the_gate_options_exist():
    """The gate command's options are real options of this suite (pytest would stop on an unknown one)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    for option in ("--platform", "--reactor-strict", "--require-vuln-db", "-n"):
        assert re.search(rf"^\s+{re.escape(option)}[ =,]", result.stdout, re.MULTILINE), option


@pytest.fixture(scope="module")
def pins_workflow():
    return _load(ROOT / ".github" / "workflows" / "pins.yml")


def test_pin_updates_run_monthly_and_on_demand_with_a_level(pins_workflow):
    """pins.yml runs on a monthly schedule and by hand, with the level as a choice (policy = each default)."""
    triggers = _triggers(pins_workflow)
    (schedule,) = triggers["schedule"]
    _minute, _hour, day, month, weekday = schedule["cron"].split()
    assert (month, weekday) == ("*", "*"), "once a month"
    assert day.isdigit(), "on a fixed day of the month"
    level = triggers["workflow_dispatch"]["inputs"]["level"]
    assert level["type"] == "choice"
    assert level["options"] == ["policy", "patch", "minor", "major"]


def test_only_the_pull_request_job_can_write_code_and_pull_requests(pins_workflow):
    """The bump (which runs registry tooling) reads only; the PR job writes; the gate job only dispatches."""
    jobs = pins_workflow["jobs"]
    assert jobs["bump"]["permissions"] == {"contents": "read"}
    assert jobs["pull-request"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert jobs["gate"]["permissions"] == {"actions": "write"}
    bump_runs = " ".join(str(step.get("run", "")) for step in jobs["bump"]["steps"])
    assert "reactor pins bump" in bump_runs
    assert "--summary" in bump_runs
    pull_request_runs = " ".join(str(step.get("run", "")) for step in jobs["pull-request"]["steps"])
    runs_tool = re.compile(r"^\s*(?:python -m pip|pip|reactor|npm|npx|uv|go|make)\b", re.MULTILINE)
    assert not runs_tool.search(pull_request_runs), "the job that can push must run no registry tooling"
    assert "gh pr edit" in pull_request_runs
    assert "gh pr create" in pull_request_runs
    assert "gh workflow run images.yml" in " ".join(str(step.get("run", "")) for step in jobs["gate"]["steps"])


def test_the_reactor_commands_the_workflows_call_exist(capsys):
    """Every `reactor <group> <command>` in a workflow parses (a rename breaks this test, not CI)."""
    from reactor_harness.cli import parser

    called = {
        match.group(1, 2)
        for path in WORKFLOWS
        for match in re.finditer(r"\breactor (\w+) (\w+)", path.read_text(encoding="utf-8"))
    }
    assert called >= {("pins", "bump"), ("pins", "outdated"), ("report", "merge")}
    for group, command in sorted(called):
        with pytest.raises(SystemExit) as exit_info:
            parser().parse_args([group, command, "--help"])
        assert exit_info.value.code == 0, (group, command)
    capsys.readouterr()


@pytest.fixture(scope="module")
def rescan_workflow():
    return _load(ROOT / ".github" / "workflows" / "rescan.yml")


def test_the_rescan_runs_weekly_rebuilding_without_cache_with_a_fresh_db(rescan_workflow):
    """rescan.yml runs once a week (and by hand): every image on both platforms, --rebuild, the DB required and
    downloaded fresh (no cache step restores an old one)."""
    triggers = _triggers(rescan_workflow)
    (schedule,) = triggers["schedule"]
    _minute, _hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*")
    assert weekday.isdigit(), "on a fixed day of the week"
    assert "workflow_dispatch" in triggers
    steps = rescan_workflow["jobs"]["rescan"]["steps"]
    runs = " ".join(str(step.get("run", "")) for step in steps)
    assert "pytest -n auto --platform all --reactor-strict --require-vuln-db --rebuild" in runs
    assert not any("actions/cache" in str(step.get("uses", "")) for step in steps), "the DB must be fresh"
    assert "reactor affected" in runs


def test_only_the_issue_job_writes_and_it_runs_no_repository_code(rescan_workflow):
    """The rescan reads only; the issue job may write issues, checks out nothing and runs no harness."""
    jobs = rescan_workflow["jobs"]
    assert jobs["rescan"]["permissions"] == {"contents": "read"}
    assert jobs["issue"]["permissions"] == {"issues": "write"}
    issue_steps = jobs["issue"]["steps"]
    assert not any("checkout" in str(step.get("uses", "")) for step in issue_steps)
    issue_runs = " ".join(str(step.get("run", "")) for step in issue_steps)
    assert not re.search(r"\b(pytest|reactor|pip|python)\b", issue_runs)
    assert "gh issue edit" in issue_runs
    assert "gh issue create" in issue_runs
