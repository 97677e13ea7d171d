"""The distribution installs one import name, `persona_risk`, whatever folders the repository
keeps at its top level."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "persona_risk", "features", "models", "training",
           "serving")


@pytest.mark.slow
def test_wheel_installs_only_persona_risk(tmp_path):
    source = tmp_path / "source"  # built from a copy: setuptools leaves build/ in the tree
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("persona_risk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top == {"persona_risk"}
    for part in ("features", "models", "training", "serving"):
        for init in (ROOT / part).rglob("__init__.py"):  # a new subpackage must be listed
            assert f"persona_risk/{init.relative_to(ROOT).as_posix()}" in names
    assert "persona_risk/cli/__init__.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "persona-risk = persona_risk.cli:app" in zipfile.ZipFile(wheel).read(entry).decode()
