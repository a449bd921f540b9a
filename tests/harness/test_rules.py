"""The project's Dockerfile rules: each fires on its bad example with the right line and message, and none
fires on the good examples (tests/bad_dockerfiles/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactor_harness.checks.rules import RULES, Finding, RuleContext, check
from reactor_harness.checks.rules.comments import mentions
from reactor_harness.checks.rules.shell import RunScript, split_commands
from reactor_harness.family.dockerfile import Dockerfile
from reactor_harness.family.policy import load_policy

EXAMPLES = Path(__file__).resolve().parent.parent / "bad_dockerfiles"
FAMILY = frozenset({"base", "python"})

# Every finding each bad example must produce, as (line, rule, a fragment of the message), and no other.
EXPECTED: dict[str, list[tuple[int, str, str]]] = {
    "apt-no-recommends": [(7, "apt-no-recommends", "recommended packages")],
    "apt-lists-removed": [
        (8, "apt-lists-removed", "runs apt-get update but leaves /var/lib/apt/lists in the layer"),
        (12, "apt-lists-removed", "runs apt-get update but leaves /var/lib/apt/lists in the layer"),
    ],
    "apt-no-upgrade": [(4, "apt-no-upgrade", "apt-get dist-upgrade")],
    "apt-package-pinned": [
        (4, "apt-package-pinned", "installs curl without a version"),
        (4, "apt-package-pinned", "types the version of git in the RUN"),
        (4, "apt-package-pinned", "${JQ_PIN}-*, which is not a Renovate-annotated global ARG"),
    ],
    "download-verified": [
        (9, "download-verified", "downloads (curl) but uses no checksum pin"),
        (12, "download-verified", "downloads with wget but never runs a checksum check"),
    ],
    "no-add-url": [(4, "no-add-url", "ADD fetches https://downloads.example/tool.tgz")],
    "version-annotated": [
        (6, "version-annotated", "ARG TOOL_VERSION=1.2.3 is a version without a Renovate annotation"),
        (7, "version-annotated", "annotation of JQ_VERSION lacks depName"),
        (9, "version-annotated", "ARG LINTER_VERSION has no default"),
        (10, "version-annotated", "annotation of GIT_VERSION is on line 10, not directly above the ARG"),
        (15, "version-annotated", "ARG FORMATTER_VERSION=2.0 pins a version inside a stage"),
        (16, "version-annotated", "ENV GO_VERSION=1.26.1 types a version"),
        (16, "environment-recorded", "ENV sets GO_VERSION but no later `reactor-env record` names it"),
    ],
    "version-annotated--malformed": [(2, "version-annotated", "malformed Renovate annotation")],
    "no-latest": [
        (1, "no-latest", "ARG DEBIAN_IMAGE defaults to debian:latest"),
        (4, "no-latest", "ENV TOOL_CHANNEL is latest"),
        (4, "environment-recorded", "ENV sets TOOL_CHANNEL but no later `reactor-env record` names it"),
        (5, "no-latest", "example.org/tool/cmd/tool@latest, whatever is newest"),
        (5, "install-pinned", "tool@latest with the version typed in the RUN"),  # both rules see it
    ],
    "install-pinned": [
        (8, "install-pinned", "pip installs requests without an exact version"),
        (8, "install-pinned", "npm installs prettier@3.3.3 with the version typed in the RUN"),
        (8, "install-pinned", "${TOOL_REF} is not a Renovate-annotated pin"),
    ],
    "from-build-arg": [
        (1, "from-build-arg", "builds FROM debian:trixie-slim by a literal reference"),
        (4, "from-build-arg", "builds FROM the family image base by a literal reference (reactor/base:1.0)"),
    ],
    "final-user": [(4, "final-user", "ends as user root, not claude")],
    "environment-recorded": [
        (5, "environment-recorded", "ENV sets TOOL_HOME but no later `reactor-env record` names it"),
        (6, "environment-recorded", "records STRAY, which no ENV before it in the final stage sets"),
        (7, "environment-recorded", "ENV sets LATE but no later `reactor-env record` names it"),
    ],
    "final-user--inherits-root": [(3, "final-user", "sets no USER, so the image runs as root")],
    "layer-limit": [(3, "layer-limit", "4 layers (RUN@4, RUN@5, COPY@6, RUN@7), over the limit of 3")],
    "comment-version": [
        (3, "comment-version", "says 'Node.js 22' but NODE_VERSION (line 5) pins 24.21.0"),
        (6, "comment-version", "says 'npm 11' but NPM_VERSION (line 8) pins 10.9.2"),
    ],
}

POLICY = load_policy(Path(__file__).parents[2] / "images")  # the family's declared user, as the plugin reads it


def context_for(path: Path, layer_limit: int | None = 3) -> RuleContext:
    """An example is checked as the image `python` of the family {base, python}."""
    return RuleContext(
        Dockerfile.parse(path),
        image="python",
        family_images=FAMILY,
        layer_limit=layer_limit,
        user=POLICY.user,
        uid=POLICY.uid,
    )


def bad_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.Dockerfile"))


def good_examples() -> list[Path]:
    return sorted((EXAMPLES / "good").glob("*.Dockerfile"))


def test_every_rule_has_a_bad_example():
    """No rule goes unproven: each has a bad Dockerfile named after it, with its findings listed here."""
    examples = {path.name.removesuffix(".Dockerfile") for path in bad_examples()}
    assert examples == set(EXPECTED), "every example needs its expected findings, and every entry its file"
    proven = {rule for findings in EXPECTED.values() for _, rule, _ in findings}
    assert {rule.id for rule in RULES} <= proven


@pytest.mark.parametrize("path", bad_examples(), ids=lambda path: path.name.removesuffix(".Dockerfile"))
def test_rule_fires_on_its_bad_example(path):
    """The rule fires on its bad example, at the expected lines with the expected messages, and nothing else does."""
    findings = check(context_for(path))
    report = "\n".join(map(str, findings)) or "no finding"
    unmatched = list(findings)
    for line, rule, fragment in EXPECTED[path.name.removesuffix(".Dockerfile")]:
        match = next((f for f in unmatched if (f.line, f.rule) == (line, rule) and fragment in f.message), None)
        assert match is not None, f"expected line {line} [{rule}] '{fragment}', got:\n{report}"
        assert match.path == path
        assert match.fix
        unmatched.remove(match)
    assert not unmatched, "unexpected findings:\n" + "\n".join(map(str, unmatched))


@pytest.mark.parametrize("path", good_examples(), ids=lambda path: path.name.removesuffix(".Dockerfile"))
def test_no_rule_fires_on_a_good_example(path):
    """A Dockerfile that follows the guide gets no finding."""
    findings = check(context_for(path))
    assert not findings, "\n".join(map(str, findings))


def test_finding_names_file_line_rule_and_fix():
    """A finding reads as file:line, [rule], what is wrong, and the fix."""
    finding = Finding(Path("images/x/Dockerfile"), 12, "no-latest", "ARG X defaults to latest", "pin it")
    assert str(finding) == "images/x/Dockerfile:12: [no-latest] ARG X defaults to latest. Fix: pin it"


def test_an_image_without_a_declared_layer_limit_is_a_finding():
    """An image missing from [layers] in images/policy.toml is reported, with the entry to add."""
    findings = check(context_for(EXAMPLES / "good" / "inherits-user.Dockerfile", layer_limit=None))
    assert [(f.rule, f.line) for f in findings] == [("layer-limit", 4)]
    assert '`"python": 1`' in findings[0].fix


def test_commands_are_split_out_of_a_run_with_flags_conditionals_and_pipes():
    """The shell reader finds each program of a real-world RUN, past --mount flags, `if`, `case` and pipes."""
    script = (
        "if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi "
        '&& case "${TARGETARCH}" in amd64) arch=x64 ;; arm64) exit 1 ;; esac '
        '&& npm pack "node@${NODE_VERSION}" && echo "${SHA}  node.tgz" | sha512sum -c - '
        "&& useradd claude 2>&1 >/dev/null"
    )
    programs = [command.program for command in split_commands(script) if command.words]
    # A case pattern after `;;` reads as a program of its own: harmless, it names no tool.
    assert programs == ["[", "export", "fi", "case", "arm64", "exit", "esac", "npm", "echo", "sha512sum", "useradd"]
    useradd = split_commands(script)[-1]
    assert useradd.arguments == ("claude",)  # redirections are not arguments


def test_run_resolves_loop_variables_and_programs_held_in_variables(tmp_path):
    """`for p in a b; do go install "$p"` installs a and b; `"${go}" mod download` runs go."""
    path = tmp_path / "Dockerfile"
    path.write_text(
        "FROM scratch\n"
        'RUN --mount=type=cache,target=/cache go=/usr/lib/go/bin/go && zip="$("${go}" mod download -json m@v1)" '
        '&& for p in "a@${A}" "b@${B}"; do go install "${p}"; done\n'
    )
    dockerfile = Dockerfile.parse(path)
    run = RunScript.of(dockerfile.instructions[1])
    assert run.flags == ("--mount=type=cache,target=/cache",)
    assert ("go", ("mod", "download", "-json", "m@v1")) in [(c.program, c.arguments) for c in run.commands]
    assert run.expand("${p}") == ["a@${A}", "b@${B}"]
    assert run.expand("${unset}") == ["${unset}"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Node.js 24 LTS: the official binaries", [("Node.js", "24")]),
        ("golangci-lint v2.6 and gopls@0.20.1", [("golangci-lint", "2.6"), ("gopls", "0.20.1")]),
        ("Go 1.26.x from trixie-backports.", [("Go", "1.26")]),
        ("UID/GID 1000 and the node-linux-<arch> packages", [("GID", "1000")]),
        ("Debian's golang-1.24 is only the bootstrap", []),
    ],
)
def test_version_mentions_in_comments(text, found):
    """A mention is a name followed by a version number; a version glued to a name is not one."""
    assert [(m.name, m.version) for m in mentions(1, text)] == found
