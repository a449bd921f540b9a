"""Showing sizes: the evidence attached to a test, the per-run size row and the Markdown size table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from reactor_harness.checks.sizes.baseline import BaselineEntry, SizeBaseline, SizeChange
from reactor_harness.checks.sizes.measure import ImageSizes
from reactor_harness.checks.sizes.policy import MB, SizePolicy, megabytes

# -- evidence ---------------------------------------------------------------------------------------

_STEP_WIDTH = 100


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def layer_table(sizes: ImageSizes) -> str:
    """Every layer with its gzip and tar size, its origin and the step that created it."""
    lines = [f"{'#':>3}  {'origin':<6}  {'gzip MB':>8}  {'tar MB':>8}  created by"]
    for layer in sizes.layers:
        origin = "parent" if layer.from_parent else "own"
        where = f"{layer.source} " if layer.source else ""
        lines.append(
            f"{layer.index:>3}  {origin:<6}  {layer.gzip_bytes / MB:>8.1f}  {layer.tar_bytes / MB:>8.1f}  "
            f"{where}{_clip(layer.step, _STEP_WIDTH)}"
        )
    return "\n".join(lines)


def evidence(sizes: ImageSizes, policy: SizePolicy) -> str:
    """Where the bytes went: the layers, the large files the image adds, and the waste."""
    own = sizes.own_layers
    parent = (
        f"parent {sizes.parent}: layers 1-{sizes.parent_layer_count}"
        if sizes.parent_layer_count
        else f"parent {sizes.parent or 'none'}: no layers shared"
    )
    lines = [
        f"{sizes}: {megabytes(sizes.compressed_bytes)} compressed "
        f"(budget {megabytes(policy.budget_for(sizes.image))}), "
        f"{megabytes(sizes.uncompressed_bytes)} uncompressed (docker image inspect Size); MB = 10^6 bytes",
        f"{parent}; own layers: {len(own)}, {megabytes(sizes.own_compressed_bytes)} compressed",
        *sizes.notes,
        "",
        layer_table(sizes),
        "",
    ]
    if sizes.large_files:
        lines.append(f"files over {megabytes(policy.large_file)} added by the image's own layers:")
        lines += [
            f"  {item.size / MB:>8.1f} MB  /{item.path}  (layer {item.layer}"
            f"{'' if item.survives else ', removed by a later layer'})"
            for item in sizes.large_files
        ]
    else:
        lines.append(f"no file over {megabytes(policy.large_file)} in the image's own layers")
    if sizes.largest_directories:
        lines.append("where the own layers' surviving files are, uncompressed (largest directories):")
        lines += [f"  {item.size / MB:>8.1f} MB  /{item.path}" for item in sizes.largest_directories]
    lines.append(
        f"own layers waste {megabytes(sizes.own_waste_bytes)} in {sizes.own_waste_count} file copies deleted or "
        f"overwritten later (limit {megabytes(policy.waste_limit)})"
    )
    lines += [
        f"  {copy.size / MB:>8.2f} MB  /{copy.path}  (layer {copy.layer}, {copy.how} in layer {copy.hidden_by})"
        for copy in sizes.own_waste
        if copy.size >= MB // 100
    ]
    if sizes.parent_bytes_hidden:
        lines.append(
            f"own layers also delete or overwrite {megabytes(sizes.parent_bytes_hidden)} of the parent's files "
            "(those bytes still ship in the parent's layers)"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class SizeRow:
    """One line of the size table: an image × platform as measured, with its budget and baseline."""

    image: str
    platform: str
    compressed_bytes: int
    uncompressed_bytes: int
    budget_bytes: int
    baseline: BaselineEntry | None = None

    def measured(self) -> BaselineEntry:
        """The row's sizes as a baseline entry (what --update-size-baseline records)."""
        return BaselineEntry(self.compressed_bytes, self.uncompressed_bytes)

    def change(self) -> SizeChange | None:
        if self.baseline is None:
            return None
        return SizeChange(f"{self.image}-{self.platform}", self.baseline, self.measured())

    def with_baseline(self, baseline: SizeBaseline | None) -> SizeRow:
        known = baseline.entries.get(self.image, {}).get(self.platform) if baseline else None
        return SizeRow(
            self.image, self.platform, self.compressed_bytes, self.uncompressed_bytes, self.budget_bytes, known
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SizeRow:
        baseline = data.get("baseline")
        return cls(**{**data, "baseline": BaselineEntry(**baseline) if baseline else None})


def size_row(sizes: ImageSizes, policy: SizePolicy) -> SizeRow:
    return SizeRow(
        sizes.image, sizes.platform, sizes.compressed_bytes, sizes.uncompressed_bytes, policy.budget_for(sizes.image)
    )


def markdown_table(rows: Sequence[SizeRow]) -> str:
    """The size table for the README and the reports folder (MB = 10^6 bytes)."""
    lines = [
        "| image | platform | compressed (MB) | budget (MB) | uncompressed (MB) | baseline compressed (MB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in sorted(rows, key=lambda r: (r.image != "base", r.image, r.platform)):
        change = row.change()
        versus = (
            f"{row.baseline.compressed_bytes / MB:.1f} ({change.ratio:+.1%})" if row.baseline and change else "none"
        )
        lines.append(
            f"| {row.image} | {row.platform} | {row.compressed_bytes / MB:.1f} | {row.budget_bytes / MB:.0f} | "
            f"{row.uncompressed_bytes / MB:.1f} | {versus} |"
        )
    return "\n".join(lines) + "\n"
