"""The go image: Go and its tools are the pinned versions, built for the image's platform, and real Go work
(test, vet, lint, install, debug) runs offline as claude with GOPROXY=off."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactor_harness.core.engine import assert_succeeded
from reactor_harness.core.platforms import ELF_MACHINE, elf_machine
from reactor_harness.plugin.outcomes import needs_native

pytestmark = pytest.mark.image("go")

SAMPLES = Path(__file__).parent / "samples" / "go"
GOROOT = "/usr/local/go"
TOOLS_BIN = "/usr/local/go-tools/bin"
GOPATH = "/home/claude/go"
# Test containers have no network; GOPROXY=off also makes any attempt to fetch a module fail at once.
OFFLINE = {"GOPROXY": "off"}


TOOLS = ["gopls", "dlv", "staticcheck", "golangci-lint", "goimports", "gomodifytags", "gotests"]


@pytest.fixture
def samples(container) -> str:
    """A fresh copy of the sample modules in the container, owned by claude; its path."""
    return container.copy_to_scratch(SAMPLES)


@pytest.mark.parametrize("binary", [f"{GOROOT}/bin/go", f"{GOROOT}/bin/gofmt", *[f"{TOOLS_BIN}/{t}" for t in TOOLS]])
def test_binary_architecture_matches_the_platform(container, built_image, binary):
    """The toolchain and the cross-compiled tools are built for the image's platform."""
    machine = elf_machine(container.read_bytes(binary, 20))
    expected = ELF_MACHINE[built_image.platform.arch]
    assert machine == expected, f"{built_image}: {binary} has ELF machine {machine:#x}, expected {expected:#x}"


def test_go_environment_is_claudes_and_local(container, built_image):
    """GOROOT is the image's Go, GOPATH is claude's, and GOTOOLCHAIN=local (no toolchain downloads)."""
    result = container.exec(["go", "env", "GOROOT", "GOPATH", "GOTOOLCHAIN", "GOMODCACHE"])
    assert_succeeded(result, f"{built_image}: go env")
    assert result.stdout.split() == [GOROOT, GOPATH, "local", f"{GOPATH}/pkg/mod"], result.describe()


def test_module_tests_pass_offline(container, built_image, samples):
    """go test, go vet and go build work on the clean module with no network and no proxy."""
    module = f"{samples}/greeting"
    # -count=1: the build cache is kept across runs (tool_caches), the test results must not be replayed.
    for argv in (["go", "test", "-count=1", "./..."], ["go", "vet", "./..."], ["go", "build", "./..."]):
        result = container.exec(argv, workdir=module, env=OFFLINE)
        assert_succeeded(result, f"{built_image}: {' '.join(argv)}")
    tested = container.exec(["go", "test", "-count=1", "-run", "TestGreet", "-v", "."], workdir=module, env=OFFLINE)
    assert_succeeded(tested, f"{built_image}: go test -v")
    assert "--- PASS: TestGreet" in tested.stdout, tested.describe()


def test_go_install_puts_commands_on_claudes_path(container, built_image, samples):
    """`go install` as claude lands in GOPATH/bin, which is on PATH for non-interactive shells."""
    installed = container.exec(["go", "install", "./cmd/greet"], workdir=f"{samples}/greeting", env=OFFLINE)
    assert_succeeded(installed, f"{built_image}: go install")
    run = container.sh("command -v greet && greet")
    assert_succeeded(run, f"{built_image}: run the installed command")
    assert run.stdout.splitlines() == [f"{GOPATH}/bin/greet", "hello, reactor; hello, go"], run.describe()


def test_staticcheck_finds_the_planted_issue_only(container, built_image, samples):
    """staticcheck reports SA4006 in the planted module and nothing in the clean one."""
    planted = container.exec(["staticcheck", "./..."], workdir=f"{samples}/planted", env=OFFLINE)
    assert planted.exit_status == 1, f"{built_image}: expected staticcheck to report SA4006\n{planted.describe()}"
    assert "SA4006" in planted.stdout, planted.describe()
    clean = container.exec(["staticcheck", "./..."], workdir=f"{samples}/greeting", env=OFFLINE)
    assert_succeeded(clean, f"{built_image}: staticcheck on the clean module")


def test_golangci_lint_finds_the_planted_issue_only(container, built_image, samples):
    """golangci-lint (standard linters, the module's config) flags the planted line and passes the clean module."""
    planted = container.exec(["golangci-lint", "run", "./..."], workdir=f"{samples}/planted", env=OFFLINE)
    assert planted.exit_status == 1, f"{built_image}: expected golangci-lint to report an issue\n{planted.describe()}"
    assert "planted.go:7" in planted.stdout, planted.describe()
    clean = container.exec(["golangci-lint", "run", "./..."], workdir=f"{samples}/greeting", env=OFFLINE)
    assert_succeeded(clean, f"{built_image}: golangci-lint on the clean module")
    assert "0 issues" in clean.stdout, clean.describe()


