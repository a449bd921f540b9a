"""Replayed verdicts: a passing test is not run again while its files, environment and settings are unchanged,
and everything else (failures, `always_runs`, tests not known to be engine-free, strict mode) runs every time."""

from __future__ import annotations

import json
import subprocess

import pytest

from reactor_harness.core.replay import CheckoutDigests, checkout_files, environment_digest, replay_key

COUNTED = """
import pytest
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

pytestmark = pytest.mark.engine_free


def ran(name):
    with open("runs.log", "a", encoding="utf-8") as log:
        log.write(name + "\\n")


def test_passes(request):
    ran("passes")
    print("what the test printed")
    record_result(request.node, AreaResult("base", "linux/amd64", "sizes", {"compressed_bytes": 5}))


def test_fails():
    ran("fails")
    assert False


@pytest.mark.always_runs("reads the clock")
def test_always():
    ran("always")
"""

UNMARKED = """
def test_unmarked():
    with open("runs.log", "a", encoding="utf-8") as log:
        log.write("unmarked\\n")
"""


def git(path, *args):
    subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)


@pytest.fixture
def project(pytester, monkeypatch):
    """A git checkout with one image and engine-free tests that log each time they really run."""
    for name in ("CI", "REACTOR_PLATFORMS", "REACTOR_IMAGES", "REACTOR_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    base = pytester.path / "images" / "base"
    base.mkdir(parents=True)
    (base / "Dockerfile").write_text("ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n")
    (pytester.path / ".gitignore").write_text("runs.log\n/reports/\n/.cache/\n__pycache__/\n")
    pytester.makepyfile(test_counted=COUNTED, test_unmarked=UNMARKED)
    git(pytester.path, "init", "-q")
    return pytester


def run(pytester, *args):
    return pytester.runpytest(
        "-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", "--platform", "linux/amd64", *args
    )


def runs(pytester):
    log = pytester.path / "runs.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return {name: lines.count(name) for name in ("passes", "fails", "always", "unmarked")}


def test_a_passing_engine_free_test_is_replayed_and_only_it(project):
    first = run(project)
    first.assert_outcomes(passed=3, failed=1)
    second = run(project, "-rP")
    second.assert_outcomes(passed=3, failed=1)
    assert runs(project) == {"passes": 1, "fails": 2, "always": 2, "unmarked": 2}
    second.stdout.fnmatch_lines(
        [
            "*reactor replay*",
            "*not run: passed in run * at *nothing it depends on has changed*--no-replay runs it*",
            "*1 of 4 tests not run: each passed before and nothing it depends on has changed*",
        ]
    )


def test_what_the_test_recorded_reaches_the_report_when_replayed(project):
    run(project).assert_outcomes(passed=3, failed=1)
    reports = project.path / "reports"
    subprocess.run(["rm", "-rf", str(reports)], check=True)
    run(project).assert_outcomes(passed=3, failed=1)
    assert runs(project)["passes"] == 1
    record = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert '"compressed_bytes": 5' in json.dumps(record), "the replayed test's sizes result is not in results.json"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda path: (path / "test_counted.py").write_text(COUNTED + "\n# edited\n"), "the test's own file"),
        (lambda path: (path / "images" / "base" / "Dockerfile").write_text("FROM scratch\n"), "a Dockerfile"),
        (lambda path: (path / "notes.md").write_text("new\n"), "an untracked file"),
    ],
    ids=["test-file", "dockerfile", "untracked-file"],
)
def test_a_changed_file_of_the_checkout_runs_it_again(project, change, why):
    run(project)
    change(project.path)
    run(project)
    assert runs(project)["passes"] == 2, f"a change to {why} did not run the test again"


@pytest.mark.parametrize("option", ["--no-replay", "--no-cache-results", "--reactor-strict"])
def test_switches_that_run_every_test(project, option):
    run(project)
    run(project, option)
    assert runs(project)["passes"] == 2


def test_an_ignored_file_does_not_count(project):
    run(project)
    (project.path / "runs.log").write_text((project.path / "runs.log").read_text() + "noise\n")
    run(project)
    assert runs(project)["passes"] == 1


def test_replay_works_across_xdist_workers(project):
    run(project, "-n", "2").assert_outcomes(passed=3, failed=1)
    second = run(project, "-n", "2")
    second.assert_outcomes(passed=3, failed=1)
    assert runs(project)["passes"] == 1
    second.stdout.fnmatch_lines(["*1 of 4 tests not run*"])


def test_a_damaged_verdict_is_dropped_and_the_test_runs(project):
    run(project)
    (entry,) = (project.path / ".cache" / "reactor" / "results" / "verdicts").rglob("*.json")
    entry.write_text('{"format": 1, "harn')  # cut short, as by a killed run
    result = run(project)
    result.assert_outcomes(passed=3, failed=1)
    assert runs(project)["passes"] == 2
    result.stdout.fnmatch_lines(["*dropped verdicts entries that could not be trusted*recomputed*"])
    run(project)
    assert runs(project)["passes"] == 2, "the verdict kept after the damaged one was dropped is not replayed"


