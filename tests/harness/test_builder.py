"""The family builder with a fake engine: order, build args, parent failures and failure reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

import fake_engine
from reactor_harness.build.builder import (
    BuildSettings,
    FamilyBuilder,
    failing_step,
    is_step_line,
    local_tag,
    progress_worthy,
)
from reactor_harness.core.cache import CacheNotices, ResultCache
from reactor_harness.core.engine import BuildRequest, CommandResult
from reactor_harness.core.once import RunOnce
from reactor_harness.core.platforms import Platform
from reactor_harness.core.protocols import ContainerSpec
from reactor_harness.family.discovery import Family

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")

FAILED_LOG = """\
#5 [stage-1 1/4] FROM docker.io/reactor-bootstrap/debian:trixie-slim-amd64
#5 DONE 0.0s
#7 [stage-1 2/4] RUN apt-get update && apt-get install -y "nope=1.0-*"
#7 1.234 E: Unable to locate package nope
#7 ERROR: executor failed running [/bin/bash -o pipefail -c apt-get update]: exit code: 100
------
 > [stage-1 2/4] RUN apt-get update && apt-get install -y "nope=1.0-*":
------
error: failed to solve: executor failed running [/bin/bash -o pipefail -c apt-get update]: exit code: 100
"""


@dataclass
class FakeEngine(fake_engine.FakeEngine):
    """The suite's fake engine (held to the seam's contract), whose builds of images in `failing` fail
    with a BuildKit-style log."""

    failing: set[str] = field(default_factory=set)

    def build(self, request: BuildRequest, on_line=None) -> CommandResult:
        self.builds.append(request)
        name = request.tag.split("/")[1].split(":")[0]
        log = FAILED_LOG if name in self.failing else "#1 [1/1] FROM scratch\n#1 DONE 0.0s\n"
        for line in log.splitlines():
            if on_line:
                on_line(line)
        if name not in self.failing:
            self.images[request.tag] = {"Id": f"sha256:{request.tag}", "Architecture": "amd64", "Os": "linux"}
        return CommandResult(("docker", "build"), 1 if name in self.failing else 0, log, "")

    def inspect_image(self, reference: str):
        # A new ID after every build: the tag's previous image and its rebuild differ.
        return {"Id": f"sha256:{reference}@{len(self.builds)}", "Architecture": "amd64", "Os": "linux"}

    def run_once(self, spec: ContainerSpec, **_options) -> CommandResult:
        """dpkg-query in an image: curl's Debian revision is the number of builds before the image was made."""
        revision = spec.image.rsplit("@", 1)[1]
        return CommandResult(tuple(spec.command), 0, f"curl\t8.14.1-{revision}\nbash\t5.2-1\n", "")


class FakeOsImages:
    def ensure(self, reference: str, platform: Platform) -> str:
        return f"os/{reference}-{platform.arch}"


@pytest.fixture
def family(tmp_path) -> Family:
    root = tmp_path / "images"
    for name, text in {
        "base": "ARG DEBIAN_IMAGE=debian:trixie-slim\nARG VCS_REF=unknown\nFROM ${DEBIAN_IMAGE}\n",
        "go": "ARG BUILD_BASE=reactor/base:x\nARG BASE_IMAGE=reactor/base:latest\n"
        "FROM --platform=$BUILDPLATFORM ${BUILD_BASE} AS tools\nFROM ${BASE_IMAGE}\n",
        "python": "ARG BASE_IMAGE=reactor/base:latest\nFROM ${BASE_IMAGE}\n",
    }.items():
        (root / name).mkdir(parents=True)
        (root / name / "Dockerfile").write_text(text)
    return Family.discover(root)


def make_builder(
    family, tmp_path, engine, lines=None, rebuild=False, results_cache=None, prebuilt=False
) -> FamilyBuilder:
    settings = BuildSettings(
        log_dir=tmp_path / "logs",
        ca_bundle=Path("/ca.pem"),
        metadata_args={"VCS_REF": "abc123"},
        rebuild=rebuild,
        prebuilt=prebuilt,
        results_cache=results_cache,
    )
    return FamilyBuilder(
        family,
        engine,
        FakeOsImages(),
        RunOnce(tmp_path / "once"),
        settings,
        AMD64,
        progress=(lines.append if lines is not None else lambda _l: None),
    )


