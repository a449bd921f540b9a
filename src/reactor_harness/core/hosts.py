"""testinfra on the harness's containers: a backend through the engine seam (the Docker SDK), and a Host
with two batched queries testinfra has no module for.

Tests read as testinfra (`host.user`, `host.file`, `host.package(...).version`, `host.sudo()`,
`host.run`). Where one exec can answer many questions, the host answers them at once and hands back
one answer per question: `host.debian_packages(names)` (every Debian pin in one `dpkg-query`) and
`host.run_each(commands)` (several probes in one exec, each with its own exit status and output).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from testinfra.backend.base import BaseBackend
from testinfra.backend.base import CommandResult as TestinfraResult
from testinfra.host import Host

from reactor_harness.core.commands import CommandResult
from reactor_harness.core.containers import USER, Container

__all__ = ["EngineBackend", "ImageHost", "InstalledPackage", "host_for"]

# run_each's framing: each probe's name, exit status, stdout and stderr, each ended by a NUL byte.
_FRAME = shlex.quote("%s\\0%s\\0")
_NUL = shlex.quote("\\0")


class EngineBackend(BaseBackend):  # type: ignore[misc]
    """A testinfra backend that runs commands in a container through the harness's engine seam."""

    NAME = "docker"  # testinfra modules treat it as a docker container, which it is

    def __init__(self, container: Container, user: str | None = USER, **kwargs: Any) -> None:
        self.container = container
        self.user = user
        super().__init__(container.id, **kwargs)

    def run(self, command: str, *args: str, **kwargs: Any) -> TestinfraResult:
        script = self.get_command(command, *args)
        result = self.container.exec(["/bin/sh", "-c", script], user=self.user)
        return self.result(result.exit_status, self.encode(script), result.stdout, result.stderr)


@dataclass(frozen=True)
class InstalledPackage:
    """A Debian package as one `dpkg-query` saw it (testinfra's Package: is_installed, version)."""

    name: str
    is_installed: bool
    version: str  # "" when not installed
    status: str  # dpkg's status words, or dpkg-query's complaint for an unknown package


class ImageHost(Host):  # type: ignore[misc]
    """A testinfra Host on one container, with batched queries for checks that ask many questions."""

    def __init__(self, backend: EngineBackend) -> None:
        super().__init__(backend)
        self.container = backend.container
        self.exec_user = backend.user

    def debian_packages(self, names: Sequence[str]) -> dict[str, InstalledPackage]:
        """Every named package's install state and version, from one `dpkg-query` (missing ones included)."""
        result = self.container.exec(
            ["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", *names], user=self.exec_user
        )
        seen: dict[str, InstalledPackage] = {}
        for line in result.stdout.splitlines():
            name, _, rest = line.partition("\t")
            status, _, version = rest.partition("\t")
            installed = status.split()[1:] == ["ok", "installed"]
            seen[name] = InstalledPackage(name, installed, version if installed else "", status)
        complaint = result.stderr.strip() or f"dpkg-query exited {result.exit_status}"
        return {name: seen.get(name, InstalledPackage(name, False, "", complaint)) for name in names}

    def run_each(self, commands: Mapping[str, str]) -> dict[str, CommandResult]:
        """Run each command in its own `sh -c`, all in one exec; each one's exit status, stdout and stderr.

        The exec runs as the host's user with the image's environment, as `host.run` would; a command
        that never ran (the batch itself failed) gets exit status -1 and the batch's own error.
        """
        script = ["d=$(mktemp -d) || exit 125; trap 'rm -rf \"$d\"' EXIT"]
        for name, command in commands.items():
            script.append(
                f'sh -c {shlex.quote(command)} >"$d/o" 2>"$d/e"; s=$?; printf {_FRAME} {shlex.quote(name)} "$s"'
            )
            script.append(f'cat "$d/o"; printf {_NUL}; cat "$d/e"; printf {_NUL}')
        batch = self.container.exec(["sh", "-c", "\n".join(script)], user=self.exec_user)
        fields = batch.stdout.split("\0")
        results: dict[str, CommandResult] = {}
        for index in range(0, len(fields) - 3, 4):
            name, status, stdout, stderr = fields[index : index + 4]
            results[name] = CommandResult(("sh", "-c", commands[name]), int(status), stdout, stderr, batch.duration)
        missing = f"not run: the batch exec failed\n{batch.describe()}"
        return {
            name: results.get(name, CommandResult(("sh", "-c", command), -1, "", missing))
            for name, command in commands.items()
        }


def host_for(container: Container, user: str | None = USER) -> ImageHost:
    """A testinfra Host on the container (commands run as `user`; None: the image's own USER)."""
    backend = EngineBackend(container, user=user)
    host = ImageHost(backend)
    backend.set_host(host)
    return host
