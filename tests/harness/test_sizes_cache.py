"""The results cache's size entries: layer lists by layer stack, layer facts by diff_id, no archive on a hit."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from reactor_harness.checks.sizes.layers import ArchiveError, read_saved_image
from reactor_harness.checks.sizes.measure import MemoryLayerCache, measure_image
from reactor_harness.checks.sizes.policy import SizePolicy
from reactor_harness.checks.sizes.stored import LAYERS_KIND, StoredImages
from reactor_harness.core import cache as cache_module
from reactor_harness.core.cache import CacheNotices, ResultCache
from reactor_harness.family.policy import load_policy

POLICY = SizePolicy.from_family(load_policy(Path(__file__).parents[2] / "images"))


def cache_in(folder: Path, tmp_path: Path) -> ResultCache:
    return ResultCache(folder, notices=CacheNotices(tmp_path / "notices.jsonl"), version="1.0")


def _layer(name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def _archive(path: Path, layers: list[bytes]) -> Path:
    diff_ids = [f"sha256:{hashlib.sha256(data).hexdigest()}" for data in layers]
    config = {
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"RUN s{n}"} for n in range(len(layers))],
    }
    manifest = [{"Config": "config.json", "Layers": [f"{n}/layer.tar" for n in range(len(layers))]}]
    with tarfile.open(path, mode="w") as tar:
        for name, data in [
            ("manifest.json", json.dumps(manifest).encode()),
            ("config.json", json.dumps(config).encode()),
        ] + [(f"{n}/layer.tar", data) for n, data in enumerate(layers)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _measure(stored: StoredImages, diff_ids: list[str]):
    """Measure as the plugin does: the layer stack as the engine inspects it (RootFS.Layers), then the layers."""
    return measure_image(
        stored.layout(diff_ids), image="x", platform="linux/amd64", uncompressed_bytes=1, cache=stored, policy=POLICY
    )


def _stack(archive: Path) -> list[str]:
    return read_saved_image(archive).diff_ids


def test_a_cached_image_is_measured_without_saving_an_archive(tmp_path):
    """Second run: the layer list and every layer's facts come from the cache, no archive is saved, and the
    measurement equals the one made from the archive."""
    archive = _archive(tmp_path / "image.tar", [_layer("etc/a", b"a" * 5000), _layer("opt/b", os.urandom(3000))])
    saves: list[int] = []

    def save() -> Path:
        saves.append(1)
        return archive

    first_store = StoredImages(cache_in(tmp_path / "c", tmp_path), save)
    first = _measure(first_store, _stack(archive))
    second_store = StoredImages(cache_in(tmp_path / "c", tmp_path), save)
    second = _measure(second_store, _stack(archive))
    assert saves == [1]
    assert (first_store.layers_measured, second_store.layers_from_cache, second_store.archive_saved) == (2, 2, False)
    direct = measure_image(
        read_saved_image(archive),
        image="x",
        platform="linux/amd64",
        uncompressed_bytes=1,
        cache=MemoryLayerCache(),
        policy=POLICY,
    )
    assert first == second == direct


def test_a_new_image_id_over_the_same_layers_needs_no_archive(tmp_path):
    """A commit changes only the revision label, so the image id but no layer: the layer list is found by the
    layer stack, every layer's facts come from the cache, and no archive is saved."""
    archive = _archive(tmp_path / "image.tar", [_layer("etc/a", b"a" * 5000), _layer("opt/b", os.urandom(3000))])
    saves: list[int] = []

    def save() -> Path:
        saves.append(1)
        return archive

    first = _measure(StoredImages(cache_in(tmp_path / "c", tmp_path), save), _stack(archive))
    relabelled = StoredImages(cache_in(tmp_path / "c", tmp_path), save)  # no image id anywhere in the keys
    assert _measure(relabelled, _stack(archive)) == first
    assert (saves, relabelled.layers_from_cache, relabelled.archive_saved) == ([1], 2, False)


def test_an_archive_with_other_layers_than_inspected_is_refused(tmp_path):
    """The tag moved between inspect and save (the image was rebuilt): the measurement fails, naming it, rather
    than storing one image's layer list under another's stack."""
    archive = _archive(tmp_path / "image.tar", [_layer("etc/a", b"a" * 5000)])
    stored = StoredImages(cache_in(tmp_path / "c", tmp_path), lambda: archive)
    with pytest.raises(ArchiveError, match="differ from the inspected image"):
        _measure(stored, ["sha256:" + "0" * 64])
    measured = _measure(StoredImages(cache_in(tmp_path / "c", tmp_path), lambda: archive), _stack(archive))
    assert measured.diff_ids == _stack(archive)  # the refused stack stored nothing the right one could read


def test_a_layer_entry_of_another_layer_is_not_trusted(tmp_path):
    """An entry whose facts name another diff_id (tampered, or a hash clash of keys) is remeasured."""
    archive = _archive(tmp_path / "image.tar", [_layer("etc/a", b"a" * 5000)])
    cache = cache_in(tmp_path / "c", tmp_path)
    stored = StoredImages(cache, lambda: archive)
    measured = _measure(stored, _stack(archive))
    layer_key = {
        "diff_id": measured.layers[0].diff_id,
        "code": cache_module.source_digest(Path(read_saved_image.__code__.co_filename)),
    }
    path = cache.entry_path(LAYERS_KIND, layer_key)
    record = json.loads(path.read_text(encoding="utf-8"))
    record["value"]["diff_id"] = "sha256:other"
    record["value"]["gzip_bytes"] = 1
    path.write_text(json.dumps(record), encoding="utf-8")
    again = StoredImages(cache_in(tmp_path / "c", tmp_path), lambda: archive)
    assert _measure(again, _stack(archive)) == measured
    assert again.layers_measured == 1
