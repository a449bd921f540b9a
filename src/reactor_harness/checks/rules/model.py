"""What a rule sees (one Dockerfile in its family) and what it reports (a finding with its fix)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from reactor_harness.core.errors import DockerfileError
from reactor_harness.family.dockerfile import Dockerfile, Instruction, Pin


@dataclass(frozen=True)
class Finding:
    """One breach of a rule: where it is, which rule, what is wrong and how to fix it."""

    path: Path
    line: int
    rule: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}. Fix: {self.fix}"


@dataclass
class RuleContext:
    """One image's Dockerfile as the rules see it, with what they need to know of its family."""

    dockerfile: Dockerfile
    image: str
    family_images: frozenset[str] = frozenset()
    layer_limit: int | None = None
    user: str = field(kw_only=True)  # the non-root user the final stage must end on (images/policy.toml)
    uid: int = field(kw_only=True)

    @property
    def path(self) -> Path:
        return self.dockerfile.path

    def finding(self, where: Instruction | int, rule: str, message: str, fix: str) -> Finding:
        line = where if isinstance(where, int) else where.start_line
        return Finding(path=self.path, line=line, rule=rule, message=message, fix=fix)

    @cached_property
    def pin_error(self) -> DockerfileError | None:
        """Why the pins cannot be read (a malformed annotation, a pin without value), if they cannot."""
        try:
            self.dockerfile.pins  # noqa: B018 - reading them is the check
        except DockerfileError as error:
            return error
        return None

    @cached_property
    def version_pins(self) -> dict[str, Pin]:
        """Annotated version pins by ARG name; empty if the pins cannot be read (the versions rule says why)."""
        if self.pin_error is not None:
            return {}
        return {pin.name: pin for pin in self.dockerfile.pins if pin.annotation and not pin.is_checksum}

    @cached_property
    def checksum_pins(self) -> dict[str, Pin]:
        """Checksum pins (*_SHA256, *_SHA512, ...) with a value, by ARG name."""
        if self.pin_error is not None:
            return {}
        return {pin.name: pin for pin in self.dockerfile.pins if pin.is_checksum}


@dataclass(frozen=True)
class Rule:
    """A named check over one Dockerfile; `summary` says what it guards, in one line."""

    id: str
    summary: str
    check: Callable[[RuleContext], Iterable[Finding]] = field(repr=False)
