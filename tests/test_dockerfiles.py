"""The Dockerfiles follow the maintenance guide: hadolint finds nothing, nor do the project's own rules.

No engine: these read files only, and run first and fast.
"""

from __future__ import annotations

import re

import pytest

from reactor_harness.checks import hadolint
from reactor_harness.checks.rules import check, family_contexts
from reactor_harness.checks.rules.apt import apt_call
from reactor_harness.checks.rules.shell import RunScript
from reactor_harness.plugin.settings import SETTINGS_KEY

pytestmark = pytest.mark.engine_free


def pytest_generate_tests(metafunc):
    """One test per image (not per platform: a Dockerfile reads the same on every platform)."""
    if "image_name" in metafunc.fixturenames:
        settings = metafunc.config.stash[SETTINGS_KEY]
        names = sorted(path.parent.name for path in settings.images_dir.glob("*/Dockerfile"))
        if settings.selected_images is not None:
            names = [name for name in names if name in settings.selected_images]
        metafunc.parametrize("image_name", names)


@pytest.fixture(scope="session")
def hadolint_config(harness_settings):
    return harness_settings.root / hadolint.CONFIG_NAME


def test_hadolint_finds_nothing(family, image_name, hadolint_config):
    """hadolint, with the committed config, has no finding of any level on the image's Dockerfile."""
    run = hadolint.run([family[image_name].dockerfile_path], hadolint_config)
    if run.findings:
        pytest.fail("\n".join(map(str, run.findings)), pytrace=False)


def test_project_rules_find_nothing(family, image_name, family_policy):
    """The project's own rules (pins, downloads, apt hygiene, user, layers, comments) find nothing."""
    findings = check(family_contexts(family, family_policy)[image_name])
    if findings:
        pytest.fail("\n".join(map(str, findings)), pytrace=False)


def test_every_ignored_hadolint_rule_says_why(hadolint_config):
    """Each rule .hadolint.yaml ignores carries a comment saying why."""
    ignored = hadolint.ignored_rules(hadolint_config.read_text(encoding="utf-8"), hadolint_config.name)
    unexplained = [f"{hadolint_config.name}:{rule.line}: {rule.code}" for rule in ignored if rule.reason is None]
    if unexplained:
        pytest.fail("ignored without a reason (add a comment saying why):\n" + "\n".join(unexplained), pytrace=False)


def test_layer_limits_name_only_family_images(family, family_policy):
    """images/policy.toml [layers] declares limits for images that exist (a stale entry guards nothing)."""
    stale = sorted(set(family_policy.layer_limits) - set(family.images))
    assert not stale, f"[layers] in {family_policy.path} names images that do not exist: {stale}"


APT_BUILD_CONFIG = "/var/cache/apt/reactor-build.conf"


def test_build_platform_apt_steps_are_shared_by_both_targets(family, image_name):
    """In a stage on the build platform, no target-specific ARG (TARGETARCH, a per-target checksum, ...) is in
    scope of its apt step: an ARG in scope is part of the step's cache key, so with one the amd64 and arm64
    builds each install the same build-platform packages again (~100 s for base's npm under load)."""
    dockerfile = family[image_name].dockerfile
    problems = []
    for stage in dockerfile.stages:
        if not stage.runs_on_build_platform:
            continue
        in_scope: list[str] = []
        for instruction in dockerfile.stage_instructions(stage.index):
            if instruction.keyword == "ARG":
                in_scope.append(instruction.value.split("=", 1)[0].strip())
                continue
            if instruction.keyword != "RUN":
                continue
            run = RunScript.of(instruction)
            if not any(apt_call(command) is not None for command in run.commands):
                continue
            unused = [name for name in in_scope if not re.search(rf"\$(\{{{name}\}}|{name}\b)", instruction.value)]
            if unused:
                problems.append(
                    f"{dockerfile.path}:{instruction.start_line}: ARG {', '.join(sorted(set(unused)))} in scope of "
                    "this build-platform apt step but unused by it; declare them after it"
                )
    assert not problems, "\n".join(problems)


def test_apt_steps_on_the_target_platform_use_the_build_config(family, image_name):
    """Every apt-get call of a stage that runs on the target platform (under qemu for a foreign one) reads
    images/shared/build/apt.conf, mounted with a tmpfs on /var/cache/apt in the same RUN: no list re-parse,
    no debconf preconfiguration pass, nothing of it left in a layer."""
    dockerfile = family[image_name].dockerfile
    problems = []
    for stage in dockerfile.stages:
        if stage.runs_on_build_platform:
            continue
        for instruction in dockerfile.stage_instructions(stage.index):
            if instruction.keyword != "RUN":
                continue
            run = RunScript.of(instruction)
            calls = [call for command in run.commands if (call := apt_call(command)) is not None]
            if not calls:
                continue
            mounts = [(mount.get("type"), mount.get("source"), mount.get("target")) for mount in run.mounts()]
            if ("tmpfs", None, "/var/cache/apt") not in mounts or (
                ("bind", "shared/build/apt.conf", APT_BUILD_CONFIG) not in mounts
            ):
                problems.append(
                    f"{dockerfile.path}:{instruction.start_line}: mount a tmpfs on /var/cache/apt and "
                    f"shared/build/apt.conf at {APT_BUILD_CONFIG} for this RUN"
                )
            for call in calls:
                if call.subcommand in {"update", "install"} and f"-c {APT_BUILD_CONFIG}" not in " ".join(call.options):
                    problems.append(
                        f"{dockerfile.path}:{instruction.start_line}: apt-get {call.subcommand} without "
                        f"`-c {APT_BUILD_CONFIG}`"
                    )
    assert not problems, "\n".join(problems)
