"""What a gate result must name to vouch for a build: the commit, exactly the images tested, the vulnerability
DB its scans used. Checked when publishing (the run's summary) and when promoting (the recorded result)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reactor_harness.core.errors import HarnessError
from reactor_harness.core.platforms import Platform

if TYPE_CHECKING:
    from reactor_harness.release.promote import GateRecord


class ReleaseError(HarnessError):
    """A publish, promotion or rollback cannot go ahead; the message says why and what to do."""


def record_problem(record: GateRecord, digest: str) -> str | None:
    """Why a gate record cannot vouch for `digest` (None when it can): it must have passed and name the
    commit, exactly this image digest and the vulnerability DB its scans used."""
    if not record.passed:
        return "the gate did not pass"
    if record.subject != digest:
        return f"it is about {record.subject}"
    if not is_commit(record.commit):
        return f"it names no commit (commit {record.commit!r})"
    if not record.image_ids:
        return "it names no image the gate tested"
    if not record.vulnerability_db.get("updated_at"):
        return "it names no vulnerability DB (the gate ran without one, or the record predates this rule)"
    return None


def is_commit(text: str) -> bool:
    """A full git commit id (40 or 64 hex digits)."""
    return len(text) in (40, 64) and all(character in "0123456789abcdef" for character in text)


def require_passed(summary: Mapping[str, Any]) -> None:
    """ReleaseError unless the run's summary says the gate passed."""
    if not summary.get("passed"):
        raise ReleaseError("the gate summary says the run did not pass; nothing from it may be published")


def gate_summary_for(
    summary: Mapping[str, Any],
    image: str,
    platforms: Sequence[Platform],
    *,
    commit: str,
    image_ids: Mapping[str, str],
) -> dict[str, Any]:
    """The part of the run's gate summary about one image; ReleaseError unless it passed on every platform,
    for this commit, on exactly the local images about to be pushed (`image_ids`: platform -> image ID),
    with a vulnerability DB."""
    require_passed(summary)
    if summary.get("commit") != commit:
        raise ReleaseError(
            f"the gate summary is of commit {summary.get('commit')!r}, not {commit}: publish only what the gate "
            "tested at this commit (run the gate on it)"
        )
    database = summary.get("vulnerability_db")
    if not isinstance(database, Mapping) or not database.get("updated_at"):
        raise ReleaseError(
            "the gate summary names no vulnerability DB: its scans ran without one; run the gate with "
            "--require-vuln-db where Trivy can download the DB"
        )
    targets = [target for target in summary.get("targets", []) if target.get("image") == image]
    checked = {target.get("platform") for target in targets if target.get("ok")}
    missing = [str(platform) for platform in platforms if str(platform) not in checked]
    if missing:
        raise ReleaseError(
            f"the gate summary has no clean result for {image} on {', '.join(missing)}: run the gate on them"
        )
    for target in targets:
        platform = str(target.get("platform"))
        tested = (target.get("build") or {}).get("image_id")
        if platform in image_ids and tested != image_ids[platform]:
            raise ReleaseError(
                f"{image} ({platform}): the engine's image {image_ids[platform]} is not the one the gate tested "
                f"({tested}); load the gate's saved images (reactor-release save / docker load) and publish those"
            )
    kept = ("schema", "run_id", "generated", "exit_status", "commit", "vulnerability_db")  # self-describing
    return {key: summary[key] for key in kept if key in summary} | {"targets": targets}
