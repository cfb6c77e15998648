"""Golden outputs: what the CLI prints for every sample pair and for the sample-wide commands,
byte for byte.

These hold behaviour still while the code is restructured: any change to an answer, a message,
a field order or a pointer shows up here as a diff. When a change of output is intended, rewrite
the files with ``VNETDOCTOR_REGEN_GOLDEN=1 pytest tests/golden`` and review the diff."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sample_pairs import PAIRS, Pair

import vnetdoctor.samples
from vnetdoctor import load_sample
from vnetdoctor.cli import cli
from vnetdoctor.errors import VnetDoctorError

OUTPUTS = Path(__file__).resolve().parent / "outputs"
REGEN = os.environ.get("VNETDOCTOR_REGEN_GOLDEN") == "1"


SAMPLES = "<samples>"


@pytest.fixture(autouse=True, scope="module")
def _samples_at_a_fixed_place() -> Iterator[None]:
    """The outputs name sample files by absolute path: the bundle is reached through a link whose
    path has the same length wherever the checkout lives (so text wraps alike), and that path is
    written as ``<samples>``."""
    real = vnetdoctor.samples._root()
    link = Path(tempfile.mkdtemp(prefix="vnd", dir="/tmp")) / "s"
    link.symlink_to(real, target_is_directory=True)
    saved = vnetdoctor.samples._root
    vnetdoctor.samples._root = lambda: link  # type: ignore[assignment]
    _LINK["path"] = str(link)
    try:
        yield
    finally:
        vnetdoctor.samples._root = saved  # type: ignore[assignment]
        link.unlink()
        link.parent.rmdir()


_LINK = {"path": "\0"}


def _run(args: list[str]) -> tuple[int, str]:
    """The command in-process; a tool error is recorded as the one line and exit code that
    ``vnetdoctor`` would print, anything else fails the test."""
    result = CliRunner().invoke(cli, args)
    if isinstance(result.exception, VnetDoctorError):
        return result.exception.exit_code, f"{result.stdout}vnetdoctor: error: {result.exception}\n"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def _check(name: str, args: list[str]) -> None:
    code, out = _run(args)
    text = f"$ vnetdoctor {' '.join(args)}\n# exit {code}\n{out}".replace(_LINK["path"], SAMPLES)
    path = OUTPUTS / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} missing: regenerate with VNETDOCTOR_REGEN_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden output"


def _pair_args(pair: Pair) -> list[str]:
    args = ["diagnose", "--sample", "--from", pair.source, "--to", pair.destination]
    args += ["--port", str(pair.port), "--protocol", pair.protocol]
    for vm, rel in pair.guest:
        args += ["--guest", f"{vm}={rel}"]
    if pair.concurrent is not None:
        args += ["--concurrent", str(pair.concurrent)]
    return args


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"pair{p.number}")
def test_diagnose_json(pair: Pair) -> None:
    _check(f"diagnose/pair{pair.number:02d}.json", [*_pair_args(pair), "-o", "json"])


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"pair{p.number}")
def test_diagnose_text(pair: Pair) -> None:
    _check(f"diagnose/pair{pair.number:02d}.txt", _pair_args(pair))


SAMPLE_VMS = sorted(vm.name for vm in load_sample().virtual_machines)

COMMANDS: dict[str, list[str]] = {
    "inventory.json": ["inventory", "--sample", "-o", "json"],
    "matrix-5432.json": ["matrix", "--sample", "--port", "5432", "-o", "json"],
    "matrix-22.csv": ["matrix", "--sample", "--port", "22", "-o", "csv"],
    "matrix-443-udp.json": [
        "matrix", "--sample", "--port", "443", "--protocol", "udp", "-o", "json",
    ],
    "matrix-guest.json": [
        "matrix", "--sample", "--port", "5432", "--vms", "vm-*",
        "--guest", "vm-db-02=guest/vm-db-02", "-o", "json",
    ],
}
for _vm in SAMPLE_VMS:
    COMMANDS[f"routes/{_vm}.json"] = ["effective-routes", "--sample", "--vm", _vm, "-o", "json"]
    COMMANDS[f"nsg/{_vm}.json"] = ["effective-nsg", "--sample", "--vm", _vm, "-o", "json"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command(name: str) -> None:
    _check(name, COMMANDS[name])


def test_outputs_are_json_where_named_so() -> None:
    """A golden file that holds a traceback or an error instead of an answer would freeze a bug."""
    for path in sorted(OUTPUTS.rglob("*.json")):
        body = path.read_text(encoding="utf-8").split("\n", 2)[2]
        if not body.startswith("vnetdoctor: error:"):
            json.loads(body)
        assert "INTERNAL_ERROR" not in body, path
