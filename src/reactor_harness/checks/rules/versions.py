"""Versions: each one is a Renovate-annotated global ARG pin or lives in a lock file; nothing floats."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from reactor_harness.checks.rules.image import repository_name
from reactor_harness.checks.rules.model import Finding, RuleContext
from reactor_harness.checks.rules.shell import Command, RunScript, options_and_operands, references
from reactor_harness.core.errors import DockerfileError
from reactor_harness.family.dockerfile import Instruction, Pin, parse_annotation

# A value that reads as a version: optional Debian epoch, optional `v`, then a digit (`1:2.47.3`, `v0.20.0`,
# `668`, `9.2.0~ds1`). Only taken for a version when the ARG is named *_VERSION or the value has a dot:
# that keeps build parameters such as IMAGE_VERSION=dev and numeric settings such as USER_UID=1000 out.
_VERSION_VALUE = re.compile(r"^(\d+:)?v?\d[\w.+~:-]*$")
_DOTTED = re.compile(r"\d+\.\d+")
_LATEST = re.compile(r"(^|[@:=])latest$", re.IGNORECASE)  # a value that is, or ends in, the tag latest
_LATEST_IN_WORD = re.compile(r"[@:=]latest$", re.IGNORECASE)  # in a RUN: `pkg@latest`, `img:latest`
_PYTHON = re.compile(r"^python[0-9.]*$")
_ANNOTATION_FIX = "put `# renovate: datasource=<deb|npm|pypi|go|...> depName=<package>` on the line directly above it"

_PIP_OPTIONS_WITH_VALUE = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "-f",
        "--find-links",
        "--python-version",
        "--platform",
        "--implementation",
        "--abi",
        "--src",
        "--upgrade-strategy",
        "--progress-bar",
        "--cache-dir",
        "--log",
        "--proxy",
        "--retries",
        "--timeout",
        "--cert",
        "--client-cert",
        "--trusted-host",
        "-e",
        "--editable",
        "--config-settings",
        "-C",
        "--only-binary",
        "--no-binary",
        "--report",
        "--python",
    }
)
_NPM_OPTIONS_WITH_VALUE = frozenset(
    {
        "--prefix",
        "--registry",
        "--cache",
        "-w",
        "--workspace",
        "--omit",
        "--include",
        "--userconfig",
        "--pack-destination",
        "--loglevel",
    }
)
_GO_OPTIONS_WITH_VALUE = frozenset({"-C", "-o", "-p", "-tags", "-ldflags", "-gcflags", "-mod", "-modfile", "-pkgdir"})


def looks_like_version(name: str, value: str | None) -> bool:
    if not value or "$" in value or not _VERSION_VALUE.match(value):
        return False
    return name.endswith("_VERSION") or bool(_DOTTED.search(value))


def _arg_name_and_default(instruction: Instruction) -> tuple[str, str | None]:
    name, sep, value = instruction.value.partition("=")
    return name.strip(), value.strip().strip("\"'") if sep else None


def _env_pairs(instruction: Instruction) -> list[tuple[str, str]]:
    """`ENV A=1 B=2` (or legacy `ENV A 1`) as pairs, quotes removed."""
    words = _split_words(instruction.value)
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [(name, value) for word in words for name, _, value in [word.partition("=")]]


def _split_words(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def _from_args(context: RuleContext) -> set[str]:
    return {stage.base_arg for stage in context.dockerfile.stages if stage.base_arg}


def check_versions_annotated(context: RuleContext) -> Iterator[Finding]:
    dockerfile = context.dockerfile
    if context.pin_error is not None:
        yield context.finding(_error_line(context), "version-annotated", str(context.pin_error), _ANNOTATION_FIX)
        return
    annotated = {pin.name: pin for pin in dockerfile.pins if pin.annotation}
    image_args = _from_args(context)
    for instruction in dockerfile.instructions:
        if instruction.keyword == "ARG":
            name, default = _arg_name_and_default(instruction)
            if instruction.stage_index < 0:
                pin = annotated.get(name)
                if pin is not None:
                    yield from _misplaced_annotation(context, instruction, pin)
                elif name in image_args:
                    continue
                elif looks_like_version(name, default):
                    yield context.finding(
                        instruction,
                        "version-annotated",
                        f"ARG {name}={default} is a version without a Renovate annotation",
                        _ANNOTATION_FIX,
                    )
                elif name.endswith("_VERSION") and default is None:
                    yield context.finding(
                        instruction,
                        "version-annotated",
                        f"ARG {name} has no default, so the version is whatever each build passes",
                        f"give it the pinned version (`ARG {name}=<version>`) and {_ANNOTATION_FIX}",
                    )
            elif looks_like_version(name, default):
                yield context.finding(
                    instruction,
                    "version-annotated",
                    f"ARG {name}={default} pins a version inside a stage, where the harness does not read it",
                    f"declare it as a global ARG (before the first FROM), annotated, and write `ARG {name}` here",
                )
        elif instruction.keyword == "ENV":
            for name, value in _env_pairs(instruction):
                if looks_like_version(name, value):
                    yield context.finding(
                        instruction,
                        "version-annotated",
                        f"ENV {name}={value} types a version that no pin declares",
                        f"declare an annotated global ARG for it and set `ENV {name}=${{<ARG>}}`",
                    )


def _misplaced_annotation(context: RuleContext, instruction: Instruction, pin: Pin) -> Iterator[Finding]:
    """An annotation must sit on the line directly above its ARG and name a datasource and a depName."""
    annotation_line = instruction.comment_lines[-1] if instruction.comment_lines else pin.line - 1
    if annotation_line != pin.line - 1:
        yield context.finding(
            annotation_line,
            "version-annotated",
            f"the Renovate annotation of {pin.name} is on line {annotation_line}, not directly above the ARG",
            "move it to the line directly above the ARG (Renovate reads that line only)",
        )
    missing = [key for key in ("datasource", "depName") if key not in pin.annotation]
    if missing:
        yield context.finding(
            annotation_line,
            "version-annotated",
            f"the Renovate annotation of {pin.name} lacks {' and '.join(missing)}",
            _ANNOTATION_FIX,
        )


def _error_line(context: RuleContext) -> int:
    """The line the pins' error is about: a malformed annotation's, else the one its message names."""
    for instruction in context.dockerfile.global_args.values():
        if not instruction.comments:
            continue
        try:
            parse_annotation(instruction.comments[-1])
        except DockerfileError:
            return instruction.comment_lines[-1]
    match = re.search(r":(\d+):", str(context.pin_error))
    return int(match.group(1)) if match else context.dockerfile.instructions[0].start_line


def _family_parent_args(context: RuleContext) -> set[str]:
    """Global ARGs naming a family image a stage builds FROM: the harness always passes the local tag."""
    found: set[str] = set()
    for arg in _from_args(context):
        default = context.dockerfile.arg_default(arg)
        if default and repository_name(default) in context.family_images - {context.image}:
            found.add(arg)
    return found


def check_no_latest(context: RuleContext) -> Iterator[Finding]:
    exempt = _family_parent_args(context)
    fix = "name an exact version: a fixed image tag, or `name@${NAME_VERSION}` with an annotated global ARG"
    for instruction in context.dockerfile.instructions:
        if instruction.keyword == "ARG":
            name, default = _arg_name_and_default(instruction)
            if default and _LATEST.search(default) and name not in exempt:
                yield context.finding(instruction, "no-latest", f"ARG {name} defaults to {default}", fix)
        elif instruction.keyword == "ENV":
            for name, value in _env_pairs(instruction):
                if _LATEST.search(value):
                    yield context.finding(instruction, "no-latest", f"ENV {name} is {value}", fix)
        elif instruction.keyword == "RUN":
            for command in RunScript.of(instruction).commands:
                for word in command.arguments:
                    if _LATEST_IN_WORD.search(word):
                        yield context.finding(
                            instruction, "no-latest", f"`{command.program}` takes {word}, whatever is newest", fix
                        )


@dataclass(frozen=True)
class PackageInstall:
    """A package manager installing named packages: which manager, how a spec names its version."""

    manager: str
    specs: list[str]
    from_lock_file: bool


def package_install(command: Command) -> PackageInstall | None:
    program, arguments = command.program, list(command.arguments)
    if _PYTHON.match(program) and arguments[:2] == ["-m", "pip"]:
        program, arguments = "pip", arguments[2:]
    elif program == "uv" and arguments[:1] == ["pip"]:
        program, arguments = "pip", arguments[1:]
    if program in {"pip", "pip3", "pipx"}:
        options, operands = options_and_operands(arguments, _PIP_OPTIONS_WITH_VALUE)
        if operands[:1] != ["install"]:
            return None
        lock = any(option in {"-r", "--requirement"} or option.startswith("--requirement=") for option in options)
        return PackageInstall("pip", operands[1:], from_lock_file=lock)
    if program == "npm":
        options, operands = options_and_operands(arguments, _NPM_OPTIONS_WITH_VALUE)
        if operands[:1] == ["ci"]:
            return PackageInstall("npm", [], from_lock_file=True)
        if operands[:1] not in (["install"], ["i"], ["in"], ["add"], ["pack"]):
            return None
        return PackageInstall("npm", operands[1:], from_lock_file=not operands[1:])
    if program == "go":
        options, operands = options_and_operands(arguments, _GO_OPTIONS_WITH_VALUE)
        if operands[:1] not in (["install"], ["get"]):
            return None
        return PackageInstall("go", operands[1:], from_lock_file=False)
    return None


def _local(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "file:")) or spec.endswith((".whl", ".tgz", ".tar.gz", ".zip"))


def _spec_version(manager: str, spec: str) -> str | None:
    """The exact version a package spec names (`ruff==${V}` -> `${V}`); None when it names none."""
    if manager == "pip":
        match = re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*(==|===|~=|>=|<=|!=|>|<)?(.*)$", spec)
        if match is None or match.group(1) not in {"==", "==="}:
            return None
        return match.group(2)
    at = spec.rfind("@")  # `@scope/name@1.0`: the last @ that is not the first character
    return spec[at + 1 :] if at > 0 else None


_INSTALL_FIX = {
    "pip": "pin it as `name==${NAME_VERSION}` with an annotated global ARG (datasource=pypi), or install it from a "
    "hashed lock file (`pip install --require-hashes -r requirements.txt`)",
    "npm": "pin it as `name@${NAME_VERSION}` with an annotated global ARG (datasource=npm), or install from a lock "
    "file with `npm ci`",
    "go": "pin it as `module/cmd@${NAME_VERSION}` with an annotated global ARG (datasource=go)",
}


def check_installs_pinned(context: RuleContext) -> Iterator[Finding]:
    pins = set(context.version_pins)
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "RUN":
            continue
        run = RunScript.of(instruction)
        for command in run.commands:
            install = package_install(command)
            if install is None:
                continue
            for spec in (value for word in install.specs for value in run.expand(word)):
                if _local(spec):
                    continue
                version = _spec_version(install.manager, spec)
                if version and references(version) & pins:
                    continue
                if version is None:
                    problem = f"{install.manager} installs {spec} without an exact version"
                elif not references(version):
                    problem = f"{install.manager} installs {spec} with the version typed in the RUN"
                else:
                    problem = f"{install.manager} installs {spec}, but {version} is not a Renovate-annotated pin"
                yield context.finding(instruction, "install-pinned", problem, _INSTALL_FIX[install.manager])
