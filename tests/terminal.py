"""A person at a terminal: runs a docker command on a real pseudo-terminal and types into it.

Test-only: the library never needs a terminal; only the entry-mode tests do, to see what a person sees in
`docker run -it` and `docker exec -it`. Every wait has a deadline and, when it passes, says what the
screen showed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pexpect

# The prompt Debian's /etc/bash.bashrc sets: user@host:directory$ (the git branch may follow the directory).
PROMPT = re.compile(r"[\w.-]+@[\w.-]+:[^\r\n$#]*[$#] $")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def plain(text: str) -> str:
    """Terminal output without colour codes, title sequences or carriage returns."""
    return _ANSI.sub("", text)


class Terminal:
    """One command on a pseudo-terminal, with typing and deadline-bound waits for what it prints."""

    def __init__(self, command: Sequence[str], environment: Mapping[str, str], what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.transcript = ""
        self._runs = 0
        self._child = pexpect.spawn(
            command[0],
            list(command[1:]),
            env=dict(environment),
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(40, 200),
            timeout=timeout,
        )

    def expect(self, pattern: str | re.Pattern[str], what: str, timeout: float | None = None) -> str:
        """Wait for the pattern; the text before and including it. Fails with the screen on a timeout or EOF."""
        __tracebackhide__ = True
        compiled = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        index = self._child.expect([compiled, pexpect.TIMEOUT, pexpect.EOF], timeout=timeout or self.timeout)
        seen = (self._child.before or "") + (self._child.after if index == 0 else "")
        self.transcript += seen
        if index != 0:
            outcome = "timed out" if index == 1 else "the terminal closed"
            raise AssertionError(
                f"{self.what}: waiting for {what} ({compiled.pattern!r}): {outcome} after "
                f"{timeout or self.timeout:.0f}s\n--- the terminal showed ---\n{plain(self.transcript)[-3000:]}"
            )
        return plain(seen)

    def expect_prompt(self, timeout: float | None = None) -> str:
        return self.expect(PROMPT, "the shell's prompt", timeout)

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        self._child.sendline(line)

    def interrupt(self) -> None:
        """Press Ctrl-C."""
        self._child.sendintr()

    def run(self, line: str, timeout: float | None = None) -> str:
        """Type a command and wait until it has finished: what it printed (lines joined by \\n; without the echo).

        The line ends with an echo of a numbered marker, typed split by quotes so that only the shell's output
        matches it, never the terminal's echo of the typed line. So a prompt that arrives late, or twice,
        cannot hand one command's output to the next (it did once under load, every answer one command late).
        """
        self._runs += 1
        marker = f"reactor-done-{self._runs}"
        typed_marker = f'"reactor-""done-{self._runs}"'
        self.type(f"{line}; echo {typed_marker}")
        seen = self.expect(re.compile(rf"^{re.escape(marker)}\r?\n", re.MULTILINE), f"the end of `{line}`", timeout)
        self.expect_prompt(timeout)
        lines = seen[: seen.rfind(marker)].split("\n")
        echoed = [index for index, text in enumerate(lines) if typed_marker in text]
        return "\n".join(lines[echoed[-1] + 1 :] if echoed else lines).replace("\r", "").strip("\n")

    def wait_for_exit(self, timeout: float | None = None) -> int:
        """Wait until the command ends; its exit status. Fails with the screen if it does not end in time."""
        __tracebackhide__ = True
        index = self._child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=timeout or self.timeout)
        self.transcript += self._child.before or ""
        if index != 0:
            raise AssertionError(
                f"{self.what}: the command did not end within {timeout or self.timeout:.0f}s\n"
                f"--- the terminal showed ---\n{plain(self.transcript)[-3000:]}"
            )
        self._child.close()
        if self._child.exitstatus is not None:
            return int(self._child.exitstatus)
        return 128 + int(self._child.signalstatus or 0)

    def close(self) -> None:
        if self._child.isalive():
            self._child.close(force=True)
