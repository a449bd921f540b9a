"""`reactor report merge`: the reports folders of per-platform runs merge into one record, one summary.json
and one gate decision equal to one run over every platform; a missing or twice-reported target fails the
merged gate, and bad input is refused naming the cause and the fix, with nothing written (no engine needed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reactor_harness.cli import main as reactor
from reactor_harness.report.gate import GATE_SUMMARY_FILE
from reactor_harness.report.merge import (
    MergeError,
    expected_targets,
    gate_job,
    merge_runs,
    read_inputs,
    reports_artifact,
    write_merged,
)
from reactor_harness.report.run_record import RUN_RECORD_FILE
from report_factory import COMMIT, comparable_report, target_row, write_reports

AMD64, ARM64 = "linux/amd64", "linux/arm64"
BOTH = [AMD64, ARM64]
ROOT = Path(__file__).resolve().parents[2]


def _per_platform(tmp_path: Path, images=("base",)) -> tuple[Path, Path]:
    amd64 = write_reports(
        tmp_path / "reports-linux-amd64", [target_row(i, AMD64) for i in images], run_id="r-amd64",
        platforms=[AMD64], images=images,
    )  # fmt: skip
    arm64 = write_reports(
        tmp_path / "reports-linux-arm64",
        [target_row(i, ARM64, failures=[f"test_base.py::test_tty[{i}-linux/arm64]"]) for i in images],
        run_id="r-arm64", platforms=[ARM64], images=images, exit_status=1,
    )  # fmt: skip
    return amd64, arm64


def _merge(folders, out: Path, images=("base",), platforms=BOTH):
    merged = merge_runs(read_inputs(folders), expected_targets(images, platforms), out, list(images))
    write_merged(merged, out)
    return merged


def test_two_platform_runs_merge_into_what_one_run_over_both_reports(tmp_path):
    """The merged record, summary.json and matrix equal, cell for cell, those of one run over both platforms
    (timings, run ids and the folder's own path aside): failures, not-applicable checks and the exit status too."""
    amd64, arm64 = _per_platform(tmp_path, images=("base", "go"))
    both = write_reports(
        tmp_path / "reports-all",
        [
            target_row("base", AMD64),
            target_row("base", ARM64, failures=["test_base.py::test_tty[base-linux/arm64]"]),
            target_row("go", AMD64),
            target_row("go", ARM64, failures=["test_base.py::test_tty[go-linux/arm64]"]),
        ],
        run_id="r-all", platforms=BOTH, images=("base", "go"), exit_status=1,
    )  # fmt: skip
    merged = _merge([amd64, arm64], tmp_path / "merged", images=("base", "go"))
    assert merged.record.problems == ()
    assert comparable_report(tmp_path / "merged") == comparable_report(both)
    summary = json.loads((tmp_path / "merged" / GATE_SUMMARY_FILE).read_text(encoding="utf-8"))
    assert summary["passed"] is False  # the arm64 run's failure fails the merged gate, as in the one run
    assert [entry["run_id"] for entry in summary["merged_from"]] == ["r-amd64", "r-arm64"]


def test_the_merged_folder_keeps_each_inputs_files_and_points_at_them(tmp_path):
    """Each target's scan files are in the merged folder, the records' paths point at them, every input is kept
    whole under inputs/ (but for its records, which the merged ones stand for), and the merge itself merges."""
    amd64, arm64 = _per_platform(tmp_path)
    out = tmp_path / "merged"
    merged = _merge([amd64, arm64], out)
    by_platform = {row.platform: row for row in merged.record.rows}
    assert by_platform[ARM64].areas["security"]["report"] == str(out.resolve() / "security/base-linux-arm64.json")
    assert "base linux/arm64" in (out / "security" / "base-linux-arm64.json").read_text(encoding="utf-8")
    assert {path.name for path in (out / "security").iterdir()} == {
        "dockerfiles.sarif", "base-linux-amd64.json", "base-linux-amd64.sarif", "base-linux-arm64.json",
        "base-linux-arm64.sarif",
    }  # fmt: skip
    kept = out / "inputs" / "reports-linux-arm64"
    assert (kept / "report.html").is_file()
    assert not (kept / GATE_SUMMARY_FILE).exists(), "a copied summary.json would count the run twice in a review"
    assert 'href="inputs/reports-linux-arm64/report.html"' in (out / "report.html").read_text(encoding="utf-8")
    again = _merge([out], tmp_path / "again")
    assert again.record.problems == ()
    assert [row.platform for row in again.record.rows] == BOTH


def test_a_leftover_of_an_earlier_run_never_stands_for_another_inputs_target(tmp_path):
    """A reports folder reused across runs may hold an older scan of the other platform: the merged folder takes
    each target's files from the input that reported the target."""
    amd64, arm64 = _per_platform(tmp_path)
    (amd64 / "security" / "base-linux-arm64.json").write_text('{"ArtifactName": "stale"}', encoding="utf-8")
    _merge([amd64, arm64], tmp_path / "merged")
    text = (tmp_path / "merged" / "security" / "base-linux-arm64.json").read_text(encoding="utf-8")
    assert "base linux/arm64" in text


def test_a_target_no_input_reported_fails_the_merged_gate_naming_the_job(tmp_path):
    """The arm64 job never uploaded: the merged gate fails, naming the target, the job and its artifact."""
    amd64, _ = _per_platform(tmp_path)
    merged = _merge([amd64], tmp_path / "merged")
    assert not merged.passed
    (problem,) = merged.record.problems
    assert problem.startswith("base on linux/arm64: no input reported it")
    assert gate_job(ARM64) in problem
    assert reports_artifact(ARM64) == "reports-linux-arm64"
    assert reports_artifact(ARM64) in problem
    summary = json.loads((tmp_path / "merged" / GATE_SUMMARY_FILE).read_text(encoding="utf-8"))
    assert summary["passed"] is False
    assert summary["problems"] == [problem]
    assert "no input reported it" in (tmp_path / "merged" / "report.html").read_text(encoding="utf-8")


def test_a_target_two_inputs_reported_fails_the_merged_gate_naming_both(tmp_path):
    """Two reports of one target (a job run twice, an `all` run merged with a per-platform one) fail the gate."""
    amd64, arm64 = _per_platform(tmp_path)
    again = write_reports(tmp_path / "amd64-again", [target_row("base", AMD64)], run_id="r-again", platforms=[AMD64])
    merged = _merge([amd64, arm64, again], tmp_path / "merged")
    assert not merged.passed
    (problem,) = merged.record.problems
    assert problem.startswith("base on linux/amd64: reported by two inputs")
    assert f"{amd64.resolve()} (run r-amd64)" in problem
    assert f"{again.resolve()} (run r-again)" in problem


def _broken(tmp_path: Path, how: str) -> list[Path]:
    amd64, arm64 = _per_platform(tmp_path)
    if how == "not a folder":
        return [amd64, tmp_path / "nowhere"]
    if how == "no summary":
        (arm64 / GATE_SUMMARY_FILE).unlink()
    elif how == "no run record":
        (arm64 / RUN_RECORD_FILE).unlink()
    elif how == "damaged json":
        (arm64 / RUN_RECORD_FILE).write_text('{"kind": "reactor-run-record", "sch', encoding="utf-8")
    elif how in ("summary schema", "harness version", "run record schema", "two runs in one folder"):
        path = arm64 / (GATE_SUMMARY_FILE if how in ("summary schema", "two runs in one folder") else RUN_RECORD_FILE)
        data = json.loads(path.read_text(encoding="utf-8"))
        key, value = {
            "summary schema": ("schema", 1),
            "harness version": ("harness_version", "0.0.1"),
            "run record schema": ("schema", 99),
            "two runs in one folder": ("run_id", "r-other"),
        }[how]
        data[key] = value
        path.write_text(json.dumps(data), encoding="utf-8")
    elif how == "another commit":
        write_reports(arm64, [target_row("base", ARM64)], run_id="r-arm64", platforms=[ARM64], commit="f" * 40)
    elif how == "given twice":
        return [amd64, arm64, tmp_path / "reports-linux-amd64" / ".." / "reports-linux-amd64"]
    elif how == "a downloads folder":
        return [tmp_path]
    return [amd64, arm64]


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("not a folder", r"nowhere: no such folder; give the reports folder of each run"),
        ("no summary", r"is not a reports folder: it has no summary.json"),
        (
            "a downloads folder",
            r"has no summary.json \(its subfolders reports-linux-amd64, reports-linux-arm64 are: pass those\)",
        ),
        ("no run record", r"has a summary.json but no results.json: .* run that platform's gate again"),
        ("damaged json", r"results.json is not valid JSON .* run that platform's gate again"),
        ("summary schema", r"gate summary of schema 1, not 2: it comes from another harness version; merge with"),
        ("harness version", r"written by harness 0.0.1 \(run record schema 1\); this is harness .* run the gate again"),
        ("run record schema", r"\(run record schema 99\); this is harness"),
        ("two runs in one folder", r"results.json is of run r-arm64 but summary.json of run r-other: .* --reports-dir"),
        ("another commit", rf"different commits: .*\({COMMIT}\).*\({'f' * 40}\); merge the runs of one commit only"),
        ("given twice", r"is given twice .* give each reports folder once"),
    ],
)
def test_bad_input_is_refused_naming_cause_and_fix_and_nothing_is_written(tmp_path, how, message):
    """Each kind of bad input stops the merge before anything is written, with what is wrong and what to do."""
    folders = _broken(tmp_path / "in", how)
    out = tmp_path / "merged"
    with pytest.raises(MergeError, match=message):
        _merge(folders, out)
    assert not out.exists()
    errors = io.StringIO()
    arguments = ["report", "merge", *map(str, folders), "--out", str(out), "--images", "base"]
    assert reactor(arguments, io.StringIO(), errors) == 2
    assert errors.getvalue().startswith("reactor: ")
    assert not out.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in"], "no half-written folder is left behind"


