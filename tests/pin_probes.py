"""How each pinned tool shows its version inside its image, per image: the one probe model the pin tests,
the language images' lock tests and the entry-mode tests (test_shells, test_terminal) all read.

Debian package pins need no entry (dpkg shows them) and neither do checksum pins (the build verifies
them); every other Dockerfile pin needs one here, or tests/test_pins.py fails naming it. The tools a lock
file pins (requirements.in, package.json) have theirs in LOCK_TOOL_PROBES, checked against the lock by
tests/test_python.py and tests/test_node.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reactor_harness.family.discovery import Family
from reactor_harness.family.pins import VersionProbe
from reactor_harness.family.versions_table import package_lock_rows, requirements_rows

BASE = {
    "NODE_VERSION": VersionProbe("node --version", r"^v(\S+)$"),
    "NPM_VERSION": VersionProbe("npm --version", r"^(\S+)$"),
}


def _module_version(binary: str, run: str, module: str) -> VersionProbe:
    """Run the tool (proves it starts), then read its module's version from the binary's build info."""
    return VersionProbe(
        f'{run} >/dev/null && go version -m "$(command -v {binary})"',
        r"^\s*mod\s+" + module.replace(".", r"\.") + r"\s+(\S+)",
        binary=binary,
    )


GO = {
    "GO_VERSION": VersionProbe("go version", r"^go version go(\S+) "),
    "GOPLS_VERSION": VersionProbe("gopls version", r"^golang\.org/x/tools/gopls (\S+)$"),
    "DELVE_VERSION": _module_version("dlv", "dlv version", "github.com/go-delve/delve"),
    "STATICCHECK_VERSION": _module_version("staticcheck", "staticcheck -version", "honnef.co/go/tools"),
    "GOLANGCI_LINT_VERSION": _module_version(
        "golangci-lint", "golangci-lint --version", "github.com/golangci/golangci-lint/v2"
    ),
    "GOIMPORTS_VERSION": _module_version("goimports", "echo 'package p' | goimports", "golang.org/x/tools"),
    "GOMODIFYTAGS_VERSION": _module_version(
        "gomodifytags", "gomodifytags -h 2>&1 | grep -q Usage", "github.com/fatih/gomodifytags"
    ),
    "GOTESTS_VERSION": _module_version("gotests", "gotests -h 2>&1 | grep -q Usage", "github.com/cweill/gotests"),
}

VERSION_PROBES: dict[str, dict[str, VersionProbe]] = {"base": BASE, "go": GO}

# The command-line tools of each lock file's top-level packages (requirements.in, package.json), by package.
LOCK_TOOL_PROBES: dict[str, dict[str, VersionProbe]] = {
    "python": {
        "uv": VersionProbe("uv --version", r"^uv (\S+)"),
        "ruff": VersionProbe("ruff --version", r"^ruff (\S+)"),
        "black": VersionProbe("black --version", r"^black, (\S+)"),
        "mypy": VersionProbe("mypy --version", r"^mypy (\S+)"),
        "pytest": VersionProbe("pytest --version", r"^pytest (\S+)"),
        "ipython": VersionProbe("ipython --version", r"^(\S+)$"),
        "pre-commit": VersionProbe("pre-commit --version", r"^pre-commit (\S+)"),
    },
    "node": {
        "typescript": VersionProbe("tsc --version", r"^Version (\S+)$"),
        "eslint": VersionProbe("eslint --version", r"^v(\S+)$"),
        "prettier": VersionProbe("prettier --version", r"^(\S+)$"),
        "tsx": VersionProbe("tsx --version", r"^tsx v(\S+)$"),
        "npm-check-updates": VersionProbe("ncu --version", r"^(\S+)$"),
        "jest": VersionProbe("jest --version", r"^(\S+)$"),
        "nodemon": VersionProbe("nodemon --version", r"^(\S+)$"),
        "concurrently": VersionProbe("concurrently --version", r"^(\S+)$"),
        "http-server": VersionProbe("http-server --version", r"^v(\S+)$"),
    },
}


def normalise_distribution(name: str) -> str:
    """A Python distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(family: Family, image: str) -> dict[str, str]:
    """The versions an image's lock file gives the top-level packages it names (none without a lock)."""
    directory = family[image].directory
    if image == "python":
        return {normalise_distribution(row.tool): row.version for row in requirements_rows(image, directory)}
    if image == "node":
        return {row.tool: row.version for row in package_lock_rows(image, directory)}
    return {}


@dataclass(frozen=True)
class PinnedTool:
    """A tool an image carries: where it is pinned, the pinned version, and how it shows its version."""

    image: str  # the family image that pins it (a parent's tools are in its children too)
    name: str  # the pin (ARG) or the locked package
    version: str
    probe: VersionProbe

    def __str__(self) -> str:
        return f"{self.probe.program} ({self.name}={self.version}, pinned by {self.image})"


def pinned_tools(family: Family, image: str, *, inherited: bool = True) -> list[PinnedTool]:
    """Every tool with a version probe that the image carries, its parents' first unless inherited=False."""
    images = [*family.ancestors(image), image] if inherited else [image]
    tools: list[PinnedTool] = []
    for name in images:
        dockerfile = family[name].dockerfile
        for pin_name, probe in sorted(VERSION_PROBES.get(name, {}).items()):
            tools.append(PinnedTool(name, pin_name, dockerfile.pin(pin_name).value, probe))
        locked = locked_versions(family, name)
        for package, probe in sorted(LOCK_TOOL_PROBES.get(name, {}).items()):
            tools.append(PinnedTool(name, package, locked[package], probe))
    return tools
