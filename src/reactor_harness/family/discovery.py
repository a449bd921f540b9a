"""The image family: discovered from images/*/Dockerfile, each image's parent read from its Dockerfile."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from reactor_harness.core.errors import FamilyError
from reactor_harness.family.dockerfile import Dockerfile, Stage


@dataclass(frozen=True)
class ExternalBase:
    """An image a stage builds FROM that is not part of the family (e.g. debian:trixie-slim)."""

    arg: str
    reference: str
    on_build_platform: bool


@dataclass(frozen=True)
class ParentLink:
    """A stage that builds FROM another family image, through a build arg."""

    arg: str
    parent: str
    on_build_platform: bool


@dataclass
class Image:
    """One image of the family: its name, folder and parsed Dockerfile."""

    name: str
    directory: Path
    dockerfile: Dockerfile

    @property
    def dockerfile_path(self) -> Path:
        return self.dockerfile.path


def _repository_name(reference: str) -> str:
    """`ghcr.io/reactor/base:latest` -> `base`; `debian:trixie-slim` -> `debian`."""
    without_digest = reference.split("@", 1)[0]
    last = without_digest.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


@dataclass
class Family:
    """Every image under one images/ folder, with parent links and a build order."""

    root: Path
    images: dict[str, Image]

    @classmethod
    def discover(cls, images_root: Path) -> Family:
        if not images_root.is_dir():
            raise FamilyError(f"no images folder at {images_root}: run from the repository root or set --images-dir")
        images: dict[str, Image] = {}
        for dockerfile_path in sorted(images_root.glob("*/Dockerfile")):
            name = dockerfile_path.parent.name
            images[name] = Image(
                name=name, directory=dockerfile_path.parent, dockerfile=Dockerfile.parse(dockerfile_path)
            )
        if not images:
            raise FamilyError(f"no image found: {images_root} has no */Dockerfile")
        family = cls(root=images_root, images=images)
        family.build_order  # validates parents and cycles eagerly  # noqa: B018
        return family

    def __getitem__(self, name: str) -> Image:
        try:
            return self.images[name]
        except KeyError:
            known = ", ".join(sorted(self.images))
            raise FamilyError(f"no image named {name!r} in {self.root} (known: {known})") from None

    def _stage_source(self, image: Image, stage: Stage) -> ParentLink | ExternalBase | None:
        arg = stage.base_arg
        if arg is None:
            return None
        default = image.dockerfile.arg_default(arg)
        if default is None:
            raise FamilyError(
                f"{image.dockerfile_path}:{stage.line}: FROM ${{{arg}}} but the global ARG {arg} has no default; "
                "give it the published image it builds on (e.g. ARG BASE_IMAGE=reactor/base:latest)"
            )
        name = _repository_name(default)
        if name in self.images and name != image.name:
            return ParentLink(arg=arg, parent=name, on_build_platform=stage.runs_on_build_platform)
        return ExternalBase(arg=arg, reference=default, on_build_platform=stage.runs_on_build_platform)

    def sources(self, name: str) -> list[ParentLink | ExternalBase]:
        """What each stage of an image builds FROM through a build arg (one entry per arg)."""
        image = self[name]
        seen: dict[str, ParentLink | ExternalBase] = {}
        for stage in image.dockerfile.stages:
            source = self._stage_source(image, stage)
            if source is None:
                continue
            previous = seen.get(source.arg)
            if previous is not None and previous.on_build_platform != source.on_build_platform:
                raise FamilyError(
                    f"{image.dockerfile_path}: ARG {source.arg} feeds both a build-platform stage and a "
                    "target-platform stage; declare one ARG for each (they need different local tags)"
                )
            seen[source.arg] = source
        return list(seen.values())

    def parents(self, name: str) -> list[str]:
        """The family images this image builds FROM (usually zero or one)."""
        return sorted({s.parent for s in self.sources(name) if isinstance(s, ParentLink)})

    @cached_property
    def build_order(self) -> list[str]:
        """Every image after its parents; ties in name order."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, chain: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = " -> ".join((*chain, name))
                raise FamilyError(f"the image family has a cycle: {cycle}")
            state[name] = "visiting"
            for parent in self.parents(name):
                visit(parent, (*chain, name))
            state[name] = "done"
            order.append(name)

        for name in sorted(self.images):
            visit(name, ())
        return order

    def ancestors(self, name: str) -> list[str]:
        """Every family image `name` depends on, parents first."""
        wanted: set[str] = set()
        stack = list(self.parents(name))
        while stack:
            parent = stack.pop()
            if parent not in wanted:
                wanted.add(parent)
                stack.extend(self.parents(parent))
        return [n for n in self.build_order if n in wanted]