def test_an_existing_folder_is_never_written_over(tmp_path):
    """--out must be new or empty: a merge never mixes its files into an earlier report."""
    amd64, arm64 = _per_platform(tmp_path)
    out = tmp_path / "merged"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    with pytest.raises(MergeError, match=r"exists and is not an empty folder; give a new folder \(nothing was written"):
        _merge([amd64, arm64], out)
    assert [path.name for path in out.iterdir()] == ["summary.json"]


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    """A write that fails halfway (a full disk) removes what it wrote and says so: no partial merged folder."""
    amd64, arm64 = _per_platform(tmp_path / "in")
    merged = merge_runs(read_inputs([amd64, arm64]), expected_targets(["base"], BOTH), tmp_path / "out", ["base"])

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("reactor_harness.report.merge.write_gate_summary", full_disk)
    with pytest.raises(MergeError, match=r"No space left on device.*nothing was written: free space"):
        write_merged(merged, tmp_path / "out")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in"]


def test_the_cli_writes_the_merge_and_exits_with_the_gate(tmp_path):
    """`reactor report merge DIR... --out DIR`: exit 0 when the merged gate passes, 1 when it fails (with the
    problems printed and the report written), checked against the family's images and the platforms asked."""
    amd64, arm64 = _per_platform(tmp_path)
    images_dir = ["--images-dir", str(ROOT / "images")]
    output = io.StringIO()
    status = reactor(["report", "merge", str(amd64), "--out", str(tmp_path / "one"), *images_dir, "--images", "base", "--platform", AMD64], output, io.StringIO())  # fmt: skip # noqa: E501
    assert status == 0, output.getvalue()
    assert "1 targets from 1 runs; merged gate passed" in output.getvalue()
    output = io.StringIO()
    status = reactor(["report", "merge", str(amd64), str(arm64), "--out", str(tmp_path / "all"), *images_dir], output, io.StringIO())  # fmt: skip # noqa: E501
    assert status == 1
    text = output.getvalue()
    assert "merged gate failed" in text
    assert "problem: python on linux/amd64: no input reported it" in text  # every family image is expected
    assert (tmp_path / "all" / GATE_SUMMARY_FILE).is_file()


