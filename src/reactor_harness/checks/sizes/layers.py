"""Reading a `docker save` archive: its layers, what each one weighs gzipped, what files it holds.

Engine-free: everything here works on the tarball alone, so it is tested on synthetic archives. Sizes are
bytes. The compressed size of a layer is what a registry stores for it: the layer tar gzipped at level 6
(the default of Go's compress/gzip, which registries' clients use), computed here with zlib.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from reactor_harness.core.errors import HarnessError

GZIP_LEVEL = 6
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

# Entry kinds, as short strings because layer listings are cached as JSON.
FILE = "file"
DIRECTORY = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
WHITEOUT = "whiteout"  # the path named by a .wh.<name> marker is deleted
OPAQUE = "opaque"  # the directory's contents from lower layers are hidden
OTHER = "other"  # devices, fifos

_BUILDKIT_ARGS = re.compile(r"^(?P<keyword>RUN) \|(?P<count>\d+) ")
_SHELL_PREFIX = re.compile(r"^(?:/bin/(?:ba)?sh|/usr/bin/(?:ba)?sh)(?: -o \w+)* -c ")


class ArchiveError(HarnessError):
    """A `docker save` archive cannot be read as an image (missing manifest, config or layer)."""


@dataclass(frozen=True)
class Entry:
    """One member of a layer tar, by its normalized path (no leading ./ or /)."""

    path: str
    kind: str
    size: int = 0


@dataclass(frozen=True)
class LayerFacts:
    """What one layer weighs and holds; cached per layer digest, so shared parent layers are read once."""

    diff_id: str
    tar_bytes: int
    gzip_bytes: int
    entries: tuple[Entry, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "diff_id": self.diff_id,
            "tar_bytes": self.tar_bytes,
            "gzip_bytes": self.gzip_bytes,
            "entries": [[entry.path, entry.kind, entry.size] for entry in self.entries],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LayerFacts:
        return cls(
            diff_id=data["diff_id"],
            tar_bytes=data["tar_bytes"],
            gzip_bytes=data["gzip_bytes"],
            entries=tuple(Entry(path, kind, size) for path, kind, size in data["entries"]),
        )


@dataclass(frozen=True)
class SavedLayer:
    """A layer as the archive holds it: its member name and the diff_id the image config gives it."""

    member: str
    diff_id: str
    created_by: str  # the history step that made it ("" when the history does not say)


@dataclass(frozen=True)
class SavedImage:
    """The image inside a `docker save` archive: its config and its layers, bottom first."""

    archive: Path
    config: dict[str, Any]
    layers: tuple[SavedLayer, ...]

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]


@dataclass(frozen=True)
class HiddenCopy:
    """A file copy some layer ships that the final image never shows: deleted or overwritten later."""

    path: str
    size: int
    layer: int  # 0-based index of the layer holding the copy
    hidden_by: int  # index of the layer that deletes or overwrites it
    how: str  # "deleted" or "overwritten"


def _open_archive(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:")
    except (OSError, tarfile.TarError) as error:
        raise ArchiveError(f"cannot open {path} as a tar archive: {error}") from error


def _member_stream(archive: tarfile.TarFile, path: Path, name: str, what: str) -> tuple[tarfile.TarInfo, IO[bytes]]:
    try:
        member = archive.getmember(name)
    except KeyError:
        raise ArchiveError(f"{path}: no {what} {name!r} in the archive; is it a `docker save` tarball?") from None
    stream = archive.extractfile(member)
    if stream is None:
        raise ArchiveError(f"{path}: {what} {name!r} is not a regular file")
    return member, stream


def _read_json(archive: tarfile.TarFile, path: Path, name: str, what: str) -> Any:
    _, stream = _member_stream(archive, path, name, what)
    try:
        return json.loads(stream.read())
    except json.JSONDecodeError as error:
        raise ArchiveError(f"{path}: {what} {name!r} is not valid JSON ({error})") from error


def layer_steps(config: dict[str, Any]) -> list[str]:
    """The `created_by` of every history step that made a layer (empty_layer steps skipped), bottom first."""
    return [str(step.get("created_by", "")) for step in config.get("history", []) if not step.get("empty_layer", False)]


def read_saved_image(archive_path: Path) -> SavedImage:
    """Read the manifest and config of a single-image `docker save` archive (legacy or OCI layout)."""
    with _open_archive(archive_path) as archive:
        manifest = _read_json(archive, archive_path, "manifest.json", "manifest")
        if not isinstance(manifest, list) or len(manifest) != 1:
            count = len(manifest) if isinstance(manifest, list) else "no"
            raise ArchiveError(
                f"{archive_path}: manifest.json lists {count} images; save exactly one image per archive"
            )
        entry = manifest[0]
        config = _read_json(archive, archive_path, entry["Config"], "image config")
        members: list[str] = list(entry.get("Layers", []))
    diff_ids: list[str] = list(config.get("rootfs", {}).get("diff_ids", []))
    if len(diff_ids) != len(members):
        raise ArchiveError(
            f"{archive_path}: the config lists {len(diff_ids)} layer digests but the manifest {len(members)} layers"
        )
    steps = layer_steps(config)
    if len(steps) != len(members):
        steps = [""] * len(members)  # a history that does not line up with the layers says nothing reliable
    layers = tuple(
        SavedLayer(member, diff_id, step) for member, diff_id, step in zip(members, diff_ids, steps, strict=True)
    )
    return SavedImage(archive=archive_path, config=config, layers=layers)


def describe_step(created_by: str) -> str:
    """A history step as the Dockerfile line it came from: `RUN apt-get …`, `COPY /out/ /usr/local/`."""
    text = created_by.strip()
    if not text:
        return "(history does not say)"
    text = text.removesuffix("# buildkit").rstrip()
    args = _BUILDKIT_ARGS.match(text)
    if args:  # BuildKit records a RUN's build args as `RUN |N K=V … command`
        words = text[args.end() :].split(" ")
        text = "RUN " + " ".join(words[int(args.group("count")) :])
    if text.startswith("RUN "):
        return "RUN " + _SHELL_PREFIX.sub("", text[4:], count=1)
    nop = text.split("#(nop) ", 1)  # the legacy builder: `/bin/sh -c #(nop) COPY …`
    if len(nop) == 2:
        return nop[1].strip()
    shell = _SHELL_PREFIX.match(text)
    if shell:  # the legacy builder's RUN: `/bin/sh -c apt-get …`
        return "RUN " + text[shell.end() :]
    return text


def normalize(name: str) -> str:
    """A tar member name as a path relative to the image root: `./usr/bin/` -> `usr/bin`."""
    path = name.removeprefix("./").strip("/")
    return "" if path == "." else path


def _entry(member: tarfile.TarInfo) -> Entry:
    path = normalize(member.name)
    directory, _, base = path.rpartition("/")
    if base == OPAQUE_MARKER:
        return Entry(directory, OPAQUE)
    if base.startswith(WHITEOUT_PREFIX):
        target = base[len(WHITEOUT_PREFIX) :]
        return Entry(f"{directory}/{target}" if directory else target, WHITEOUT)
    if member.isreg():
        return Entry(path, FILE, member.size)
    if member.isdir():
        return Entry(path, DIRECTORY)
    if member.issym():
        return Entry(path, SYMLINK)
    if member.islnk():
        return Entry(path, HARDLINK)  # shares its target's bytes: the tar stores them once
    return Entry(path, OTHER)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Tee(io.RawIOBase):
    """A read-only stream that hands every byte it passes on to a gzip compressor and a digest."""

    def __init__(self, source: _Readable, compress: bool) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if compress else None  # 31: gzip framing
        self.raw_bytes = 0
        self.compressed_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self.raw_bytes += count
        self.digest.update(data)
        if self.compressor is not None:
            self.compressed_bytes += len(self.compressor.compress(data))
        return count

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass
        if self.compressor is not None:
            self.compressed_bytes += len(self.compressor.flush())
            self.compressor = None


def measure_layer(archive_path: Path, layer: SavedLayer) -> LayerFacts:
    """Gzip one layer tar to count its registry size, and list its entries, in one streaming pass.

    A layer the archive already holds gzipped (some engines' OCI exports) counts as stored; its entries
    and digest are read from the decompressed stream.
    """
    with _open_archive(archive_path) as archive:
        member, stream = _member_stream(archive, archive_path, layer.member, "layer")
        already_gzipped = stream.read(2) == _GZIP_MAGIC
        stream.seek(0)
        source: _Readable = gzip.GzipFile(fileobj=stream, mode="rb") if already_gzipped else stream
        tee = _Tee(source, compress=not already_gzipped)
        entries: list[Entry] = []
        try:
            with tarfile.open(fileobj=tee, mode="r|") as layer_tar:
                entries = [_entry(item) for item in layer_tar]
            tee.drain()
        except (tarfile.TarError, OSError, EOFError) as error:
            raise ArchiveError(f"{archive_path}: layer {layer.member} is not a readable tar: {error}") from error
        digest = f"sha256:{tee.digest.hexdigest()}"
        if digest != layer.diff_id:
            raise ArchiveError(
                f"{archive_path}: layer {layer.member} has digest {digest} but the config says {layer.diff_id}; "
                "the archive is damaged or was written while the image changed: delete it and rerun"
            )
        gzip_bytes = member.size if already_gzipped else tee.compressed_bytes
        return LayerFacts(diff_id=layer.diff_id, tar_bytes=tee.raw_bytes, gzip_bytes=gzip_bytes, entries=tuple(entries))


def _ancestors(path: str) -> Iterable[str]:
    end = path.find("/")
    while end != -1:
        yield path[:end]
        end = path.find("/", end + 1)


def hidden_copies(layers: Sequence[Sequence[Entry]]) -> list[HiddenCopy]:
    """Every regular-file copy that a later layer deletes or overwrites, each counted once.

    Walks the layers top down, remembering which paths upper layers define (a file there hides a lower
    file at the same path) and which subtrees they replace (a whiteout, an opaque directory, or a
    non-directory where a lower layer had a directory). A lower copy under either is never visible, so its
    bytes are waste. The surviving copy of an overwritten file is not waste: only the extra copies count.
    """
    defined: dict[str, tuple[int, str]] = {}  # path -> (nearest upper layer defining it, kind there)
    replaced: dict[str, tuple[int, str]] = {}  # subtree root -> (nearest upper layer replacing it, kind)
    found: list[HiddenCopy] = []
    for index in range(len(layers) - 1, -1, -1):
        entries = layers[index]
        for entry in entries:
            if entry.kind != FILE:
                continue
            hider = defined.get(entry.path)
            if hider is None:
                hider = next((replaced[a] for a in _ancestors(entry.path) if a in replaced), None)
            if hider is not None:
                layer, kind = hider
                how = "deleted" if kind in (WHITEOUT, OPAQUE) else "overwritten"
                found.append(HiddenCopy(entry.path, entry.size, index, layer, how))
        for entry in entries:
            if entry.kind == OPAQUE:
                replaced[entry.path] = (index, OPAQUE)
            elif entry.kind == DIRECTORY:
                defined[entry.path] = (index, DIRECTORY)  # hides a lower file at this path, merges a lower dir
            else:
                defined[entry.path] = (index, entry.kind)
                replaced[entry.path] = (index, entry.kind)
    found.sort(key=lambda copy: (copy.layer, copy.path))
    return found
