"""Just enough shell to read a RUN: its flags, the simple commands it runs, and the ARGs it uses."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

from reactor_harness.family.dockerfile import Instruction

_RUN_FLAG = re.compile(r"^--[a-z-]+=\S*")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
# Builtins whose `NAME=value` arguments assign shell variables.
_DECLARING = frozenset({"export", "local", "declare", "readonly", "typeset"})
# Tokens that end one simple command and start the next (shlex's punctuation tokens).
_SEPARATORS = frozenset({"&&", "||", ";", ";;", "|", "&", "(", ")", "|&", "{", "}"})
_REDIRECTIONS = frozenset({">", ">>", "<", ">&", "<&", "&>", "&>>", ">|", "<<", "<<<", "<>"})
# Words in front of the program that do not change which program runs.
_PREFIXES = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec", "sudo", "env", "command", "nohup"}
)


@dataclass(frozen=True)
class Command:
    """One simple command of a RUN script: its program and arguments, quotes removed, `${VAR}` kept as text.

    A bare assignment (`zip="$(...)"`) is a command without words.
    """

    words: tuple[str, ...]
    assignments: tuple[tuple[str, str], ...] = ()  # `NAME=value` in front of it or declared by it

    @property
    def program(self) -> str:
        """The program's base name (`/opt/venv/bin/pip` -> `pip`); empty for a bare assignment."""
        return PurePosixPath(self.words[0]).name if self.words else ""

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.words[1:]


@dataclass(frozen=True)
class RunScript:
    """A RUN instruction split into its BuildKit flags (`--mount=...`) and its shell script."""

    instruction: Instruction
    flags: tuple[str, ...]
    script: str

    @classmethod
    def of(cls, instruction: Instruction) -> RunScript:
        value = instruction.value.strip()
        flags: list[str] = []
        while True:
            match = _RUN_FLAG.match(value)
            if not match:
                break
            flags.append(match.group(0))
            value = value[match.end() :].lstrip()
        if value.startswith("["):
            # Not JSON after all: a shell script that starts with `[` (a test), kept as it is.
            with contextlib.suppress(ValueError):
                value = " ".join(shlex.quote(str(word)) for word in json.loads(value))
        return cls(instruction=instruction, flags=tuple(flags), script=value)

    @cached_property
    def commands(self) -> list[Command]:
        """Its simple commands (those in `$(...)` too); a program named by a variable is resolved when the
        script assigns that variable exactly once (`go=/usr/lib/go-1.24/bin/go; "${go}" mod download`)."""
        commands = split_commands(self.script)
        values = variable_values(commands)
        resolved: list[Command] = []
        for command in commands:
            program = _WHOLE_REFERENCE.match(command.words[0]) if command.words else None
            candidates = values.get(program.group(1), []) if program else []
            if len(candidates) == 1:
                command = Command((candidates[0], *command.words[1:]), command.assignments)
            resolved.append(command)
        return resolved

    def expand(self, word: str) -> list[str]:
        """The values a word can take when it is exactly one variable the script sets (`for p in a b`,
        `p=a`); otherwise the word itself."""
        match = _WHOLE_REFERENCE.match(word)
        values = variable_values(self.commands).get(match.group(1)) if match else None
        return list(values) if values else [word]

    @property
    def references(self) -> set[str]:
        """Every variable the script expands (`$NAME`, `${NAME}`, `${NAME:-x}`)."""
        return set(_REFERENCE.findall(self.script))

    def mounts(self) -> list[dict[str, str]]:
        """Its `--mount=` flags, each as its options (`type`, `source`, ...), the target under the key `target`
        whichever of its names (`target`, `dst`, `destination`) the flag used, without a trailing slash."""
        mounts: list[dict[str, str]] = []
        for flag in self.flags:
            if not flag.startswith("--mount="):
                continue
            options = dict(part.partition("=")[::2] for part in flag[len("--mount=") :].split(","))
            target = options.get("target") or options.get("dst") or options.get("destination")
            options.pop("dst", None)
            options.pop("destination", None)
            if target:
                options["target"] = target.rstrip("/")
            mounts.append(options)
        return mounts

    def cache_mount_targets(self) -> list[str]:
        """The targets of its `--mount=type=cache` flags."""
        return [mount["target"] for mount in self.mounts() if mount.get("type") == "cache" and "target" in mount]