# -- the records a real run writes, through the plugin ----------------------------------------------

FAKE_CONFTEST = """
import pytest
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

@pytest.fixture(autouse=True)
def _build_result(request):
    # stands in for the built_image fixture, which records each build's outcome the same way
    target = request.node.callspec.params.get("target") if hasattr(request.node, "callspec") else None
    if target is not None:
        record_result(request.node, AreaResult(target.image, str(target.platform), "build",
                      {"status": "passed", "duration_seconds": 95.0, "image_id": f"sha256:{target}"}))
"""

FAKE_CHECKS = """
import pytest
from reactor_harness.plugin.outcomes import not_applicable
from reactor_harness.plugin.results import record_result
from reactor_harness.report.results import AreaResult

pytestmark = pytest.mark.family

def test_sizes(target, request):
    compressed = {"amd64": 151_200_000, "arm64": 233_900_000}[target.platform.arch]
    record_result(request.node, AreaResult(target.image, str(target.platform), "sizes", {
        "status": "passed" if compressed < 200_000_000 else "failed", "compressed_bytes": compressed,
        "budget_bytes": 200_000_000, "layers": [{"size_bytes": 1, "created_by": "RUN true"}]}))
    assert compressed < 200_000_000

def test_debugger(target):
    if target.platform.arch == "arm64":
        not_applicable("no ptrace under emulation")

def test_contract(target):
    pass
"""


