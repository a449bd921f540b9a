"""One scan per image × platform for the gate (its JSON, SARIF and SBOM outputs), and the Dockerfiles' scan."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reactor_harness.checks.security.findings import Report
from reactor_harness.checks.security.trivy import ConfigScan, ImageScan, Trivy


@dataclass(frozen=True)
class ImageScanRecord:
    """The outputs of one image × platform scan, shared by the run's workers as JSON."""

    image: str
    platform: str
    report: str
    sarif: str
    sbom: str
    scanners: tuple[str, ...]
    vulnerability_db: bool
    duration_seconds: float
    trivy_version: str
    command: tuple[str, ...]
    from_cache: bool = False  # True: Trivy's outputs came from the results cache, no scan ran in this run

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageScanRecord:
        return cls(**{**data, "scanners": tuple(data["scanners"]), "command": tuple(data["command"])})


def scan_image_for_gate(
    trivy: Trivy,
    archive: Path,
    *,
    image: str,
    platform: str,
    platform_slug: str,
    reports_dir: Path,
    cache_dir: Path,
    ignorefile: Path,
    ignore_unfixed: bool,
    with_vulnerabilities: bool,
) -> ImageScanRecord:
    """Scan an image archive for vulnerabilities (given a DB), secrets and image-config misconfigurations.

    Writes `<image>-<platform>.json` (Trivy's report), `.sarif` (for GitHub's Security tab) and `.cdx.json`
    (a CycloneDX SBOM) into reports_dir.
    """
    stem = reports_dir / f"{image}-{platform_slug}"
    scanners = ("vuln", "secret") if with_vulnerabilities else ("secret",)
    scan = ImageScan(
        archive=archive,
        output=stem.with_suffix(".json"),
        cache_dir=cache_dir,
        scanners=scanners,
        image_config_scanners=("misconfig", "secret"),
        ignorefile=ignorefile,
        ignore_unfixed=ignore_unfixed,
    )
    outcome = trivy.scan_image(scan)
    sarif = stem.with_suffix(".sarif")
    sbom = stem.with_suffix(".cdx.json")
    trivy.convert(scan.output, "sarif", sarif)
    trivy.convert(scan.output, "cyclonedx", sbom)
    return ImageScanRecord(
        image=image,
        platform=platform,
        report=str(scan.output),
        sarif=str(sarif),
        sbom=str(sbom),
        scanners=scanners,
        vulnerability_db=with_vulnerabilities,
        duration_seconds=round(outcome.result.duration, 2),
        trivy_version=outcome.report.trivy_version or trivy.binary.version,
        command=outcome.result.command,
    )


def scan_dockerfiles(trivy: Trivy, images_dir: Path, reports_dir: Path, ignorefile: Path, cache_dir: Path) -> Report:
    """The misconfiguration scan of the family's Dockerfiles; writes dockerfiles.json and dockerfiles.sarif."""
    output = reports_dir / "dockerfiles.json"
    outcome = trivy.scan_config(
        ConfigScan(directory=images_dir, output=output, cache_dir=cache_dir, ignorefile=ignorefile)
    )
    trivy.convert(output, "sarif", output.with_suffix(".sarif"))
    return outcome.report


def image_of_dockerfile(target: str) -> str:
    """`python/Dockerfile` -> `python`: the family image a `trivy config` result belongs to."""
    return Path(target).parts[0] if len(Path(target).parts) > 1 else target
