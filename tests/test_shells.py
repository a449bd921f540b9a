"""Every way into an image sees its toolchains: each pinned tool resolves to the same program and reports
its pinned version, and the environment the image declares holds, whether a person or a tool comes in
through `sh -c`, a login shell, an interactive shell, an editor's environment probe, `sudo` or `sudo -i`.

The tools and versions come from the pin model (tests/pin_probes.py), the declared environment from the
built image's own config: nothing here is retyped. `docker run -it` and `docker exec -it` on a real
terminal are in test_terminal.py.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass

import pytest

from pin_probes import PinnedTool, pinned_tools
from reactor_harness.core.engine import CommandResult, assert_succeeded

pytestmark = pytest.mark.family

# Docker's own per-container variables, not part of what an image declares.
RUNTIME_VARIABLES = frozenset({"HOSTNAME", "HOME", "TERM"})
USER_SCOPED_PREFIX = "/home/"


@dataclass(frozen=True)
class EntryMode:
    """One way into a running image: the command prefix that runs a script the way that entry does."""

    name: str
    prefix: tuple[str, ...]
    as_root: bool = False  # root's view: the entries under /home belong to the user, not to root
    wraps_in_shell: bool = False  # the prefix takes one shell command line, not an argv

    def argv(self, script_path: str) -> list[str]:
        if self.wraps_in_shell:
            return [*self.prefix, f"sh {shlex.quote(script_path)}"]
        return [*self.prefix, "sh", script_path]


ENTRY_MODES = (
    EntryMode("sh", ()),  # `docker exec` and any tool's `sh -c`: the image's ENV as it is
    EntryMode("login", ("bash", "-lc"), wraps_in_shell=True),  # bash -l: Debian's /etc/profile resets PATH
    EntryMode("interactive", ("bash", "-ic"), wraps_in_shell=True),  # bash -i: reads bash.bashrc
    # What editors' dev-container support runs to read the user's environment: a login-interactive shell.
    EntryMode("editor-probe", ("env", "-i", "bash", "-lic"), wraps_in_shell=True),
    EntryMode("sudo", ("sudo", "-n"), as_root=True),  # sudo <tool>: sudo's secure_path
    EntryMode("sudo-login", ("sudo", "-n", "-i"), as_root=True),  # sudo -i: root's login shell
)
REFERENCE_MODE = ENTRY_MODES[0]


def _probe_script(tools: list[PinnedTool]) -> str:
    """One script that resolves and runs every tool's probe, then prints the environment, in marked sections."""
    lines = []
    for tool in tools:
        lines += [
            f"printf '\\n@@tool %s\\n' {shlex.quote(tool.name)}",
            f"command -v {shlex.quote(tool.probe.program)} || echo '@@missing'",
            f'{{ {tool.probe.command} ; }} 2>&1 || echo "@@failed $?"',
        ]
    lines += ["printf '\\n@@environment\\n'", "env"]
    return "\n".join(lines) + "\n"