def test_the_records_a_run_writes_merge_into_what_a_run_over_both_platforms_writes(pytester, monkeypatch):
    """Through the real plugin: `--platform linux/amd64` and `--platform linux/arm64` into two reports folders,
    merged, equal the `--platform all` run's report cell for cell (the engine-free twin of the engine test)."""
    for name in ("CI", "REACTOR_PLATFORMS", "REACTOR_IMAGES", "REACTOR_REQUIRE_NATIVE"):
        monkeypatch.delenv(name, raising=False)
    for image in ("tiny", "small"):
        (pytester.path / "images" / image).mkdir(parents=True)
    (pytester.path / "images" / "tiny" / "Dockerfile").write_text("FROM scratch\n")
    (pytester.path / "images" / "small" / "Dockerfile").write_text("ARG BASE_IMAGE=tiny\nFROM ${BASE_IMAGE}\n")
    pytester.makeconftest(FAKE_CONFTEST)
    pytester.makepyfile(test_checks=FAKE_CHECKS)
    reports = {}
    for platform in (AMD64, ARM64, "all"):
        reports[platform] = pytester.path / f"reports-{platform.replace('/', '-')}"
        result = pytester.runpytest(
            "-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", "--platform", platform,
            "--reports-dir", str(reports[platform]),
        )  # fmt: skip
        assert result.ret == (0 if platform == AMD64 else 1), result.stdout.str()
    out = pytester.path / "merged"
    output = io.StringIO()
    status = reactor(
        ["report", "merge", str(reports[AMD64]), str(reports[ARM64]), "--out", str(out),
         "--images-dir", str(pytester.path / "images")],
        output, io.StringIO(),
    )  # fmt: skip
    assert status == 1, output.getvalue()  # arm64 is over its size budget, in the one run as in the merge
    assert "problem" not in output.getvalue()
    merged, one_run = comparable_report(out), comparable_report(reports["all"])
    assert merged == one_run
    checks = {(t["image"], t["platform"]): t["checks"] for t in merged["record"]["targets"]}
    assert checks[("small", ARM64)]["not_applicable"] == 1
    assert checks[("small", ARM64)]["failures"] == ["test_checks.py::test_sizes[small-linux/arm64]"]
