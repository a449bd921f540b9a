"""The one seam to the registries: their own clients (npm, go, uv) and plain HTTP to the host's mirrors.

Both raise `RegistryError` with the reason a human needs ("timed out after 30 s", "404 Not Found",
"npm is not installed"), so one failing registry makes its pins "unknown (reason)" and nothing else.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests

from reactor_harness.core.commands import CommandResult, CommandTimedOut, run_command
from reactor_harness.updates.model import RegistryError

DEFAULT_TIMEOUT = 60.0


Runner = Callable[..., CommandResult]
Fetcher = Callable[[str, Mapping[str, str]], bytes]


def run_client(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> CommandResult:
    """Run a registry client (resolved on PATH) through the harness's one command runner; a missing client or
    a timeout raises RegistryError with the reason."""
    executable = shutil.which(command[0])
    if executable is None:
        raise RegistryError(f"{command[0]} is not installed (install it, or put it on PATH)")
    try:
        return run_command(
            [executable, *command[1:]], environment={**os.environ, **(env or {})}, timeout=timeout, cwd=cwd
        )
    except CommandTimedOut:
        raise RegistryError(f"`{' '.join(command)}` did not answer within {timeout:.0f} s") from None


def http_get(url: str, headers: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """GET a URL from the host's configured mirrors or index; HTTP errors and timeouts raise with the reason."""
    try:
        response = requests.get(url, headers=dict(headers), timeout=timeout)
    except requests.Timeout:
        raise RegistryError(f"no answer within {timeout:.0f} s from {url}") from None
    except requests.RequestException as error:
        raise RegistryError(f"cannot reach {url}: {error.__class__.__name__}") from None
    if response.status_code != 200:
        raise RegistryError(f"{response.status_code} {response.reason} for {url}")
    return response.content
