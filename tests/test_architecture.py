"""Imports go one way: adapters -> features -> models -> training / serving, the CLI on top.

An AST walk over every Python file of the tree (and the notebooks' code cells) reads each
import, module-level or inside a function, and checks the rules of docs/architecture.md. The
last test plants one violating import per rule in a scratch tree and sees each rule fire.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = "persona_risk"
PARTS = ("features", "models", "training", "serving")  # the card's folders, one part each
TREES = (*PARTS, PACKAGE, "tests", "bench")

# part -> the parts it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "features": ("models", "training", "serving"),
    "models": ("training", "serving"),
    "training": ("serving",),
    "serving": ("training",),
}  # and nothing of the library imports the CLI
ADAPTERS = "persona_risk.features.adapters"  # vendor formats in; only the CLI drives them
# optional backend -> the only library modules that may import it
BACKENDS: dict[str, tuple[str, ...]] = {
    "pyspark": ("persona_risk.features.spark_engine", "persona_risk.features.spark_read",
                "persona_risk.features.spark_cross", "persona_risk.features.spark_io",
                "persona_risk.serving.spark_batch"),
    "redis": ("persona_risk.serving.redis_store",),
    "psycopg": (),
}


@dataclass(frozen=True)
class Import:
    """One import: the file's module, the module imported, its line, and whether it runs when
    the file is imported (False: inside a function, so only when called). `member`: the target
    came from `from X import name` and is X.name, which may be a module or an attribute of X."""

    module: str
    target: str
    line: int
    at_load: bool
    member: bool = False


def module_name(root: Path, path: Path) -> str:
    """The dotted name a file imports as: `features/geo.py` -> `persona_risk.features.geo`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts] if parts[0] in PARTS else parts)


def imports_of(source: str, module: str, is_package: bool) -> list[Import]:
    """Every import in `source`, relative ones resolved against `module`."""
    found: list[Import] = []

    def visit(node: ast.AST, at_load: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = at_load and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, child.lineno, at_load) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")[: len(module.split(".")) - child.level
                                              + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                found.extend(Import(module, f"{base}.{a.name}", child.lineno, at_load, True)
                             for a in child.names)
            visit(child, inside)

    visit(ast.parse(source), True)
    return found


