"""The python image: the interpreter and every tool are the pinned versions, and real Python work runs
offline as claude (tests, lint, type checks, project venvs)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pin_probes import LOCK_TOOL_PROBES, locked_versions, normalise_distribution
from reactor_harness.core.engine import assert_failed, assert_succeeded
from reactor_harness.family.versions_table import requirements_rows

pytestmark = pytest.mark.image("python")

SAMPLE = Path(__file__).parent / "samples" / "python" / "calc"
CEXT = Path(__file__).parent / "samples" / "python" / "cext-1.0"
LOCK_NAME = "requirements.txt"
TOOLS_PYTHON = "/opt/python-tools/venv/bin/python"

TOOL_PROBES = LOCK_TOOL_PROBES["python"]
# Top-level packages with no command of their own: the venv check proves their version, and a test
# below proves each one works.
PLUGINS = {"pytest-cov"}


_normalise = normalise_distribution


def _top_level_pins(family) -> dict[str, str]:
    """The lock's versions of the packages requirements.in names (the tools the image promises)."""
    return locked_versions(family, "python")


def _every_locked_pin(family, scratch: Path) -> dict[str, str]:
    """Every distribution the lock pins (dependencies included), by normalised name."""
    shutil.copy(family["python"].directory / LOCK_NAME, scratch / LOCK_NAME)  # alone: no .in to filter by
    return {_normalise(row.tool): row.version for row in requirements_rows("python", scratch)}


@pytest.fixture
def project(container) -> str:
    """A fresh copy of the sample project in the container, owned by claude; its path."""
    return container.copy_to_scratch(SAMPLE)


def test_every_locked_tool_has_a_check(family):
    """Each package requirements.in names has a version probe or is a plugin checked by use (no gap, no stale)."""
    top_level = set(_top_level_pins(family))
    checked = set(TOOL_PROBES) | PLUGINS
    assert top_level - checked == set(), f"locked tools nothing checks (add a probe): {sorted(top_level - checked)}"
    assert checked - top_level == set(), f"checks for tools the lock no longer has: {sorted(checked - top_level)}"


def test_lock_pins_every_requirement_with_a_hash(family):
    """Every requirement in the lock is `name==version` with at least one sha256 (pip --require-hashes needs it)."""
    lock = (family["python"].directory / LOCK_NAME).read_text(encoding="utf-8")
    requirements: list[list[str]] = []  # one requirement with its continuation lines
    for line in lock.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and requirements:
            requirements[-1].append(line)
        else:
            requirements.append([line])
    assert requirements, f"{LOCK_NAME} holds no requirement"
    unpinned = [lines[0] for lines in requirements if "==" not in lines[0]]
    assert not unpinned, f"{LOCK_NAME}: requirements without an exact version: {unpinned}"
    unhashed = [lines[0].split()[0] for lines in requirements if not any("--hash=sha256:" in x for x in lines)]
    assert not unhashed, f"{LOCK_NAME}: requirements without a hash: {unhashed}"


@pytest.mark.parametrize("command", ["python3", "python"])
def test_interpreter_is_the_pinned_python(container, built_image, command):
    """`python3` and `python` (python-is-python3) are Debian's Python at the pinned version."""
    pinned = built_image.dockerfile.pin("PYTHON3_VERSION").value
    result = container.sh(f"{command} --version")
    assert_succeeded(result, f"{built_image}: {command} --version")
    assert result.stdout.strip() == f"Python {pinned}", (
        f"{built_image}: PYTHON3_VERSION is {pinned}\n{result.describe()}"
    )


def test_tools_venv_holds_exactly_the_lock(container, built_image, family, tmp_path):
    """The tools venv has every top-level tool, and nothing but locked distributions at their locked versions."""
    script = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    result = container.exec([TOOLS_PYTHON, "-c", script])
    assert_succeeded(result, f"{built_image}: list the tools venv")
    installed = {_normalise(name): version for name, version in json.loads(result.stdout).items()}
    locked = _every_locked_pin(family, tmp_path)
    unlocked = {name: version for name, version in installed.items() if locked.get(name) != version}
    assert not unlocked, f"{built_image}: installed but not locked at that version (lock: {LOCK_NAME}): " + ", ".join(
        f"{name}=={version} (lock: {locked.get(name, 'absent')})" for name, version in sorted(unlocked.items())
    )
    missing = sorted(set(_top_level_pins(family)) - set(installed))
    assert not missing, f"{built_image}: locked tools missing from the venv: {missing}"


@pytest.mark.parametrize("tool", sorted(TOOL_PROBES))
def test_tool_reports_its_locked_version(container, built_image, family, tool):
    """Each tool runs from a non-interactive `sh -c` as claude and reports the version the lock pins."""
    probe = TOOL_PROBES[tool]
    locked = _top_level_pins(family)[tool]
    result = container.sh(probe.command)
    assert_succeeded(result, f"{built_image}: {probe.command}")
    assert probe.extract(result.stdout) == locked, f"{built_image}: {tool} is locked at {locked}\n{result.describe()}"


