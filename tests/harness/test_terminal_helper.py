"""The test-only pty helper (tests/terminal.py) on a local bash: each `run` returns its own command's output,
even when the shell has printed a prompt more than the helper waited for."""

from __future__ import annotations

import os

from terminal import Terminal


def _bash() -> Terminal:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PS1": "tester@host:/work$ ", "TERM": "dumb"}
    return Terminal(["bash", "--norc", "--noprofile", "-i"], environment, "local bash", timeout=20)


def test_run_returns_each_commands_own_output_after_an_extra_prompt():
    """An Enter on an empty line leaves one prompt more in the stream; the next runs still get their own output
    (waiting for the next prompt instead handed every command the output of the one before)."""
    terminal = _bash()
    try:
        terminal.expect_prompt()
        terminal.type("")  # one prompt more than anyone waits for
        assert terminal.run("echo one") == "one"
        assert terminal.run("echo two; echo three") == "two\nthree"
        assert terminal.run("true") == ""
        terminal.type("exit")
        assert terminal.wait_for_exit() == 0
    finally:
        terminal.close()
