"""A person at a terminal: `docker run -it` and `docker exec -it` on a real pseudo-terminal give a shell
whose prompt appears (with the git branch and state in a repository), where the image's own tools answer
with their pinned versions and its aliases are its own, where Ctrl-C stops the foreground job and not the
shell, and which `exit` ends."""

from __future__ import annotations

import pytest

from pin_probes import pinned_tools
from reactor_harness.family import parity
from terminal import Terminal

pytestmark = pytest.mark.family

# Under emulation a shell and each tool start several times slower than natively.
TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def family_aliases(harness_settings) -> dict[str, dict[str, str]]:
    """The interactive aliases per image, as images/parity.toml declares them."""
    return {image: dict(table) for image, table in parity.load(harness_settings.root / "images").aliases.items()}


def _check_tools(terminal: Terminal, family, built_image) -> list[str]:
    """Type each of the image's own tools' version command; the mismatches."""
    problems = []
    for tool in pinned_tools(family, built_image.name, inherited=False):
        output = terminal.run(tool.probe.command)
        if tool.probe.extract(output) != tool.version:
            problems.append(f"{tool}: `{tool.probe.command}` printed:\n{output[-500:]}")
    return problems


def test_docker_run_it_opens_a_shell_with_the_image_tools(engine, built_image, family, container_spec):
    """`docker run -it --rm IMAGE`: a prompt, the image's tools at their pinned versions, Ctrl-C interrupts
    the running command and the shell lives on, `exit` ends the container with status 0."""
    command = engine.terminal_run_command(container_spec())
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


def _prompt_after(terminal: Terminal, line: str) -> str:
    """Type a command; the prompt line the shell shows after it."""
    terminal.type(line)
    return terminal.expect_prompt().split("\n")[-1]


def test_prompt_shows_the_git_branch_and_dirty_state(engine, built_image, container_spec):
    """In `docker run -it` (a login shell) the prompt carries git's __git_ps1: the branch, then `*` for an
    unstaged change and `+` for a staged one; outside a repository it shows no branch."""
    command = engine.terminal_run_command(container_spec())
    terminal = Terminal(command, engine.client_environment, f"{built_image}: git prompt", TIMEOUT_SECONDS)
    try:
        terminal.expect_prompt()
        outside = _prompt_after(terminal, "cd /tmp")
        assert "(" not in outside, f"{built_image}: a branch outside a repository: {outside!r}"
        setup = (
            'cd "$(mktemp -d)" && git init -q -b trunk && echo one > file'
            " && git add file && git -c user.name=t -c user.email=t@example.invalid commit -qm one"
        )
        clean = _prompt_after(terminal, setup)
        assert clean.endswith(" (trunk)$ "), f"{built_image}: prompt in a clean repository: {clean!r}"
        unstaged = _prompt_after(terminal, "echo two >> file")
        assert unstaged.endswith(" (trunk *)$ "), f"{built_image}: prompt with an unstaged change: {unstaged!r}"
        staged = _prompt_after(terminal, "git add file")
        assert staged.endswith(" (trunk +)$ "), f"{built_image}: prompt with a staged change: {staged!r}"
        terminal.type("exit")
        assert terminal.wait_for_exit() == 0
    finally:
        terminal.close()


def test_aliases_are_the_images_own_and_shadow_nothing(engine, container, built_image, family_aliases):
    """In `docker exec -it … bash` (a non-login shell) the image defines exactly its aliases from
    images/parity.toml, none of them hides a command or builtin, and no other image's alias is there."""
    own = family_aliases.get(built_image.name, {})
    others = {name for image, table in family_aliases.items() if image != built_image.name for name in table} - set(own)
    command = engine.terminal_exec_command(container.id, ["bash"])
    terminal = Terminal(command, engine.client_environment, f"{built_image}: aliases", TIMEOUT_SECONDS)
    try:
        terminal.expect_prompt()
        problems = []
        for name, expansion in own.items():
            kinds = terminal.run(f"type -ta {name} | tr '\\n' ' '; echo; alias {name}").splitlines()
            if kinds[0].split() != ["alias"]:
                problems.append(f"{name}: `type -ta` says {kinds[0]!r} (it must be an alias and nothing else)")
            if f"alias {name}='{expansion}'" not in kinds:
                problems.append(f"{name}: expected `{expansion}`, the shell has {kinds[1:]}")
        for name in sorted(others):
            found = terminal.run(f"alias {name} 2>/dev/null || echo none")
            if found.strip() != "none":
                problems.append(f"{name}: another image's alias is defined here: {found!r}")
        assert not problems, f"{built_image}: aliases:\n" + "\n".join(problems)
        terminal.type("exit")
        assert terminal.wait_for_exit() == 0
    finally:
        terminal.close()
