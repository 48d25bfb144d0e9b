"""The application core speaks no HTTP: its refusals are domain errors, told by each surface."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_layering import ROOT, imported_modules

CORE = [*sorted((ROOT / "service" / "videos").rglob("*.py")), ROOT / "service/webhooks/fields.py"]
HTTP_SIDE = ("starlette", "service.surfaces", "uvicorn")


@pytest.mark.parametrize("path", CORE, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_core_never_imports_starlette_or_a_surface(path: Path):
    offending = {m for m in imported_modules(path) if m.startswith(HTTP_SIDE)}
    assert not offending, f"{path.relative_to(ROOT)} imports {sorted(offending)}"


def test_importing_the_core_loads_no_http_module_even_indirectly():
    modules = [".".join(path.relative_to(ROOT).with_suffix("").parts) for path in CORE]
    script = (
        f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HTTP_SIDE!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
