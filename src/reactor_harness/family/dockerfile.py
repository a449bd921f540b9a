"""A parsed Dockerfile: its instructions, stages and pinned versions (the family's source of truth)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from dockerfile_parse import DockerfileParser

from reactor_harness.core.errors import DockerfileError

RENOVATE_PREFIX = "renovate:"
_CHECKSUM_NAME = re.compile(r"_(SHA256|SHA512|CHECKSUM|HASH|INTEGRITY)(_|$)")
_ARG_REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_PLATFORM_FLAG = re.compile(r"--platform=(\S+)")


@dataclass(frozen=True)
class Instruction:
    """One instruction of a Dockerfile, with its 1-based line range and the stage it belongs to."""

    keyword: str
    value: str
    start_line: int
    end_line: int
    stage_index: int  # -1 for instructions before the first FROM (global ARGs)
    comments: tuple[str, ...] = ()  # the comment lines directly above it, without '#'
    comment_lines: tuple[int, ...] = ()  # the 1-based line of each entry of `comments`


@dataclass(frozen=True)
class Pin:
    """A pinned version or checksum: a global ARG of a Dockerfile.

    Version pins carry a Renovate annotation (`# renovate: datasource=deb depName=git`) on the line
    above; checksum pins are named *_SHA256/*_SHA512/... and verified by the build itself.
    """

    name: str
    value: str
    line: int
    dockerfile: Path
    annotation: dict[str, str] = field(default_factory=dict)

    @property
    def is_checksum(self) -> bool:
        return bool(_CHECKSUM_NAME.search(self.name))

    @property
    def datasource(self) -> str | None:
        return self.annotation.get("datasource")

    @property
    def dep_name(self) -> str | None:
        return self.annotation.get("depName")

    @property
    def location(self) -> str:
        return f"{self.dockerfile}:{self.line}"


@dataclass(frozen=True)
class Stage:
    """A build stage: its FROM reference (raw), optional alias and --platform flag."""

    index: int
    base: str
    alias: str | None
    platform: str | None
    line: int

    @property
    def base_arg(self) -> str | None:
        """The ARG the FROM takes its image from (`FROM ${BASE_IMAGE}`), if any."""
        match = _ARG_REFERENCE.match(self.base)
        return match.group(1) if match else None

    @property
    def runs_on_build_platform(self) -> bool:
        return self.platform is not None and "BUILDPLATFORM" in self.platform


def parse_annotation(comment: str) -> dict[str, str] | None:
    """Parse `renovate: datasource=deb depName=git` into a dict; None if not an annotation."""
    text = comment.strip()
    if not text.startswith(RENOVATE_PREFIX):
        return None
    fields: dict[str, str] = {}
    for token in text[len(RENOVATE_PREFIX) :].split():
        key, sep, value = token.partition("=")
        if not sep or not key or not value:
            raise DockerfileError(
                f"malformed Renovate annotation {comment.strip()!r}: expected key=value pairs "
                "such as 'renovate: datasource=deb depName=git'"
            )
        fields[key] = value
    return fields


@lru_cache(maxsize=64)
def _instructions(text: str) -> tuple[Instruction, ...]:
    """The instructions of a Dockerfile's text. Memoized by the text itself (the harness reads the family's
    Dockerfiles in every module it collects; the parse, not the read, is what costs), so an edited file is
    parsed again and an unchanged one is not. Instructions are frozen, so sharing them is safe."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    instructions: list[Instruction] = []
    pending_comments: list[str] = []
    pending_comment_lines: list[int] = []
    stage_index = -1
    for entry in parser.structure:
        keyword = entry["instruction"].upper()
        if keyword == "COMMENT":
            pending_comments.append(entry["value"])
            pending_comment_lines.append(entry["startline"] + 1)
            continue
        if keyword == "FROM":
            stage_index += 1
        instructions.append(
            Instruction(
                keyword=keyword,
                value=entry["value"],
                start_line=entry["startline"] + 1,
                end_line=entry["endline"] + 1,
                stage_index=stage_index,
                comments=tuple(pending_comments),
                comment_lines=tuple(pending_comment_lines),
            )
        )
        pending_comments = []
        pending_comment_lines = []
    return tuple(instructions)


@dataclass
class Dockerfile:
    """A Dockerfile read once and queried by the harness and its rules."""

    path: Path
    instructions: list[Instruction]

    @classmethod
    def parse(cls, path: Path) -> Dockerfile:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise DockerfileError(f"cannot read Dockerfile {path}: {error}") from error
        instructions = _instructions(text)
        if not any(instruction.keyword == "FROM" for instruction in instructions):
            raise DockerfileError(f"{path} has no FROM instruction")
        return cls(path=path, instructions=list(instructions))

    @cached_property
    def global_args(self) -> dict[str, Instruction]:
        """ARGs declared before the first FROM, by name."""
        found: dict[str, Instruction] = {}
        for instruction in self.instructions:
            if instruction.stage_index >= 0:
                break
            if instruction.keyword == "ARG":
                name, _, _ = instruction.value.partition("=")
                found[name.strip()] = instruction
        return found

    def arg_default(self, name: str) -> str | None:
        instruction = self.global_args.get(name)
        if instruction is None:
            return None
        _, sep, value = instruction.value.partition("=")
        return _unquote(value.strip()) if sep else None

    @cached_property
    def pins(self) -> list[Pin]:
        """Every version pin (annotated global ARG) and checksum pin, in file order."""
        pins: list[Pin] = []
        for name, instruction in self.global_args.items():
            value = self.arg_default(name)
            annotation: dict[str, str] | None = None
            if instruction.comments:
                annotation = parse_annotation(instruction.comments[-1])
            is_checksum = bool(_CHECKSUM_NAME.search(name))
            if annotation is None and not is_checksum:
                continue
            if value is None or value == "":
                raise DockerfileError(
                    f"{self.path}:{instruction.start_line}: pin {name} has no default value; "
                    "give it the pinned version (ARG NAME=version)"
                )
            pins.append(
                Pin(
                    name=name,
                    value=value,
                    line=instruction.start_line,
                    dockerfile=self.path,
                    annotation=annotation or {},
                )
            )
        return pins

    @cached_property
    def stages(self) -> list[Stage]:
        stages: list[Stage] = []
        for instruction in self.instructions:
            if instruction.keyword != "FROM":
                continue
            words = instruction.value.split()
            platform = None
            rest: list[str] = []
            for word in words:
                match = _PLATFORM_FLAG.fullmatch(word)
                if match:
                    platform = match.group(1)
                else:
                    rest.append(word)
            if not rest:
                raise DockerfileError(f"{self.path}:{instruction.start_line}: FROM without an image")
            alias = rest[2] if len(rest) >= 3 and rest[1].upper() == "AS" else None
            stages.append(
                Stage(
                    index=instruction.stage_index,
                    base=rest[0],
                    alias=alias,
                    platform=platform,
                    line=instruction.start_line,
                )
            )
        return stages

    @property
    def final_stage(self) -> Stage:
        return self.stages[-1]

    def stage_instructions(self, stage_index: int) -> list[Instruction]:
        return [i for i in self.instructions if i.stage_index == stage_index]

    def final_instructions(self, keyword: str) -> list[Instruction]:
        """The final stage's instructions of one kind (e.g. every USER), in order."""
        return [i for i in self.stage_instructions(self.final_stage.index) if i.keyword == keyword]

    def pin(self, name: str) -> Pin:
        for pin in self.pins:
            if pin.name == name:
                return pin
        raise DockerfileError(f"{self.path} has no pin named {name}")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
