"""A person at a terminal: `docker run -it` and `docker exec -it` on a real pseudo-terminal give a shell
whose prompt appears, where the image's own tools answer with their pinned versions, where Ctrl-C stops
the foreground job and not the shell, and which `exit` ends."""

from __future__ import annotations

import pytest

from pin_probes import pinned_tools
from reactor_harness.core.containers import run_labels
from terminal import Terminal

pytestmark = pytest.mark.family

# Under emulation a shell and each tool start several times slower than natively.
TIMEOUT_SECONDS = 120


def _check_tools(terminal: Terminal, family, built_image) -> list[str]:
    """Type each of the image's own tools' version command; the mismatches."""
    problems = []
    for tool in pinned_tools(family, built_image.name, inherited=False):
        output = terminal.run(tool.probe.command)
        if tool.probe.extract(output) != tool.version:
            problems.append(f"{tool}: `{tool.probe.command}` printed:\n{output[-500:]}")
    return problems


def test_docker_run_it_opens_a_shell_with_the_image_tools(engine, built_image, family, harness_settings):
    """`docker run -it --rm IMAGE`: a prompt, the image's tools at their pinned versions, Ctrl-C interrupts
    the running command and the shell lives on, `exit` ends the container with status 0."""
    command = engine.terminal_run_command(
        built_image.tag,
        platform=str(built_image.platform),
        labels=run_labels(harness_settings.run_id, harness_settings.owner_pid),
    )
    terminal = Terminal(command, engine.client_environment, f"{built_image}: docker run -it", TIMEOUT_SECONDS)
    try:
        terminal.expect_prompt()
        problems = _check_tools(terminal, family, built_image)
        assert not problems, f"{built_image}: in `docker run -it`:\n" + "\n".join(problems)
        # The quotes keep the marker out of the echo of the typed line: only the command's output matches.
        terminal.type("sh -c 'echo sleep\"\"ing-now; exec sleep 600'")
        terminal.expect(r"[\r\n]sleeping-now\r?$", "the foreground command to start")
        terminal.interrupt()
        terminal.expect_prompt(timeout=30)
        status = terminal.run('echo "status=$?"')
        assert "status=130" in status, f"{built_image}: after Ctrl-C the command's status line is {status!r}"
        terminal.type("exit")
        assert terminal.wait_for_exit() == 0, f"{built_image}: `exit` ended docker run -it with another status"
    finally:
        terminal.close()


def test_docker_exec_it_bash_has_the_image_tools(engine, container, built_image, family):
    """`docker exec -it CONTAINER bash` in a running container: a prompt and the image's tools; `exit` ends it."""
    command = engine.terminal_exec_command(container.id, ["bash"])
    terminal = Terminal(command, engine.client_environment, f"{built_image}: docker exec -it bash", TIMEOUT_SECONDS)
    try:
        terminal.expect_prompt()
        problems = _check_tools(terminal, family, built_image)
        assert not problems, f"{built_image}: in `docker exec -it bash`:\n" + "\n".join(problems)
        terminal.type("exit")
        assert terminal.wait_for_exit() == 0
    finally:
        terminal.close()
