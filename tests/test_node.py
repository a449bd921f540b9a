"""The node image: npm ci installed exactly the locked tool tree, each tool reports its locked version, and
real TypeScript work (compile, run, lint, format) runs offline as claude."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pin_probes import LOCK_TOOL_PROBES, locked_versions
from reactor_harness.core.engine import assert_succeeded

pytestmark = pytest.mark.image("node")

SAMPLE = Path(__file__).parent / "samples" / "node" / "hello"
TOOLS_SAMPLE = Path(__file__).parent / "samples" / "node" / "tools"
ADDON_SAMPLE = Path(__file__).parent / "samples" / "node" / "addon"
TOOLS_DIR = "/opt/node-tools"
GREETING = "hello, reactor; hello, reactor"

TOOL_PROBES = LOCK_TOOL_PROBES["node"]
# Libraries with no command: a project's CommonJS config loads them through NODE_PATH (the eslint test
# below does), and the installed-tree check proves their versions.
LIBRARIES = {"@eslint/js", "typescript-eslint", "globals", "@types/node"}

# Lists every package under node_modules (nested ones too) with the version its package.json declares.
_LIST_INSTALLED = """
const fs = require("fs"), path = require("path");
const found = {};
function walk(dir, prefix) {
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(".")) continue;
    const full = path.join(dir, name);
    if (name.startsWith("@")) { walk(full, prefix + name + "/"); continue; }
    const key = prefix + name, manifest = path.join(full, "package.json");
    if (fs.existsSync(manifest)) found[key] = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
    if (fs.existsSync(path.join(full, "node_modules"))) walk(path.join(full, "node_modules"), key + "/node_modules/");
  }
}
walk(process.argv[1], "node_modules/");
console.log(JSON.stringify(found));
"""


def _locked_tools(family) -> dict[str, str]:
    """The versions package-lock.json gives the packages package.json names."""
    return locked_versions(family, "node")


def _lock(family) -> dict:
    return json.loads((family["node"].directory / "package-lock.json").read_text(encoding="utf-8"))


@pytest.fixture
def project(container) -> str:
    """A fresh copy of the sample project in the container, owned by claude; its path."""
    return container.copy_to_scratch(SAMPLE)


def test_every_locked_tool_has_a_check(family):
    """Each package package.json names has a version probe or is a library loaded by a test (no gap, no stale)."""
    declared = set(_locked_tools(family))
    checked = set(TOOL_PROBES) | LIBRARIES
    assert declared - checked == set(), f"packages nothing checks (add a probe): {sorted(declared - checked)}"
    assert checked - declared == set(), f"checks for packages package.json no longer has: {sorted(checked - declared)}"


def test_lock_carries_an_integrity_hash_for_every_package(family):
    """npm ci can verify every tarball: each locked package has a sha512 integrity, and versions are exact."""
    packages = {key: entry for key, entry in _lock(family)["packages"].items() if key}
    assert packages, "package-lock.json locks no package"
    without = sorted(
        key for key, entry in packages.items() if not str(entry.get("integrity", "")).startswith("sha512-")
    )
    assert not without, f"locked packages without a sha512 integrity: {without}"
    manifest = json.loads((family["node"].directory / "package.json").read_text(encoding="utf-8"))
    ranges = {name: spec for name, spec in manifest["dependencies"].items() if not spec[:1].isdigit()}
    assert not ranges, f"package.json must name exact versions, not ranges: {ranges}"


def test_installed_tree_is_exactly_the_lock(container, built_image, family):
    """Every package under /opt/node-tools is locked at that version; every locked one is there unless optional."""
    result = container.exec(["node", "-e", _LIST_INSTALLED, f"{TOOLS_DIR}/node_modules"])
    assert_succeeded(result, f"{built_image}: list the installed tree")
    installed: dict[str, str] = json.loads(result.stdout)
    locked = {key: entry for key, entry in _lock(family)["packages"].items() if key}
    unlocked = {key: version for key, version in installed.items() if locked.get(key, {}).get("version") != version}
    assert not unlocked, f"{built_image}: installed but not locked at that version: {unlocked}"
    missing = sorted(key for key, entry in locked.items() if key not in installed and not entry.get("optional"))
    assert not missing, f"{built_image}: locked packages npm ci did not install: {missing}"
    node_arch = {"amd64": "x64", "arm64": "arm64"}[built_image.platform.arch]
    assert f"node_modules/@esbuild/linux-{node_arch}" in installed, (
        f"{built_image}: esbuild's binary package for linux-{node_arch} is missing (tsx needs it)"
    )


@pytest.mark.parametrize("tool", sorted(TOOL_PROBES))
def test_tool_reports_its_locked_version(container, built_image, family, tool):
    """Each tool runs from a non-interactive `sh -c` as claude and reports the version the lock pins."""
    probe = TOOL_PROBES[tool]
    locked = _locked_tools(family)[tool]
    result = container.sh(probe.command)
    assert_succeeded(result, f"{built_image}: {probe.command}")
    assert probe.extract(result.stdout) == locked, f"{built_image}: {tool} is locked at {locked}\n{result.describe()}"


def test_tsc_compiles_the_sample_and_node_runs_it(container, built_image, project):
    """tsc type-checks and compiles the sample with its tsconfig; node runs the output."""
    compiled = container.exec(["tsc", "-p", "."], workdir=project)
    assert_succeeded(compiled, f"{built_image}: tsc -p .")
    run = container.exec(["node", "dist/greet.js"], workdir=project)
    assert_succeeded(run, f"{built_image}: node dist/greet.js")
    assert run.stdout.strip() == GREETING, run.describe()


def test_tsx_runs_typescript_directly(container, built_image, project):
    """tsx runs the .ts source without a build step (esbuild's native binary works on this platform)."""
    result = container.exec(["tsx", "src/greet.ts"], workdir=project)
    assert_succeeded(result, f"{built_image}: tsx src/greet.ts")
    assert result.stdout.strip() == GREETING, result.describe()


def test_eslint_finds_the_planted_problem_and_passes_clean_code(container, built_image, project):
    """eslint, configured with @eslint/js and typescript-eslint from the image, flags the planted `any` only."""
    planted = container.exec(["eslint", "lint/problem.ts"], workdir=project)
    assert planted.exit_status == 1, (
        f"{built_image}: expected eslint to report the planted problem\n{planted.describe()}"
    )
    assert "@typescript-eslint/no-explicit-any" in planted.stdout, planted.describe()
    clean = container.exec(["eslint", "lint/clean.ts", "src"], workdir=project)
    assert_succeeded(clean, f"{built_image}: eslint on clean files")


def test_prettier_flags_the_unformatted_file_only(container, built_image, project):
    """prettier --check fails on the unformatted file and passes formatted ones."""
    unformatted = container.exec(["prettier", "--check", "format/unformatted.ts"], workdir=project)
    assert unformatted.exit_status == 1, f"{built_image}: expected prettier --check to fail\n{unformatted.describe()}"
    assert "format/unformatted.ts" in unformatted.stdout + unformatted.stderr, unformatted.describe()
    formatted = container.exec(["prettier", "--check", "format/formatted.ts", "src", "lint"], workdir=project)
    assert_succeeded(formatted, f"{built_image}: prettier --check on formatted files")


def test_tools_dir_is_on_path_and_node_path(container, built_image):
    """The tools' bin dir is on PATH and their modules on NODE_PATH, after the user's own npm prefix."""
    result = container.sh('echo "$PATH"; echo "$NODE_PATH"')
    assert_succeeded(result, f"{built_image}: read PATH and NODE_PATH")
    path, node_path = result.stdout.splitlines()[:2]
    entries = path.split(":")
    tools_bin = f"{TOOLS_DIR}/node_modules/.bin"
    assert tools_bin in entries, result.describe()
    assert entries.index("/home/claude/.npm-global/bin") < entries.index(tools_bin), result.describe()
    assert node_path == f"{TOOLS_DIR}/node_modules", result.describe()


@pytest.fixture
def tools_sample(container) -> str:
    """A fresh copy of the CommonJS runners' sample in the container, owned by claude; its path."""
    return container.copy_to_scratch(TOOLS_SAMPLE)


def test_jest_runs_the_sample_tests(container, built_image, tools_sample):
    """jest passes the passing test and fails the planted one."""
    passing = container.exec(["jest", "--ci", "sum.test.js"], workdir=tools_sample)
    assert_succeeded(passing, f"{built_image}: jest sum.test.js")
    assert "Tests:       1 passed, 1 total" in passing.stderr, passing.describe()
    planted = container.exec(["jest", "--ci", "planted"], workdir=tools_sample)
    assert planted.exit_status == 1, f"{built_image}: expected the planted test to fail\n{planted.describe()}"
    assert "1 failed" in planted.stderr, planted.describe()


def test_nodemon_restarts_on_a_change(container, built_image, tools_sample):
    """nodemon runs the script, and runs it again when the watched file changes."""
    script = """
nodemon --no-colours --legacy-watch --watch watched.txt --ext txt run.js > nodemon.log 2>&1 &
pid=$!
wait_for() { for _ in $(seq 100); do grep -q "$1" nodemon.log && return 0; sleep 0.2; done; return 1; }
wait_for 'run 1' && echo 2 > watched.txt && wait_for 'run 2'; status=$?
kill "$pid"; cat nodemon.log; exit "$status"
"""
    result = container.sh(script, workdir=tools_sample, timeout=120)
    assert_succeeded(result, f"{built_image}: nodemon restart on change")
    assert "restarting due to changes" in result.stdout, result.describe()


def test_concurrently_runs_commands_together(container, built_image):
    """concurrently runs two commands and fails when one of them fails."""
    both = container.exec(["concurrently", "--raw", "echo first", "echo second"])
    assert_succeeded(both, f"{built_image}: concurrently")
    assert sorted(both.stdout.split()) == ["first", "second"], both.describe()
    failing = container.exec(["concurrently", "--raw", "true", "false"])
    assert failing.exit_status != 0, f"{built_image}: concurrently hid a failing command\n{failing.describe()}"


def test_http_server_serves_a_file(container, built_image, tools_sample):
    """http-server serves the sample's files on the loopback interface."""
    script = """
http-server -a 127.0.0.1 -p 18082 -s . &
pid=$!
for _ in $(seq 50); do curl -fsS http://127.0.0.1:18082/watched.txt && break; sleep 0.2; done; status=$?
kill "$pid"; exit "$status"
"""
    result = container.sh(script, workdir=tools_sample, timeout=60)
    assert_succeeded(result, f"{built_image}: http-server")
    assert result.stdout.strip() == "1", result.describe()


def test_types_node_types_the_node_api(container, built_image, tools_sample):
    """tsc type-checks code using node:fs and process with the image's @types/node (typeRoots), and fails without it."""
    typed = container.exec(["tsc", "-p", "."], workdir=tools_sample)
    assert_succeeded(typed, f"{built_image}: tsc with @types/node")
    untyped = container.exec(["tsc", "-p", ".", "--types", "", "--typeRoots", "/nonexistent"], workdir=tools_sample)
    assert untyped.exit_status != 0, f"{built_image}: tsc passed without @types/node\n{untyped.describe()}"


def test_native_addon_builds_from_a_local_tarball(container, built_image):
    """npm installs a local package with a C++ Node-API addon: npm's node-gyp compiles it with g++ and
    python3 against the image's Node headers (npm_config_nodedir), offline, and node loads it."""
    addon = container.copy_to_scratch(ADDON_SAMPLE)
    pack = container.sh("npm pack --silent", workdir=addon)
    assert_succeeded(pack, f"{built_image}: npm pack the addon")
    tarball = f"{addon}/{pack.stdout.strip().splitlines()[-1]}"
    project = f"{addon}-project"
    script = (
        f"mkdir {project} && cd {project} && npm init -y >/dev/null"
        f" && npm install --offline --no-audit --no-fund --foreground-scripts {tarball}"
        " && node -e \"console.log(require('reactor-addon').add(40, 2))\""
    )
    result = container.sh(script, timeout=300)
    assert_succeeded(result, f"{built_image}: npm install of the native addon")
    assert result.stdout.strip().splitlines()[-1] == "42", result.describe()
