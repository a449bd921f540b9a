"""The testinfra host's batched queries: each probe of one exec keeps its own result, every package its state."""

from __future__ import annotations

import uuid

import testinfra

from reactor_harness.core.commands import run_command
from reactor_harness.core.hosts import host_for


class HereContainer:
    """A stand-in container that runs each exec on this machine, so the batching is tested without an engine."""

    id = "here"

    def __init__(self, failure: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.failure = failure  # a shell command standing in for an exec the engine refuses

    def exec(self, argv, *, user=None, workdir=None, env=None, input_bytes=None, timeout=600.0):
        self.calls.append(list(argv))
        return run_command(["sh", "-c", self.failure] if self.failure else argv, timeout=timeout)

    def shell(self, script, *, user=None, timeout=600.0):
        return self.exec(["/bin/sh", "-c", script], user=user, timeout=timeout)


def here(failure: str | None = None):
    container = HereContainer(failure)
    return host_for(container, user=None), container


def test_run_each_gives_every_probe_its_own_status_and_streams_from_one_exec():
    """Three probes run in one exec; exit status, stdout (newlines kept) and stderr come back per probe."""
    host, container = here()
    results = host.run_each(
        {
            "ok": "echo 'v1.2.3'",
            "fails": "echo 'not found' >&2; exit 3",
            "multi": "printf 'a\\nb\\n\\n'",
            "quotes": 'echo "it\'s $((1 + 1))"',
        }
    )
    assert len(container.calls) == 1
    assert [(name, r.exit_status, r.stdout, r.stderr) for name, r in results.items()] == [
        ("ok", 0, "v1.2.3\n", ""),
        ("fails", 3, "", "not found\n"),
        ("multi", 0, "a\nb\n\n", ""),
        ("quotes", 0, "it's 2\n", ""),
    ]
    assert results["fails"].command == ("sh", "-c", "echo 'not found' >&2; exit 3")
    assert "exit status: 3" in results["fails"].describe()


def test_run_each_runs_its_probes_at_the_same_time(tmp_path):
    """The first probe waits (up to 10 s) for a file only the second one makes: one after the other, it
    would give up before the second ran; at the same time, both pass, in one exec, reported in order."""
    flag = tmp_path / "second-ran"
    host, container = here()
    waits = f"i=0; while [ ! -e {flag} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; test -e {flag}"
    results = host.run_each({"waits": waits, "makes": f"touch {flag}"})
    assert len(container.calls) == 1
    assert [(name, r.exit_status) for name, r in results.items()] == [("waits", 0), ("makes", 0)]


def test_a_failed_batch_marks_every_probe_not_run_with_the_batch_error():
    """If the batch itself cannot run, no probe passes: each says it did not run and why."""

    host, _ = here(failure="echo 'OCI runtime exec failed' >&2; exit 126")
    results = host.run_each({"a": "true", "b": "true"})
    assert {name: r.exit_status for name, r in results.items()} == {"a": -1, "b": -1}
    assert "OCI runtime exec failed" in results["a"].stderr


def test_debian_packages_answers_for_each_name_in_one_dpkg_query():
    """Installed packages carry their version; an unknown one is not installed and says dpkg-query's words."""
    host, container = here()
    packages = host.debian_packages(["dpkg", "reactor-no-such-package"])
    assert len(container.calls) == 1
    assert packages["dpkg"].is_installed
    assert packages["dpkg"].version == run_command(["dpkg-query", "-W", "-f", "${Version}", "dpkg"]).stdout
    missing = packages["reactor-no-such-package"]
    assert (missing.is_installed, missing.version) == (False, "")
    assert "reactor-no-such-package" in missing.status


def test_the_system_info_is_testinfras_own_from_one_exec_shared_by_the_containers_hosts():
    """testinfra's three probes (uname -s, os-release, uname -m) come from one exec, give what testinfra's
    local backend finds on the same machine, and a second host of the same container asks nothing again."""
    container = HereContainer()
    container.id = f"here-{uuid.uuid4().hex}"
    first = host_for(container, user=None)
    assert first.system_info.sysinfo == testinfra.get_host("local://").system_info.sysinfo
    assert len(container.calls) == 1
    second = host_for(container, user="root")
    assert (second.system_info.distribution, second.system_info.arch) == (
        first.system_info.distribution,
        first.system_info.arch,
    )
    assert len(container.calls) == 1