@pytest.mark.parametrize("formatter", ["gofmt", "goimports"])
def test_formatters_accept_the_samples(container, built_image, samples, formatter):
    """gofmt and goimports list no file to reformat in the samples."""
    result = container.exec([formatter, "-l", "."], workdir=samples)
    assert_succeeded(result, f"{built_image}: {formatter} -l")
    assert result.stdout.strip() == "", f"{built_image}: {formatter} would reformat files\n{result.describe()}"


def test_gopls_checks_a_package_offline(container, built_image, samples):
    """gopls loads the module and reports no diagnostics for the clean file."""
    result = container.exec(["gopls", "check", "greeting.go"], workdir=f"{samples}/greeting", env=OFFLINE)
    assert_succeeded(result, f"{built_image}: gopls check")
    assert result.stdout.strip() == "", result.describe()


def test_dlv_stops_at_a_breakpoint(container, built_image, samples, harness_settings):
    """dlv builds the sample, stops at a breakpoint and prints a variable (a real debug session)."""
    why = f"{built_image}: dlv needs ptrace, which qemu user-mode emulation does not provide"
    needs_native(harness_settings, built_image.platform, why)
    script = f"{samples}/dlv-init"
    write = container.sh(f"printf 'break greeting.Greet\\ncontinue\\nprint names\\nexit\\n' > {script}")
    assert_succeeded(write, f"{built_image}: write the dlv script")
    result = container.exec(
        ["dlv", "debug", "./cmd/greet", "--allow-non-terminal-interactive=true", "--init", script],
        workdir=f"{samples}/greeting",
        env=OFFLINE,
    )
    assert_succeeded(result, f"{built_image}: dlv debug")
    assert "Breakpoint 1" in result.stdout, result.describe()
    assert '["reactor","go"]' in result.stdout, result.describe()


def test_go_test_race_runs_with_cgo(container, built_image, samples, harness_settings):
    """`go test -race` (cgo, so gcc) passes the clean module and reports the planted data race."""
    why = (
        f"{built_image}: the race detector (ThreadSanitizer) needs the 48-bit address space of a native arm64 or "
        "amd64 kernel; qemu user-mode emulation gives it 39 bits ('FATAL: ThreadSanitizer: unsupported VMA range')"
    )
    needs_native(harness_settings, built_image.platform, why)
    clean = container.exec(["go", "test", "-race", "./..."], workdir=f"{samples}/greeting", env=OFFLINE)
    assert_succeeded(clean, f"{built_image}: go test -race on the clean module")
    racy = container.exec(["go", "test", "-race", "./..."], workdir=f"{samples}/racy", env=OFFLINE)
    assert racy.exit_status == 1, f"{built_image}: expected the race detector to fail the racy test\n{racy.describe()}"
    assert "WARNING: DATA RACE" in racy.stdout + racy.stderr, racy.describe()


def test_gomodifytags_adds_json_tags(container, built_image, samples):
    """gomodifytags adds json tags to the sample struct's fields."""
    result = container.exec(
        ["gomodifytags", "-file", "tags.go", "-struct", "Person", "-add-tags", "json", "-w"],
        workdir=f"{samples}/tags",
    )
    assert_succeeded(result, f"{built_image}: gomodifytags")
    tagged = container.exec(["cat", "tags.go"], workdir=f"{samples}/tags")
    assert 'json:"name"' in tagged.stdout, tagged.describe()
    assert 'json:"email"' in tagged.stdout, tagged.describe()
    assert_succeeded(
        container.exec(["go", "build", "./..."], workdir=f"{samples}/tags", env=OFFLINE), f"{built_image}: build"
    )


def test_gotests_generates_a_test_that_passes(container, built_image, samples):
    """gotests writes a table test for the sample's method; go test compiles and runs it."""
    generated = container.exec(["gotests", "-all", "-w", "tags.go"], workdir=f"{samples}/tags")
    assert_succeeded(generated, f"{built_image}: gotests -all -w")
    tested = container.exec(["go", "test", "-v", "./..."], workdir=f"{samples}/tags", env=OFFLINE)
    assert_succeeded(tested, f"{built_image}: go test of the generated test")
    assert "--- PASS: TestPerson_Initials" in tested.stdout, tested.describe()
