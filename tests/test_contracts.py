"""Import contracts: which part of vnetdoctor may import which, checked on the source.

Data flows one way: ingest -> model -> engine -> runbook -> api -> analyses (and the commands on
top). Every import counts, wherever it is written: at module level, inside a function (a lazy
import is still a dependency) or under ``if TYPE_CHECKING:``. A contract that does not hold yet
is marked ``xfail(strict=True)``, so that the day it holds the mark fails and must go.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "vnetdoctor"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> Iterator[str]:
    """Every module ``source`` (the text of ``module``) imports, anywhere in it. For
    ``from a import b`` both ``a`` and ``a.b`` are given (``b`` may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _files(area: str) -> list[Path]:
    """The source files of ``area`` (``engine/path``: the module or the package)."""
    root = PACKAGE / area
    files = sorted(root.rglob("*.py")) if root.is_dir() else []
    if root.with_suffix(".py").is_file():
        files.append(root.with_suffix(".py"))
    assert files, f"no source for {area}"
    return files


def _under(*packages: str) -> Callable[[str], bool]:
    return lambda name: any(name == p or name.startswith(p + ".") for p in packages)


def violations(area: str, forbidden: Callable[[str], bool]) -> list[str]:
    found = []
    for path in _files(area):
        module = _module_name(path)
        for name in imported_modules(path.read_text(), module, path.name == "__init__.py"):
            if forbidden(name):
                found.append(f"{path.relative_to(SRC)} imports {name}")
    return sorted(set(found))


def test_the_scanner_sees_every_kind_of_import() -> None:
    source = '''
from typing import TYPE_CHECKING
import vnetdoctor.api
if TYPE_CHECKING:
    from vnetdoctor.runbook.runner import Diagnosis
def later():
    from vnetdoctor.analyses import compose
    from . import guest
    from ..collect.document import read
'''
    names = set(imported_modules(source, "vnetdoctor.engine.path"))
    assert {
        "vnetdoctor.api",
        "vnetdoctor.runbook.runner",
        "vnetdoctor.analyses.compose",
        "vnetdoctor.engine.guest",
        "vnetdoctor.collect.document",
    } <= names
    assert "vnetdoctor.engine.path.guest" in set(
        imported_modules("from . import guest", "vnetdoctor.engine.path", is_package=True)
    )


def test_ingest_never_imports_collect() -> None:
    assert violations("ingest", _under("vnetdoctor.collect")) == []


def test_engine_never_imports_runbook_api_or_analyses() -> None:
    upward = _under("vnetdoctor.runbook", "vnetdoctor.api", "vnetdoctor.analyses")
    assert violations("engine", upward) == []


def test_engine_path_never_imports_guest_evaluation() -> None:
    assert violations("engine/path", lambda name: name.startswith("vnetdoctor.engine.guest")) == []


def test_runbook_never_imports_api_or_analyses() -> None:
    assert violations("runbook", _under("vnetdoctor.api", "vnetdoctor.analyses")) == []


def test_api_never_imports_analyses() -> None:
    """The analyses are built on ``api.diagnose``, not the other way round."""
    assert violations("api", _under("vnetdoctor.analyses")) == []


def test_model_imports_only_model_errors_and_codes() -> None:
    allowed = _under("vnetdoctor.model", "vnetdoctor.errors", "vnetdoctor.codes")
    outside = violations("model", lambda name: _under("vnetdoctor")(name) and not allowed(name))
    assert outside == []
