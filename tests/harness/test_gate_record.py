"""A gate result vouches only for what it names: the commit, exactly the images tested, the vulnerability DB
(publish checks the run's summary, promote the recorded result; no registry or engine needed)."""

from __future__ import annotations

import pytest

from reactor_harness.core.platforms import Platform
from reactor_harness.release.promote import GateRecord
from reactor_harness.release.vouch import ReleaseError, gate_summary_for, record_problem
from reactor_harness.report.gate import gate_summary, vulnerability_db_used
from reactor_harness.report.matrix import CheckTally, matrix_rows

COMMIT = "a" * 40
AMD64 = Platform("linux", "amd64")
DB = {"updated_at": "2026-12-01T00:00:00+00:00", "age_hours": 5.0, "detail": "downloaded"}
DIGEST = "sha256:" + "1" * 64


def _summary(commit=COMMIT, database=DB, image_id="sha256:built"):
    areas = {("base", "linux/amd64"): {"build": {"status": "passed", "image_id": image_id}}}
    rows = matrix_rows(areas, {("base", "linux/amd64"): CheckTally(passed=4)})
    return gate_summary(rows, exit_status=0, run_id="r", commit=commit, vulnerability_db=database)


def test_a_summary_names_its_commit_images_and_db_and_publish_accepts_it():
    part = gate_summary_for(_summary(), "base", [AMD64], commit=COMMIT, image_ids={"linux/amd64": "sha256:built"})
    assert part["commit"] == COMMIT
    assert part["vulnerability_db"]["updated_at"] == DB["updated_at"]
    assert part["targets"][0]["build"]["image_id"] == "sha256:built"


@pytest.mark.parametrize(
    ("summary", "image_id", "message"),
    [
        (_summary(commit="b" * 40), "sha256:built", "is of commit 'bbbb"),
        (_summary(commit=None), "sha256:built", "is of commit None"),
        (_summary(database=None), "sha256:built", "names no vulnerability DB"),
        (_summary(), "sha256:other", "is not the one the gate tested"),
    ],
)
def test_publish_refuses_a_summary_that_does_not_vouch_for_these_images(summary, image_id, message):
    """Another commit, no vulnerability DB, or a local image other than the one tested: nothing is published."""
    with pytest.raises(ReleaseError, match=message):
        gate_summary_for(summary, "base", [AMD64], commit=COMMIT, image_ids={"linux/amd64": image_id})


def _record(**changes):
    values = {
        "subject": DIGEST,
        "image": "base",
        "passed": True,
        "commit": COMMIT,
        "ref": "refs/heads/main",
        "created": "2026-12-01T00:00:00+00:00",
        "image_ids": {"linux/amd64": "sha256:built"},
        "vulnerability_db": DB,
    }
    return GateRecord(**(values | changes))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"passed": False}, "did not pass"),
        ({"subject": "sha256:" + "2" * 64}, "it is about"),
        ({"commit": ""}, "names no commit"),
        ({"image_ids": {}}, "names no image"),
        ({"vulnerability_db": {}}, "names no vulnerability DB"),
    ],
)
def test_promote_accepts_only_a_record_naming_commit_digest_images_and_db(changes, problem):
    """A record written before this rule (no DB, no images) does not vouch for a promotion."""
    found = record_problem(_record(**changes), DIGEST)
    assert found == problem if problem is None else problem in found


def test_the_db_used_comes_from_the_runs_trivy_record(tmp_path):
    (tmp_path / "security").mkdir()
    record = tmp_path / "security" / "trivy.json"
    record.write_text(
        '{"db_available": true, "db_updated_at": "2026-12-01T00:00:00+00:00", "db_age_hours": 5, "db": "x"}'
    )
    assert vulnerability_db_used(tmp_path) == {"updated_at": "2026-12-01T00:00:00+00:00", "age_hours": 5, "detail": "x"}
    record.write_text('{"db_available": false, "db": "no DB"}')
    assert vulnerability_db_used(tmp_path) is None