def test_child_builds_from_this_runs_parent_and_native_tools_stage(family, tmp_path):
    """An arm64 go build uses the arm64 base for its image and the native base for its tools stage."""
    engine = FakeEngine()
    outcome = make_builder(family, tmp_path, engine).build("go", ARM64)
    assert outcome.succeeded
    assert [request.tag for request in engine.builds] == [
        local_tag("base", AMD64),
        local_tag("base", ARM64),
        local_tag("go", ARM64),
    ]
    go_request = engine.builds[-1]
    assert go_request.build_args == {
        "BUILD_BASE": "reactor-test/base:linux-amd64",
        "BASE_IMAGE": "reactor-test/base:linux-arm64",
    }
    assert go_request.platform == "linux/arm64"
    assert go_request.secrets == {"build-ca": Path("/ca.pem")}


def test_metadata_args_only_where_declared(family, tmp_path):
    engine = FakeEngine()
    builder = make_builder(family, tmp_path, engine)
    builder.build("python", AMD64)
    base_request, python_request = engine.builds
    assert base_request.build_args["VCS_REF"] == "abc123"
    assert "VCS_REF" not in python_request.build_args


def test_each_image_builds_once_per_run(family, tmp_path):
    engine = FakeEngine()
    builder = make_builder(family, tmp_path, engine)
    builder.build("python", AMD64)
    builder.build("go", AMD64)
    builder.build("base", AMD64)
    assert [request.tag for request in engine.builds].count(local_tag("base", AMD64)) == 1


def test_a_failed_parent_blocks_its_children_only(family, tmp_path):
    """base fails: python is not attempted and names base; the failure report has step and log tail."""
    engine = FakeEngine(failing={"base"})
    builder = make_builder(family, tmp_path, engine)
    base = builder.build("base", AMD64)
    python = builder.build("python", AMD64)
    assert not base.succeeded
    assert not python.succeeded
    assert python.blocked_by == "base for linux/amd64"
    assert [request.tag for request in engine.builds] == [local_tag("base", AMD64)]
    report = base.failure_report()
    assert 'failing step: [stage-1 2/4] RUN apt-get update && apt-get install -y "nope=1.0-*"' in report
    assert "E: Unable to locate package nope" in report
    assert Path(base.log_path or "").read_text().count("\n") >= FAILED_LOG.count("\n")


def test_an_unrelated_image_still_builds_when_a_sibling_fails(family, tmp_path):
    engine = FakeEngine(failing={"python"})
    builder = make_builder(family, tmp_path, engine)
    assert not builder.build("python", AMD64).succeeded
    assert builder.build("go", AMD64).succeeded


def test_progress_shows_the_build_start(family, tmp_path):
    """A build announces itself and its log file."""
    lines: list[str] = []
    make_builder(family, tmp_path, FakeEngine(), lines).build("base", AMD64)
    assert any("building base for linux/amd64" in line for line in lines)


def test_progress_shows_each_run_step_once_and_errors():
    """BuildKit repeats a step's header as outputs interleave; the terminal trail shows each RUN once, and errors."""
    log = [
        "#1 [internal] load build definition from Dockerfile",
        "#5 [1/3] FROM docker.io/library/debian",
        "#6 [2/3] RUN apt-get update",
        "#7 [3/3] RUN make",
        "#6 [2/3] RUN apt-get update",
        "#6 DONE 3.0s",
        "#7 ERROR: process did not complete successfully: exit code: 2",
    ]
    shown: set[str] = set()
    assert [line for line in log if is_step_line(line) and progress_worthy(line, shown)] == [
        "#6 [2/3] RUN apt-get update",
        "#7 [3/3] RUN make",
        "#7 ERROR: process did not complete successfully: exit code: 2",
    ]


def test_a_rebuild_skips_the_cache_and_diffs_the_packages_against_the_previous_build(family, tmp_path):
    """With rebuild on, the request has no_cache; the outcome carries the Debian packages changed since the
    image the tag named before the build (curl's new revision here)."""
    engine = FakeEngine()
    outcome = make_builder(family, tmp_path, engine, rebuild=True).build("base", AMD64)
    assert engine.builds[0].no_cache
    assert outcome.package_diff is not None
    assert outcome.package_diff["changed"] == {"curl": ["8.14.1-0", "8.14.1-1"]}
    assert outcome.package_diff["added"] == outcome.package_diff["removed"] == {}
    plain_engine = FakeEngine()
    make_builder(family, tmp_path / "plain", plain_engine).build("base", AMD64)
    assert not plain_engine.builds[0].no_cache