def test_tools_stay_out_of_the_system_interpreter(container, built_image):
    """The tools live in their own venv: the system python3 cannot import them."""
    result = container.exec(["python3", "-c", "import mypy"])
    assert_failed(result, f"{built_image}: the system python3 imports mypy")
    assert "ModuleNotFoundError" in result.stderr, result.describe()


def test_pip_on_path_is_debians_and_guards_the_system_python(container, built_image):
    """`pip` is Debian's pinned python3-pip; it refuses to install into the system interpreter
    (EXTERNALLY-MANAGED), even with sudo, so the system Python stays apt's."""
    pinned = built_image.dockerfile.pin("PYTHON3_PIP_VERSION").value.split("+")[0]
    version = container.sh("command -v pip && pip --version")
    assert_succeeded(version, f"{built_image}: pip --version")
    assert version.stdout.splitlines()[0] == "/usr/bin/pip", version.describe()
    assert version.stdout.splitlines()[1].startswith(f"pip {pinned} from /usr/lib/python3/dist-packages/pip"), (
        version.describe()
    )
    for argv in (["pip", "install", "--no-index", "nothing"], ["sudo", "pip", "install", "--no-index", "nothing"]):
        refused = container.exec(argv)
        assert_failed(refused, f"{built_image}: {' '.join(argv)}")
        assert "externally-managed-environment" in refused.stderr, refused.describe()


def test_pip_builds_a_c_extension_from_a_local_sdist(container, built_image):
    """pip in a project venv builds an sdist whose C extension includes Python.h, ffi.h and OpenSSL's
    headers and links libffi and libcrypto (gcc, python3-dev, libffi-dev, libssl-dev), offline, no sudo."""
    sample = container.copy_to_scratch(CEXT)
    sdist = f"{sample}.tar.gz"
    folder = sample.rsplit("/", 1)[-1]
    pack = container.exec(["tar", "-czf", sdist, "-C", "/tmp", "--transform", f"s,^{folder},reactor-cext-1.0,", folder])
    assert_succeeded(pack, f"{built_image}: make the sdist")
    venv = f"{sample}-venv"
    assert_succeeded(container.exec(["python3", "-m", "venv", venv]), f"{built_image}: python3 -m venv")
    install = container.exec(
        [f"{venv}/bin/pip", "install", "--no-index", "--find-links", "/usr/share/python-wheels", sdist]
    )
    assert_succeeded(install, f"{built_image}: pip install of the C extension's sdist")
    use = container.exec(
        [f"{venv}/bin/python", "-c", "import reactor_cext as c; print(c.ffi_add(40, 2)); print(c.sha256_hex(b'abc'))"]
    )
    assert_succeeded(use, f"{built_image}: use the built extension")
    assert use.stdout.split() == ["42", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"], (
        use.describe()
    )


def test_black_flags_the_unformatted_file_only(container, built_image):
    """black --check fails on an unformatted file and passes a formatted one."""
    script = """
set -e
cd "$(mktemp -d)"
printf 'x = [1,2 ,3]\n' > unformatted.py
printf 'x = [1, 2, 3]\n' > formatted.py
black --check formatted.py
if black --check unformatted.py 2>check.err; then echo 'unformatted file passed' >&2; exit 1; fi
cat check.err
"""
    result = container.sh(script)
    assert_succeeded(result, f"{built_image}: black --check")
    assert "would reformat unformatted.py" in result.stdout, result.describe()


def test_requests_and_rich_import_in_the_system_python(container, built_image):
    """The system python3 has requests (it fetches from a local server) and rich (it renders markup)."""
    script = """
import subprocess, sys, tempfile, time, pathlib
import requests, rich.console
folder = tempfile.mkdtemp()
pathlib.Path(folder, "page.txt").write_text("served")
server = subprocess.Popen([sys.executable, "-m", "http.server", "18081", "--bind", "127.0.0.1", "-d", folder],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(50):
        try:
            print(requests.get("http://127.0.0.1:18081/page.txt", timeout=2).text)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
finally:
    server.terminate()
console = rich.console.Console(force_terminal=False, width=40)
console.print("[bold]rendered[/bold]")
"""
    result = container.exec(["python3", "-c", script], timeout=60)
    assert_succeeded(result, f"{built_image}: requests and rich in the system python3")
    assert result.stdout.split() == ["served", "rendered"], result.describe()


def test_debian_python_modules_have_current_bytecode(container, built_image):
    """Every module of Debian's Python packages has bytecode that this python3 accepts for its source: the
    entries compiled on the build platform and put in place before the apt step (py3compile then skips
    them) are as valid as py3compile's own, none stale, none missing."""
    script = """
import importlib.util, pathlib, struct, sys
checked, bad = 0, []
for source in pathlib.Path("/usr/lib/python3/dist-packages").rglob("*.py"):
    cached = pathlib.Path(importlib.util.cache_from_source(str(source)))
    try:
        header = cached.read_bytes()[:16]
    except OSError as error:
        bad.append(f"{source}: no bytecode ({error.strerror})")
        continue
    stat = source.stat()  # the header python checks: magic, flags 0 (timestamp-based), mtime, size
    expected = importlib.util.MAGIC_NUMBER + struct.pack(
        "<III", 0, int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF
    )
    checked += 1
    if header != expected:
        bad.append(f"{source}: bytecode header {header.hex()} is not {expected.hex()}")
print(checked)
print("\\n".join(bad[:20]), file=sys.stderr)
sys.exit(1 if bad else 0)
"""
    result = container.exec(["python3", "-c", script], timeout=120)
    assert_succeeded(result, f"{built_image}: stale or missing bytecode in Debian's Python packages")
    assert int(result.stdout.strip()) > 500, result.describe()


