"""What image checks are parametrized over and what their fixtures hand them (shared by the sub-plugins)."""

from __future__ import annotations

from dataclasses import dataclass

from reactor_harness.build.builder import BuildOutcome
from reactor_harness.core.platforms import Platform
from reactor_harness.family.dockerfile import Dockerfile


@dataclass(frozen=True)
class Target:
    """One image on one platform: what an image check is parametrized over."""

    image: str
    platform: Platform

    def __str__(self) -> str:
        return f"{self.image}-{self.platform}"


@dataclass(frozen=True)
class BuiltImage:
    """An image built in this run for one platform."""

    name: str
    platform: Platform
    tag: str
    outcome: BuildOutcome
    dockerfile: Dockerfile

    def __str__(self) -> str:
        return f"{self.name} ({self.platform})"
