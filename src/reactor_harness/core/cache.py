"""Results that survive runs, keyed by their content: one JSON file per key under `.cache/reactor/<kind>/`.

A value is stored only when its key names everything it depends on (a layer's diff_id, an image id plus
the scanner's version and inputs), so an entry is never stale: a changed input is a new key. Safe under
`pytest -n auto`: an entry is written under a file lock to a temporary file and renamed into place, so a
reader sees a whole entry or none. What cannot be trusted is recomputed, never used: an entry that does
not parse, was written by another cache format or harness version, or names another key. A folder that
cannot be written (read-only, full) costs only the reuse: the value is computed and returned all the same.
Each such problem is noted once per run (`CacheNotices`), for the terminal summary.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from filelock import FileLock, Timeout

from reactor_harness.core.files import write_text_atomically

T = TypeVar("T")

CACHE_FORMAT = 1  # bump when the layout of an entry changes
DEFAULT_CACHE_DIR = ".cache/reactor"
_LOCK_TIMEOUT_SECONDS = 4 * 3600.0  # a scan or a layer gzip of a big image under emulation can be slow


def harness_version() -> str:
    """The installed harness's version: an entry another version wrote is recomputed, not trusted."""
    try:
        return metadata.version("reactor-harness")
    except metadata.PackageNotFoundError:
        return "unknown"


def source_digest(*files: Path) -> str:
    """A digest of the code that computes a value: editing it makes earlier entries another version's."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes, or "absent" (a missing input is part of a key too)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"


class CacheNotices:
    """Problems met with the cache folder, kept once each in a file the run's workers share."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.seen: set[str] = set()

    def note(self, text: str) -> None:
        if text in self.seen:
            return
        self.seen.add(text)
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock", timeout=60), self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(text) + "\n")
        except (OSError, Timeout):
            pass  # the notice is a courtesy; the result it is about is correct either way

    def read(self) -> list[str]:
        """Every distinct notice of the run, in the order first noted."""
        lines = list(self.seen)
        if self.path is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    lines.append(str(json.loads(line)))
                except json.JSONDecodeError:
                    continue
        return list(dict.fromkeys(lines))


@dataclass(frozen=True)
class Cached(Generic[T]):
    """A value and whether it came from the cache (True) or was computed in this run (False)."""

    value: T
    from_cache: bool


class ResultCache:
    """Content-keyed results kept across runs in one folder; `enabled=False` computes everything afresh."""

    def __init__(
        self,
        directory: Path,
        *,
        enabled: bool = True,
        notices: CacheNotices | None = None,
        version: str | None = None,
    ) -> None:
        self.directory = directory
        self.enabled = enabled
        self.notices = notices or CacheNotices(None)
        self.version = version if version is not None else harness_version()

    def entry_path(self, kind: str, key: Mapping[str, str]) -> Path:
        name = hashlib.sha256(json.dumps(dict(key), sort_keys=True).encode()).hexdigest()
        return self.directory / kind / name[:2] / f"{name}.json"

    def peek(self, kind: str, key: Mapping[str, str], decode: Callable[[Any], T]) -> T | None:
        """The value kept for key, or None when there is none this version can trust (nothing is computed)."""
        if not self.enabled:
            return None
        return self._read(self.entry_path(kind, key), kind, key, decode)

    def put(self, kind: str, key: Mapping[str, str], value: Any) -> None:
        """Keep an encoded value for key (a folder that cannot be written is noted once, and nothing is kept)."""
        if not self.enabled:
            return
        path = self.entry_path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(path.with_suffix(".lock")), timeout=60):
                self._write(path, self._record(key, value))
        except (OSError, Timeout) as error:
            self._note_unwritable(error)

    def get(
        self,
        kind: str,
        key: Mapping[str, str],
        produce: Callable[[], T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> Cached[T]:
        """The value for key: read from its entry when that is whole and this version's, else produced."""
        if not self.enabled:
            return Cached(produce(), from_cache=False)
        path = self.entry_path(kind, key)
        found = self._read(path, kind, key, decode)  # renames are atomic: no lock is needed to read
        if found is not None:
            return Cached(found, from_cache=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path.with_suffix(".lock")), timeout=_LOCK_TIMEOUT_SECONDS)
            lock.acquire()
        except (OSError, Timeout) as error:
            self._note_unwritable(error)
            return Cached(produce(), from_cache=False)
        try:
            found = self._read(path, kind, key, decode)  # another worker may have written it meanwhile
            if found is not None:
                return Cached(found, from_cache=True)
            value = produce()
            self._write(path, self._record(key, encode(value)))
            return Cached(value, from_cache=False)
        finally:
            lock.release()

    def _read(self, path: Path, kind: str, key: Mapping[str, str], decode: Callable[[Any], T]) -> T | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None  # no entry (NotADirectoryError: the folder's place is taken; writing will say so)
        except OSError as error:
            self.notices.note(
                f"results cache {self.directory}: cannot read {kind} entries ({_reason(error)}): recomputed"
            )
            return None
        problem: str
        try:
            record = json.loads(text)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            if record.get("format") != CACHE_FORMAT or record.get("harness") != self.version:
                problem = (
                    f"written by another harness version (format {record.get('format')}, harness "
                    f"{record.get('harness')}; this is format {CACHE_FORMAT}, harness {self.version})"
                )
            elif record.get("key") != dict(key):
                problem = "written for another key"
            else:
                return decode(record["value"])
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            problem = f"unreadable ({type(error).__name__}: {str(error)[:120]}), e.g. cut short by a killed run"
        self.notices.note(
            f"results cache {self.directory}: dropped {kind} entries that could not be trusted ({problem}); "
            "recomputed them"
        )
        with contextlib.suppress(OSError):  # a read-only folder: the entry stays, recomputed each time it is met
            path.unlink()
        return None

    def _write(self, path: Path, record: dict[str, Any]) -> None:
        try:
            write_text_atomically(path, json.dumps(record, separators=(",", ":")))
        except OSError as error:
            self._note_unwritable(error)

    def _record(self, key: Mapping[str, str], encoded: Any) -> dict[str, Any]:
        return {"format": CACHE_FORMAT, "harness": self.version, "key": dict(key), "value": encoded}

    def _note_unwritable(self, error: BaseException) -> None:
        self.notices.note(
            f"results cache {self.directory} cannot be written ({_reason(error)}): results are computed and not "
            "kept; make the folder writable, choose another with --reactor-cache-dir, or pass --no-cache-results"
        )


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__


def layer_stack_key(diff_ids: Sequence[str]) -> str:
    """One content address for an image's layer stack (its diff_ids, bottom first, as `docker image inspect`
    gives them in RootFS.Layers): the same stack is the same filesystem, whatever metadata (labels) sits on top."""
    return "sha256:" + hashlib.sha256("\n".join(diff_ids).encode()).hexdigest()
