"""Merge the reports folders of several runs (one per platform, on native runners) into one: one matrix, one
`summary.json` and one gate decision, as one run over every platform would have made them.

The pull-request gate runs one job per platform; each uploads its reports folder, and the join job runs
`reactor report merge DIR... --out DIR`. The merged folder holds:

- `results.json`: the merged run record (`report.run_record`), itself a valid input of another merge;
- `summary.json`: the gate summary of the merged rows (`report.gate.gate_summary`, as a run writes it), plus
  `merged_from` (the inputs) and `problems`; `passed` is false while any problem remains;
- `report.html`: the matrix, the problems and a link to each input's own report;
- the inputs' subfolders (`security/`, `build-logs/`, …): each target's files from the input that reported it,
  the others from the first input that has them, so `reactor affected --reports-dir`, the SARIF upload and the
  paths in the merged records (rewritten to the merged folder) work as in one run's folder;
- `inputs/<label>/`: each input folder as it was, but for its summary.json and results.json (the merged ones
  stand for them, so `reactor review` does not count a run twice).

A target the family expects that no input reported fails the merged gate, naming the job that should have
reported it; a target two inputs reported fails it too, naming both. Bad input (not a reports folder, another
harness's record, damaged JSON, runs of different commits) is a MergeError, and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from reactor_harness.core.platforms import SUPPORTED
from reactor_harness.report.gate import (
    GATE_SUMMARY_FILE,
    GATE_SUMMARY_SCHEMA,
    gate_summary,
    vulnerability_db_used,
    write_gate_summary,
)
from reactor_harness.report.matrix import CheckTally, matrix_rows, render_matrix
from reactor_harness.report.results import ReportError
from reactor_harness.report.run_record import RUN_RECORD_FILE, RunRecord, write_run_record

INPUTS_DIR = "inputs"
REPORT_FILE = "report.html"
_RECORDS = frozenset({GATE_SUMMARY_FILE, RUN_RECORD_FILE})
Target = tuple[str, str]


class MergeError(ReportError):
    """Reports folders that cannot be merged; the message names the cause and the fix. Nothing was written."""


def slug(platform: str) -> str:
    """linux/arm64 -> linux-arm64, as in tags, file names and the workflow's artifact names."""
    return platform.replace("/", "-")


def gate_job(platform: str) -> str:
    """The workflow job that gates one platform, as GitHub names it (images.yml's per-platform gate)."""
    return f"gate ({platform})"


def reports_artifact(platform: str) -> str:
    """The artifact the platform's gate job uploads its reports folder as."""
    return f"reports-{slug(platform)}"


@dataclass(frozen=True)
class MergeInput:
    """One run's reports folder: its record, its summary and the label it is kept under in the merge."""

    folder: Path
    label: str
    record: RunRecord
    summary: Mapping[str, Any]


