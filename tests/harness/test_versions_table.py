"""The README version tables: generated from pins and lock files, and compared row by row."""

from __future__ import annotations

import json

import pytest

from reactor_harness.family import versions_table
from reactor_harness.family.discovery import Family

BASE = """\
ARG DEBIAN_IMAGE=debian:trixie-slim
# renovate: datasource=deb depName=git
ARG GIT_VERSION=1:2.47.3
ARG TOOL_SHA256=00ff
FROM ${DEBIAN_IMAGE}
"""
PYTHON = """\
ARG BASE_IMAGE=reactor/base:latest
# renovate: datasource=deb depName=python3
ARG PYTHON3_VERSION=3.13.5
FROM ${BASE_IMAGE}
"""
LOCK = """\
# generated
mypy==2.4.1 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via -r requirements.in
mypy-extensions==1.2.0 \\
    --hash=sha256:cc
Ruff==0.17.5 --hash=sha256:dd
"""


@pytest.fixture
def family(tmp_path):
    """base (one deb pin, one checksum) and python (one deb pin and a requirements lock)."""
    for name, text in {"base": BASE, "python": PYTHON}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(text)
    (tmp_path / "python" / "requirements.txt").write_text(LOCK)
    return Family.discover(tmp_path)


def readme_for(family):
    return "# Title\n\nIntro.\n\n" + versions_table.render(family) + "\n## After\n"


def test_rows_come_from_version_pins_and_locks_not_checksums(family):
    rows = [(r.image, r.tool, r.version, r.datasource, r.pinned_in) for r in versions_table.family_rows(family)]
    assert rows == [
        ("base", "git", "1:2.47.3", "deb", "ARG GIT_VERSION"),
        ("python", "python3", "3.13.5", "deb", "ARG PYTHON3_VERSION"),
        ("python", "mypy", "2.4.1", "pypi", "requirements.txt"),
        ("python", "mypy-extensions", "1.2.0", "pypi", "requirements.txt"),
        ("python", "Ruff", "0.17.5", "pypi", "requirements.txt"),
    ]


def test_a_requirements_in_limits_the_rows_to_top_level_tools(family):
    (family["python"].directory / "requirements.in").write_text("# tools\nmypy==2.4.1\nruff==0.17.5\n")
    tools = [row.tool for row in versions_table.requirements_rows("python", family["python"].directory)]
    assert tools == ["mypy", "Ruff"]


def test_an_unlocked_requirement_is_an_error_naming_its_line(family):
    (family["python"].directory / "requirements.txt").write_text("mypy==2.4.1 --hash=sha256:aa\nruff>=0.17\n")
    with pytest.raises(versions_table.VersionsTableError, match=r"requirements.txt:2: 'ruff>=0.17' is not locked"):
        versions_table.requirements_rows("python", family["python"].directory)


def test_package_lock_gives_the_top_level_dependencies_of_package_json(tmp_path):
    (tmp_path / "package.json").write_text(
        json.dumps({"dependencies": {"eslint": "10.15.0"}, "devDependencies": {"vitest": "4.0.0"}})
    )
    (tmp_path / "package-lock.json").write_text(
        json.dumps(
            {
                "packages": {
                    "": {},
                    "node_modules/eslint": {"version": "10.15.0"},
                    "node_modules/debug": {"version": "4.4.1"},
                }
            }
        )
    )
    rows = versions_table.package_lock_rows("node", tmp_path)
    assert [(r.tool, r.version, r.pinned_in) for r in rows] == [("eslint", "10.15.0", "package-lock.json")]


def test_an_image_without_a_lock_file_has_no_lock_rows(tmp_path):
    assert versions_table.package_lock_rows("go", tmp_path) == []
    assert versions_table.requirements_rows("go", tmp_path) == []


def test_a_generated_readme_agrees_with_the_pins(family, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(readme_for(family))
    assert versions_table.check_readme(readme, family) == []
    assert "Built on base" in readme.read_text()


def test_a_stale_version_names_the_row_and_its_line(family, tmp_path):
    """The failure says which README row disagrees, on which line, and which pin is right."""
    readme = tmp_path / "README.md"
    text = readme_for(family).replace("| git | `1:2.47.3` |", "| git | `1:2.47.2` |")
    readme.write_text(text)
    line = text.splitlines().index("| git | `1:2.47.2` | deb | `ARG GIT_VERSION` |") + 1
    problems = versions_table.check_readme(readme, family)
    assert problems[0] == (
        f"README.md:{line}: row 'base | git' (ARG GIT_VERSION) says 1:2.47.2, but "
        f"{family['base'].dockerfile_path}:3 pins 1:2.47.3"
    )
    assert "--write README.md" in problems[-1]


def test_missing_and_extra_rows_are_named(family, tmp_path):
    readme = tmp_path / "README.md"
    text = readme_for(family).replace("| python3 |", "| python3.12 |")
    readme.write_text(text)
    problems = versions_table.check_readme(readme, family)
    assert any("no row 'python | python3' (ARG PYTHON3_VERSION)" in p for p in problems), problems
    assert any("row 'python | python3.12' (ARG PYTHON3_VERSION) matches no pin" in p for p in problems), problems


def test_a_readme_without_markers_or_at_all_says_what_to_add(family, tmp_path):
    readme = tmp_path / "README.md"
    with pytest.raises(versions_table.VersionsTableError, match="does not exist"):
        versions_table.check_readme(readme, family)
    readme.write_text("# Title\n")
    with pytest.raises(versions_table.VersionsTableError, match=r"<!-- versions:start -->.*<!-- versions:end -->"):
        versions_table.check_readme(readme, family)


def test_write_replaces_only_the_section(family, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{versions_table.MARKER_START}\nold\n{versions_table.MARKER_END}\n\n## After\n")
    assert versions_table.write_readme(readme, family) is True
    text = readme.read_text()
    assert text.startswith("# Title\n\n<!-- versions:start -->\n")
    assert text.endswith("<!-- versions:end -->\n\n## After\n")
    assert "old" not in text
    assert versions_table.write_readme(readme, family) is False  # idempotent


def test_command_line_prints_writes_and_checks(family, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"{versions_table.MARKER_START}\n{versions_table.MARKER_END}\n")
    images = ["--images-dir", str(family.root)]
    assert versions_table.main(images) == 0
    assert capsys.readouterr().out == versions_table.render(family)
    assert versions_table.main([*images, "--check", str(readme)]) == 1
    assert "no row 'base | git'" in capsys.readouterr().out
    assert versions_table.main([*images, "--write", str(readme)]) == 0
    assert versions_table.main([*images, "--check", str(readme)]) == 0