def test_outside_a_git_checkout_nothing_is_replayed_and_the_run_says_why(project):
    subprocess.run(["rm", "-rf", str(project.path / ".git")], check=True)
    run(project)
    result = run(project)
    assert runs(project)["passes"] == 2
    result.stdout.fnmatch_lines(["*git cannot list the files of*no test is replayed*"])


# -- the keys -----------------------------------------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path):
    for name in ("base", "node"):
        (tmp_path / "images" / name).mkdir(parents=True)
        (tmp_path / "images" / name / "Dockerfile").write_text(f"# {name}\n")
    (tmp_path / "src.py").write_text("code\n")
    (tmp_path / ".gitignore").write_text("ignored/\n")
    git(tmp_path, "init", "-q")
    return tmp_path


def digests(path):
    found = CheckoutDigests.of(path, path / "images", ["base", "node"])
    assert found is not None
    return found


def test_an_image_folder_changes_only_its_own_digest(checkout):
    before = digests(checkout)
    (checkout / "images" / "node" / "Dockerfile").write_text("# node, edited\n")
    after = digests(checkout)
    assert after.images["node"] != before.images["node"]
    assert (after.common, after.images["base"]) == (before.common, before.images["base"])
    assert after.for_images(["base"]) == before.for_images(["base"])
    assert after.for_images(["node", "base"]) != before.for_images(["base", "node"])
    assert after.everything() != before.everything()


def test_common_files_change_every_digest(checkout):
    before = digests(checkout)
    (checkout / "src.py").write_text("code, edited\n")
    after = digests(checkout)
    assert after.for_images(["base"]) != before.for_images(["base"])


def test_ignored_files_are_not_listed_and_deleted_tracked_files_count(checkout):
    (checkout / "ignored").mkdir()
    (checkout / "ignored" / "x").write_text("x\n")
    assert "ignored/x" not in (checkout_files(checkout) or [])
    git(checkout, "add", "src.py")
    before = digests(checkout)
    (checkout / "src.py").unlink()
    assert digests(checkout).common != before.common


def test_not_a_checkout_has_no_digests(tmp_path):
    assert CheckoutDigests.of(tmp_path, tmp_path / "images", []) is None


def test_a_key_names_each_image_it_checked():
    key = replay_key("t::x[base]", files="f", environment="e", settings="s", images={"base-linux/amd64": "sha256:1"})
    assert key == {
        "test": "t::x[base]",
        "files": "f",
        "environment": "e",
        "settings": "s",
        "image base-linux/amd64": "sha256:1",
    }


# -- tests of a built image -------------------------------------------------------------------------------------

TARGET_CONFTEST = """
from pathlib import Path

import pytest

from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult


@pytest.fixture
def built_image(request, target):
    # Stands in for the real fixture: the image "built" is the one image-id names, recorded as the real one is.
    image_id = Path("image-id").read_text().strip()
    record_result(
        request.node,
        AreaResult(target.image, str(target.platform), "build", {"status": "passed", "image_id": image_id}),
    )
    return image_id
"""

TARGET_TEST = """
import pytest

pytestmark = pytest.mark.image("base")


def test_checks_the_image(built_image):
    with open("runs.log", "a", encoding="utf-8") as log:
        log.write("base\\n")
"""


@pytest.fixture
def image_project(project, monkeypatch):
    """The project plus an image test; the engine's tag of base names the image in image-id."""
    from reactor_harness.plugin.replay import VerdictReplay

    other = project.path / "images" / "other"
    other.mkdir()
    (other / "Dockerfile").write_text("ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n")
    (project.path / ".gitignore").write_text("runs.log\nimage-id\n/reports/\n/.cache/\n__pycache__/\n")
    (project.path / "test_counted.py").unlink()
    (project.path / "test_unmarked.py").unlink()
    project.makeconftest(TARGET_CONFTEST)
    project.makepyfile(test_target=TARGET_TEST)
    (project.path / "image-id").write_text("sha256:aaa\n")
    monkeypatch.setattr(
        VerdictReplay, "_tagged_image_id", lambda self, target: (project.path / "image-id").read_text().strip()
    )
    return project


def image_runs(pytester):
    return (pytester.path / "runs.log").read_text(encoding="utf-8").count("base\n")


def test_an_image_test_is_replayed_while_its_tag_names_the_image_it_checked(image_project):
    run(image_project, "--images", "base").assert_outcomes(passed=1)
    run(image_project, "--images", "base").assert_outcomes(passed=1)
    assert image_runs(image_project) == 1
    record = json.loads((image_project.path / "reports" / "results.json").read_text(encoding="utf-8"))
    (target,) = [row for row in record["targets"] if row["image"] == "base"]
    assert (target["checks"]["passed"], target["checks"]["replayed"]) == (1, 1)
    assert "1 passed (1 replayed)" in (image_project.path / "reports" / "report.html").read_text(encoding="utf-8")
    (image_project.path / "image-id").write_text("sha256:bbb\n")  # the tag now names another image
    run(image_project, "--images", "base")
    assert image_runs(image_project) == 2