def _read_json(path: Path, folder: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MergeError(
            f"{folder}: cannot read {path.name} ({error.strerror}): check the folder's permissions"
        ) from error
    except ValueError as error:
        raise MergeError(
            f"{path} is not valid JSON ({error}): the run that wrote it was cut short; run that platform's gate "
            "again (or re-download its artifact)"
        ) from error


def read_input(folder: Path, label: str | None = None) -> MergeInput:
    """One reports folder as a merge input; MergeError when it is not one this harness can merge."""
    if not folder.is_dir():
        raise MergeError(
            f"{folder}: no such folder; give the reports folder of each run (pytest's --reports-dir, default reports, "
            "or one downloaded reports artifact per platform)"
        )
    record_path, summary_path = folder / RUN_RECORD_FILE, folder / GATE_SUMMARY_FILE
    if not summary_path.is_file():
        nested = sorted(path.parent.name for path in folder.glob(f"*/{GATE_SUMMARY_FILE}"))
        hint = f" (its subfolders {', '.join(nested)} are: pass those)" if nested else ""
        raise MergeError(f"{folder} is not a reports folder: it has no {GATE_SUMMARY_FILE}{hint}")
    if not record_path.is_file():
        raise MergeError(
            f"{folder} has a {GATE_SUMMARY_FILE} but no {RUN_RECORD_FILE}: it was written by a harness from before "
            "run records; run that platform's gate again with this harness"
        )
    summary = _read_json(summary_path, folder)
    if not isinstance(summary, Mapping) or summary.get("schema") != GATE_SUMMARY_SCHEMA:
        found = summary.get("schema") if isinstance(summary, Mapping) else type(summary).__name__
        raise MergeError(
            f"{summary_path} is a gate summary of schema {found}, not {GATE_SUMMARY_SCHEMA}: it comes from another "
            "harness version; merge with the harness that ran the gate, or run the gate again with this one"
        )
    try:
        record = RunRecord.from_json(_read_json(record_path, folder), record_path)
    except MergeError:
        raise
    except ReportError as error:
        raise MergeError(str(error)) from error
    if record.run_id != summary.get("run_id"):
        raise MergeError(
            f"{folder}: {RUN_RECORD_FILE} is of run {record.run_id} but {GATE_SUMMARY_FILE} of run "
            f"{summary.get('run_id')}: the folder mixes two runs; use a fresh --reports-dir per run"
        )
    return MergeInput(folder=folder.resolve(), label=label or folder.resolve().name, record=record, summary=summary)


def read_inputs(folders: Sequence[Path]) -> list[MergeInput]:
    """Every folder as a merge input, each with a unique label; MergeError on the first bad one."""
    if not folders:
        raise MergeError("no reports folder to merge: give one per run (e.g. reports-linux-amd64 reports-linux-arm64)")
    seen: dict[Path, Path] = {}
    labels: set[str] = set()
    inputs = []
    for folder in folders:
        resolved = folder.resolve()
        if resolved in seen:
            raise MergeError(f"{folder} is given twice (also as {seen[resolved]}): give each reports folder once")
        seen[resolved] = folder
        label, number = resolved.name or "reports", 2
        while label in labels:
            label, number = f"{resolved.name}-{number}", number + 1
        labels.add(label)
        inputs.append(read_input(folder, label))
    commits = {entry.record.commit for entry in inputs}
    if len(commits) > 1:
        named = ", ".join(f"{entry.folder} ({entry.record.commit})" for entry in inputs)
        raise MergeError(f"the runs are of different commits: {named}; merge the runs of one commit only")
    return inputs


def expected_targets(images: Sequence[str], platforms: Sequence[str]) -> list[Target]:
    """Every image × platform the merged gate must have a result for."""
    return [(image, platform) for image in images for platform in platforms]


@dataclass(frozen=True)
class MergedRun:
    """The merge's result, ready to write: the run record, the gate summary and the files to bring along."""

    record: RunRecord
    summary: dict[str, Any]
    inputs: tuple[MergeInput, ...]
    lifted: Mapping[str, tuple[MergeInput, str]]  # a path in the merged folder -> (its input, its path there)

    @property
    def passed(self) -> bool:
        return bool(self.summary.get("passed"))


def _owner(name: str, targets: Sequence[Target]) -> Target | None:
    """The target a file is about, from its name (`build-base-linux-amd64.log`, `base-linux-amd64.sarif`)."""
    found = [
        (image, platform)
        for image, platform in targets
        if re.search(rf"(^|[^a-z0-9]){re.escape(f'{image}-{slug(platform)}')}([^a-z0-9]|$)", name)
    ]
    return max(found, key=lambda target: len(target[0]), default=None)


def _input_files(entry: MergeInput, targets: Sequence[Target]) -> dict[str, Target | None]:
    """The files in the input's subfolders (scans, build logs, …), each with the target of `targets` it is about
    (None: a file about the whole run). Its top-level files (the records, the pytest-html report, JUnit) stay with
    the input."""
    return {
        path.relative_to(entry.folder).as_posix(): _owner(path.name, targets)
        for path in sorted(entry.folder.rglob("*"))
        if path.is_file() and path.parent != entry.folder
    }


def _relocate(value: Any, old: str, new: Mapping[str, str], fallback: str) -> Any:
    """`value` with every path into the input's old reports folder pointing at its copy in the merged folder."""
    if isinstance(value, str) and value.startswith(old):
        relative = value[len(old) :]
        return new.get(relative, f"{fallback}/{relative}")
    if isinstance(value, Mapping):
        return {key: _relocate(item, old, new, fallback) for key, item in value.items()}
    if isinstance(value, list):
        return [_relocate(item, old, new, fallback) for item in value]
    return value


def _platform_rank(platform: str) -> tuple[int, str]:
    return (SUPPORTED.index(platform) if platform in SUPPORTED else len(SUPPORTED), platform)


def merge_runs(
    inputs: Sequence[MergeInput], expected: Sequence[Target], out: Path, image_order: Sequence[str] = ()
) -> MergedRun:
    """One run record and gate summary from the inputs' records, for the merged folder `out`.

    Each target's row comes from the one input that reported it. An expected target no input reported, or a
    target reported by two, is a problem: the merged gate fails and says which job or which inputs.
    """
    out = out.resolve()
    reported: dict[Target, MergeInput] = {}
    areas: dict[Target, dict[str, dict[str, Any]]] = {}
    tallies: dict[Target, CheckTally] = {}
    lifted: dict[str, tuple[MergeInput, str]] = {}
    problems: list[str] = []
    every_target = list(dict.fromkeys([*expected, *(target for entry in inputs for target in entry.record.targets)]))
    for entry in inputs:
        problems += [f"{entry.label}: {problem}" for problem in entry.record.problems]
        own = set(entry.record.targets)
        for relative, owner in _input_files(entry, every_target).items():
            # A file about a target this run did not report is a leftover of an earlier run in the same folder.
            if relative not in lifted and (owner is None or (owner in own and owner not in reported)):
                lifted[relative] = (entry, relative)
        new = {relative: str(out / relative) for relative, (source, _) in lifted.items() if source is entry}
        fallback = str(out / INPUTS_DIR / entry.label)
        for row in entry.record.rows:
            target = (row.image, row.platform)
            if target in reported:
                first = reported[target]
                problems.append(
                    f"{row.image} on {row.platform}: reported by two inputs, {first.folder} (run "
                    f"{first.record.run_id}) and {entry.folder} (run {entry.record.run_id}); merge one report per "
                    "target (each platform's gate job once)"
                )
                continue
            reported[target] = entry
            areas[target] = _relocate(row.areas, entry.record.reports_dir.rstrip("/") + "/", new, fallback)
            tallies[target] = row.checks
    for image, platform in expected:
        if (image, platform) not in reported:
            problems.append(
                f"{image} on {platform}: no input reported it; the {gate_job(platform)} job should have (its "
                f"{reports_artifact(platform)} artifact): did that job fail before its upload, or run without "
                f"--platform {platform}?"
            )
    rows = matrix_rows(areas, tallies, image_order)
    exit_status = next((entry.record.exit_status for entry in inputs if entry.record.exit_status), 0)
    run_ids = sorted(entry.record.run_id for entry in inputs)
    run_id = "merged-" + hashlib.sha256("+".join(run_ids).encode()).hexdigest()[:24]
    commit = inputs[0].record.commit if inputs else None
    database = next((db for entry in inputs if (db := vulnerability_db_used(entry.folder))), None)
    merged_from = tuple(
        {
            "label": entry.label,
            "folder": str(entry.folder),
            "run_id": entry.record.run_id,
            "platforms": list(entry.record.platforms),
            "exit_status": entry.record.exit_status,
        }
        for entry in inputs
    )
    platforms = {platform for entry in inputs for platform in entry.record.platforms} | {p for _, p in expected}
    known = {image for entry in inputs for image in entry.record.images} | {image for image, _ in expected}
    known |= {row.image for row in rows}
    images = [image for image in image_order if image in known] + sorted(known - set(image_order))
    record = RunRecord(
        run_id=run_id,
        commit=commit,
        exit_status=exit_status,
        reports_dir=str(out),
        platforms=tuple(sorted(platforms, key=_platform_rank)),
        images=tuple(images),
        rows=tuple(rows),
        problems=tuple(problems),
        merged_from=merged_from,
    )
    summary = gate_summary(rows, exit_status, run_id, commit=commit, vulnerability_db=database)
    summary["merged_from"] = [dict(entry) for entry in merged_from]
    summary["problems"] = list(problems)
    if problems:
        summary["passed"] = False
    return MergedRun(record=record, summary=summary, inputs=tuple(inputs), lifted=lifted)


def render_merged_report(merged: MergedRun) -> str:
    """The merged report: the gate, the problems, the matrix and a link to each input's own report."""
    verdict = "passed" if merged.passed else "failed"
    problems = "".join(f'<li class="reactor-problem">{escape(problem)}</li>' for problem in merged.record.problems)
    inputs = "".join(
        f'<li><a href="{INPUTS_DIR}/{escape(entry.label)}/{REPORT_FILE}">{escape(entry.label)}</a>: run '
        f"{escape(entry.record.run_id)}, {escape(', '.join(entry.record.platforms))}, exit status "
        f"{entry.record.exit_status}</li>"
        for entry in merged.inputs
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Reactor images: merged report</title>'
        "</head><body><h1>Reactor images: merged report</h1>"
        f'<p class="reactor-merged-gate">Merged gate {verdict} (commit {escape(str(merged.record.commit))})</p>'
        + (f'<h2>Problems</h2><ul class="reactor-problems">{problems}</ul>' if problems else "")
        + render_matrix(list(merged.record.rows), exit_status=merged.record.exit_status)
        + f"<h2>Runs merged</h2><ul>{inputs}</ul></body></html>"
    )


def _copy_input(entry: MergeInput, target: Path) -> None:
    """The input folder as it was, but for the records the merged ones stand for."""

    def records(folder: str, names: list[str]) -> set[str]:
        return set(_RECORDS & set(names)) if Path(folder) == entry.folder else set()

    shutil.copytree(entry.folder, target, ignore=records)


def write_merged(merged: MergedRun, out: Path) -> Path:
    """Write the merged folder at `out` (new or empty), all or nothing: built beside it, then moved in place."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MergeError(f"--out {out}: exists and is not an empty folder; give a new folder (nothing was written)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as error:
        raise MergeError(f"--out {out}: cannot write beside it ({error.strerror}); give a writable folder") from error
    try:
        for entry in merged.inputs:
            _copy_input(entry, staging / INPUTS_DIR / entry.label)
        for relative, (entry, source) in merged.lifted.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(entry.folder / source, staging / relative)
        write_run_record(staging, merged.record)
        write_gate_summary(staging, merged.summary)
        (staging / REPORT_FILE).write_text(render_merged_report(merged), encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise MergeError(
            f"--out {out}: writing the merged folder failed ({error}); nothing was written: free space or fix the "
            "permissions and merge again"
        ) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
