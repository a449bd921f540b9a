"""Publishing, promotion and rollback of multi-arch builds, guarded by the gate's recorded result.

A build is published as one multi-arch index per image, tagged `sha-<commit>`. When the gate passed,
its result (the run's summary for that image) is attached to the index as an OCI referrer artifact of
type GATE_ARTIFACT_TYPE. Promotion points a channel tag (`latest`, a branch) at an index only if such a
record says the gate passed for exactly that digest; rollback is promotion of an earlier good build.
Registries without the referrers API get the OCI 1.1 fallback: an index tagged `sha256-<hex>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from reactor_harness.core.engine import Engine
from reactor_harness.core.platforms import Platform
from reactor_harness.release.registry import (
    DOCKER_LIST,
    IMAGE_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    ManifestUnknown,
    Registry,
    Repository,
    is_digest,
    sha256_digest,
)
from reactor_harness.release.tags import TagSet, is_build_tag, is_valid_tag, platform_tag
from reactor_harness.release.vouch import ReleaseError, record_problem

GATE_ARTIFACT_TYPE = "application/vnd.reactor.gate.result.v1+json"
EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_REVISION = "org.opencontainers.image.revision"
_ATTESTATION = "vnd.docker.reference.type"  # buildx's provenance manifests inside an index


class UnverifiedBuild(ReleaseError):
    """The digest has no record that the gate passed for it."""


@dataclass(frozen=True)
class GateRecord:
    """What the gate said about one published index."""

    subject: str  # the digest of the multi-arch index the gate result belongs to
    image: str
    passed: bool
    commit: str
    ref: str
    created: str  # ISO 8601, UTC
    run_url: str = ""
    summary: Mapping[str, Any] = field(default_factory=dict)
    # What the record vouches for besides the index digest (subject) and the commit: the local image ID
    # each platform's manifest was pushed from, and the vulnerability DB the gate's scans used.
    image_ids: Mapping[str, str] = field(default_factory=dict)
    vulnerability_db: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def now_iso() -> str:
    """UTC time to the microsecond: two builds published in the same second still sort in order."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


# -- gate records ---------------------------------------------------------------------------------


def _fallback_tag(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return f"{algorithm}-{hex_digest}"


def record_gate(registry: Registry, repository: str, record: GateRecord) -> str:
    """Attach a passing gate result to its index as a referrer artifact; the artifact's digest."""
    if not record.passed:
        raise ReleaseError(f"{repository}@{record.subject}: the gate did not pass, so there is nothing to record")
    subject = registry.get_manifest(repository, record.subject)
    if not subject.is_index:
        raise ReleaseError(f"{repository}@{record.subject} is a {subject.media_type}, not a multi-arch index")
    config = registry.push_blob(repository, EMPTY_CONFIG, EMPTY_CONFIG_TYPE)
    payload = json.dumps(record.to_json(), sort_keys=True, indent=1).encode()
    layer = registry.push_blob(repository, payload, GATE_ARTIFACT_TYPE)
    annotations = {ANNOTATION_CREATED: record.created, ANNOTATION_REVISION: record.commit}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": GATE_ARTIFACT_TYPE,
        "config": config.to_json(),
        "layers": [layer.to_json()],
        "subject": subject.descriptor().to_json(),
        "annotations": annotations,
    }
    raw = json.dumps(manifest, sort_keys=True).encode()
    digest, indexed = registry.put_manifest(repository, sha256_digest(raw), raw, OCI_MANIFEST)
    if not indexed:
        _add_to_fallback_index(
            registry,
            repository,
            record.subject,
            Descriptor(OCI_MANIFEST, digest, len(raw), artifact_type=GATE_ARTIFACT_TYPE, annotations=annotations),
        )
    return digest


def _add_to_fallback_index(registry: Registry, repository: str, subject: str, entry: Descriptor) -> None:
    """The OCI 1.1 referrers fallback: an index tagged `sha256-<hex>` listing the subject's artifacts."""
    tag = _fallback_tag(subject)
    try:
        current = registry.get_manifest(repository, tag).json()
    except ManifestUnknown:
        current = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    manifests = [item for item in current.get("manifests", []) if item.get("digest") != entry.digest]
    current["manifests"] = [*manifests, entry.to_json()]
    raw = json.dumps(current, sort_keys=True).encode()
    registry.put_manifest(repository, tag, raw, OCI_INDEX)


