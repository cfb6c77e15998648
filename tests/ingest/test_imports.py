"""The import graph of vnetdoctor.ingest: no circle, no private names across modules, and
nothing from the collector above it.

Every import counts, the ones inside functions too (the lazy ones that keep start-up fast are
still arrows of the graph)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import vnetdoctor.ingest

INGEST = Path(vnetdoctor.ingest.__file__).resolve().parent
PACKAGE = "vnetdoctor.ingest"


def _module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


MODULES = {_module_name(p): p for p in sorted(INGEST.glob("*.py"))}


def _imported(tree: ast.AST) -> Iterator[tuple[str, str | None, ast.AST]]:
    """(module, name imported from it or None, node) for every import in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield node.module, alias.name, node


def _targets(module: str, name: str | None) -> set[str]:
    """The ingest modules an import reaches: ``from vnetdoctor.ingest import arm`` reaches arm."""
    if name is not None and f"{module}.{name}" in MODULES:
        return {f"{module}.{name}"}
    return {module} if module in MODULES else set()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges: set[str] = set()
        for module, imported, _ in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            edges |= _targets(module, imported)
        graph[name] = edges - {name}
    return graph


def _cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One circle of the graph as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_the_known_arrows() -> None:
    graph = _graph()
    assert f"{PACKAGE}.changeset" in graph[f"{PACKAGE}.terraform"]
    assert f"{PACKAGE}.changeset" in graph[f"{PACKAGE}.whatif"]
    assert f"{PACKAGE}.loader" in graph[f"{PACKAGE}.preflight"]
    assert f"{PACKAGE}.classic" in graph[f"{PACKAGE}.loader"]  # a lazy import counts too


def test_ingest_has_no_import_circle() -> None:
    assert _cycle(_graph()) is None


def _private_uses(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()  # local names bound to a vnetdoctor module
    for module, imported, node in _imported(tree):
        if not module.startswith("vnetdoctor"):
            continue
        if imported is not None and imported.startswith("_"):
            yield f"line {node.lineno}: from {module} import {imported}"
        if imported is None:
            assert isinstance(node, ast.Import)
            alias = next(a for a in node.names if a.name == module)
            modules.add(alias.asname or module.split(".")[0])
        elif imported is not None and _targets(module, imported):
            modules.add(imported)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            yield f"line {node.lineno}: {node.value.id}.{node.attr}"


def test_no_private_name_crosses_modules() -> None:
    found = {
        name: uses for name, path in MODULES.items() if (uses := list(_private_uses(path)))
    }
    assert found == {}


def test_ingest_does_not_import_the_collector() -> None:
    """collect/ is built on ingest (it writes what the loader reads), never the other way."""
    found = {
        f"{name}: {module}"
        for name, path in MODULES.items()
        for module, imported, _ in _imported(ast.parse(path.read_text(encoding="utf-8")))
        if module == "vnetdoctor.collect"
        or module.startswith("vnetdoctor.collect.")
        or (module == "vnetdoctor" and imported == "collect")
    }
    assert found == set()
