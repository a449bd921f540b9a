"""How each non-Debian Dockerfile pin shows its version inside its image, per image.

Debian package pins need no entry (dpkg shows them) and neither do checksum pins (the build verifies
them); every other pin needs one here, or tests/test_pins.py fails naming it.
"""

from __future__ import annotations

from reactor_harness.family.pins import VersionProbe

BASE = {
    "NODE_VERSION": VersionProbe("node --version", r"^v(\S+)$"),
    "NPM_VERSION": VersionProbe("npm --version", r"^(\S+)$"),
}


def _module_version(binary: str, run: str, module: str) -> VersionProbe:
    """Run the tool (proves it starts), then read its module's version from the binary's build info."""
    return VersionProbe(
        f'{run} >/dev/null && go version -m "$(command -v {binary})"',
        r"^\s*mod\s+" + module.replace(".", r"\.") + r"\s+(\S+)",
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
}

VERSION_PROBES: dict[str, dict[str, VersionProbe]] = {"base": BASE, "go": GO}
