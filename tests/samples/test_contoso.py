"""The bundled sample: `inventory --sample` lists every VM as docs/sample.md documents it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vnetdoctor import UsageError, inventory, load_sample
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.samples import sample_names, snapshot_files, write_sample

DOC = Path(__file__).resolve().parents[2] / "docs" / "sample.md"


def doc_table(heading: str) -> list[list[str]]:
    """Rows of the first markdown table after ``heading``."""
    lines = DOC.read_text().splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # header and separator


def _name(value: str | None) -> str:
    return "—" if not value else ResourceId(value).name


@pytest.fixture(scope="module")
def inventory_rows() -> dict[str, Any]:
    data = inventory(load_sample()).to_json()
    return {vm["name"]: vm for vm in data["vms"]}


def test_sample_is_listed() -> None:
    assert "contoso" in sample_names()
    names = [p.name for p in snapshot_files()]
    assert "network.json" in names
    assert "cs-contoso-legacy-sql.xml" in names


def test_every_documented_vm_is_listed_as_documented(inventory_rows: dict[str, Any]) -> None:
    rows = doc_table("## Virtual machines")
    assert len(rows) >= 12
    assert {r[0] for r in rows} == set(inventory_rows)
    for name, _rg, where, private, public, _os, power, nsgs, route_table in rows:
        vm = inventory_rows[name]
        (nic,) = vm["nics"]
        ips = re.findall(r"\d+\.\d+\.\d+\.\d+", private)
        assert nic["privateIPAddresses"] == ips, name
        documented_public = re.match(r"(\d+\.\d+\.\d+\.\d+)", public)
        if documented_public and "lb-web-public" not in public:
            assert nic["publicIPAddresses"] == [documented_public.group(1)], name
        elif "lb-web-public" in public or public == "—":
            assert nic["publicIPAddresses"] == [], name
        if vm["kind"] == "classic":
            assert power.startswith(vm["powerState"]), name
            continue
        assert vm["powerState"] == power, name
        if not nic["found"]:
            assert "not in snapshot" in where
            continue
        vnet, _, subnet = where.partition(" / ")
        assert (_name(nic["vnet"]), _name(nic["subnet"])) == (vnet, subnet), name
        subnet_nsg, _, nic_nsg = nsgs.partition(" / ")
        assert (_name(nic["subnetNsg"]), _name(nic["nsg"])) == (subnet_nsg, nic_nsg), name
        assert _name(nic["routeTable"]) == route_table, name


def test_only_the_documented_dangling_reference_is_warned() -> None:
    snap = load_sample()
    assert [(w.code, ResourceId(w.value or "x").name) for w in snap.warnings] == [
        ("W003", "nic-vm-etl-01")
    ]


def test_classic_vms_merge_arm_and_xml(inventory_rows: dict[str, Any]) -> None:
    snap = load_sample()
    sql = snap.classic_virtual_machines.find("vm-classic-sql")
    assert sql.source == "arm+asm-xml"
    assert str(sql.id).startswith("/subscriptions/")
    mssql = next(e for e in sql.endpoints if e.public_port == 1433)
    assert mssql.acl is not None
    assert [str(r.remote_subnet) for r in mssql.acl] == ["203.0.113.0/24", "198.51.100.16/28"]


def test_sample_out_writes_a_loadable_copy(tmp_path: Path) -> None:
    from vnetdoctor import load_snapshot

    target = write_sample(tmp_path)
    snap = load_snapshot(target)
    assert len(snap.virtual_machines) == len(load_sample().virtual_machines)
    with pytest.raises(UsageError, match="already exists"):
        write_sample(tmp_path)


@pytest.mark.parametrize("name", ["../samples/contoso", "contoso/../contoso", "contoso/guest",
                                  "/etc", "..", ".", "_private", "__pycache__", ""])
def test_only_listed_sample_names_are_accepted(tmp_path: Path, name: str) -> None:
    from vnetdoctor.cli import cli

    with pytest.raises(UsageError, match="no sample named"):
        write_sample(tmp_path / "out", name)
    result = CliRunner().invoke(cli, ["sample", "--name", name, "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, UsageError)
    assert sorted(p.name for p in tmp_path.rglob("*")) == []
