"""Root conftest: intentionally thin.

The harness's options, fixtures and hooks live in the installable plugin `reactor_harness.plugin.entry`
(loaded through its `pytest11` entry point). Override a fixture here to change how this repository's
suite builds or runs images; each fixture's docstring says what overriding it does.
"""

from __future__ import annotations

import pytest

from reactor_harness.core.containers import ToolCache

# pytester runs small suites in a subprocess to test the plugin itself (tests/harness, build failures).
pytest_plugins = ("pytester",)


@pytest.fixture(scope="session")
def tool_caches() -> dict[str, tuple[ToolCache, ...]]:
    """The go image's work tests keep Go's build cache and the analysers' caches (staticcheck, golangci-lint,
    gopls) across runs (a host folder per platform under .cache/reactor/tools/), so a second run does not
    recompile the standard library or re-analyse it; nothing enters the image.

    An emulated platform's Go build cache is first filled by the native build of the go image: a release
    Go toolchain names its compiler by version, so `GOARCH=arm64 go build std` on amd64 writes the entries
    the arm64 toolchain looks up (compiling the standard library under qemu took ~9 minutes, natively
    ~35 s). cgo is off for the warm-up (no C compiler for the target here): the few packages with C code
    are compiled by the emulated toolchain when a test needs them. The analysers' caches are keyed by their
    own binaries, so they are not shared across architectures and are not warmed.
    """
    home_cache = "/home/claude/.cache"
    go_build = ToolCache(
        "go-build",
        f"{home_cache}/go-build",
        warm_natively=("go", "build", "std"),
        warm_environment=(("GOARCH", "{arch}"), ("CGO_ENABLED", "0"), ("GOPROXY", "off")),
    )
    analysers = (ToolCache(name, f"{home_cache}/{name}") for name in ("staticcheck", "golangci-lint", "gopls"))
    return {"go": (go_build, *analysers)}
