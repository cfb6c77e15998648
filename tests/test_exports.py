"""Every exported name stays what it is whatever else was imported first: an exported function
never shares its name with a submodule (importing a submodule sets that attribute on the
package, which would replace the function)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import vnetdoctor

SUBMODULES = sorted(m.name for m in pkgutil.iter_modules(vnetdoctor.__path__))


def test_no_exported_name_is_a_submodule() -> None:
    assert sorted(set(vnetdoctor.__all__) & set(SUBMODULES)) == []


@pytest.mark.parametrize("first", ["vnetdoctor.report.inventory", "vnetdoctor.cli",
                                   *(f"vnetdoctor.{name}" for name in SUBMODULES)])
def test_inventory_stays_the_function(first: str) -> None:
    code = (f"import {first}, vnetdoctor, types; "
            "bad = [n for n in vnetdoctor.__all__ "
            "       if isinstance(getattr(vnetdoctor, n), types.ModuleType)]; "
            "assert callable(vnetdoctor.inventory) and not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
