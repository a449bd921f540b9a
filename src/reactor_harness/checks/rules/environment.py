"""The environment an image declares reaches every way in: each name its final stage sets with ENV is
recorded afterwards with `reactor-env record`, and nothing else is (see images/shared/rootfs)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from reactor_harness.checks.rules.model import Finding, RuleContext
from reactor_harness.checks.rules.shell import RunScript
from reactor_harness.family.dockerfile import Instruction

RECORD_PROGRAM = "reactor-env"


def env_names(instruction: Instruction) -> list[str]:
    """The variable names an ENV instruction sets (`ENV A=1 B=2`, or the legacy `ENV A 1`)."""
    words = shlex.split(instruction.value, posix=True)
    if words and "=" not in words[0]:
        return [words[0]]
    return [word.split("=", 1)[0] for word in words if "=" in word]


def recorded_names(instruction: Instruction) -> list[str]:
    """The names a RUN passes to `reactor-env record`."""
    return [
        name
        for command in RunScript.of(instruction).commands
        if command.program == RECORD_PROGRAM and command.arguments[:1] == ("record",)
        for name in command.arguments[1:]
    ]


def check_environment_recorded(context: RuleContext) -> Iterator[Finding]:
    dockerfile = context.dockerfile
    unrecorded: dict[str, Instruction] = {}  # set by an ENV, not recorded since
    for instruction in dockerfile.stage_instructions(dockerfile.final_stage.index):
        if instruction.keyword == "ENV":
            unrecorded.update(dict.fromkeys(env_names(instruction), instruction))
        elif instruction.keyword == "RUN":
            for name in recorded_names(instruction):
                if unrecorded.pop(name, None) is None:
                    yield context.finding(
                        instruction,
                        "environment-recorded",
                        f"records {name}, which no ENV before it in the final stage sets",
                        f"set {name} with ENV right before this RUN, or drop it from `reactor-env record`",
                    )
    for name, instruction in unrecorded.items():
        yield context.finding(
            instruction,
            "environment-recorded",
            f"ENV sets {name} but no later `reactor-env record` names it, so login shells, "
            "`env -i bash -l` and sudo never see it",
            f"add {name} to the `reactor-env record` of a RUN after this ENV (as root)",
        )