def gate_records(registry: Registry, repository: str, digest: str) -> list[GateRecord]:
    """Every gate record attached to `digest`, each checked to be about exactly that digest."""
    descriptors = registry.referrers(repository, digest, GATE_ARTIFACT_TYPE)
    if descriptors is None:
        try:
            fallback = registry.get_manifest(repository, _fallback_tag(digest)).json()
        except ManifestUnknown:
            return []
        descriptors = [
            Descriptor.from_json(entry)
            for entry in fallback.get("manifests", [])
            if entry.get("artifactType") == GATE_ARTIFACT_TYPE
        ]
    records: list[GateRecord] = []
    for descriptor in descriptors:
        artifact = registry.get_manifest(repository, descriptor.digest).json()
        if artifact.get("subject", {}).get("digest") != digest or not artifact.get("layers"):
            continue  # an artifact about another image cannot vouch for this one
        blob = registry.get_blob(repository, str(artifact["layers"][0]["digest"]))
        record = GateRecord.from_json(json.loads(blob))
        if record.subject == digest:
            records.append(record)
    return records


def verify_gate(registry: Registry, repository: str, digest: str) -> GateRecord:
    """The passing gate record of `digest` that names commit, digest and vulnerability DB; else UnverifiedBuild."""
    records = gate_records(registry, repository, digest)
    passing = [record for record in records if record_problem(record, digest) is None]
    if not passing and records:
        problems = "; ".join(sorted({str(record_problem(record, digest)) for record in records}))
        raise UnverifiedBuild(
            f"{repository}@{digest}: no gate record vouches for it ({problems}); refusing to promote it. "
            "Publish it again through a green gate run, or choose a build from `reactor-release list`."
        )
    if not passing:
        raise UnverifiedBuild(
            f"{repository}@{digest} has no record that the gate passed for it (it was not published by a green "
            "gate run on the default branch); refusing to promote it. Choose a build from `reactor-release list`."
        )
    return max(passing, key=lambda record: record.created)


# -- promotion ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    """A channel tag moved (or confirmed) to a verified index."""

    repository: str
    channel: str
    digest: str
    previous: str | None
    record: GateRecord


def _check_channel(channel: str) -> None:
    if not is_valid_tag(channel):
        raise ReleaseError(f"{channel!r} is not a valid image tag")
    if is_build_tag(channel) or channel.startswith("sha256-"):
        raise ReleaseError(f"{channel!r} is an immutable build tag, not a channel; promote to e.g. 'latest'")


def _verified_index(registry: Registry, repository: str, digest: str) -> tuple[Manifest, GateRecord]:
    if not is_digest(digest):
        raise ReleaseError(f"{digest!r} is not a digest (sha256:<64 hex digits>)")
    try:
        manifest = registry.get_manifest(repository, digest)
    except ManifestUnknown as error:
        raise ReleaseError(f"{repository} has no manifest {digest}") from error
    if not manifest.is_index:
        raise ReleaseError(
            f"{repository}@{digest} is a single-platform {manifest.media_type}; promote the multi-arch index instead"
        )
    return manifest, verify_gate(registry, repository, digest)


def promote(registry: Registry, repository: str, digest: str, channel: str) -> Promotion:
    """Point `channel` at the index `digest` of one repository, if the gate passed for it."""
    _check_channel(channel)
    manifest, record = _verified_index(registry, repository, digest)
    previous = registry.resolve(repository, channel)
    if previous != digest:
        registry.put_manifest(repository, channel, manifest.raw, manifest.media_type)
    return Promotion(repository, channel, digest, previous, record)


@dataclass(frozen=True)
class Build:
    """One published, gate-verified build of the whole family: its tag and each image's index digest."""

    tag: str
    commit: str
    created: str
    digests: Mapping[str, str]  # repository -> index digest


def good_builds(registry: Registry, repositories: Sequence[str], limit: int | None = 10) -> list[Build]:
    """Builds published to every repository with a passing gate record for each, newest first."""
    if not repositories:
        raise ReleaseError("no repository given")
    tag_sets = [{tag for tag in registry.tags(repository) if is_build_tag(tag)} for repository in repositories]
    common = set.intersection(*tag_sets)
    builds: list[Build] = []
    for tag in common:
        digests: dict[str, str] = {}
        records: list[GateRecord] = []
        for repository in repositories:
            digest = registry.resolve(repository, tag)
            records = gate_records(registry, repository, digest) if digest else []
            passing = [r for r in records if record_problem(r, digest or "") is None]
            if digest is None or not passing:
                break
            digests[repository] = digest
            records.append(max(passing, key=lambda record: record.created))
        else:
            newest = max(records, key=lambda record: record.created)
            builds.append(Build(tag=tag, commit=newest.commit, created=newest.created, digests=digests))
    builds.sort(key=lambda build: (build.created, build.tag), reverse=True)
    return builds if limit is None else builds[:limit]


def resolve_build(registry: Registry, repositories: Sequence[str], choice: str) -> dict[str, str]:
    """Each repository's index digest for a build tag (`sha-abc1234`), or a digest of a single repository."""
    if is_digest(choice):
        if len(repositories) != 1:
            raise ReleaseError("a digest names one image's index; give a build tag (sha-...) to move several images")
        return {repositories[0]: choice}
    if not is_build_tag(choice):
        raise ReleaseError(f"{choice!r} is neither a build tag (sha-<7 hex>) nor a digest; see `reactor-release list`")
    digests: dict[str, str] = {}
    for repository in repositories:
        digest = registry.resolve(repository, choice)
        if digest is None:
            raise ReleaseError(f"{repository} has no build {choice}")
        digests[repository] = digest
    return digests


