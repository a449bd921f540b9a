"""testinfra on the harness's containers: a backend through the engine seam (the Docker SDK), and a Host
with two batched queries testinfra has no module for.

testinfra asks every new Host what system it is on (`uname -s`, `/etc/os-release`, `uname -m`: three execs)
before its first `user`, `file` or `package` answer. A container's system does not change while it runs, so
the hosts of one container share that answer, asked once in one exec.

Tests read as testinfra (`host.user`, `host.file`, `host.package(...).version`, `host.sudo()`,
`host.run`). Where one exec can answer many questions, the host answers them at once and hands back
one answer per question: `host.debian_packages(names)` (every Debian pin in one `dpkg-query`) and
`host.run_each(commands)` (several probes in one exec, each with its own exit status and output).
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from testinfra.backend.base import BaseBackend
from testinfra.backend.base import CommandResult as TestinfraResult
from testinfra.host import Host
from testinfra.modules.systeminfo import SystemInfo

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
        result = self.container.shell(script, user=self.user)
        return self.result(result.exit_status, self.encode(script), result.stdout, result.stderr)


@dataclass(frozen=True)
class InstalledPackage:
    """A Debian package as one `dpkg-query` saw it (testinfra's Package: is_installed, version)."""

    name: str
    is_installed: bool
    version: str  # "" when not installed
    status: str  # dpkg's status words, or dpkg-query's complaint for an unknown package


# What testinfra's SystemInfo reads, in one script: `uname -s`, then /etc/os-release, then `uname -m`.
_SYSTEM_PROBES = {"type": "uname -s", "os-release": "cat /etc/os-release", "arch": "uname -m"}
_OS_RELEASE_FIELDS = {"ID": "distribution", "VERSION_ID": "release", "VERSION_CODENAME": "codename"}
_system_info_of: dict[str, dict[str, str | None]] = {}  # container id -> its system info (this process's)


class ContainerSystemInfo(SystemInfo):  # type: ignore[misc]
    """testinfra's system info (type, distribution, release, codename, arch) of a Linux container, from one
    exec and kept per container; anything but Linux is left to testinfra's own probing."""

    @functools.cached_property
    def sysinfo(self) -> dict[str, str | None]:
        host: ImageHost = self._host
        known = _system_info_of.get(host.container.id)
        if known is not None:
            return dict(known)
        answers = host.run_each(_SYSTEM_PROBES)
        kind = answers["type"].stdout.strip().lower()
        if answers["type"].exit_status != 0 or kind != "linux" or answers["arch"].exit_status != 0:
            return dict(SystemInfo.sysinfo.func(self))  # not a Linux container as expected: testinfra's own way
        info: dict[str, str | None] = {"type": kind, "distribution": None, "codename": None, "release": None}
        if answers["os-release"].exit_status == 0:
            for line in answers["os-release"].stdout.splitlines():
                key, _, value = line.partition("=")
                if key in _OS_RELEASE_FIELDS:
                    info[_OS_RELEASE_FIELDS[key]] = value.replace('"', "").replace("'", "").strip()
        info["arch"] = answers["arch"].stdout.strip()
        _system_info_of[host.container.id] = info
        return dict(info)


class ImageHost(Host):  # type: ignore[misc]
    """A testinfra Host on one container, with batched queries for checks that ask many questions."""

    def __init__(self, backend: EngineBackend) -> None:
        super().__init__(backend)
        self.container = backend.container
        self.exec_user = backend.user
        self.system_info = ContainerSystemInfo.get_module(self)

    def debian_packages(self, names: Sequence[str]) -> dict[str, InstalledPackage]:
        """Every named package's install state and version, from one `dpkg-query` (missing ones included),
        run through the host's kept shell as `host.run` runs its commands."""
        query = ["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", *names]
        result = self.container.shell(shlex.join(query), user=self.exec_user)
        seen: dict[str, InstalledPackage] = {}
        for line in result.stdout.splitlines():
            name, _, rest = line.partition("\t")
            status, _, version = rest.partition("\t")
            installed = status.split()[1:] == ["ok", "installed"]
            seen[name] = InstalledPackage(name, installed, version if installed else "", status)
        complaint = result.stderr.strip() or f"dpkg-query exited {result.exit_status}"
        return {name: seen.get(name, InstalledPackage(name, False, "", complaint)) for name in names}

    def run_each(self, commands: Mapping[str, str]) -> dict[str, CommandResult]:
        """Run each command in its own `sh -c`, all in one exec and at the same time; each one's exit status,
        stdout and stderr. The commands are probes that only read (versions, headers, system facts): they
        run concurrently, so a batch takes as long as its slowest probe, not the sum of them.

        The exec runs as the host's user with the image's environment, as `host.run` would; a command
        that never ran (the batch itself failed) gets exit status -1 and the batch's own error.
        """
        script = ["d=$(mktemp -d) || exit 125; trap 'rm -rf \"$d\"' EXIT"]
        for index, command in enumerate(commands.values()):
            script.append(f'sh -c {shlex.quote(command)} >"$d/o{index}" 2>"$d/e{index}" </dev/null & p{index}=$!')
        for index, name in enumerate(commands):
            script.append(f'wait "$p{index}"; s=$?; printf {_FRAME} {shlex.quote(name)} "$s"')
            script.append(f'cat "$d/o{index}"; printf {_NUL}; cat "$d/e{index}"; printf {_NUL}')
        batch = self.container.shell("\n".join(script), user=self.exec_user)
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
