"""System programs the tests need (Java, Redis, Chromium, PostgreSQL), found, never installed:
`scripts/install-system-packages` installs them (`make test` runs it before pytest) from the
list in `scripts/system-packages.txt`. A missing program skips its tests locally and fails them
where `CI` is set, so that CI never passes by skipping."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest

LIST = Path(__file__).parents[1] / "scripts" / "system-packages.txt"


def system_packages() -> dict[str, tuple[str, str | None]]:
    """program -> (its Debian package, the glob where Debian puts it when not on PATH)."""
    table = {}
    for line in LIST.read_text().splitlines():
        program, package, *pattern = line.split("#", 1)[0].split() or [None, None]
        if program:
            table[program] = (package, pattern[0] if pattern else None)
    return table


def system_program(name: str) -> str:
    """Path of program `name` of the list (on PATH, or matching its glob); skips the test
    when it is absent, or fails it where the environment variable CI is set."""
    package, pattern = system_packages()[name]
    found = shutil.which(name)
    if found is None and pattern:
        found = next(iter(sorted(glob.glob(pattern), reverse=True)), None)
    if found is None:
        reason = (f"{name} is not installed: run scripts/install-system-packages "
                  f"(Debian package {package})")
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found
