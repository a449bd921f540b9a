"""The project's own Dockerfile rules: each a plain function over one parsed Dockerfile, each with an id.

`check(context)` runs every rule; `family_contexts(family, policy)` gives each image of the family its context.
A finding names file, line, rule and fix; `python -m reactor_harness.checks.rules` prints them for every image.
"""

from __future__ import annotations

from collections.abc import Iterable

from reactor_harness.checks.rules import apt, comments, downloads, environment, image, versions
from reactor_harness.checks.rules.model import Finding, Rule, RuleContext
from reactor_harness.family.discovery import Family
from reactor_harness.family.policy import FamilyPolicy

RULES: tuple[Rule, ...] = (
    Rule("apt-no-recommends", "apt-get install uses --no-install-recommends", apt.check_apt_no_recommends),
    Rule(
        "apt-lists-removed",
        "a RUN that runs apt-get update or install removes /var/lib/apt/lists",
        apt.check_apt_lists_removed,
    ),
    Rule("apt-no-upgrade", "no apt-get upgrade / dist-upgrade / full-upgrade", apt.check_apt_no_upgrade),
    Rule("apt-package-pinned", "every Debian package is installed as pkg=${PIN}", apt.check_apt_packages_pinned),
    Rule(
        "download-verified",
        "every download is checked against a checksum pin in the same RUN",
        downloads.check_downloads_verified,
    ),
    Rule("no-add-url", "no ADD of a remote URL", downloads.check_no_add_url),
    Rule("version-annotated", "every version is a Renovate-annotated global ARG", versions.check_versions_annotated),
    Rule("no-latest", "nothing takes `latest`", versions.check_no_latest),
    Rule(
        "install-pinned", "pip/npm/go installs name a pinned version or use a lock file", versions.check_installs_pinned
    ),
    Rule(
        "from-build-arg",
        "every FROM takes its image through a build arg (or an earlier stage)",
        image.check_from_build_arg,
    ),
    Rule("final-user", "the image ends as the non-root user", image.check_final_user),
    Rule("layer-limit", "the final stage stays within its declared layer limit", image.check_layer_limit),
    Rule(
        "environment-recorded",
        "every name the final stage sets with ENV is recorded for login shells and sudo (reactor-env record)",
        environment.check_environment_recorded,
    ),
    Rule(
        "comment-version",
        "a comment naming a version agrees with the pin it describes",
        comments.check_comment_versions,
    ),
)

__all__ = ["RULES", "Finding", "Rule", "RuleContext", "check", "family_contexts"]


def check(context: RuleContext, rules: Iterable[Rule] = RULES) -> list[Finding]:
    """Every finding of the given rules on one Dockerfile, in file order."""
    findings = [finding for rule in rules for finding in rule.check(context)]
    return sorted(findings, key=lambda finding: (finding.line, finding.rule))


def family_contexts(family: Family, policy: FamilyPolicy) -> dict[str, RuleContext]:
    """Each image of the family with what the rules need to know: the family's names, its policy's layer
    limit and non-root user."""
    names = frozenset(family.images)
    return {
        name: RuleContext(
            dockerfile=image_.dockerfile,
            image=name,
            family_images=names,
            layer_limit=policy.layer_limits.get(name),
            user=policy.user,
            uid=policy.uid,
        )
        for name, image_ in family.images.items()
    }
