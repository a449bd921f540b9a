"""The image's shape: parents taken through build args, the non-root user last, layers within the limit."""

from __future__ import annotations

from collections.abc import Iterator

from reactor_harness.checks.rules.model import Finding, RuleContext
from reactor_harness.family.dockerfile import Stage

_LAYER_KEYWORDS = ("RUN", "COPY", "ADD")


def repository_name(reference: str) -> str:
    """The image name of a reference: `registry.example/reactor/base:1.0` -> `base`."""
    without_digest = reference.split("@", 1)[0]
    last = without_digest.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def family_parent(context: RuleContext, stage: Stage) -> str | None:
    """The family image a stage builds FROM (through an ARG or literally), if it builds FROM one."""
    reference = context.dockerfile.arg_default(stage.base_arg) if stage.base_arg else stage.base
    if not reference:
        return None
    name = repository_name(reference)
    return name if name in context.family_images and name != context.image else None


def check_from_build_arg(context: RuleContext) -> Iterator[Finding]:
    aliases: set[str] = set()
    for stage in context.dockerfile.stages:
        if stage.base_arg is None and stage.base.lower() not in aliases and stage.base != "scratch":
            parent = family_parent(context, stage)
            if parent is not None:
                message = f"builds FROM the family image {parent} by a literal reference ({stage.base})"
                fix = (
                    f"declare `ARG {parent.upper()}_IMAGE=<its published reference>` before the first FROM and "
                    f"write `FROM ${{{parent.upper()}_IMAGE}}`, so the harness can pass the locally built {parent}"
                )
            else:
                message = f"builds FROM {stage.base} by a literal reference"
                fix = (
                    "declare a global ARG with that reference as default (e.g. `ARG DEBIAN_IMAGE=debian:trixie-slim`)"
                    " and write `FROM ${DEBIAN_IMAGE}`, so the harness can pass its local tag"
                )
            yield context.finding(stage.line, "from-build-arg", message, fix)
        if stage.alias:
            aliases.add(stage.alias.lower())


def _is_non_root_user(value: str, context: RuleContext) -> bool:
    user, _, group = value.strip().partition(":")
    accepted = {context.user, str(context.uid)}
    return user in accepted and (not group or group in accepted)


def check_final_user(context: RuleContext) -> Iterator[Finding]:
    dockerfile = context.dockerfile
    users = dockerfile.final_instructions("USER")
    fix = f"end the final stage with `USER {context.user}` (after the steps that need root)"
    if users:
        last = users[-1]
        if not _is_non_root_user(last.value, context):
            yield context.finding(
                last, "final-user", f"the image ends as user {last.value.strip()}, not {context.user}", fix
            )
    elif family_parent(context, dockerfile.final_stage) is None:
        # Without a USER, a stage inherits its base image's user: fine for a language image built on the
        # family's base (which ends as claude), root for anything else.
        yield context.finding(
            dockerfile.final_stage.line, "final-user", "the final stage sets no USER, so the image runs as root", fix
        )


def check_layer_limit(context: RuleContext) -> Iterator[Finding]:
    dockerfile = context.dockerfile
    layers = [i for i in dockerfile.stage_instructions(dockerfile.final_stage.index) if i.keyword in _LAYER_KEYWORDS]
    line = dockerfile.final_stage.line
    if context.layer_limit is None:
        yield context.finding(
            line,
            "layer-limit",
            f"no layer limit is declared for the image {context.image} (its final stage has {len(layers)} layers)",
            f'add `"{context.image}": {len(layers)}` to [layers] in images/policy.toml',
        )
    elif len(layers) > context.layer_limit:
        where = ", ".join(f"{i.keyword}@{i.start_line}" for i in layers)
        yield context.finding(
            line,
            "layer-limit",
            f"the final stage has {len(layers)} layers ({where}), over the limit of {context.layer_limit}",
            "merge RUNs that belong together (and COPY into a build stage), or raise the limit in "
            "images/policy.toml [layers] saying why",
        )
