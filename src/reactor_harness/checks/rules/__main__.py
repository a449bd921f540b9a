"""`python -m reactor_harness.checks.rules [IMAGES_DIR]`: print every finding of the project's rules; exit 1 if any."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reactor_harness.checks.rules import check, family_contexts
from reactor_harness.core.errors import HarnessError
from reactor_harness.family.discovery import Family
from reactor_harness.family.policy import load_policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reactor_harness.checks.rules", description=__doc__)
    parser.add_argument("images_dir", nargs="?", type=Path, default=Path("images"), help="default: images")
    arguments = parser.parse_args(argv)
    try:
        contexts = family_contexts(Family.discover(arguments.images_dir), load_policy(arguments.images_dir))
    except HarnessError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    findings = [finding for context in contexts.values() for finding in check(context)]
    sys.stdout.writelines(f"{finding}\n" for finding in findings)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
