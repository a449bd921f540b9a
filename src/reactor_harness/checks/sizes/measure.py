"""Image sizes: the budgets, the committed baseline, and the evidence of where the bytes went.

Units: bytes everywhere in data; MB = 10^6 bytes in every message and table. "Compressed" is what a
registry stores (the gzipped layer blobs, see layers.py); "uncompressed" is what `docker image ls`
shows (the inspect `Size`). Budgets and growth are enforced on the compressed size.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reactor_harness.checks.sizes.layers import (
    FILE,
    HiddenCopy,
    LayerFacts,
    SavedImage,
    SavedLayer,
    describe_step,
    hidden_copies,
    measure_layer,
)
from reactor_harness.core.errors import HarnessError
from reactor_harness.core.once import RunOnce
from reactor_harness.family.dockerfile import Dockerfile

MB = 1_000_000
UPDATE_OPTION = "--update-size-baseline"
BASELINE_FILE_NAME = "size-baseline.json"
_LAYER_KEYWORDS = ("RUN", "COPY", "ADD", "WORKDIR")  # the instructions that can leave a layer
_STEP_WIDTH = 100
_WASTE_LISTED = 25
_DIRECTORIES_LISTED = 10
_DIRECTORY_DEPTH = 3  # var/cache/apt, usr/local/bin, opt/python-tools/venv


@dataclass(frozen=True)
class SizePolicy:
    """The size rules, declared once: budgets per image (compressed) and the regression thresholds."""

    budgets: Mapping[str, int]  # image name -> compressed budget in bytes
    default_budget: int  # every image not named above (the language images)
    growth_limit: float = 0.20  # compressed growth over the baseline that fails, as a fraction
    waste_limit: int = 5 * MB  # bytes the image's own layers may ship and then delete or overwrite
    large_file: int = 10 * MB  # files above this, added by the image's own layers, are listed
    shrink_notice: float = 0.01  # shrinking by more than this is reported (rewrite the baseline to keep it)

    def budget_for(self, image: str) -> int:
        return self.budgets.get(image, self.default_budget)


# The family's size rules. base is the shared root; every other image is a language image.
POLICY = SizePolicy(budgets={"base": 200 * MB}, default_budget=500 * MB)


class BaselineError(HarnessError):
    """The size baseline file is missing, malformed, or has no entry for an image × platform."""


def megabytes(size: int) -> str:
    """Bytes as MB (10^6 bytes) with one decimal: `123.4 MB`."""
    return f"{size / MB:.1f} MB"


def signed_megabytes(size: int) -> str:
    return ("+" if size >= 0 else "-") + megabytes(abs(size))


# -- per-layer facts, once per layer digest ---------------------------------------------------------


class LayerCache(Protocol):
    """Where measured layers are kept, so a layer shared by several images is gzipped once."""

    def facts(self, image: SavedImage, layer: SavedLayer) -> LayerFacts: ...


class MemoryLayerCache:
    """Layer facts kept for one process (engine-free tests, one-off measurements)."""

    def __init__(self) -> None:
        self.measured: dict[str, LayerFacts] = {}

    def facts(self, image: SavedImage, layer: SavedLayer) -> LayerFacts:
        if layer.diff_id not in self.measured:
            self.measured[layer.diff_id] = measure_layer(image.archive, layer)
        return self.measured[layer.diff_id]


class OnceLayerCache:
    """Layer facts kept in the run's once folder: every xdist worker reuses a layer another one measured."""

    def __init__(self, once: RunOnce) -> None:
        self.once = once
        self.directory = once.directory / "layers"

    def facts(self, image: SavedImage, layer: SavedLayer) -> LayerFacts:
        digest = layer.diff_id.split(":", 1)[-1]

        def measure() -> str:
            facts = measure_layer(image.archive, layer)
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{digest}.json"
            path.write_text(json.dumps(facts.to_json(), separators=(",", ":")), encoding="utf-8")
            return str(path)

        path = self.once.get(f"layer-{digest}", measure, str, str)
        return LayerFacts.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


# -- one image's sizes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerSize:
    """One layer: what it weighs, whether the parent image brought it, and the step that made it."""

    index: int  # 1-based, bottom layer first
    diff_id: str
    step: str
    tar_bytes: int
    gzip_bytes: int
    from_parent: bool
    source: str | None = None  # `base/Dockerfile:143` when the step lines up with the Dockerfile


@dataclass(frozen=True)
class LargeFile:
    """A file above the large-file threshold that one of the image's own layers adds."""

    path: str
    size: int
    layer: int  # 1-based
    survives: bool  # False when a later layer deletes or overwrites it (then it is waste too)


@dataclass(frozen=True)
class DirectorySize:
    """The bytes an image's own layers add under one directory (files that survive to the final image)."""

    path: str
    size: int


