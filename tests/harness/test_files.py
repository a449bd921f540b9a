"""Evidence files are written whole or not at all: readers in other workers never see a part."""

from __future__ import annotations

import pytest

from reactor_harness.core.files import write_text_atomically, written_whole


def test_the_partial_file_is_a_hidden_sibling_and_the_target_is_untouched_until_the_end(tmp_path):
    path = tmp_path / "base-linux-amd64.cdx.json"
    path.write_text("old", encoding="utf-8")
    with written_whole(path) as partial:
        assert partial.parent == tmp_path
        assert partial.name.startswith(".base-linux-amd64.cdx.json.")
        assert partial.name.endswith(".partial")
        partial.write_text("new", encoding="utf-8")
        assert path.read_text(encoding="utf-8") == "old"
    assert path.read_text(encoding="utf-8") == "new"
    assert not partial.exists()


def test_an_error_in_the_block_leaves_the_target_and_no_partial(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old", encoding="utf-8")

    def half_written() -> None:
        with written_whole(path) as partial:
            partial.write_text("half", encoding="utf-8")
            raise RuntimeError("trivy failed")

    with pytest.raises(RuntimeError, match="trivy failed"):
        half_written()
    assert path.read_text(encoding="utf-8") == "old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["report.json"]


def test_a_write_replaces_the_file_whole_and_leaves_no_partial(tmp_path):
    path = tmp_path / "report.json"
    path.write_text('{"old": true}', encoding="utf-8")
    write_text_atomically(path, '{"new": true}')
    assert path.read_text(encoding="utf-8") == '{"new": true}'
    assert [entry.name for entry in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    path.write_text('{"old": true}', encoding="utf-8")

    def refuse(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("reactor_harness.core.files.os.replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomically(path, '{"new": true}')
    assert path.read_text(encoding="utf-8") == '{"old": true}'
    assert [entry.name for entry in tmp_path.iterdir()] == ["report.json"]
