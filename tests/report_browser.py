"""Test-only helpers: headless Chromium, and the report's matrix as the browser rendered it.

Shared by the report tests (tests/harness/test_report.py, tests/test_report_areas.py) and the review test;
not library code, since only tests drive a browser.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.plugin.settings import HarnessSettings


def chromium(harness_settings: HarnessSettings) -> str:
    """Debian's chromium (GitHub's Ubuntu runners have Google Chrome, which takes the same flags); without one
    the test skips, or fails in strict mode."""
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        skip_or_fail(harness_settings, "no chromium on PATH: install Debian's chromium (./setup does)")
        raise AssertionError("unreachable: skip_or_fail always raises")
    return found


def chromium_run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a throwaway profile and no background network."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


class MatrixReader(HTMLParser):
    """The matrix as a browser rendered it: header lines, then rows of (image, platform, [cell texts])."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[str]]] = []
        self.header: list[str] = []
        self.result_rows = 0
        self._in_matrix = False
        self._cell: list[str] | None = None
        self._header_line: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        css = attributes.get("class") or ""
        if tag == "table" and attributes.get("id") == "reactor-matrix":
            self._in_matrix = True
        elif tag == "p" and ("reactor-gate" in css or "reactor-unchecked" in css):
            self._header_line = []
        elif tag == "tbody" and "results-table-row" in css:
            self.result_rows += 1
        elif self._in_matrix and tag == "tr" and "data-image" in attributes:
            self.rows.append((attributes["data-image"] or "", attributes["data-platform"] or "", []))
        elif self._in_matrix and tag in {"td", "th"} and self.rows:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._header_line is not None:
            self._header_line.append(data)

    def handle_endtag(self, tag):
        if tag in {"td", "th"} and self._cell is not None:
            self.rows[-1][2].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "p" and self._header_line is not None:
            self.header.append(" ".join("".join(self._header_line).split()))
            self._header_line = None
        elif tag == "table":
            self._in_matrix = False
