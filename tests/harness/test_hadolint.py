"""hadolint's seam: the binary runs with a config and its findings come back typed; the config's ignores
must each say why."""

from __future__ import annotations

import pytest

from reactor_harness.checks import hadolint


def test_findings_come_back_typed_whatever_their_level(tmp_path):
    """An untagged FROM and an unpinned apt-get are findings, read from hadolint's JSON."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\n")
    config = tmp_path / ".hadolint.yaml"
    config.write_text("ignored: []\n")
    run = hadolint.run([dockerfile], config)
    codes = {(finding.line, finding.code) for finding in run.findings}
    assert {(1, "DL3006"), (2, "DL3008"), (2, "DL3015")} <= codes, run
    assert "--config" in run.command
    assert run.exit_code == 0


def test_inline_ignore_pragmas_are_disabled_by_the_committed_config(tmp_path, harness_settings):
    """`# hadolint ignore=` in a Dockerfile does not hide a finding: every exception lives in the config."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:trixie-slim\n# hadolint ignore=DL3008\nRUN apt-get install -y curl\n")
    run = hadolint.run([dockerfile], harness_settings.root / hadolint.CONFIG_NAME)
    assert "DL3008" in {finding.code for finding in run.findings}


def test_a_missing_config_is_an_error_naming_it(tmp_path):
    with pytest.raises(hadolint.HadolintError, match="no hadolint config at"):
        hadolint.run([tmp_path / "Dockerfile"], tmp_path / ".hadolint.yaml")


def test_ignored_rules_carry_the_reason_from_their_line_or_the_comment_above():
    """The reason is the item's own comment, else the comment lines just above it; none is None."""
    config = (
        "failure-threshold: info\n"
        "ignored:\n"
        "  # DL3008: pinned through ARGs the rules check,\n"
        "  # with a revision wildcard\n"
        "  - DL3008\n"
        "  - DL3059  # one RUN per concern\n"
        "\n"
        "  - DL3003\n"
        "trustedRegistries: []\n"
    )
    ignored = hadolint.ignored_rules(config)
    assert [(rule.code, rule.line) for rule in ignored] == [("DL3008", 5), ("DL3059", 6), ("DL3003", 8)]
    assert ignored[0].reason == "DL3008: pinned through ARGs the rules check, with a revision wildcard"
    assert ignored[1].reason == "one RUN per concern"
    assert ignored[2].reason is None  # a blank line cuts the comment above off


def test_a_flow_list_of_ignored_rules_is_refused():
    """`ignored: [DL3008]` leaves no room for reasons."""
    with pytest.raises(hadolint.HadolintError, match="block list"):
        hadolint.ignored_rules("ignored: [DL3008]\n")
