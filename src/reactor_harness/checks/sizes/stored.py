"""Size measurements kept across runs: a layer's facts by its diff_id, an image's layer list by its id.

Both keys are content addresses: a layer with a given diff_id always gzips to the same size and holds the
same files, and an image id is the digest of its config (which lists its layers). When every layer of an
image is known, measuring it needs no `docker save` archive at all; the archive is saved only on a miss.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from reactor_harness.checks.sizes import layers as layers_module
from reactor_harness.checks.sizes.layers import LayerFacts, SavedImage, SavedLayer, measure_layer
from reactor_harness.core.cache import ResultCache, source_digest

LAYERS_KIND = "sizes-layers"
LAYOUTS_KIND = "sizes-image-layouts"
_CODE = source_digest(Path(layers_module.__file__))  # how facts are computed: a change makes a new key


def layout_to_json(saved: SavedImage) -> dict[str, Any]:
    """An image's config and layer list (not the archive's path, which is this run's)."""
    return {
        "config": saved.config,
        "layers": [[layer.member, layer.diff_id, layer.created_by] for layer in saved.layers],
    }


def layout_from_json(data: Any, image_id: str) -> SavedImage:
    """The cached layer list of `image_id`; KeyError/TypeError/ValueError when the entry is malformed."""
    layers = tuple(SavedLayer(str(member), str(diff_id), str(step)) for member, diff_id, step in data["layers"])
    if [layer.diff_id for layer in layers] != list(data["config"]["rootfs"]["diff_ids"]):
        raise ValueError(f"the layer list of {image_id} disagrees with its config")
    # No archive this run: StoredLayerCache saves one only if a layer is missing from the cache.
    return SavedImage(archive=Path(), config=dict(data["config"]), layers=layers)


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

    def layout(self, image_id: str) -> SavedImage:
        """The image's layers, bottom first: from the cache, or read from the archive and stored."""
        found = self.cache.get(
            LAYOUTS_KIND,
            {"image_id": image_id, "code": _CODE},
            self.saved,
            layout_to_json,
            lambda data: layout_from_json(data, image_id),
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
