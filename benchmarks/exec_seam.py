"""Exec through the engine seam (Docker SDK) against the docker CLI: 50 calls of `true` each, one container.

Run: REACTOR_LOCAL_REPOSITORY=... python benchmarks/exec_seam.py (needs the base image built for the native platform).
"""

from __future__ import annotations

import time

from reactor_harness.build.builder import local_tag
from reactor_harness.core.commands import run_command
from reactor_harness.core.containers import run_labels
from reactor_harness.core.engine import Engine
from reactor_harness.core.platforms import native_platform
from reactor_harness.core.protocols import ContainerSpec

engine = Engine.connect()
platform = native_platform()
cid = engine.run_detached(
    ContainerSpec(local_tag("base", platform), str(platform), run_labels("exec-bench"), ("sleep", "300"))
)
try:
    for name, call in (
        ("sdk", lambda: engine.exec(cid, ["true"])),
        ("cli", lambda: run_command([engine.client.path, "exec", cid, "true"], environment=engine.client_environment)),
    ):
        call()
        started = time.monotonic()
        for _ in range(50):
            assert call().succeeded
        elapsed = time.monotonic() - started
        via = engine.client.path if name == "cli" else "SDK"
        print(f"{name} ({via}): 50 execs in {elapsed:.2f}s, {elapsed / 50 * 1000:.0f} ms a call")
finally:
    engine.remove_containers([cid])
