"""The parity file's reader: a malformed entry is refused with a message naming the entry and the fix."""

from __future__ import annotations

import pytest

from reactor_harness.family import parity


def _write(tmp_path, text: str):
    (tmp_path / parity.PARITY_FILE).write_text(text, encoding="utf-8")
    return tmp_path


def test_a_missing_file_says_what_to_write(tmp_path):
    """Without images/parity.toml the error names the file and what it must list."""
    with pytest.raises(parity.ParityError, match="does not exist: list every upstream tool"):
        parity.load(tmp_path)


def test_a_provision_naming_both_pin_and_lock_is_refused(tmp_path):
    """A `provided` entry must name exactly one of pin or lock; the message names the tool."""
    _write(
        tmp_path, '[tools.jq]\nupstream = "base"\nprovided = [{ image = "base", pin = "JQ_VERSION", lock = "jq" }]\n'
    )
    with pytest.raises(parity.ParityError, match=r'\[tools\."jq"\]: a `provided` entry names exactly one'):
        parity.load(tmp_path)


def test_an_unknown_key_is_refused(tmp_path):
    """A typo in a key (`exclude` for `excluded`) is an error, not a silently ignored reason."""
    _write(tmp_path, '[tools.man-db]\nupstream = "base"\nexclude = "no man pages"\n')
    with pytest.raises(parity.ParityError, match=r"unknown keys \['exclude'\]"):
        parity.load(tmp_path)


def test_render_lists_exclusions_and_aliases(tmp_path):
    """The README section shows an excluded tool's reason and each alias with what it runs."""
    _write(
        tmp_path,
        '[tools.man-db]\nupstream = "base"\nexcluded = "no man pages"\n\n[aliases.go]\ngob = "go build"\n'
        '\n[excluded_aliases]\ntest = "shadows the builtin"\n',
    )
    section = parity.render(parity.load(tmp_path))
    assert "| base | man-db | excluded: no man pages | — | — |" in section
    assert "| go | `gob` | `go build` |" in section
    assert "- `test`: shadows the builtin" in section
