"""Bad input with a real engine: a broken Dockerfile fails one test of its image with the failing step and
the log's error lines, its other tests error with one line, images built on it skip naming the failed
parent, and unrelated images still build."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.reads_images()  # FROM scratch only: the verdict depends on the engine and these files

IMAGES = {
    "broken": "FROM scratch\nCOPY present.txt /\nCOPY missing.txt /\n",
    "child": "ARG BASE_IMAGE=reactor/broken:latest\nFROM ${BASE_IMAGE}\nCOPY present.txt /child.txt\n",
    "good": "FROM scratch\nCOPY present.txt /\n",
}

CHECKS = """
import pytest

@pytest.mark.image("broken", "child", "good")
def test_image_is_built(built_image):
    assert built_image.outcome.succeeded


@pytest.mark.image("broken")
def test_image_again(built_image):
    assert built_image.outcome.succeeded
"""


def test_a_broken_dockerfile_fails_only_what_depends_on_it(engine, pytester, monkeypatch):
    for variable in ("CI", "REACTOR_PLATFORMS", "REACTOR_IMAGES"):  # the outer run's choices are not this suite's
        monkeypatch.delenv(variable, raising=False)
    for name, text in IMAGES.items():
        folder = pytester.path / "images" / name
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(text)
    (pytester.path / "images" / "present.txt").write_text("here\n")
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_subprocess("-p", "no:pytest11.testinfra", "-rsE", "--images", "broken,child,good")
    result.assert_outcomes(passed=1, skipped=1, errors=2)
    # The failed build is reported in full once; its other test errors with one line pointing at that report.
    assert result.stdout.str().count("failing step:") == 1
    result.stdout.fnmatch_lines_random(
        [
            "*broken-linux/* did not build: *",
            "*failing step: *COPY missing.txt /*",
            "*full log: *build-broken-linux-*.log",
            "*SKIPPED*child-linux/*not built because its parent broken for linux/* failed to build*",
            "reactor: 1 more tests errored because broken-linux/* did not build (evidence above)",
            "ERROR test_checks.py::test_image_again*",
        ]
    )
