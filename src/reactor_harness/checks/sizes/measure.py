"""Measuring one image: per-layer facts (cached once per layer digest), its layers, big files and waste."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
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
from reactor_harness.checks.sizes.policy import SizePolicy, megabytes
from reactor_harness.core.once import RunOnce
from reactor_harness.family.dockerfile import Dockerfile
from reactor_harness.family.policy import headroom_limit

_LAYER_KEYWORDS = ("RUN", "COPY", "ADD", "WORKDIR")  # the instructions that can leave a layer
_WASTE_LISTED = 25
_DIRECTORIES_LISTED = 10
_DIRECTORY_DEPTH = 3  # var/cache/apt, usr/local/bin, opt/python-tools/venv

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
    layers_from_cache: int = 0  # how many layers' facts the results cache held (the rest were measured)
    archive_saved: bool = True  # False: every layer was cached, no `docker save` archive was needed

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
            layers_from_cache=int(data.get("layers_from_cache", 0)),
            archive_saved=bool(data.get("archive_saved", True)),
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
    policy: SizePolicy,
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


def headroom_violation(sizes: ImageSizes, budget: int, headroom: float) -> str | None:
    """Why the image leaves less than `headroom` of its budget free, or None if it keeps that much."""
    limit = headroom_limit(budget, headroom)
    if sizes.compressed_bytes <= limit:
        return None
    return (
        f"{sizes}: {megabytes(sizes.compressed_bytes)} compressed leaves less than {headroom:.0%} of its budget of "
        f"{megabytes(budget)} free (at most {megabytes(limit)}; over by {megabytes(sizes.compressed_bytes - limit)}): "
        "make the image smaller, or change [sizes] headroom or its budget in images/policy.toml as a policy "
        "decision and say why in the commit"
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