def promote_build(registry: Registry, digests: Mapping[str, str], channel: str) -> list[Promotion]:
    """Move `channel` in every repository, after checking all of them: a refusal moves no tag."""
    _check_channel(channel)
    checked = [(repository, *_verified_index(registry, repository, digest)) for repository, digest in digests.items()]
    promotions = []
    for repository, manifest, record in checked:
        previous = registry.resolve(repository, channel)
        if previous != manifest.digest:
            registry.put_manifest(repository, channel, manifest.raw, manifest.media_type)
        promotions.append(Promotion(repository, channel, manifest.digest, previous, record))
    return promotions


def rollback(registry: Registry, repositories: Sequence[str], channel: str, to: str | None = None) -> list[Promotion]:
    """Point `channel` back at the good build before the one it names now (or at `to`)."""
    if to is not None:
        return promote_build(registry, resolve_build(registry, repositories, to), channel)
    builds = good_builds(registry, repositories, limit=None)
    current = {repository: registry.resolve(repository, channel) for repository in repositories}
    position = next((index for index, build in enumerate(builds) if dict(build.digests) == current), None)
    listing = ", ".join(f"{build.tag} ({build.created})" for build in builds[:5]) or "none"
    if position is None:
        raise ReleaseError(
            f"{channel} does not point at a recorded good build, so 'the previous one' is ambiguous; "
            f"pass --to with one of: {listing}"
        )
    if position + 1 >= len(builds):
        raise ReleaseError(
            f"{channel} already points at the oldest good build ({builds[position].tag}); nothing earlier"
        )
    return promote_build(registry, builds[position + 1].digests, channel)


# -- publishing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One image's multi-arch index pushed under the build tag."""

    image: str
    repository: str
    digest: str


def _platform_entry(registry: Registry, repository: str, tag: str, platform: Platform) -> Descriptor:
    """The manifest a pushed per-platform tag stands for, checked to be built for that platform."""
    manifest = registry.get_manifest(repository, tag)
    if manifest.is_index:  # an engine with the containerd store pushes an index: take the platform's entry
        for entry in manifest.json().get("manifests", []):
            wanted = {"os": platform.os, "architecture": platform.arch}
            if (entry.get("annotations") or {}).get(_ATTESTATION) is None and all(
                (entry.get("platform") or {}).get(key) == value for key, value in wanted.items()
            ):
                manifest = registry.get_manifest(repository, str(entry["digest"]))
                break
        else:
            raise ReleaseError(f"{repository}:{tag} is an index without a {platform} image")
    if manifest.media_type not in IMAGE_TYPES:
        raise ReleaseError(f"{repository}:{tag} is a {manifest.media_type}, not an image manifest")
    config = json.loads(registry.get_blob(repository, str(manifest.json()["config"]["digest"])))
    built_for = f"{config.get('os')}/{config.get('architecture')}"
    if built_for != str(platform):
        raise ReleaseError(f"{repository}:{tag} was pushed as {platform} but its image config says {built_for}")
    entry_platform = {"os": platform.os, "architecture": platform.arch}
    if config.get("variant"):
        entry_platform["variant"] = str(config["variant"])
    return manifest.descriptor(platform=entry_platform)


def push_platform_image(engine: Engine, local_tag: str, remote: str) -> None:
    """Tag a locally built image for the registry and push it through the engine seam."""
    engine.tag(local_tag, remote)
    engine.push(remote, timeout=3600)


def publish_index(
    engine: Engine,
    registry: Registry,
    repository: Repository,
    image: str,
    local_tags: Mapping[Platform, str],
    tags: TagSet,
    commit: str,
) -> Published:
    """Push each platform's image, then join them into one multi-arch index under the build tag."""
    entries = []
    for platform, local_tag in sorted(local_tags.items()):
        remote_tag = platform_tag(tags.build, platform)
        push_platform_image(engine, local_tag, f"{repository}:{remote_tag}")
        entries.append(_platform_entry(registry, repository.name, remote_tag, platform))
    docker_only = all(entry.media_type != OCI_MANIFEST for entry in entries)
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST if docker_only else OCI_INDEX,
        "manifests": [entry.to_json() for entry in entries],
    }
    if not docker_only:  # a Docker manifest list has no annotations
        index["annotations"] = {ANNOTATION_REVISION: commit, ANNOTATION_CREATED: now_iso()}
    raw = json.dumps(index, sort_keys=True).encode()
    digest, _ = registry.put_manifest(repository.name, tags.build, raw, str(index["mediaType"]))
    return Published(image=image, repository=repository.name, digest=digest)
