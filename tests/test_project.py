"""Meta-tests that keep the project honest: public API, layering, README and CI in step."""

from __future__ import annotations

import ast
import re
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