@dataclass
class TaggedEngine(FakeEngine):
    """An engine where only the tags in `tagged` name an image."""

    tagged: dict[str, str] = field(default_factory=dict)

    def inspect_image(self, reference: str):
        image_id = self.tagged.get(reference)
        return {"Id": image_id, "Architecture": "amd64", "Os": "linux"} if image_id else None


def test_prebuilt_checks_the_tagged_image_and_builds_nothing(family, tmp_path):
    """--prebuilt: the outcome names the image the tag names now; no build, no parent, no OS image."""
    engine = TaggedEngine(tagged={local_tag("go", ARM64): "sha256:go"})
    outcome = make_builder(family, tmp_path, engine, prebuilt=True).build("go", ARM64)
    assert (outcome.succeeded, outcome.image_id, outcome.tag) == (True, "sha256:go", local_tag("go", ARM64))
    assert engine.builds == []
    base = TaggedEngine(tagged={local_tag("base", AMD64): "sha256:base"})
    outcome = make_builder(family, tmp_path / "base", base, prebuilt=True).build("base", AMD64)
    assert outcome.build_args == {"VCS_REF": "abc123"}, "the label checks need the commit a build would have named"


def test_prebuilt_without_the_tag_fails_naming_the_tag_and_the_fix(family, tmp_path):
    engine = TaggedEngine()
    outcome = make_builder(family, tmp_path, engine, prebuilt=True).build("base", AMD64)
    assert not outcome.succeeded
    assert outcome.error is not None
    assert f"no image is tagged {local_tag('base', AMD64)}" in outcome.error
    assert "without --prebuilt" in outcome.error
    assert engine.builds == []


@dataclass
class RelabelledEngine(FakeEngine):
    """Every build gives a new image id over the same layers (only the revision label changed)."""

    listed: list[str] = field(default_factory=list)  # the images dpkg-query ran in

    def inspect_image(self, reference: str):
        return {**super().inspect_image(reference), "RootFS": {"Type": "layers", "Layers": ["sha256:a", "sha256:b"]}}

    def run_once(self, spec: ContainerSpec, **options) -> CommandResult:
        self.listed.append(spec.image)
        return super().run_once(spec, **options)


def test_package_lists_are_kept_by_layer_stack_so_a_relabelled_build_starts_no_container(family, tmp_path):
    """The package diff reads each image's Debian packages through the results cache, keyed by its layer
    stack: the first run lists the previous image once (the new one has the same layers), a second run lists
    nothing in a container, and both report an empty diff against the image the tag named before."""
    cache = ResultCache(tmp_path / "cache", notices=CacheNotices(tmp_path / "notices.jsonl"), version="1.0")
    first_engine, second_engine = RelabelledEngine(), RelabelledEngine()
    first = make_builder(family, tmp_path / "run1", first_engine, results_cache=cache).build("base", AMD64)
    second = make_builder(family, tmp_path / "run2", second_engine, results_cache=cache).build("base", AMD64)
    assert (len(first_engine.listed), second_engine.listed) == (1, [])
    for outcome in (first, second):
        assert outcome.package_diff is not None
        assert outcome.package_diff["added"] == outcome.package_diff["removed"] == outcome.package_diff["changed"] == {}
    uncached_engine = RelabelledEngine()
    make_builder(family, tmp_path / "run3", uncached_engine).build("base", AMD64)
    assert len(uncached_engine.listed) == 2  # without the cache: the previous image and the new one


def test_failing_step_of_a_frontend_error():
    log = (
        "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n"
        "error: failed to solve: dockerfile parse error line 3: unknown instruction: RUNN\n"
    )
    assert failing_step(log) == "error: failed to solve: dockerfile parse error line 3: unknown instruction: RUNN"


def test_failing_step_of_a_modern_buildx_log():
    log = '#8 [2/3] RUN false\n#8 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1\n'
    assert failing_step(log) == "[2/3] RUN false"


def test_local_repository_prefix_is_taken_from_the_environment(monkeypatch):
    """REACTOR_LOCAL_REPOSITORY replaces reactor-test, so two checkouts sharing an engine keep their own tags."""
    monkeypatch.setenv("REACTOR_LOCAL_REPOSITORY", "reactor-other")
    assert local_tag("base", AMD64) == "reactor-other/base:linux-amd64"
    monkeypatch.delenv("REACTOR_LOCAL_REPOSITORY")
    assert local_tag("base", AMD64) == "reactor-test/base:linux-amd64"
