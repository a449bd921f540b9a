"""Size measurements kept across runs: a layer's facts by its diff_id, an image's layer list by its layers.

Both keys are content addresses: a layer with a given diff_id always gzips to the same size and holds the
same files, and an image's layer stack (its diff_ids, as `docker image inspect` gives them) names the same
layers whatever metadata sits on top. The stack, not the image id, keys the layer list: the revision label
changes the image id with every commit while no layer changes. When every layer of an image is known,
measuring it needs no `docker save` archive at all; the archive is saved only on a miss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reactor_harness.checks.sizes import layers as layers_module
from reactor_harness.checks.sizes.layers import LayerFacts, SavedImage, SavedLayer, measure_layer
from reactor_harness.core.cache import ResultCache, layer_stack_key, source_digest

LAYERS_KIND = "sizes-layers"
LAYOUTS_KIND = "sizes-image-layouts"
_CODE = source_digest(Path(layers_module.__file__))  # how facts are computed: a change makes a new key


def layout_to_json(saved: SavedImage) -> dict[str, Any]:
    """An image's layers with the history step that made each (not the archive's path, which is this run's)."""
    return {"layers": [[layer.diff_id, layer.created_by] for layer in saved.layers]}


def layout_from_json(data: Any, diff_ids: Sequence[str]) -> SavedImage:
    """The cached layer list of the stack `diff_ids`; KeyError/TypeError/ValueError when the entry is malformed
    or lists other layers. Its layers name no archive member: a miss later reads them from a fresh archive."""
    layers = tuple(SavedLayer("", str(diff_id), str(step)) for diff_id, step in data["layers"])
    if [layer.diff_id for layer in layers] != list(diff_ids):
        raise ValueError("the cached layer list is not this image's layer stack")
    return SavedImage(archive=Path(), config={"rootfs": {"type": "layers", "diff_ids": list(diff_ids)}}, layers=layers)


def facts_from_json(data: Any, diff_id: str) -> LayerFacts:
    facts = LayerFacts.from_json(data)
    if facts.diff_id != diff_id or facts.gzip_bytes < 0 or facts.tar_bytes < 0:
        raise ValueError(f"the entry is not the facts of {diff_id}")
    return facts


class StoredImages:
    """Reads an image's layer list and layer facts from the results cache, saving the archive only on a miss."""

    def __init__(self, cache: ResultCache, save_archive: Callable[[], Path]) -> None:
        self.cache = cache
        self.save_archive = save_archive
        self._saved: SavedImage | None = None
        self.layers_from_cache = 0
        self.layers_measured = 0

    def saved(self) -> SavedImage:
        """The image read from its `docker save` archive (saved once, on the first miss)."""
        if self._saved is None:
            self._saved = layers_module.read_saved_image(self.save_archive())
        return self._saved

    @property
    def archive_saved(self) -> bool:
        return self._saved is not None

    def layout(self, diff_ids: Sequence[str]) -> SavedImage:
        """The image's layers, bottom first, for its layer stack as the engine inspects it: from the cache, or
        read from the archive (which must hold exactly that stack) and stored."""

        def read() -> SavedImage:
            saved = self.saved()
            if saved.diff_ids != list(diff_ids):
                raise layers_module.ArchiveError(
                    f"{saved.archive}: its layers differ from the inspected image's; was the image rebuilt "
                    "while it was measured? Run again"
                )
            return saved

        found = self.cache.get(
            LAYOUTS_KIND,
            {"layers": layer_stack_key(diff_ids), "code": _CODE},
            read,
            layout_to_json,
            lambda data: layout_from_json(data, diff_ids),
        )
        return found.value

    def facts(self, image: SavedImage, layer: SavedLayer) -> LayerFacts:
        """One layer's facts (the LayerCache protocol of measure_image)."""

        def measure() -> LayerFacts:
            saved = self.saved()
            member = next((item for item in saved.layers if item.diff_id == layer.diff_id), None)
            if member is None:
                raise layers_module.ArchiveError(f"{saved.archive}: no layer {layer.diff_id}; was the image rebuilt?")
            return measure_layer(saved.archive, member)

        found = self.cache.get(
            LAYERS_KIND,
            {"diff_id": layer.diff_id, "code": _CODE},
            measure,
            LayerFacts.to_json,
            lambda data: facts_from_json(data, layer.diff_id),
        )
        if found.from_cache:
            self.layers_from_cache += 1
        else:
            self.layers_measured += 1
        return found.value
