"""The shape of rag/, checked from the source: the families import one another only through their
packages' entry points, no module imports itself back through others, no module outgrows 400 lines,
and the top of rag/ stays small."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

RAG = ROOT / "rag"
FAMILIES = {p.name for p in RAG.iterdir() if (p / "__init__.py").is_file()}
MAX_LINES = 400
MAX_TOP_MODULES = 10


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(RAG.rglob("*.py"))}


def _family(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FAMILIES else None


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    """Every import of `path` that runs (at the top or inside a function), not those for the type
    checker alone; but all of a package's: one that loads its entry points on first use names them
    for the type checker (rag.generation)."""
    found: list[ast.ImportFrom | ast.Import] = []
    package = path.name == "__init__.py"

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child) and not package:
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _targets(node: ast.ImportFrom | ast.Import) -> list[str]:
    """The rag modules an import runs: the module named, or a submodule imported by name."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    assert node.module is not None
    subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
    return subs or ([node.module] if node.module in MODULES else [])


def _graph() -> dict[str, set[str]]:
    return {m: {t for node in _imports(p) for t in _targets(node)} - {m} for m, p in MODULES.items()}


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    cycles: list[list[str]] = []

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == []


def test_families_meet_only_at_their_entry_points() -> None:
    """Another family is imported from its package (`from rag.store import IndexReader`), never from
    one of its modules nor by a private name; a family's own modules import each other directly
    (through their own package they would meet it half initialised)."""
    wrong = []
    for module, path in MODULES.items():
        if module.endswith(tuple(f"rag.{f}" for f in FAMILIES)):
            continue  # a package's __init__ re-exports its modules
        for node in _imports(path):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("rag."):
                continue
            assert node.module is not None
            family, own = _family(node.module), _family(module)
            if family is None:
                continue
            names = [a.name for a in node.names]
            if family != own and (node.module != f"rag.{family}" or any(n.startswith("_") for n in names)):
                wrong.append(f"{module}: from {node.module} import {', '.join(names)}")
            if family == own and node.module == f"rag.{family}":
                wrong.append(
                    f"{module} imports its own package: from {node.module} import {', '.join(names)}"
                )
    assert wrong == []


def test_no_module_over_400_lines() -> None:
    long = {
        m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_top_of_rag_stays_small() -> None:
    top = sorted(p.name for p in RAG.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
