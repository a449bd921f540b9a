"""Image sizes: budgets on the compressed size, growth against the committed baseline, wasted layers, and
the family's layer chain. Every failure carries the layer breakdown (see the "image sizes" report section).

The proof at the end builds throwaway images from tests/samples/sizes/ and shows each check failing on them.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from reactor_harness.checks.sizes.baseline import (
    BaselineError,
    SizeBaseline,
    SizeChange,
    baseline_entry,
    growth_violation,
)
from reactor_harness.checks.sizes.layers import read_saved_image
from reactor_harness.checks.sizes.measure import (
    OnceLayerCache,
    budget_violation,
    headroom_violation,
    measure_image,
    waste_violation,
)
from reactor_harness.checks.sizes.policy import MB, megabytes
from reactor_harness.checks.sizes.table import evidence
from reactor_harness.core.engine import LABEL_HARNESS, LABEL_RUN, BuildRequest, assert_succeeded
from reactor_harness.family.dockerfile import Dockerfile

SAMPLES = Path(__file__).parent / "samples" / "sizes"
# The samples are built FROM this OS image and nothing else: their verdicts depend on it, the engine and the files.
SAMPLE_OS = Dockerfile.parse(SAMPLES / "lean.Dockerfile").arg_default("DEBIAN_IMAGE")
READS_SAMPLE_OS = pytest.mark.reads_images(SAMPLE_OS)


# -- the family's images --------------------------------------------------------------------------


@pytest.mark.family
def test_compressed_size_is_within_budget(image_sizes, size_policy):
    """An image whose gzipped layers exceed its budget (base 200 MB, language images 500 MB) fails."""
    violation = budget_violation(image_sizes, size_policy.budget_for(image_sizes.image))
    assert violation is None, f"{violation}\n\n{evidence(image_sizes, size_policy)}"


@pytest.mark.family
def test_compressed_size_keeps_its_headroom(image_sizes, size_policy):
    """An image must keep 20% of its budget free ([sizes] headroom): base at most 160 MB, the others 400 MB."""
    violation = headroom_violation(image_sizes, size_policy.budget_for(image_sizes.image), size_policy.headroom)
    assert violation is None, f"{violation}\n\n{evidence(image_sizes, size_policy)}"


@pytest.mark.family
def test_compressed_size_has_not_grown_past_the_baseline(
    request, image_sizes, size_baseline, size_policy, update_size_baseline
):
    """Growth over 20% against the committed baseline fails with old → new and the delta; shrinking is reported."""
    missing = None
    try:
        accepted = size_baseline.entry(image_sizes.image, image_sizes.platform)
    except BaselineError as error:
        missing = str(error)
    if missing is not None:
        if update_size_baseline:
            request.node.add_report_section("call", "size baseline", f"new entry recorded for {image_sizes}")
            return
        pytest.fail(missing, pytrace=False)
    change = SizeChange(str(image_sizes), accepted, baseline_entry(image_sizes))
    request.node.add_report_section("call", "size change", change.describe())
    violation = growth_violation(change, size_policy.growth_limit, size_baseline.path)
    if violation is not None and update_size_baseline:
        request.node.add_report_section("call", "size baseline", f"growth accepted, baseline rewritten: {violation}")
        return
    assert violation is None, f"{violation}\n\n{evidence(image_sizes, size_policy)}"


@pytest.mark.family
def test_own_layers_do_not_ship_deleted_or_overwritten_files(image_sizes, size_policy):
    """Files an image's own layers write and a later layer deletes or overwrites (a cache removed in a
    separate RUN) may add up to 5 MB at most; only the extra copies count."""
    violation = waste_violation(image_sizes, size_policy.waste_limit)
    assert violation is None, f"{violation}\n\n{evidence(image_sizes, size_policy)}"


@pytest.mark.family
def test_layer_chain_starts_with_the_parent_layers(built_image, image_sizes, parent_image, family_builder, size_policy):
    """Every image's layers start with exactly its parent's: a language image with those of the base built in
    this run, base with those of the OS image it was built FROM."""
    if parent_image.family_image is not None:
        parent_build = family_builder.build(parent_image.family_image, built_image.platform)
        assert parent_image.reference == parent_build.tag, (
            f"{built_image} was built FROM {parent_image.reference}, not this run's {parent_build.tag}"
        )
        assert parent_image.image_id == parent_build.image_id, f"{parent_build.image_id} is gone from the engine"
    assert parent_image.diff_ids is not None, f"{built_image}: its parent {parent_image.reference} is not in the engine"
    parent_layers = list(parent_image.diff_ids)
    own_bottom = image_sizes.diff_ids[: len(parent_layers)]
    assert own_bottom == parent_layers, (
        f"{built_image}: its bottom layers are not those of its parent {parent_image.reference} "
        f"({parent_image.image_id})\nparent: {parent_layers}\nimage:  {own_bottom}\n\n"
        + evidence(image_sizes, size_policy)
    )


# -- proof: each check fails on an image built to break it ----------------------------------------


def _build_and_measure(engine, os_tag, variant, platform, run_once, harness_settings, tmp_path, policy):
    dockerfile = SAMPLES / f"{variant}.Dockerfile"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # workers of one run must not share a tag
    tag = f"reactor-test/size-sample:{variant}-{harness_settings.run_id}-{worker}"
    built = engine.build(
        BuildRequest(
            dockerfile=dockerfile,
            context=SAMPLES,
            tag=tag,
            platform=str(platform),
            build_args={"DEBIAN_IMAGE": os_tag},
            labels={LABEL_HARNESS: "size-sample", LABEL_RUN: harness_settings.run_id},
            network="none",
        )
    )
    try:
        assert_succeeded(built, f"building the {variant} size sample")
        archive = tmp_path / f"{variant}.tar"
        engine.save(tag, archive)
        details = engine.inspect_image(tag)
        parent = engine.inspect_image(os_tag)
        return measure_image(
            read_saved_image(archive),
            image="size-sample",
            platform=str(platform),
            uncompressed_bytes=details["Size"],
            cache=OnceLayerCache(run_once),
            parent=os_tag,
            parent_diff_ids=parent["RootFS"]["Layers"],
            dockerfile=Dockerfile.parse(dockerfile),
            policy=policy,
        )
    finally:
        engine.remove_images([tag])


@pytest.fixture(scope="module")
def samples(engine, family_builder, harness_settings, run_once, tmp_path_factory, size_policy):
    """The lean and the bloated sample, built on the OS image, measured, and removed from the engine."""
    platform = harness_settings.native
    os_tag = family_builder.os_images.ensure(SAMPLE_OS, platform)
    work = tmp_path_factory.mktemp("size-samples")
    return {
        variant: _build_and_measure(engine, os_tag, variant, platform, run_once, harness_settings, work, size_policy)
        for variant in ("lean", "bloated")
    }


@READS_SAMPLE_OS
def test_budget_check_fails_on_a_planted_file(samples, size_policy):
    """A 40 MB file of random bytes pushes the compressed size over a budget the lean image fits in."""
    lean, bloated = samples["lean"], samples["bloated"]
    budget = lean.compressed_bytes + 20 * MB
    assert budget_violation(lean, budget) is None
    assert bloated.compressed_bytes - lean.compressed_bytes > 40 * MB  # measured by gzip, not estimated
    violation = budget_violation(bloated, budget)
    assert violation is not None
    assert f"{megabytes(bloated.compressed_bytes)} compressed is over its budget of {megabytes(budget)}" in violation
    planted = [item for item in bloated.large_files if item.path == "opt/planted.bin"]
    assert [(item.size, item.survives) for item in planted] == [(40_000_000, True)], bloated.large_files
    report = evidence(bloated, dataclasses.replace(size_policy, budgets={"size-sample": budget}, default_budget=budget))
    assert "/opt/planted.bin" in report
    assert "RUN head -c 40000000 /dev/urandom > /opt/planted.bin" in report


@READS_SAMPLE_OS
def test_growth_check_fails_on_a_planted_file(samples, tmp_path, size_policy):
    """Against a baseline recording the lean image, the bloated one fails with old → new and the delta."""
    lean, bloated = samples["lean"], samples["bloated"]
    baseline_file = tmp_path / "size-baseline.json"
    SizeBaseline(baseline_file).updated([(lean.image, lean.platform, baseline_entry(lean))]).write()
    accepted = SizeBaseline.load(baseline_file).entry(lean.image, lean.platform)
    unchanged = SizeChange(str(lean), accepted, baseline_entry(lean))
    assert growth_violation(unchanged, size_policy.growth_limit, baseline_file) is None
    grown = SizeChange(str(bloated), accepted, baseline_entry(bloated))
    violation = growth_violation(grown, size_policy.growth_limit, baseline_file)
    assert violation is not None
    expected = (
        f"compressed {megabytes(lean.compressed_bytes)} → {megabytes(bloated.compressed_bytes)} "
        f"(+{megabytes(bloated.compressed_bytes - lean.compressed_bytes)}"
    )
    assert expected in violation
    assert str(baseline_file) in violation


@READS_SAMPLE_OS
def test_waste_counts_files_deleted_or_overwritten_in_a_later_layer(samples, size_policy):
    """A cache deleted by a later RUN counts whole; an overwritten file counts one copy, not both."""
    lean, bloated = samples["lean"], samples["bloated"]
    assert lean.own_waste_bytes == 0
    wasted = {(copy.path, copy.how): copy.size for copy in bloated.own_waste}
    assert wasted == {
        ("var/cache/sample/blob.bin", "deleted"): 8_000_000,
        ("opt/settings.bin", "overwritten"): 3_000_000,
    }
    assert bloated.own_waste_bytes == 11_000_000
    violation = waste_violation(bloated, size_policy.waste_limit)
    assert violation is not None
    assert "11.0 MB in 2 file copies" in violation


@READS_SAMPLE_OS
def test_evidence_ties_each_own_layer_to_its_dockerfile_line(samples):
    """The OS image's layers are marked as the parent's; each own layer names the RUN that created it."""
    bloated = samples["bloated"]
    dockerfile = Dockerfile.parse(SAMPLES / "bloated.Dockerfile")
    runs = [instruction.start_line for instruction in dockerfile.instructions if instruction.keyword == "RUN"]
    assert bloated.parent_layer_count >= 1
    assert all(layer.from_parent for layer in bloated.layers[: bloated.parent_layer_count])
    assert [layer.source for layer in bloated.own_layers] == [f"sizes/bloated.Dockerfile:{line}" for line in runs]
