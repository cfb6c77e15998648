"""The fabric trace does not evaluate guests: nothing under vnetdoctor.engine.path imports the guest
evaluators; it asks a GuestOracle (vnetdoctor.engine.guest.oracle wraps the evidence)."""

from __future__ import annotations

import ast
from pathlib import Path

import vnetdoctor.engine.path as path_package
from vnetdoctor.codes import CODES, Status
from vnetdoctor.engine.path.lb import BLOCKING

PACKAGE = Path(path_package.__file__).resolve().parent


def _imports(tree: ast.AST) -> set[str]:
    """Every module an import statement names, ``from a import b`` counted as ``a`` and ``a.b``
    (``b`` may be a submodule)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _is_guest(module: str) -> bool:
    """engine.guest, its modules (the evidence oracle too), and any engine.guest_* sibling."""
    return module.startswith("vnetdoctor.engine.guest")


def test_the_path_package_imports_no_guest_evaluation() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "tracer.py", "lb.py", "oracle.py"}
    offending = {
        f"{m.relative_to(PACKAGE)}: {name}"
        for m in modules
        for name in _imports(ast.parse(m.read_text(encoding="utf-8")))
        if _is_guest(name)
    }
    assert offending == set()


def test_the_check_sees_a_guest_import() -> None:
    """The check above can fail: each spelling of a guest import is caught."""
    for source in (
        "from vnetdoctor.engine.guest import listener_check",
        "from vnetdoctor.engine.guest_common import GuestVerdict",
        "import vnetdoctor.engine.guest_netfilter",
        "from vnetdoctor.engine import guest",
    ):
        assert any(_is_guest(name) for name in _imports(ast.parse(source))), source


def test_blocking_codes_are_the_catalogue_failures() -> None:
    """A backend's blocker is an issue the catalogue fails by default; what the backend legs
    raise with the catalogue's own status (NSG and admin denies, a closed Standard frontend)
    blocks, an unknown NSG answer does not."""
    assert {"NSG_DENY", "ADMIN_RULE_DENY", "LB_PUBLIC_CLOSED_NO_NSG"} <= BLOCKING
    assert "NSG_UNKNOWN" not in BLOCKING
    assert all(CODES[code].status is Status.FAIL for code in BLOCKING)