def _tokens(script: str) -> list[str]:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # `#` inside a RUN is data (`${var#prefix}`), not a comment
    try:
        return list(lexer)
    except ValueError:
        # Unbalanced quotes: fall back to whitespace words with the separators cut out, which is enough
        # to recognise programs and their arguments.
        return re.findall(r"&&|\|\||;;|[;|&()]|[^\s;|&()]+", script)


def split_commands(script: str) -> list[Command]:
    """The simple commands of a shell script, in order, each without leading assignments or redirections."""
    commands: list[Command] = []
    words: list[str] = []
    tokens = _tokens(script)
    index = 0

    nested: list[Command] = []

    def flush() -> None:
        assignments: list[tuple[str, str]] = []
        while words and (_ASSIGNMENT.match(words[0]) or words[0] in _PREFIXES):
            word = words.pop(0)
            if _ASSIGNMENT.match(word):
                assignments.append(_split_assignment(word))
        if words and words[0] in _DECLARING:
            assignments.extend(_split_assignment(word) for word in words[1:] if _ASSIGNMENT.match(word))
        if words or assignments:
            commands.append(Command(tuple(words), tuple(assignments)))
        commands.extend(nested)
        nested.clear()
        words.clear()

    while index < len(tokens):
        token = tokens[index]
        if token in _SEPARATORS:
            flush()
        elif token in _REDIRECTIONS:
            if words and words[-1].isdigit():
                words.pop()  # the file descriptor of `2>&1`
            index += 1  # the redirection's target is not an argument
        else:
            words.append(token)
            for inner in command_substitutions(token):
                nested.extend(split_commands(inner))
        index += 1
    flush()
    return commands


def _split_assignment(word: str) -> tuple[str, str]:
    name, _, value = word.partition("=")
    return name, value


def command_substitutions(word: str) -> list[str]:
    """The scripts of the `$(...)` in a word (outermost ones; nested ones are found when those are split)."""
    scripts: list[str] = []
    start = word.find("$(")
    while start >= 0:
        depth, position = 0, start + 1
        for position in range(start + 1, len(word)):
            if word[position] == "(":
                depth += 1
            elif word[position] == ")":
                depth -= 1
                if depth == 0:
                    break
        scripts.append(word[start + 2 : position])
        start = word.find("$(", position)
    return scripts


def variable_values(commands: list[Command]) -> dict[str, list[str]]:
    """What each shell variable of a script is set to: by `NAME=value` (each assignment) or `for NAME in ...`."""
    values: dict[str, list[str]] = {}
    for command in commands:
        for name, value in command.assignments:
            values.setdefault(name, []).append(value)
        if len(command.words) >= 3 and command.words[0] == "for" and command.words[2] == "in":
            values.setdefault(command.words[1], []).extend(command.words[3:])
    return values


def options_and_operands(
    arguments: tuple[str, ...] | list[str], with_value: frozenset[str]
) -> tuple[list[str], list[str]]:
    """Split arguments into options (with their values) and operands, knowing which options take a value."""
    options: list[str] = []
    operands: list[str] = []
    iterator = iter(arguments)
    for argument in iterator:
        if argument.startswith("-") and len(argument) > 1:
            options.append(argument)
            if argument in with_value:
                options.append(next(iterator, ""))
        else:
            operands.append(argument)
    return options, operands


def references(text: str) -> set[str]:
    """Every variable a word expands."""
    return set(_REFERENCE.findall(text))