def test_an_image_test_runs_again_when_its_own_folder_changes_not_another_image_s(image_project):
    run(image_project, "--images", "base")
    (image_project.path / "images" / "other" / "Dockerfile").write_text("FROM scratch\n")
    run(image_project, "--images", "base")
    assert image_runs(image_project) == 1, "a change to another image's folder ran base's test again"
    (image_project.path / "images" / "base" / "Dockerfile").write_text("FROM scratch\n")
    run(image_project, "--images", "base")
    assert image_runs(image_project) == 2


# -- tests that read images of the engine without being a target's -----------------------------------------------

READS_TEST = """
import pytest


@pytest.mark.reads_images("base", "debian:trixie-slim")
def test_reads(request):
    with open("runs.log", "a", encoding="utf-8") as log:
        log.write("reads\\n")
    rebuilt = request.config.rootpath / "rebuild-during-test"
    if rebuilt.exists():  # the image changes under the test: what it read is not what its key would name
        (request.config.rootpath / "image-id").write_text(rebuilt.read_text())
"""


@pytest.fixture
def reads_project(project, monkeypatch):
    """The project plus one `reads_images` test; the engine's tags all name the image in image-id (absent: no
    such tag), its version is in engine-version, and every tag asked about is logged."""
    from reactor_harness.plugin.replay import VerdictReplay

    root = project.path
    (root / ".gitignore").write_text(
        "runs.log\nimage-id\nengine-version\nasked\nrebuild-during-test\n/reports/\n/.cache/\n"
    )
    (root / "test_counted.py").unlink()
    (root / "test_unmarked.py").unlink()
    project.makepyfile(test_reads=READS_TEST)
    (root / "image-id").write_text("sha256:aaa")
    (root / "engine-version").write_text("20.10.24")

    def image_id(self, tag):
        with open(root / "asked", "a", encoding="utf-8") as asked:
            asked.write(tag + "\n")
        found = root / "image-id"
        return found.read_text() if found.exists() else None

    monkeypatch.setattr(VerdictReplay, "image_id", image_id)
    monkeypatch.setattr(VerdictReplay, "engine_version", lambda self: (root / "engine-version").read_text())
    return project


def reads_runs(pytester):
    log = pytester.path / "runs.log"
    return log.read_text(encoding="utf-8").count("reads\n") if log.exists() else 0


def test_a_reads_images_test_is_keyed_by_the_engine_and_the_native_tags_of_what_it_names(reads_project):
    run(reads_project).assert_outcomes(passed=1)
    run(reads_project).assert_outcomes(passed=1)
    assert reads_runs(reads_project) == 1
    asked = set((reads_project.path / "asked").read_text().split())
    assert asked == {"reactor-test/base:linux-amd64", "reactor-bootstrap/debian:trixie-slim-amd64"}
    (reads_project.path / "image-id").write_text("sha256:bbb")  # a tag now names another image
    run(reads_project)
    assert reads_runs(reads_project) == 2
    (reads_project.path / "engine-version").write_text("28.2.2")  # another engine
    run(reads_project)
    assert reads_runs(reads_project) == 3
    run(reads_project)
    assert reads_runs(reads_project) == 3


def test_a_reads_images_test_runs_every_time_while_a_tag_is_missing(reads_project):
    (reads_project.path / "image-id").unlink()
    run(reads_project).assert_outcomes(passed=1)
    run(reads_project).assert_outcomes(passed=1)
    assert reads_runs(reads_project) == 2


def test_a_verdict_is_not_kept_when_an_image_it_read_changed_during_the_test(reads_project):
    (reads_project.path / "rebuild-during-test").write_text("sha256:ccc")
    run(reads_project)
    (reads_project.path / "rebuild-during-test").unlink()
    run(reads_project)  # sha256:ccc from its start to its end: kept
    run(reads_project)
    assert reads_runs(reads_project) == 2


def test_the_environment_names_the_host_programs_the_harness_runs(tmp_path):
    """A new docker client (or browser, toolchain) on PATH is a new environment; an unrelated program is not."""
    program = tmp_path / "docker"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    variables = {"PATH": str(tmp_path)}
    before = environment_digest(variables=variables, programs=("docker",))
    (tmp_path / "unrelated").write_text("x")
    assert environment_digest(variables=variables, programs=("docker",)) == before
    program.write_text("#!/bin/sh\necho upgraded\n")
    assert environment_digest(variables=variables, programs=("docker",)) != before


def test_a_reads_images_test_runs_again_when_a_folder_it_reads_changes_not_another_image_s(reads_project):
    other = reads_project.path / "images" / "other"
    other.mkdir()
    (other / "Dockerfile").write_text("ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n")
    run(reads_project)
    (other / "Dockerfile").write_text("FROM scratch\n")
    run(reads_project)
    assert reads_runs(reads_project) == 1, "a change to an image it does not read ran it again"
    (reads_project.path / "images" / "base" / "Dockerfile").write_text("FROM scratch\n")
    run(reads_project)
    assert reads_runs(reads_project) == 2