def test_pytest_reports_the_sample_outcomes(container, built_image, project):
    """pytest runs the sample's tests: the planted failure fails the run, the passing test passes."""
    everything = container.exec(["pytest"], workdir=project)
    assert everything.exit_status == 1, f"{built_image}: expected exit 1 (a test failed)\n{everything.describe()}"
    assert "1 failed, 1 passed" in everything.stdout, everything.describe()
    passing = container.exec(["pytest", "-k", "passes"], workdir=project)
    assert_succeeded(passing, f"{built_image}: pytest on the passing test")
    assert "1 passed, 1 deselected" in passing.stdout, passing.describe()


def test_pytest_cov_measures_coverage(container, built_image, project):
    """The pytest-cov plugin loads in the tools' pytest and reports coverage of the sample package."""
    result = container.exec(["pytest", "-k", "passes", "--cov=calc", "--cov-report=term"], workdir=project)
    assert_succeeded(result, f"{built_image}: pytest --cov")
    assert re.search(r"^TOTAL\s", result.stdout, re.MULTILINE), result.describe()


def test_ruff_finds_the_planted_error_and_passes_clean_code(container, built_image, project):
    """ruff reports F401 in the planted file, and nothing in the clean files (lint and format)."""
    planted = container.exec(["ruff", "check", "lint/ruff_error.py"], workdir=project)
    assert planted.exit_status == 1, f"{built_image}: expected ruff to report the planted F401\n{planted.describe()}"
    assert "F401" in planted.stdout, planted.describe()
    clean = container.exec(["ruff", "check", "src", "tests", "lint/ruff_clean.py"], workdir=project)
    assert_succeeded(clean, f"{built_image}: ruff check on clean files")
    formatted = container.exec(["ruff", "format", "--check", "src", "tests", "lint"], workdir=project)
    assert_succeeded(formatted, f"{built_image}: ruff format --check")


def test_mypy_finds_the_planted_error_and_passes_clean_code(container, built_image, project):
    """mypy --strict reports [arg-type] in the planted file and accepts the clean ones."""
    planted = container.exec(["mypy", "lint/mypy_error.py"], workdir=project)
    assert planted.exit_status == 1, f"{built_image}: expected mypy to report the planted error\n{planted.describe()}"
    assert "[arg-type]" in planted.stdout, planted.describe()
    clean = container.exec(["mypy", "src", "tests", "lint/mypy_clean.py"], workdir=project)
    assert_succeeded(clean, f"{built_image}: mypy on clean files")
    assert clean.stdout.startswith("Success"), clean.describe()


def test_ipython_runs_code(container, built_image):
    """ipython executes code non-interactively."""
    result = container.exec(["ipython", "-c", "print(6 * 7)"])
    assert_succeeded(result, f"{built_image}: ipython -c")
    assert result.stdout.strip().splitlines()[-1] == "42", result.describe()


def test_claude_pip_installs_into_a_project_venv(container, built_image, project):
    """claude creates a venv with python3 -m venv and pip-installs the sample into it, offline."""
    venv = f"{project}-venv"
    assert_succeeded(container.exec(["python3", "-m", "venv", venv]), f"{built_image}: python3 -m venv")
    install = container.exec(
        [f"{venv}/bin/pip", "install", "--no-index", "--find-links", "/usr/share/python-wheels", project]
    )
    assert_succeeded(install, f"{built_image}: pip install into the venv (setuptools from python3-venv's wheels)")
    use = container.exec([f"{venv}/bin/python", "-c", "import calc; print(calc.add(2, 3))"])
    assert_succeeded(use, f"{built_image}: import the installed package")
    assert use.stdout.strip() == "5", use.describe()


def test_uv_installs_into_a_project_venv(container, built_image, project):
    """uv creates a venv on the system Python and installs the sample into it, offline."""
    venv = f"{project}-uv-venv"
    assert_succeeded(container.exec(["uv", "venv", "--quiet", venv]), f"{built_image}: uv venv")
    install = container.exec(
        ["uv", "pip", "install", "--offline", "--find-links", "/usr/share/python-wheels", project],
        env={"VIRTUAL_ENV": venv},
    )
    assert_succeeded(install, f"{built_image}: uv pip install")
    use = container.exec([f"{venv}/bin/python", "-c", "import calc; print(calc.mean([1.0, 2.0]))"])
    assert_succeeded(use, f"{built_image}: import the uv-installed package")
    assert use.stdout.strip() == "1.5", use.describe()
