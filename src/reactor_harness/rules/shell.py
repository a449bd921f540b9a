"""Just enough shell to read a RUN: its flags, the simple commands it runs, and the ARGs it uses."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from reactor_harness.dockerfile import Instruction

_RUN_FLAG = re.compile(r"^--[a-z-]+=\S*")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# Tokens that end one simple command and start the next (shlex's punctuation tokens).
_SEPARATORS = frozenset({"&&", "||", ";", ";;", "|", "&", "(", ")", "|&", "{", "}"})
_REDIRECTIONS = frozenset({">", ">>", "<", ">&", "<&", "&>", "&>>", ">|", "<<", "<<<", "<>"})
# Words in front of the program that do not change which program runs.
_PREFIXES = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec", "sudo", "env",
                       "command", "nohup"})


@dataclass(frozen=True)
class Command:
    """One simple command of a RUN script: its program and arguments, quotes removed, `${VAR}` kept as text."""

    words: tuple[str, ...]

    @property
    def program(self) -> str:
        """The program's base name (`/opt/venv/bin/pip` -> `pip`)."""
        return PurePosixPath(self.words[0]).name

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
            try:
                value = " ".join(shlex.quote(str(word)) for word in json.loads(value))
            except ValueError:
                pass  # not JSON after all: a shell script that starts with `[` (a test)
        return cls(instruction=instruction, flags=tuple(flags), script=value)

    @property
    def commands(self) -> list[Command]:
        return split_commands(self.script)

    @property
    def references(self) -> set[str]:
        """Every variable the script expands (`$NAME`, `${NAME}`, `${NAME:-x}`)."""
        return set(_REFERENCE.findall(self.script))

    def cache_mount_targets(self) -> list[str]:
        """The targets of its `--mount=type=cache` flags."""
        targets: list[str] = []
        for flag in self.flags:
            if not flag.startswith("--mount="):
                continue
            options = dict(part.partition("=")[::2] for part in flag[len("--mount=") :].split(","))
            if options.get("type") == "cache":
                target = options.get("target") or options.get("dst") or options.get("destination")
                if target:
                    targets.append(target.rstrip("/"))
        return targets


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

    def flush() -> None:
        while words and (_ASSIGNMENT.match(words[0]) or words[0] in _PREFIXES):
            words.pop(0)
        if words:
            commands.append(Command(tuple(words)))
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
        index += 1
    flush()
    return commands


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
