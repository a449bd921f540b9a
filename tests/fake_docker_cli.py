"""A stand-in docker CLI for the harness's own tests: a shell script that answers the client probes.

Not library code: the library only ever finds and runs real clients; this one exists so the search and the
commands the seam builds can be checked on a machine with no docker at all.
"""

from __future__ import annotations

import stat
from pathlib import Path


def fake_docker(directory: Path, name: str, client_version: str, buildx: bool, server: str | None) -> str:
    """A stand-in docker CLI: answers version probes and logs every other call's arguments."""
    path = directory / name
    log = directory / f"{name}.calls"
    server_line = (
        f'echo "{server}"' if server else 'echo "Cannot connect to the Docker daemon at unix:///x.sock" >&2; exit 1'
    )
    buildx_line = (
        'echo "buildx v0.17.1"' if buildx else "echo \"docker: 'buildx' is not a docker command.\" >&2; exit 1"
    )
    path.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  "version --format {{{{.Client.Version}}}}") echo "{client_version}" ;;\n'
        f'  "version --format {{{{.Server.Version}}}}") {server_line} ;;\n'
        f'  "buildx version") {buildx_line} ;;\n'
        f'  *) echo "$DOCKER_BUILDKIT $*" >> "{log}"; echo "ok" ;;\n'
        "esac\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)