def _sections(output: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    name = ""
    for line in output.splitlines():
        if line.startswith("@@tool ") or line == "@@environment":
            name = line
            sections[name] = ""
        elif name:
            sections[name] += line + "\n"
    return sections


def _run_mode(container, mode: EntryMode, script: str) -> CommandResult:
    path = f"/tmp/reactor-entry-{uuid.uuid4().hex[:8]}.sh"
    written = container.exec(["sh", "-c", f"cat > {path} && chmod 0644 {path}"], input_bytes=script.encode())
    assert_succeeded(written, f"{container}: write the probe script")
    return container.exec(mode.argv(path), timeout=300)


def _declared_environment(engine, built_image) -> dict[str, str]:
    details = engine.inspect_image(built_image.tag)
    assert details is not None, f"{built_image}: {built_image.tag} vanished from the engine"
    pairs = (entry.split("=", 1) for entry in details["Config"].get("Env") or [])
    return {name: value for name, value in pairs if name not in RUNTIME_VARIABLES}


def _in_view(value: str, mode: EntryMode) -> bool:
    """Whether an entry or value belongs in this mode's view (root does not get the user's own folders)."""
    return not (mode.as_root and value.startswith(USER_SCOPED_PREFIX))


@pytest.mark.parametrize("mode", ENTRY_MODES, ids=lambda mode: mode.name)
def test_entry_mode_finds_every_pinned_tool_at_its_version(container, built_image, family, mode):
    """Every pinned tool of the image (its parents' included) resolves to the same program as in `sh -c`
    and reports its pinned version, in this way into the image."""
    tools = pinned_tools(family, built_image.name)
    assert tools, f"{built_image}: no pinned tool with a probe (tests/pin_probes.py)"
    resolve = "\n".join(f"command -v {shlex.quote(tool.probe.program)} || echo '@@missing'" for tool in tools)
    expected_paths = container.sh(resolve).stdout.split()
    result = _run_mode(container, mode, _probe_script(tools))
    sections = _sections(result.stdout)
    problems = []
    for tool, expected_path in zip(tools, expected_paths, strict=True):
        lines = sections.get(f"@@tool {tool.name}", "").splitlines()
        found_path = lines[0] if lines else "@@missing"
        output = "\n".join(lines[1:])
        if found_path == "@@missing":
            problems.append(f"{tool}: not found on PATH (in sh -c: {expected_path.replace('@@missing', 'neither')})")
        elif found_path != expected_path:
            problems.append(
                f"{tool}: resolves to {found_path.replace('@@missing', 'nothing')}, in sh -c to {expected_path}"
            )
        elif tool.probe.extract(output) != tool.version:
            problems.append(f"{tool}: reports {tool.probe.extract(output)!r}\n    {output.strip()[:300]}")
    assert not problems, (
        f"{built_image}, entry mode {mode.name} ({' '.join(mode.argv('…'))}):\n"
        + "\n".join(problems)
        + f"\n{result.describe()}"
    )


@pytest.mark.parametrize("mode", ENTRY_MODES, ids=lambda mode: mode.name)
def test_entry_mode_sees_the_declared_environment(container, engine, built_image, mode):
    """Each variable the image declares with ENV has its value in this way into the image, and PATH holds
    every declared entry in the declared order (root's views leave out the user's folders under /home)."""
    declared = _declared_environment(engine, built_image)
    result = _run_mode(container, mode, _probe_script([]))
    assert_succeeded(result, f"{built_image}: entry mode {mode.name}")
    environment = dict(
        line.split("=", 1) for line in _sections(result.stdout).get("@@environment", "").splitlines() if "=" in line
    )
    problems = []
    for name, value in sorted(declared.items()):
        if name == "PATH":
            wanted = [entry for entry in dict.fromkeys(value.split(":")) if _in_view(entry, mode)]
            seen = environment.get("PATH", "").split(":")
            missing = [entry for entry in wanted if entry not in seen]
            order = [entry for entry in seen if entry in wanted]
            if missing:
                problems.append(f"PATH lacks {missing} (PATH is {environment.get('PATH')!r})")
            elif list(dict.fromkeys(order)) != wanted:
                problems.append(f"PATH has the declared entries out of order: {order}, declared {wanted}")
        elif _in_view(value, mode) and environment.get(name) != value:
            problems.append(f"{name} is {environment.get(name)!r}, declared {value!r}")
    assert not problems, f"{built_image}, entry mode {mode.name}:\n" + "\n".join(problems)


def test_login_shells_and_sudo_print_nothing_on_stderr(container, built_image):
    """A login shell, sudo and sudo -i print no warning or error in a container without a network."""
    noisy = []
    for argv in (["bash", "-lc", "true"], ["sudo", "-n", "true"], ["sudo", "-n", "-i", "true"]):
        result = container.exec(argv)
        if not result.succeeded or result.stderr.strip():
            noisy.append(result.describe())
    assert not noisy, f"{built_image}:\n" + "\n\n".join(noisy)


def test_git_commit_without_an_identity_names_the_settings_to_make(container, built_image):
    """`git commit` with no identity configured refuses and names user.name and user.email (the image sets
    none: a person's identity is theirs to give); given through the environment, the commit is made."""
    repo = f"/tmp/reactor-commit-{uuid.uuid4().hex[:8]}"
    setup = container.sh(f"git init -q {repo} && echo hello > {repo}/README && git -C {repo} add README")
    assert_succeeded(setup, f"{built_image}: git init")
    refused = container.exec(["git", "-C", repo, "commit", "-q", "-m", "first"])
    assert not refused.succeeded, (
        f"{built_image}: git commit made a commit with a guessed identity\n{refused.describe()}"
    )
    for setting in ("user.email", "user.name"):
        assert f"git config --global {setting}" in refused.stderr, (
            f"{built_image}: {setting} unnamed\n{refused.describe()}"
        )
    identity = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org"}
    identity |= {key.replace("AUTHOR", "COMMITTER"): value for key, value in identity.items()}
    made = container.exec(["git", "-C", repo, "commit", "-q", "-m", "first"], env=identity)
    assert_succeeded(made, f"{built_image}: git commit with an identity from the environment (docker run -e)")
