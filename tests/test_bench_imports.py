"""The bench's figures import application code inside their functions (so ``--list`` stays
fast); this reads every such import and checks that the names still exist, so a moved helper
fails here, not in the middle of a bench run."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _imports() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(BENCH.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module.split(".")[0] in ("app", "bench", "config")
            ):
                found += [(path.name, node.module, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize(("file", "module", "name"), _imports())
def test_every_name_the_bench_imports_exists(file, module, name):
    parent = importlib.import_module(module)
    if not hasattr(parent, name):  # a submodule: ``from bench import figures``
        importlib.import_module(f"{module}.{name}")
    assert hasattr(parent, name), f"{file}: from {module} import {name}"