@dataclass(frozen=True)
class WastedCopy:
    """A file copy an own layer ships that a later layer deletes or overwrites."""

    path: str
    size: int
    layer: int  # 1-based
    hidden_by: int  # 1-based
    how: str


@dataclass(frozen=True)
class ImageSizes:
    """The measured sizes of one image × platform, with the evidence behind them."""

    image: str
    platform: str
    compressed_bytes: int
    uncompressed_bytes: int
    layers: tuple[LayerSize, ...]
    parent: str | None  # the image the final stage builds FROM, as built or found in this run
    parent_layer_count: int  # how many bottom layers come from it (0: none, or unknown parent)
    large_files: tuple[LargeFile, ...] = ()
    largest_directories: tuple[DirectorySize, ...] = ()
    own_waste_bytes: int = 0
    own_waste_count: int = 0
    own_waste: tuple[WastedCopy, ...] = ()  # the largest ones, for the evidence
    parent_bytes_hidden: int = 0  # parent-layer file bytes own layers delete or overwrite (reported only)
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.image}-{self.platform}"

    @property
    def own_layers(self) -> tuple[LayerSize, ...]:
        return tuple(layer for layer in self.layers if not layer.from_parent)

    @property
    def own_compressed_bytes(self) -> int:
        return sum(layer.gzip_bytes for layer in self.own_layers)

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageSizes:
        return cls(
            image=data["image"],
            platform=data["platform"],
            compressed_bytes=data["compressed_bytes"],
            uncompressed_bytes=data["uncompressed_bytes"],
            layers=tuple(LayerSize(**layer) for layer in data["layers"]),
            parent=data["parent"],
            parent_layer_count=data["parent_layer_count"],
            large_files=tuple(LargeFile(**item) for item in data["large_files"]),
            largest_directories=tuple(DirectorySize(**item) for item in data["largest_directories"]),
            own_waste_bytes=data["own_waste_bytes"],
            own_waste_count=data["own_waste_count"],
            own_waste=tuple(WastedCopy(**item) for item in data["own_waste"]),
            parent_bytes_hidden=data["parent_bytes_hidden"],
            notes=tuple(data["notes"]),
        )


@dataclass(frozen=True)
class ParentImage:
    """The image a family image's final stage builds FROM, as the engine holds it in this run."""

    reference: str | None  # None: FROM scratch or an earlier stage
    image_id: str | None = None
    diff_ids: tuple[str, ...] | None = None  # None: the engine does not have it
    family_image: str | None = None  # set when the parent is a family image this run built


