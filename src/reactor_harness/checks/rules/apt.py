"""Debian packages: installed lean (no recommends, lists removed in the same RUN), pinned, never upgraded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from reactor_harness.checks.rules.model import Finding, RuleContext
from reactor_harness.checks.rules.shell import Command, RunScript, options_and_operands, references

APT_PROGRAMS = frozenset({"apt-get", "apt"})
_OPTIONS_WITH_VALUE = frozenset(
    {
        "-o",
        "-c",
        "-t",
        "-a",
        "--option",
        "--config-file",
        "--target-release",
        "--default-release",
        "--host-architecture",
    }
)
_UPGRADES = frozenset({"upgrade", "dist-upgrade", "full-upgrade"})
_LISTS = "/var/lib/apt/lists"
_RECOMMENDS_OFF = re.compile(r"^APT::Install-Recommends=(false|0|no)$", re.IGNORECASE)


@dataclass(frozen=True)
class AptCall:
    """One apt-get/apt command: its subcommand, options and operands (package specs)."""

    subcommand: str | None
    options: list[str]
    packages: list[str]


def apt_call(command: Command) -> AptCall | None:
    if command.program not in APT_PROGRAMS:
        return None
    options, operands = options_and_operands(command.arguments, _OPTIONS_WITH_VALUE)
    subcommand = operands[0] if operands else None
    return AptCall(subcommand=subcommand, options=options, packages=operands[1:])


def _apt_calls(context: RuleContext) -> Iterator[tuple[RunScript, AptCall]]:
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "RUN":
            continue
        run = RunScript.of(instruction)
        for command in run.commands:
            call = apt_call(command)
            if call is not None:
                yield run, call


def _skips_recommends(call: AptCall) -> bool:
    return "--no-install-recommends" in call.options or any(_RECOMMENDS_OFF.match(o) for o in call.options)


def _removes_lists(run: RunScript) -> bool:
    """The RUN deletes apt's lists, or keeps them in a cache mount that never reaches the layer."""
    for command in run.commands:
        if command.program == "rm" and any(arg.startswith(_LISTS) for arg in command.arguments):
            return True
    return any(target and _LISTS.startswith(target) for target in run.cache_mount_targets())


def check_apt_no_recommends(context: RuleContext) -> Iterator[Finding]:
    for run, call in _apt_calls(context):
        if call.subcommand == "install" and not _skips_recommends(call):
            yield context.finding(
                run.instruction,
                "apt-no-recommends",
                "apt-get install pulls in recommended packages",
                "add --no-install-recommends to the apt-get install",
            )


def check_apt_lists_removed(context: RuleContext) -> Iterator[Finding]:
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "RUN":
            continue
        run = RunScript.of(instruction)
        calls = [call.subcommand for command in run.commands if (call := apt_call(command))]
        touching = [subcommand for subcommand in calls if subcommand in {"update", "install"}]
        if touching and not _removes_lists(run):
            yield context.finding(
                instruction,
                "apt-lists-removed",
                f"this RUN runs apt-get {touching[0]} but leaves {_LISTS} in the layer",
                f"end the same RUN with `&& rm -rf {_LISTS}/*`",
            )


def check_apt_no_upgrade(context: RuleContext) -> Iterator[Finding]:
    for run, call in _apt_calls(context):
        if call.subcommand in _UPGRADES:
            yield context.finding(
                run.instruction,
                "apt-no-upgrade",
                f"apt-get {call.subcommand} installs whatever is newest at build time, unpinned",
                "remove it: pin the packages the image needs, and take OS fixes by rebuilding on a fresh Debian image",
            )


def check_apt_packages_pinned(context: RuleContext) -> Iterator[Finding]:
    for run, call in _apt_calls(context):
        if call.subcommand != "install":
            continue
        for spec in call.packages:
            if spec.startswith(("/", "./")) or spec.endswith(".deb"):
                continue  # a local .deb: the download rule covers where it came from
            name, sep, version = spec.partition("=")
            pinned = references(version) & set(context.version_pins)
            if pinned:
                continue
            fix = (
                f"declare a global `ARG {_arg_name(name)}=<version>` with a `# renovate: datasource=deb "
                f"depName={name.split('/')[0]}` line above it, redeclare it in the stage, and install "
                f'"{name.split("/")[0]}=${{{_arg_name(name)}}}-*"'
            )
            if not sep:
                problem = f"installs {spec} without a version"
            elif not references(version):
                problem = f"types the version of {name} in the RUN ({spec})"
            else:
                problem = f"pins {name} to {version}, which is not a Renovate-annotated global ARG"
            yield context.finding(run.instruction, "apt-package-pinned", problem, fix)


def _arg_name(package: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", package.split("/")[0].upper()).strip("_") + "_VERSION"
