"""What a logged model carries so that it runs where this repository is not installed.

MLflow copies `code_paths` into the model and puts them on `sys.path` at load, so the bundle is a
`persona_risk` package holding the subpackages the pyfunc imports. The requirements pin, to the
versions installed here, every distribution the bundled code imports and what those declare
they need, so `mlflow models serve`, `build-docker` and `spark_udf` rebuild the same stack.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import persona_risk

PACKAGE = persona_risk.__name__
ENTRY = f"{PACKAGE}.models.pyfunc"
# The model needs MLflow's pyfunc and scoring server, which mlflow-skinny holds, not the tracking
# server and UI that the full distribution adds (a third of the environment to build).
MLFLOW = ("mlflow", "mlflow-skinny")


def _module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(name)
    return Path(spec.origin)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent is a module, not a package
        return False


def _imports(path: Path) -> set[str]:
    """Absolute module names imported anywhere in a file, functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imported_closure(entry: str = ENTRY) -> tuple[set[str], set[str]]:
    """(our modules reachable from `entry`, top-level names of the other modules they import)."""
    ours, external, todo = set(), set(), [entry]
    while todo:
        name = todo.pop()
        if name in ours:
            continue
        ours.add(name)
        for imported in _imports(_module_file(name)):
            if imported.split(".")[0] != PACKAGE:
                external.add(imported.split(".")[0])
            elif _is_module(imported):  # `from persona_risk.x import name` may name a function
                todo.append(imported)
    return ours, external - set(sys.stdlib_module_names) - {"__future__"}


def _requires(dist: str) -> list[str]:
    """The unconditional runtime requirements of an installed distribution, as names."""
    out = []
    for line in metadata.requires(dist) or []:
        requirement, _, marker = line.partition(";")
        if "extra" not in marker:
            out.append(re.split(r"[\s<>=!~\[(]", requirement.strip(), maxsplit=1)[0])
    return out


@cache
def pinned_requirements() -> tuple[str, ...]:
    """`name==version` for the distributions the bundled code imports and their own
    unconditional requirements (numba via shap, for example), sorted."""
    _, external = imported_closure()
    owners = metadata.packages_distributions()
    wanted = set()
    for top in external:
        if top == MLFLOW[0]:
            wanted.add(MLFLOW[1])
        else:
            for dist in owners.get(top, []):
                wanted.update([dist, *_requires(dist)])
    pins = {metadata.distribution(d).metadata["Name"].lower(): metadata.version(d)
            for d in wanted if _installed(d)}
    return tuple(f"{name}=={version}" for name, version in sorted(pins.items()))


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def write_code_bundle(dest: Path) -> Path:
    """Copy the package's `__init__` and every subpackage holding a module of the pyfunc's
    closure into `dest/persona_risk`; returns that folder (the `code_paths` entry)."""
    ours, _ = imported_closure()
    root = dest / PACKAGE
    root.mkdir(parents=True)
    shutil.copy2(_module_file(PACKAGE), root / "__init__.py")
    parts = {name.split(".")[1] for name in ours if name.count(".") >= 1}
    for part in sorted(parts):
        source = _module_file(f"{PACKAGE}.{part}").parent
        shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root
