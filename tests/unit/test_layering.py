"""`events/` and `projections/` do no I/O of their own: they never import the edges."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("service", "starlette", "httpx", "uvicorn", "requests", "av")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["events", "projections"])
def test_the_core_never_imports_the_edges(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        offending = {m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN}
        assert not offending, f"{path.relative_to(ROOT)} imports {sorted(offending)}"
