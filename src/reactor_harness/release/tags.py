"""The tags a published build gets: an immutable `sha-<commit>` tag, and channel tags that move.

A push to the default branch gets `latest`; every branch gets its own name as a channel tag, sanitised
to the OCI tag grammar (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`); a Git tag `v1.2.3` gets `v1.2.3`. The
release CLI prints these for the workflow, so no tag logic lives in YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reactor_harness.core.errors import HarnessError
from reactor_harness.core.platforms import Platform

LATEST = "latest"
BUILD_TAG_PREFIX = "sha-"
SHORT_SHA_LENGTH = 7
MAX_TAG_LENGTH = 128
_VALID_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_INVALID_RUN = re.compile(r"[^a-z0-9._-]+")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_BUILD_TAG = re.compile(rf"^{BUILD_TAG_PREFIX}[0-9a-f]{{{SHORT_SHA_LENGTH}}}$")


class TagError(HarnessError):
    """A tag, commit or ref cannot make a valid image tag."""


def is_valid_tag(tag: str) -> bool:
    return bool(_VALID_TAG.match(tag))


def sanitize_tag(name: str) -> str:
    """A branch or Git tag name as a valid image tag: lower case, runs of other characters become `-`.

    `feature/Login_v2` -> `feature-login_v2`; leading `.` and `-` (not allowed first) are dropped; a
    name longer than 128 characters is cut.
    """
    tag = _INVALID_RUN.sub("-", name.strip().lower())
    tag = tag.lstrip(".-")[:MAX_TAG_LENGTH].rstrip(".-")
    if not tag:
        raise TagError(f"{name!r} has no character an image tag can keep; name the branch with letters or digits")
    return tag


def build_tag(sha: str) -> str:
    """The immutable tag of one commit's build: `sha-` and the first 7 hex digits."""
    commit = sha.strip().lower()
    if not _SHA.match(commit):
        raise TagError(f"{sha!r} is not a commit SHA (7 to 64 hex digits); pass the full SHA, e.g. $GITHUB_SHA")
    return BUILD_TAG_PREFIX + commit[:SHORT_SHA_LENGTH]


def is_build_tag(tag: str) -> bool:
    return bool(_BUILD_TAG.match(tag))


def platform_tag(build: str, platform: Platform) -> str:
    """The per-platform tag pushed before the multi-arch index joins them: `sha-abc1234-linux-arm64`."""
    return f"{build}-{platform.slug}"


@dataclass(frozen=True)
class TagSet:
    """The tags of one build: its immutable build tag and the channel tags that point at it."""

    build: str
    channels: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return (self.build, *self.channels)


def channel_of_ref(ref: str) -> str | None:
    """The channel tag of a Git ref: a branch or a tag name, sanitised; None for other refs (pull requests)."""
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return sanitize_tag(ref.removeprefix(prefix))
    return None


def tags_for(sha: str, ref: str, default_branch: str) -> TagSet:
    """The tags of a build of `sha` pushed on `ref` (e.g. refs/heads/main) in a repository."""
    channels: list[str] = []
    if default_branch and ref == f"refs/heads/{default_branch}":
        channels.append(LATEST)
    channel = channel_of_ref(ref)
    if channel is not None and channel not in channels:
        if is_build_tag(channel):
            raise TagError(
                f"ref {ref!r} would make the channel tag {channel!r}, which looks like a build tag; rename it"
            )
        channels.append(channel)
    return TagSet(build=build_tag(sha), channels=tuple(channels))
