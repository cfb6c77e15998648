"""Meta-tests that keep the project honest: public API, layering, README and CI in step."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import vnetdoctor

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "vnetdoctor"


def test_public_api_matches_all() -> None:
    """Every public name resolves, and __all__ lists exactly the lazily exported names."""
    assert set(vnetdoctor.__all__) == set(vnetdoctor._EXPORTS) | {"__version__"}
    for name in vnetdoctor.__all__:
        assert getattr(vnetdoctor, name) is not None
    assert set(vnetdoctor.__all__) <= set(dir(vnetdoctor))


def test_type_checkers_see_the_names_the_table_exports() -> None:
    """The ``if TYPE_CHECKING:`` imports (what mypy and editors see) name the same modules as
    the lazy table (what runs)."""
    tree = ast.parse((SRC / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
        if node.test.id == "TYPE_CHECKING"
    )
    seen = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == vnetdoctor._EXPORTS


def _export_problems() -> dict[str, str]:
    """Each exported name imported with ``from vnetdoctor import NAME`` in a fresh interpreter,
    after every other export (the lazy path, whatever was loaded before): the names that do not
    give the object their table's module defines, and why."""
    script = """
import importlib, json
import vnetdoctor
problems = {}
for name in [n for n in vnetdoctor.__all__ if n != "__version__"]:
    namespace = {}
    try:
        exec(f"from vnetdoctor import {name}", namespace)
    except Exception as exc:
        problems[name] = repr(exc)
        continue
    value = namespace[name]
    expected = getattr(importlib.import_module(vnetdoctor._EXPORTS[name]), name)
    if value is not expected:
        problems[name] = f"gives {value!r}, not {expected!r}"
    elif not getattr(value, "__module__", "vnetdoctor").startswith("vnetdoctor"):
        problems[name] = f"is {value!r}, from outside vnetdoctor"
print(json.dumps(problems))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    problems: dict[str, str] = json.loads(done.stdout)
    return problems


# `vnetdoctor.inventory` is a function and a submodule of the same name: once the submodule is
# imported (by `Inventory`, or the CLI), the package attribute is the module.
_SHADOWED_BY_A_SUBMODULE = {"inventory"}


def test_every_exported_name_imports_in_a_fresh_interpreter() -> None:
    problems = _export_problems()
    assert set(problems) - _SHADOWED_BY_A_SUBMODULE == set(), problems


def test_no_export_is_shadowed_by_a_submodule() -> None:
    assert set(_export_problems()) & _SHADOWED_BY_A_SUBMODULE == set()


def test_the_command_line_starts_without_the_diagnosis() -> None:
    """Registering the commands loads no diagnosis (api, the trace, the runner, the matrix):
    each command imports it when it runs, so ``vnetdoctor --help`` and completion stay fast."""
    heavy = [
        "vnetdoctor.api",
        "vnetdoctor.engine.path",
        "vnetdoctor.engine.nsg",
        "vnetdoctor.runbook.runner",
        "vnetdoctor.analyses.matrix",
        "vnetdoctor.analyses.compose",
    ]
    script = f"import sys, vnetdoctor.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_layers_import_only_inward() -> None:
    """model/ knows nothing else of the package; engine/ only the model; no I/O in either."""
    allowed = {
        "model": ("vnetdoctor.model", "vnetdoctor.errors"),
        "engine": (
            "vnetdoctor.model", "vnetdoctor.engine", "vnetdoctor.errors", "vnetdoctor.codes",
        ),
    }
    io_modules = {"os", "pathlib", "subprocess", "socket", "shutil", "io", "open"}
    for layer, prefixes in allowed.items():
        for path in (SRC / layer).rglob("*.py"):
            for module in _imports(path):
                if module.startswith("vnetdoctor"):
                    assert module.startswith(prefixes), f"{path.name} imports {module}"
                assert module.split(".")[0] not in io_modules, f"{path.name} imports {module}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text().splitlines()
    fence = readme.index("```sh")
    install_and_run, test_command = readme[fence + 1], readme[fence + 2]
    assert "vnetdoctor" in install_and_run
    assert "--sample" in install_and_run
    ci = (REPO / ".ci" / "run").read_text()
    tail = test_command.split("&& ", 2)[-1]  # after creating and activating the venv
    assert tail in ci, f"README test command {tail!r} is not what .ci/run runs"


def test_no_stray_todo_markers_in_src() -> None:
    pattern = re.compile(r"\b(TODO|FIXME|XXX)\b")
    offenders = [p.name for p in SRC.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