def notebook_source(path: Path) -> str:
    """The code cells of a notebook, shell and magic lines left out."""
    cells = json.loads(path.read_text())["cells"]
    lines = [line for c in cells if c["cell_type"] == "code"
             for line in "".join(c["source"]).splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def all_imports(root: Path) -> list[Import]:
    """The imports of every Python file under the trees of `root`, and of its notebooks; a
    `from X import name` names module X.name where the tree has it, else X."""
    found, modules = [], set()
    for tree in TREES:
        for path in sorted((root / tree).rglob("*.py")):
            modules.add(module_name(root, path))
            found += imports_of(path.read_text(), module_name(root, path),
                                path.name == "__init__.py")
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        found += imports_of(notebook_source(path), f"notebooks.{path.stem}", False)
    return [dataclasses.replace(i, target=i.target.rsplit(".", 1)[0], member=False)
            if i.member and i.target not in modules else i for i in found]


def part_of(module: str) -> str | None:
    """`features` for persona_risk.features.geo, `cli` for persona_risk.cli.data, else None."""
    names = module.split(".")
    return names[1] if names[0] == PACKAGE and len(names) > 1 else None


def violations(root: Path) -> list[str]:
    """One line per import that breaks a rule of docs/architecture.md."""
    found = all_imports(root)
    backend_modules = {i.module: i.target.split(".")[0] for i in found
                       if i.target.split(".")[0] in BACKENDS}
    out = []
    for i in found:
        where = f"{i.module}:{i.line} imports {i.target}"
        top, part, target_part = i.target.split(".")[0], part_of(i.module), part_of(i.target)
        in_library = i.module.split(".")[0] == PACKAGE
        if top in PARTS:
            out.append(f"{where}: the old top-level name; import persona_risk.{i.target}")
        if part in FORBIDDEN and target_part in FORBIDDEN[part]:
            out.append(f"{where}: {part} must not import {target_part}")
        if (target_part == "cli" and part != "cli"
                and i.module.split(".")[0] in (PACKAGE, "bench")):
            out.append(f"{where}: only entry points and tests use the CLI")
        if (in_library and i.target.startswith(ADAPTERS) and not i.module.startswith(ADAPTERS)
                and part != "cli"):
            out.append(f"{where}: adapters depend on the core, not the reverse")
        if top in BACKENDS and in_library and i.module not in BACKENDS[top]:
            out.append(f"{where}: {top} is optional; import it only in "
                       f"{', '.join(BACKENDS[top]) or 'no library module'}")
        if (in_library and i.at_load and i.target in backend_modules
                and backend_modules.get(i.module) != backend_modules[i.target]):
            out.append(f"{where}: a {backend_modules[i.target]} module; import it inside the "
                       "function that needs it")
    return out


def test_imports_go_one_way():
    assert violations(ROOT) == []


def test_the_walk_sees_the_whole_tree():
    """A check that read nothing would pass: the known imports are found."""
    found = {(i.module, i.target, i.at_load) for i in all_imports(ROOT)}
    assert ("persona_risk.serving.redis_store", "redis", True) in found
    assert ("persona_risk.serving.server", "persona_risk.serving.redis_store", False) in found
    assert ("persona_risk.features.pipeline", "persona_risk.features.schema", True) in found
    assert ("notebooks.01-quickstart", "persona_risk.training.train", True) in found


BAD_TREE = {
    "features/__init__.py": "",
    "features/schema.py": "",
    "features/a.py": "from persona_risk.models.risk_model import RiskModel\n",
    "features/b.py": "from .. import cli\n",
    "features/spark_engine.py": "import pyspark\n",
    "features/c.py": "from persona_risk.features import spark_engine\n",
    "features/d.py": "def lazy():\n    from persona_risk.features.spark_engine import x\n",
    "features/e.py": "from pyspark.sql import functions\n",
    "features/adapters/__init__.py": "from persona_risk.features import schema\n",
    "features/f.py": "from persona_risk.features.adapters import make_source\n",
    "models/__init__.py": "",
    "models/m.py": "import persona_risk.training.fit\n",
    "training/__init__.py": "",
    "training/t.py": "from persona_risk.serving import app\n",
    "serving/__init__.py": "",
    "serving/s.py": "def f():\n    from persona_risk.training.train import run_training\n",
    "serving/r.py": "import redis.asyncio\n",
    "persona_risk/__init__.py": "",
    "persona_risk/cli/__init__.py": "from persona_risk.cli import scoring\n",
    "persona_risk/cli/scoring.py": "from persona_risk.training.train import run_training\n",
    "bench/x.py": "from persona_risk.cli import app\n",
    "tests/test_x.py": "from features.schema import TS\nfrom persona_risk.cli import app\n",
}


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    for name, text in BAD_TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "n.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import models.reasons\n"]}]}))
    return tmp_path


def test_each_rule_fires_on_a_violating_import(bad_tree):
    assert sorted(violations(bad_tree)) == sorted([
        "persona_risk.features.a:1 imports persona_risk.models.risk_model: "
        "features must not import models",
        "persona_risk.features.b:1 imports persona_risk.cli: only entry points and tests use "
        "the CLI",
        "persona_risk.features.e:1 imports pyspark.sql: pyspark is optional; import it "
        "only in persona_risk.features.spark_engine, persona_risk.features.spark_read, "
        "persona_risk.features.spark_cross, persona_risk.features.spark_io, "
        "persona_risk.serving.spark_batch",
        "persona_risk.features.c:1 imports persona_risk.features.spark_engine: "
        "a pyspark module; import it inside the function that needs it",
        "persona_risk.features.f:1 imports persona_risk.features.adapters: "
        "adapters depend on the core, not the reverse",
        "persona_risk.models.m:1 imports persona_risk.training.fit: "
        "models must not import training",
        "persona_risk.training.t:1 imports persona_risk.serving: training must not import serving",
        "persona_risk.serving.s:2 imports persona_risk.training.train: "
        "serving must not import training",
        "persona_risk.serving.r:1 imports redis.asyncio: redis is optional; import it only in "
        "persona_risk.serving.redis_store",
        "bench.x:1 imports persona_risk.cli: only entry points and tests use the CLI",
        "tests.test_x:1 imports features.schema: the old top-level name; "
        "import persona_risk.features.schema",
        "notebooks.n:1 imports models.reasons: the old top-level name; "
        "import persona_risk.models.reasons",
    ])
