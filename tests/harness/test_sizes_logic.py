"""The size analysis on synthetic `docker save` archives: gzip sizes, layer steps, waste, baseline, budgets.

No engine: each test writes a tiny docker-save-like tarball in tmp_path.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from reactor_harness.checks.sizes import measure as sizes_module
from reactor_harness.checks.sizes.baseline import (
    UPDATE_OPTION,
    BaselineEntry,
    BaselineError,
    SizeBaseline,
    SizeChange,
    growth_violation,
)
from reactor_harness.checks.sizes.layers import (
    DIRECTORY,
    FILE,
    OPAQUE,
    WHITEOUT,
    ArchiveError,
    Entry,
    describe_step,
    hidden_copies,
    measure_layer,
    read_saved_image,
)
from reactor_harness.checks.sizes.measure import (
    MemoryLayerCache,
    OnceLayerCache,
    budget_violation,
    headroom_violation,
    layer_sources,
    measure_image,
    parent_reference,
    waste_violation,
)
from reactor_harness.checks.sizes.policy import MB, SizePolicy
from reactor_harness.checks.sizes.table import SizeRow, evidence, markdown_table
from reactor_harness.core.once import RunOnce
from reactor_harness.family.dockerfile import Dockerfile
from reactor_harness.family.policy import load_policy

REPOSITORY = Path(__file__).parents[2]
# The family's declared size policy (images/policy.toml), as the plugin's size_policy fixture reads it.
POLICY = SizePolicy.from_family(load_policy(REPOSITORY / "images"))

# -- synthetic archives ----------------------------------------------------------------------------


def layer(*members: tuple[str, str, bytes | str]) -> bytes:
    """A layer tar from (kind, name, payload) members: ("file", "etc/x", b"..."), ("dir", "etc", ""),
    ("link", "bin/sh", "dash")."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = str(payload)
                tar.addfile(info)
            else:
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def diff_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def save_archive(path: Path, layers: list[bytes], history: list[dict] | None = None, *, diff_ids=None) -> Path:
    """A `docker save` (legacy layout) tarball of one image with these layer tars."""
    if history is None:
        history = [{"created_by": f"RUN step {index}"} for index in range(len(layers))]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids or [diff_id(data) for data in layers]},
        "history": history,
    }
    manifest = [
        {"Config": "config.json", "RepoTags": ["sample:1"], "Layers": [f"{i}/layer.tar" for i in range(len(layers))]}
    ]
    with tarfile.open(path, mode="w") as tar:
        for name, data in [
            ("manifest.json", json.dumps(manifest).encode()),
            ("config.json", json.dumps(config).encode()),
            *[(f"{i}/layer.tar", data) for i, data in enumerate(layers)],
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def compressible(size: int, seed: int = 0) -> bytes:
    """Text-like bytes that gzip shrinks but not to nothing (so the compression level shows)."""
    words = [hashlib.sha256(f"{seed}-{n}".encode()).hexdigest()[: 3 + n % 7] for n in range(64)]
    out = bytearray()
    n = 0
    while len(out) < size:
        out += words[(n * 7 + seed) % 64].encode() + b" "
        n += 1
    return bytes(out[:size])


# -- layers: gzip sizes, steps, archive problems ----------------------------------------------------


def test_layer_size_is_the_gzip_level_6_size_of_the_layer_tar(tmp_path):
    """The compressed size is the layer tar gzipped at level 6 (byte for byte as long as gzip's), not an estimate."""
    data = layer(("file", "usr/share/words", compressible(300_000)))
    saved = read_saved_image(save_archive(tmp_path / "image.tar", [data]))
    facts = measure_layer(saved.archive, saved.layers[0])
    assert facts.tar_bytes == len(data)
    assert facts.gzip_bytes == len(gzip.compress(data, compresslevel=6, mtime=0))
    assert facts.gzip_bytes != len(gzip.compress(data, compresslevel=1, mtime=0))
    assert facts.entries == (Entry("usr/share/words", FILE, 300_000),)


def test_a_layer_stored_gzipped_counts_as_stored(tmp_path):
    """An archive that already holds a gzipped layer (OCI exports) counts that blob's size; entries still read."""
    data = layer(("file", "a", b"x" * 5000))
    blob = gzip.compress(data, compresslevel=9, mtime=0)
    saved = read_saved_image(save_archive(tmp_path / "image.tar", [blob], diff_ids=[diff_id(data)]))
    facts = measure_layer(saved.archive, saved.layers[0])
    assert facts.gzip_bytes == len(blob)
    assert facts.tar_bytes == len(data)
    assert facts.entries == (Entry("a", FILE, 5000),)


def test_history_steps_skip_empty_layers(tmp_path):
    """Each layer is paired with the history step that made it; ENV/LABEL steps (empty_layer) are skipped."""
    layers = [layer(("file", "a", b"1")), layer(("file", "b", b"2"))]
    history = [
        {"created_by": "ADD rootfs.tar / # buildkit"},
        {"created_by": "ENV A=1", "empty_layer": True},
        {"created_by": "RUN |1 V=2 /bin/sh -c echo 2 > /b # buildkit"},
        {"created_by": 'CMD ["bash"]', "empty_layer": True},
    ]
    saved = read_saved_image(save_archive(tmp_path / "image.tar", layers, history))
    assert [describe_step(item.created_by) for item in saved.layers] == ["ADD rootfs.tar /", "RUN echo 2 > /b"]


@pytest.mark.parametrize(
    ("created_by", "shown"),
    [
        ("RUN |2 A=1 B=x /bin/bash -o pipefail -c apt-get update # buildkit", "RUN apt-get update"),
        ("RUN /bin/sh -c make # buildkit", "RUN make"),
        ("COPY /out/ /usr/local/ # buildkit", "COPY /out/ /usr/local/"),
        ("/bin/sh -c #(nop)  ENV X=1", "ENV X=1"),
        ("/bin/sh -c apt-get install -y git", "RUN apt-get install -y git"),
        ("", "(history does not say)"),
    ],
)
def test_history_steps_read_as_dockerfile_lines(created_by, shown):
    """BuildKit's and the legacy builder's history read as the instruction that was written."""
    assert describe_step(created_by) == shown


def test_a_layer_that_does_not_match_its_digest_is_refused(tmp_path):
    """A damaged archive (layer bytes not matching the config's diff_id) is an error, not a wrong size."""
    data = layer(("file", "a", b"1"))
    archive = save_archive(tmp_path / "image.tar", [data], diff_ids=["sha256:" + "0" * 64])
    saved = read_saved_image(archive)
    with pytest.raises(ArchiveError, match=r"has digest sha256:.* but the config says sha256:0000"):
        measure_layer(saved.archive, saved.layers[0])


def test_an_archive_without_a_manifest_is_refused(tmp_path):
    archive = tmp_path / "not-an-image.tar"
    with tarfile.open(archive, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ArchiveError, match=r"no manifest 'manifest.json' in the archive"):
        read_saved_image(archive)


def test_a_file_that_is_not_a_tar_is_refused(tmp_path):
    archive = tmp_path / "image.tar"
    archive.write_text("not a tar")
    with pytest.raises(ArchiveError, match=r"cannot open .* as a tar archive"):
        read_saved_image(archive)


# -- waste: only the extra copies --------------------------------------------------------------------


def F(path, size):  # short: reads as a table row below
    return Entry(path, FILE, size)


def test_a_file_deleted_later_is_waste_whole():
    copies = hidden_copies([[F("var/cache/x.bin", 100)], [Entry("var/cache/x.bin", WHITEOUT)]])
    assert [(c.path, c.size, c.layer, c.hidden_by, c.how) for c in copies] == [
        ("var/cache/x.bin", 100, 0, 1, "deleted")
    ]


def test_an_overwritten_file_counts_only_the_extra_copies():
    """Three copies of one path: the two hidden ones are waste, the surviving one is not (dive#684 counts all)."""
    copies = hidden_copies([[F("etc/data", 10)], [F("etc/data", 20)], [F("etc/data", 30)]])
    assert sorted((c.size, c.how) for c in copies) == [(10, "overwritten"), (20, "overwritten")]
    assert sum(c.size for c in copies) == 30


def test_a_deleted_directory_hides_everything_below_it():
    layers = [
        [Entry("opt/cache", DIRECTORY), F("opt/cache/1", 5), F("opt/cache/sub/2", 7)],
        [Entry("opt/cache", WHITEOUT)],
    ]
    assert sum(c.size for c in hidden_copies(layers)) == 12


def test_an_opaque_directory_hides_lower_contents_but_not_its_own():
    layers = [[F("srv/old", 5)], [Entry("srv", DIRECTORY), Entry("srv", OPAQUE), F("srv/new", 1)]]
    assert [(c.path, c.how) for c in hidden_copies(layers)] == [("srv/old", "deleted")]


def test_a_file_replacing_a_directory_hides_the_directory_contents():
    layers = [[F("data/1", 5)], [F("data", 1)]]
    assert [(c.path, c.how) for c in hidden_copies(layers)] == [("data/1", "overwritten")]


def test_a_directory_in_a_later_layer_merges_with_the_lower_one():
    layers = [[Entry("data", DIRECTORY), F("data/1", 5)], [Entry("data", DIRECTORY), F("data/2", 6)]]
    assert hidden_copies(layers) == []


def test_tar_paths_are_normalized_and_whiteouts_read(tmp_path):
    """`./` prefixes and .wh. markers from a real tar become the same paths the waste analysis compares."""
    base = layer(("dir", "./var/", ""), ("file", "./var/tmp.bin", b"z" * 4096))
    removal = layer(("file", "./var/.wh.tmp.bin", b""), ("dir", "./srv/", ""), ("file", "./srv/.wh..wh..opq", b""))
    saved = read_saved_image(save_archive(tmp_path / "image.tar", [base, removal]))
    cache = MemoryLayerCache()
    entries = [cache.facts(saved, item).entries for item in saved.layers]
    assert Entry("var/tmp.bin", WHITEOUT) in entries[1]
    assert Entry("srv", OPAQUE) in entries[1]
    assert [(c.path, c.size) for c in hidden_copies(entries)] == [("var/tmp.bin", 4096)]


# -- one image: parent vs own layers, large files, waste attribution ---------------------------------


@pytest.fixture
def family_archive(tmp_path):
    """A parent layer, then own layers: a large file, a cache deleted later, and a parent file overwritten."""
    parent_layer = layer(("file", "etc/os-release", b"p" * 2000), ("file", "usr/lib/big.so", b"q" * 3000))
    own = [
        layer(("file", "opt/tool", b"t" * 5000)),
        layer(("file", "var/cache/pkg.bin", b"c" * 4000), ("file", "etc/os-release", b"o" * 100)),
        layer(("file", "var/cache/.wh.pkg.bin", b"")),
    ]
    history = [{"created_by": "ADD rootfs.tar / # buildkit"}] + [
        {"created_by": f"RUN /bin/sh -c step{n} # buildkit"} for n in range(3)
    ]
    archive = save_archive(tmp_path / "image.tar", [parent_layer, *own], history)
    return archive, [diff_id(parent_layer)]


def test_own_layers_are_split_from_the_parent_and_waste_is_theirs_only(family_archive):
    """Waste counts copies own layers ship and later hide; the parent's file they overwrite is reported apart."""
    archive, parent_ids = family_archive
    policy = dataclasses.replace(POLICY, budgets={}, default_budget=10 * MB, large_file=3500)
    measured = measure_image(
        read_saved_image(archive),
        image="python",
        platform="linux/amd64",
        uncompressed_bytes=12345,
        cache=MemoryLayerCache(),
        parent="reactor-test/base:linux-amd64",
        parent_diff_ids=parent_ids,
        policy=policy,
    )
    assert measured.parent_layer_count == 1
    assert [layer.from_parent for layer in measured.layers] == [True, False, False, False]
    assert measured.compressed_bytes == sum(layer.gzip_bytes for layer in measured.layers)
    assert measured.own_waste_bytes == 4000
    assert [(w.path, w.layer, w.hidden_by, w.how) for w in measured.own_waste] == [
        ("var/cache/pkg.bin", 3, 4, "deleted")
    ]
    assert measured.parent_bytes_hidden == 2000
    assert [(f.path, f.survives) for f in measured.large_files] == [("opt/tool", True), ("var/cache/pkg.bin", False)]
    assert [(d.path, d.size) for d in measured.largest_directories] == [("opt", 5000), ("etc", 100)]
    report = evidence(measured, policy)
    assert "parent reactor-test/base:linux-amd64: layers 1-1" in report
    assert "/var/cache/pkg.bin" in report
    assert "RUN step1" in report
    assert waste_violation(measured, 3999) is not None
    assert waste_violation(measured, 4000) is None


def test_an_image_not_built_on_its_parent_says_so(family_archive):
    archive, _ = family_archive
    measured = measure_image(
        read_saved_image(archive),
        image="python",
        platform="linux/amd64",
        uncompressed_bytes=1,
        cache=MemoryLayerCache(),
        parent="reactor-test/base:linux-amd64",
        parent_diff_ids=["sha256:" + "1" * 64],
        policy=POLICY,
    )
    assert measured.parent_layer_count == 0
    assert any("not built on this parent" in note for note in measured.notes)


def test_shared_layers_are_gzipped_once_per_run(family_archive, tmp_path, monkeypatch):
    """Two images sharing a parent layer: with the run's once folder, each layer digest is measured once."""
    archive, _ = family_archive
    calls = []
    real = sizes_module.measure_layer
    monkeypatch.setattr(sizes_module, "measure_layer", lambda a, item: calls.append(item.diff_id) or real(a, item))
    once = RunOnce(tmp_path / "once")
    saved = read_saved_image(archive)
    for _ in range(2):
        measure_image(
            saved, image="x", platform="linux/amd64", uncompressed_bytes=1, cache=OnceLayerCache(once), policy=POLICY
        )
    assert sorted(calls) == sorted(saved.diff_ids)


def test_the_measurement_round_trips_through_json(family_archive):
    archive, parent_ids = family_archive
    measured = measure_image(
        read_saved_image(archive),
        image="python",
        platform="linux/amd64",
        uncompressed_bytes=1,
        cache=MemoryLayerCache(),
        parent="p",
        parent_diff_ids=parent_ids,
        policy=POLICY,
    )
    assert sizes_module.ImageSizes.from_json(json.loads(json.dumps(measured.to_json()))) == measured


def test_own_layers_line_up_with_the_dockerfile(tmp_path):
    dockerfile_path = tmp_path / "python" / "Dockerfile"
    dockerfile_path.parent.mkdir()
    dockerfile_path.write_text(
        "ARG BASE_IMAGE=reactor/base:latest\nFROM ${BASE_IMAGE}\nENV A=1\nRUN make\nCOPY x /x\nWORKDIR /w\n"
    )
    dockerfile = Dockerfile.parse(dockerfile_path)
    steps = ["RUN make", "COPY x /x", "WORKDIR /w"]
    assert layer_sources(dockerfile, steps) == ["python/Dockerfile:4", "python/Dockerfile:5", "python/Dockerfile:6"]
    assert layer_sources(dockerfile, ["ADD y /y"]) == [None]


def test_the_parent_is_what_the_final_stage_builds_from(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("ARG BASE_IMAGE=reactor/base:latest\nFROM debian AS build\nFROM ${BASE_IMAGE}\n")
    dockerfile = Dockerfile.parse(path)
    assert (
        parent_reference(dockerfile, {"BASE_IMAGE": "reactor-test/base:linux-amd64"}) == "reactor-test/base:linux-amd64"
    )
    assert parent_reference(dockerfile, {}) == "reactor/base:latest"
    path.write_text("FROM debian AS build\nFROM build\n")
    assert parent_reference(Dockerfile.parse(path), {}) is None
    path.write_text("FROM scratch\n")
    assert parent_reference(Dockerfile.parse(path), {}) is None


# -- budgets and growth --------------------------------------------------------------------------------


def test_budgets_are_declared_once_base_200_language_500():
    """images/policy.toml declares the budgets: base 200 MB, every language image 500 MB."""
    assert POLICY.budget_for("base") == 200 * MB
    assert POLICY.budget_for("python") == POLICY.budget_for("go") == 500 * MB


def test_every_image_keeps_a_fifth_of_its_budget_free():
    """images/policy.toml's headroom: base may reach 160 MB of its 200, a language image 400 MB of its 500."""
    assert POLICY.headroom == pytest.approx(0.20)
    assert POLICY.limit_for("base") == 160 * MB
    assert POLICY.limit_for("python") == POLICY.limit_for("node") == 400 * MB


def test_a_byte_past_the_headroom_fails_naming_the_limit_and_the_fix():
    assert headroom_violation(_sizes(160 * MB), 200 * MB, 0.20) is None
    violation = headroom_violation(_sizes(160 * MB + 1), 200 * MB, 0.20)
    assert violation is not None
    assert "leaves less than 20% of its budget of 200.0 MB free (at most 160.0 MB" in violation
    assert "[sizes] headroom" in violation


def _sizes(compressed: int, uncompressed: int = 3 * 10**8) -> sizes_module.ImageSizes:
    return sizes_module.ImageSizes("base", "linux/amd64", compressed, uncompressed, (), None, 0)


def test_a_byte_over_budget_fails_with_both_sizes():
    assert budget_violation(_sizes(200 * MB), 200 * MB) is None
    violation = budget_violation(_sizes(200 * MB + 1), 200 * MB)
    assert violation is not None
    assert "200.0 MB compressed is over its budget of 200.0 MB" in violation
    assert "uncompressed 300.0 MB" in violation


def test_growth_over_20_percent_fails_with_old_new_and_delta(tmp_path):
    old = BaselineEntry(100 * MB, 300 * MB)
    assert (
        growth_violation(SizeChange("base-linux/amd64", old, BaselineEntry(120 * MB, 360 * MB)), 0.2, tmp_path) is None
    )
    change = SizeChange("base-linux/amd64", old, BaselineEntry(121 * MB, 330 * MB))
    violation = growth_violation(change, 0.2, tmp_path / "size-baseline.json")
    assert violation is not None
    assert "compressed 100.0 MB → 121.0 MB (+21.0 MB, +21.0%)" in violation
    assert "uncompressed 300.0 MB → 330.0 MB (+30.0 MB)" in violation
    assert UPDATE_OPTION in violation


def test_shrinking_reads_as_a_negative_change():
    change = SizeChange("base-linux/amd64", BaselineEntry(100 * MB, 300 * MB), BaselineEntry(80 * MB, 250 * MB))
    assert change.ratio == pytest.approx(-0.2)
    assert "(-20.0 MB, -20.0%)" in change.describe()


# -- the baseline file ----------------------------------------------------------------------------------


def test_a_missing_entry_names_the_file_the_key_and_the_fix(tmp_path):
    path = tmp_path / "size-baseline.json"
    SizeBaseline(path, {"base": {"linux/amd64": BaselineEntry(1, 2)}}).write()
    with pytest.raises(BaselineError) as raised:
        SizeBaseline.load(path).entry("base", "linux/arm64")
    assert str(path) in str(raised.value)
    assert "images.base['linux/arm64']" in str(raised.value)
    assert UPDATE_OPTION in str(raised.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", r"is not valid JSON \(line 1, column 2"),
        ("[]", 'expected an object with an "images" object'),
        ('{"images": {"base": []}}', "images.base must map platforms to sizes"),
        ('{"images": {"base": {"linux/amd64": {"compressed_bytes": "12"}}}}', r"\['linux/amd64'\].compressed_bytes"),
        ('{"images": {"base": {"linux/amd64": {"compressed_bytes": 5, "uncompressed_bytes": 0}}}}', "uncompressed"),
    ],
)
def test_a_malformed_baseline_names_the_file_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "size-baseline.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=problem) as raised:
        SizeBaseline.load(path)
    assert str(path) in str(raised.value)


def test_a_missing_baseline_file_is_an_error_unless_rewriting(tmp_path):
    path = tmp_path / "size-baseline.json"
    with pytest.raises(BaselineError, match=f"no size baseline at .*{UPDATE_OPTION}"):
        SizeBaseline.load(path)
    assert SizeBaseline.load(path, missing_ok=True).entries == {}


def test_rewriting_replaces_measured_entries_and_keeps_the_rest(tmp_path):
    path = tmp_path / "size-baseline.json"
    SizeBaseline(
        path, {"go": {"linux/amd64": BaselineEntry(7, 8)}, "base": {"linux/amd64": BaselineEntry(1, 2)}}
    ).write()
    SizeBaseline.load(path).updated([("base", "linux/amd64", BaselineEntry(3, 4))]).write()
    reloaded = SizeBaseline.load(path)
    assert reloaded.entry("base", "linux/amd64") == BaselineEntry(3, 4)
    assert reloaded.entry("go", "linux/amd64") == BaselineEntry(7, 8)
    assert path.read_text().endswith("\n")


def test_the_size_table_shows_budget_and_baseline_in_mb():
    rows = [
        SizeRow("python", "linux/amd64", 300 * MB, 900 * MB, 500 * MB),
        SizeRow("base", "linux/amd64", 150 * MB, 400 * MB, 200 * MB, BaselineEntry(100 * MB, 1)),
    ]
    table = markdown_table(rows).splitlines()
    assert table[2] == "| base | linux/amd64 | 150.0 | 200 | 400.0 | 100.0 (+50.0%) |"
    assert table[3] == "| python | linux/amd64 | 300.0 | 500 | 900.0 | none |"


def test_the_sizes_cell_fails_past_the_headroom_even_under_the_budget():
    """The matrix's sizes cell follows the headroom rule too: 170 MB of base's 200 fails at 20% headroom."""
    from reactor_harness.plugin.sizes import sizes_result

    row = SizeRow("base", "linux/amd64", 170 * MB, 400 * MB, 200 * MB)
    assert sizes_result(row).data["status"] == "passed"
    assert sizes_result(row, headroom=0.20).data["status"] == "failed"
    assert sizes_result(dataclasses.replace(row, compressed_bytes=160 * MB), headroom=0.20).data["status"] == "passed"


# -- the plugin: the controller gathers sizes and rewrites the baseline ------------------------------------

REPORTING_TEST = """
import pytest
from reactor_harness.checks.sizes.table import SizeRow
from reactor_harness.plugin.results import record_result
from reactor_harness.plugin.sizes import sizes_result

@pytest.mark.parametrize(("image", "compressed"), [("base", 150_000_000), ("python", 400_000_000)])
def test_measured(request, image, compressed):
    row = SizeRow(image, "linux/amd64", compressed, 3 * compressed, 200_000_000)
    record_result(request.node, sizes_result(row))
"""


@pytest.fixture
def size_suite(pytester, monkeypatch):
    for name in ("CI", "REACTOR_PLATFORMS", "REACTOR_IMAGES"):
        monkeypatch.delenv(name, raising=False)
    images = pytester.path / "images" / "base"
    images.mkdir(parents=True)
    (images / "Dockerfile").write_text("ARG DEBIAN_IMAGE=debian:trixie-slim\nFROM ${DEBIAN_IMAGE}\n")
    (images.parent / "policy.toml").write_text((REPOSITORY / "images" / "policy.toml").read_text())
    pytester.makepyfile(test_reporting=REPORTING_TEST)
    baseline = SizeBaseline(
        pytester.path / "images" / "size-baseline.json",
        {"base": {"linux/amd64": BaselineEntry(200_000_000, 1)}, "go": {"linux/amd64": BaselineEntry(9, 9)}},
    )
    baseline.write()
    return pytester, baseline.path


def run(pytester, *args):
    return pytester.runpytest("-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", *args)


def test_rewriting_the_baseline_gathers_every_worker_sizes(size_suite):
    """With --update-size-baseline and two workers, the measured entries are rewritten and the others kept."""
    pytester, path = size_suite
    result = run(pytester, "-n", "2", UPDATE_OPTION)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*rewrote 2 entries of the size baseline*"])
    baseline = SizeBaseline.load(path)
    assert baseline.entry("base", "linux/amd64") == BaselineEntry(150_000_000, 450_000_000)
    assert baseline.entry("python", "linux/amd64") == BaselineEntry(400_000_000, 1_200_000_000)
    assert baseline.entry("go", "linux/amd64") == BaselineEntry(9, 9)
    assert (
        "| base | linux/amd64 | 150.0 | 200 | 450.0 | 200.0 (-25.0%) |"
        in (pytester.path / "reports" / "sizes.md").read_text()
    )


def test_shrinking_is_reported_and_the_baseline_left_alone(size_suite):
    pytester, path = size_suite
    before = path.read_text()
    result = run(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*shrank: base-linux/amd64: compressed 200.0 MB → 150.0 MB (-50.0 MB, -25.0%)*"])
    assert path.read_text() == before


def test_a_malformed_baseline_is_never_overwritten(size_suite):
    pytester, path = size_suite
    path.write_text("{broken")
    result = run(pytester, UPDATE_OPTION)
    result.stdout.fnmatch_lines(["*size baseline not used: size baseline*is not valid JSON*"])
    assert path.read_text() == "{broken"


def test_a_malformed_baseline_errors_the_growth_check_without_a_traceback(size_suite):
    pytester, path = size_suite
    path.write_text("{broken")
    pytester.makepyfile(test_growth="def test_growth(size_baseline):\n    pass\n")
    result = run(pytester, "test_growth.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*size baseline {path} is not valid JSON*"])
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
