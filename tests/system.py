"""System programs the tests need (Chromium, Java, Redis, PostgreSQL): Debian's packages,
installed by the test setup where absent, as CI starts from a bare machine."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess


def debian_program(name: str, package: str, pattern: str | None = None) -> str:
    """Path of program `name` (on PATH, or matching the glob `pattern`), installing the Debian
    `package` first when it is absent."""
    def find() -> str | None:
        found = shutil.which(name)
        if found is None and pattern:
            found = next(iter(sorted(glob.glob(pattern), reverse=True)), None)
        return found

    path = find()
    if path is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
                       check=True, env=env, timeout=1800)
        path = find()
    assert path, f"{name} could not be installed from Debian's {package}"
    return path