def common_prefix_length(layers: Sequence[str], parent_layers: Sequence[str]) -> int:
    count = 0
    for mine, theirs in zip(layers, parent_layers, strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def parent_reference(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> str | None:
    """The image the final stage builds FROM, as this build resolved it; None for scratch or a stage."""
    stage = dockerfile.final_stage
    arg = stage.base_arg
    if arg is not None:
        return build_args.get(arg) or dockerfile.arg_default(arg)
    if stage.base == "scratch" or any(earlier.alias == stage.base for earlier in dockerfile.stages[:-1]):
        return None
    return stage.base


def layer_sources(dockerfile: Dockerfile, steps: Sequence[str]) -> list[str | None]:
    """Line each own layer's step up with the final stage's instruction of the same kind, in order."""
    label = f"{dockerfile.path.parent.name}/{dockerfile.path.name}"
    candidates = [
        i for i in dockerfile.stage_instructions(dockerfile.final_stage.index) if i.keyword in _LAYER_KEYWORDS
    ]
    sources: list[str | None] = []
    position = 0
    for step in steps:
        keyword = step.split(" ", 1)[0].upper()
        while position < len(candidates) and candidates[position].keyword != keyword:
            position += 1
        if position == len(candidates):
            return [None] * len(steps)  # the steps do not line up: say nothing rather than something wrong
        sources.append(f"{label}:{candidates[position].start_line}")
        position += 1
    return sources


def measure_image(
    saved: SavedImage,
    *,
    image: str,
    platform: str,
    uncompressed_bytes: int,
    cache: LayerCache,
    parent: str | None = None,
    parent_diff_ids: Sequence[str] | None = None,
    dockerfile: Dockerfile | None = None,
    policy: SizePolicy = POLICY,
) -> ImageSizes:
    """Measure an image from its `docker save` archive: per-layer gzip sizes, large files and waste."""
    notes: list[str] = []
    parent_count = common_prefix_length(saved.diff_ids, parent_diff_ids) if parent_diff_ids is not None else 0
    if parent is not None and parent_diff_ids is None:
        notes.append(f"the parent image {parent} could not be inspected: every layer is counted as the image's own")
    elif parent_diff_ids is not None and parent_count < len(parent_diff_ids):
        notes.append(
            f"only the bottom {parent_count} of the parent's {len(parent_diff_ids)} layers are in this image: "
            "it was not built on this parent"
        )
    facts = [cache.facts(saved, layer) for layer in saved.layers]
    steps = [describe_step(layer.created_by) for layer in saved.layers]
    sources: list[str | None] = [None] * len(steps)
    if dockerfile is not None:
        sources[parent_count:] = layer_sources(dockerfile, steps[parent_count:])
    layers = tuple(
        LayerSize(
            index=index + 1,
            diff_id=layer.diff_id,
            step=steps[index],
            tar_bytes=fact.tar_bytes,
            gzip_bytes=fact.gzip_bytes,
            from_parent=index < parent_count,
            source=sources[index],
        )
        for index, (layer, fact) in enumerate(zip(saved.layers, facts, strict=True))
    )
    hidden = hidden_copies([fact.entries for fact in facts])
    own_hidden = [copy for copy in hidden if copy.layer >= parent_count]
    hidden_keys = {(copy.layer, copy.path) for copy in hidden}
    large = [
        LargeFile(entry.path, entry.size, index + 1, (index, entry.path) not in hidden_keys)
        for index in range(parent_count, len(facts))
        for entry in facts[index].entries
        if entry.kind == FILE and entry.size > policy.large_file
    ]
    large.sort(key=lambda item: -item.size)
    directories: Counter[str] = Counter()
    for index in range(parent_count, len(facts)):
        for entry in facts[index].entries:
            if entry.kind == FILE and (index, entry.path) not in hidden_keys:
                directories[_directory_of(entry.path)] += entry.size
    return ImageSizes(
        image=image,
        platform=platform,
        compressed_bytes=sum(fact.gzip_bytes for fact in facts),
        uncompressed_bytes=uncompressed_bytes,
        layers=layers,
        parent=parent,
        parent_layer_count=parent_count,
        large_files=tuple(large),
        largest_directories=tuple(
            DirectorySize(path, size) for path, size in directories.most_common(_DIRECTORIES_LISTED)
        ),
        own_waste_bytes=sum(copy.size for copy in own_hidden),
        own_waste_count=len(own_hidden),
        own_waste=tuple(_wasted(copy) for copy in sorted(own_hidden, key=lambda c: -c.size)[:_WASTE_LISTED]),
        parent_bytes_hidden=sum(
            copy.size for copy in hidden if copy.layer < parent_count and copy.hidden_by >= parent_count
        ),
        notes=tuple(notes),
    )


def _directory_of(path: str) -> str:
    """The directory a file counts under in the breakdown: its parent, cut to the first few levels."""
    parents = path.split("/")[:-1]
    return "/".join(parents[:_DIRECTORY_DEPTH])  # "" for a file at the root, shown as "/"


def _wasted(copy: HiddenCopy) -> WastedCopy:
    return WastedCopy(copy.path, copy.size, copy.layer + 1, copy.hidden_by + 1, copy.how)


# -- the rules --------------------------------------------------------------------------------------


def budget_violation(sizes: ImageSizes, budget: int) -> str | None:
    """Why the image is over its compressed budget, or None if it fits."""
    if sizes.compressed_bytes <= budget:
        return None
    return (
        f"{sizes}: {megabytes(sizes.compressed_bytes)} compressed is over its budget of {megabytes(budget)} "
        f"by {megabytes(sizes.compressed_bytes - budget)} (uncompressed {megabytes(sizes.uncompressed_bytes)}; "
        f"MB = 10^6 bytes)"
    )


def waste_violation(sizes: ImageSizes, limit: int) -> str | None:
    """Why the image's own layers waste too much, or None if within the limit."""
    if sizes.own_waste_bytes <= limit:
        return None
    return (
        f"{sizes}: its own layers ship {megabytes(sizes.own_waste_bytes)} in {sizes.own_waste_count} file copies that "
        f"a later layer deletes or overwrites (limit {megabytes(limit)}): delete caches in the same RUN that "
        "creates them"
    )


@dataclass(frozen=True)
class BaselineEntry:
    """The last accepted sizes of one image × platform."""

    compressed_bytes: int
    uncompressed_bytes: int


@dataclass(frozen=True)
class SizeChange:
    """How an image's sizes moved against its baseline entry."""

    target: str
    old: BaselineEntry
    new: BaselineEntry

    @property
    def delta(self) -> int:
        return self.new.compressed_bytes - self.old.compressed_bytes

    @property
    def ratio(self) -> float:
        return self.delta / self.old.compressed_bytes if self.old.compressed_bytes else float("inf")

    def describe(self) -> str:
        old, new = self.old, self.new
        return (
            f"{self.target}: compressed {megabytes(old.compressed_bytes)} → {megabytes(new.compressed_bytes)} "
            f"({signed_megabytes(self.delta)}, {self.ratio:+.1%}); "
            f"uncompressed {megabytes(old.uncompressed_bytes)} → {megabytes(new.uncompressed_bytes)} "
            f"({signed_megabytes(new.uncompressed_bytes - old.uncompressed_bytes)})"
        )


def growth_violation(change: SizeChange, limit: float, baseline_path: Path) -> str | None:
    if change.ratio <= limit:
        return None
    return (
        f"{change.describe()}: grew more than {limit:.0%} over the baseline in {baseline_path}. If the growth is "
        f"wanted, rerun with {UPDATE_OPTION} and commit the baseline change with it"
    )


@dataclass
class SizeBaseline:
    """The committed last accepted sizes, per image and platform, read from and written to one JSON file."""

    path: Path
    entries: dict[str, dict[str, BaselineEntry]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, *, missing_ok: bool = False) -> SizeBaseline:
        """The baseline in path; BaselineError naming the file and the problem if it is unusable."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if missing_ok:
                return cls(path)
            raise BaselineError(
                f"no size baseline at {path}: rerun with {UPDATE_OPTION} to record the current sizes, and commit it"
            ) from None
        except OSError as error:
            raise BaselineError(f"cannot read the size baseline {path}: {error}") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise BaselineError(
                f"size baseline {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
                f"fix it, or delete it and rerun with {UPDATE_OPTION}"
            ) from error
        images = data.get("images") if isinstance(data, dict) else None
        if not isinstance(images, dict):
            raise BaselineError(f'size baseline {path}: expected an object with an "images" object at the top')
        entries: dict[str, dict[str, BaselineEntry]] = {}
        for image, platforms in images.items():
            if not isinstance(platforms, dict):
                raise BaselineError(f"size baseline {path}: images.{image} must map platforms to sizes")
            entries[image] = {
                platform: _entry(path, f"images.{image}[{platform!r}]", sizes) for platform, sizes in platforms.items()
            }
        return cls(path, entries)

    def entry(self, image: str, platform: str) -> BaselineEntry:
        """The accepted sizes of one image × platform; BaselineError naming the missing key otherwise."""
        found = self.entries.get(image, {}).get(platform)
        if found is None:
            raise BaselineError(
                f"size baseline {self.path} has no entry images.{image}[{platform!r}]: a new image or platform gets "
                f"one by rerunning with {UPDATE_OPTION} (e.g. --images {image} --platform {platform}); commit the diff"
            )
        return found

    def updated(self, measured: Iterable[tuple[str, str, BaselineEntry]]) -> SizeBaseline:
        """A copy with the measured entries replaced or added; entries not measured stay as they were."""
        entries = {image: dict(platforms) for image, platforms in self.entries.items()}
        for image, platform, entry in measured:
            entries.setdefault(image, {})[platform] = entry
        return SizeBaseline(self.path, entries)

    def dumps(self) -> str:
        document = {
            "comment": (
                "Last accepted image sizes in bytes (compressed: gzipped layers as a registry stores them; "
                f"uncompressed: docker image inspect Size). Rewritten by `pytest tests/test_sizes.py {UPDATE_OPTION}`."
            ),
            "images": {
                image: {platform: asdict(self.entries[image][platform]) for platform in sorted(self.entries[image])}
                for image in sorted(self.entries)
            },
        }
        return json.dumps(document, indent=2) + "\n"

    def write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(self.dumps(), encoding="utf-8")
        temporary.replace(self.path)


def _entry(path: Path, key: str, sizes: Any) -> BaselineEntry:
    if not isinstance(sizes, dict):
        raise BaselineError(
            f"size baseline {path}: {key} must be an object with compressed_bytes and uncompressed_bytes"
        )
    values: dict[str, int] = {}
    for name in ("compressed_bytes", "uncompressed_bytes"):
        value = sizes.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise BaselineError(
                f"size baseline {path}: {key}.{name} must be a positive integer of bytes, found {value!r}"
            )
        values[name] = value
    return BaselineEntry(**values)


def baseline_entry(sizes: ImageSizes) -> BaselineEntry:
    return BaselineEntry(compressed_bytes=sizes.compressed_bytes, uncompressed_bytes=sizes.uncompressed_bytes)


# -- evidence ---------------------------------------------------------------------------------------


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


def evidence(sizes: ImageSizes, policy: SizePolicy = POLICY) -> str:
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


def size_row(sizes: ImageSizes, policy: SizePolicy = POLICY) -> SizeRow:
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
