"""Knowledge of a provider lives behind the provider protocol: no module outside
`service/providers/`, the catalog and the sandbox compares a provider's name."""

from __future__ import annotations

import ast
from pathlib import Path

from service.catalog import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"
OWNERS = ("providers", "catalog", "sandbox")  # where naming a provider is their own business
NAMES = frozenset(PROVIDERS)


def _names_in(node: ast.AST) -> set[str]:
    """Provider names written as string literals in `node` itself, or in a literal
    collection (`{"fal", "luma"}`, `("fal",)`) it holds."""
    if isinstance(node, ast.Constant) and node.value in NAMES:
        return {node.value}
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return {n for element in node.elts for n in _names_in(element)}
    return set()


def by_name(tree: ast.AST) -> list[tuple[int, set[str]]]:
    """(line, names) of every comparison with a provider name and every set of them."""
    found = []
    for node in ast.walk(tree):
        names: set[str] = set()
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                names |= _names_in(operand)
        elif isinstance(node, ast.Set):
            names = _names_in(node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"set", "frozenset"}
        ):
            for argument in node.args:
                names |= _names_in(argument)
        if names:
            found.append((getattr(node, "lineno", 0), names))
    return found


def outside_the_owners() -> list[Path]:
    return [
        path
        for path in sorted(SERVICE.rglob("*.py"))
        if path.relative_to(SERVICE).parts[0] not in OWNERS
    ]


def test_the_scan_sees_what_it_looks_for():
    code = 'a == "fal"\nb in {"luma", "x"}\nc = frozenset({"sora"})\nd not in ("local",)\n'
    found = by_name(ast.parse(code))
    assert {line for line, _ in found} == {1, 2, 3, 4}
    assert set().union(*(names for _, names in found)) == {"fal", "luma", "sora", "local"}
    assert by_name(ast.parse('job.provider == name\nsurface = {"openai"}\n')) == []


def test_no_module_outside_the_providers_compares_a_provider_name():
    assert len(outside_the_owners()) > 50  # the scan covers the service
    offending = [
        f"{path.relative_to(ROOT)}:{line} {sorted(names)}"
        for path in outside_the_owners()
        for line, names in by_name(ast.parse(path.read_text()))
    ]
    assert not offending, "name a capability of the Provider protocol instead:\n" + "\n".join(
        offending
    )
