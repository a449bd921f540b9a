"""Trivy's results kept across runs, keyed by everything a scan depends on; no archive is saved on a hit.

The key: the image id (the digest of its config, so of its layers), Trivy's version, the vulnerability DB's
metadata (or "no DB"), the ignore file's digest, the scanners and --ignore-unfixed, and the harness code
that runs the scan. The value: Trivy's JSON report, its SARIF and its CycloneDX SBOM, written back into
this run's reports folder on a hit, so every reader sees the same files as after a fresh scan.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reactor_harness.checks.security import scan as scan_module
from reactor_harness.checks.security import trivy as trivy_module
from reactor_harness.checks.security.scan import ImageScanRecord
from reactor_harness.core.cache import Cached, ResultCache, file_digest, source_digest
from reactor_harness.core.files import write_text_atomically

SCANS_KIND = "trivy-scans"
_CODE = source_digest(Path(scan_module.__file__), Path(trivy_module.__file__))


def scan_key(
    *,
    image_id: str,
    trivy_version: str,
    db_cache_dir: Path | None,
    ignorefile: Path,
    ignore_unfixed: bool,
) -> dict[str, str]:
    """What a scan's outputs depend on; db_cache_dir None: no vulnerability DB (secrets and config only)."""
    database = "no DB" if db_cache_dir is None else file_digest(db_cache_dir / "db" / "metadata.json")
    return {
        "image_id": image_id,
        "trivy": trivy_version,
        "db": database,
        "ignorefile": file_digest(ignorefile),
        "scanners": "vuln,secret" if db_cache_dir is not None else "secret",
        "image_config_scanners": "misconfig,secret",
        "ignore_unfixed": str(ignore_unfixed),
        "code": _CODE,
    }


def _encode(record: ImageScanRecord) -> dict[str, Any]:
    return {
        "record": record.to_json(),
        "report": Path(record.report).read_text(encoding="utf-8"),
        "sarif": Path(record.sarif).read_text(encoding="utf-8"),
        "sbom": Path(record.sbom).read_text(encoding="utf-8"),
    }


def _decode(data: Any, reports_dir: Path, stem: str) -> ImageScanRecord:
    """Write the cached outputs into this run's reports folder; ValueError when they are not whole."""
    for name in ("report", "sarif", "sbom"):
        json.loads(data[name])  # each output is JSON: one cut short is not trusted
    record = ImageScanRecord.from_json(data["record"])
    base = reports_dir / stem
    paths = {
        "report": base.with_suffix(".json"),
        "sarif": base.with_suffix(".sarif"),
        "sbom": base.with_suffix(".cdx.json"),
    }
    for name, path in paths.items():
        write_text_atomically(path, data[name])  # other workers read these files (reactor affected)
    return dataclasses.replace(
        record, report=str(paths["report"]), sarif=str(paths["sarif"]), sbom=str(paths["sbom"]), from_cache=True
    )


def cached_scan(
    cache: ResultCache,
    key: dict[str, str],
    scan: Callable[[], ImageScanRecord],
    *,
    reports_dir: Path,
    stem: str,
) -> Cached[ImageScanRecord]:
    """The scan's record from the cache (its outputs written to reports_dir), or scanned now and stored."""
    return cache.get(SCANS_KIND, key, scan, _encode, lambda data: _decode(data, reports_dir, stem))
