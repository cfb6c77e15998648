"""Instances under their scale set in ``inventory``; instances in intents and matrix globs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmss.estate import VMSS, estate, instance_id
from vnetdoctor.analyses.compose import build_matrix
from vnetdoctor.errors import InputError
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.verify.intents import expand


@pytest.fixture(scope="module")
def snap_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vmss") / "estate.json"
    path.write_text(json.dumps(estate()))
    return path


def _inventory(path: Path, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", "inventory", "-s", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_inventory_json_lists_instances_under_their_set(snap_file: Path) -> None:
    data = json.loads(_inventory(snap_file, "-o", "json"))
    assert set(data) == {"vms", "warnings", "scaleSets"}
    (vmss,) = data["scaleSets"]
    assert vmss["id"] == VMSS
    assert vmss["orchestrationMode"] == "Uniform"
    assert vmss["capacity"] == 4
    rows = [(i["name"], i["instanceId"], i["computerName"], i["powerState"],
             i["latestModelApplied"], i["privateIPAddresses"]) for i in vmss["instances"]]
    assert rows == [
        ("vmss-web_0", "0", "web000000", "running", True, ["10.0.1.4"]),
        ("vmss-web_1", "1", "web000001", "running", True, ["10.0.1.5"]),
        ("vmss-web_2", "2", "web000002", "running", False, ["10.0.1.6"]),
        ("vmss-web_3", "3", "web000003", "deallocated", True, ["10.0.1.7"]),
    ]
    by_name = {v["name"]: v for v in data["vms"]}
    assert by_name["vmss-web_2"]["scaleSet"] == VMSS
    assert by_name["vmss-web_2"]["instanceId"] == "2"
    assert "scaleSet" not in by_name["vm-jump"]  # plain VMs keep their shape


def test_inventory_text_has_a_scale_set_table(snap_file: Path) -> None:
    out = _inventory(snap_file)
    assert "1 scale set(s)" in out
    table = out[out.index("1 scale set(s)"):]
    assert table.index("vmss-web (Uniform, capacity 4)") < table.index("vmss-web_0")
    assert "behind" in table


def test_intents_and_globs_select_instances() -> None:
    snap = snapshot_from_json(estate())
    assert expand(snap, "vmss-web/2") == ["vmss-web/2"]
    assert expand(snap, "vmss-web_*") == [instance_id(n) for n in range(4)]
    with pytest.raises(InputError):
        expand(snap, "vmss-web/x")


def test_matrix_groups_instances_and_takes_their_names() -> None:
    snap = snapshot_from_json(estate())
    matrix = build_matrix(snap, 22, vms="vmss-web_*")
    assert sorted(matrix.vms) == [f"vmss-web_{n}" for n in range(4)]
    assert matrix.cell("vmss-web_0", "vmss-web_2").verdict == "blocked"
    assert matrix.cell("vmss-web_2", "vmss-web_0").verdict == "inconclusive"
