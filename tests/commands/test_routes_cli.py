"""``vnetdoctor next-hop`` and ``vnetdoctor effective-routes``: exit codes, key lines, Azure's
JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import RG, nic, subnet, vm, vnet
from click.testing import CliRunner

from vnetdoctor.cli import cli, main

VNET_ID = f"{RG}/Microsoft.Network/virtualNetworks/vnet1"
RT_ID = f"{RG}/Microsoft.Network/routeTables/rt1"


def _route(name: str, prefix: str, hop: str, ip: str | None = None) -> dict[str, Any]:
    props = {"addressPrefix": prefix, "nextHopType": hop}
    if ip:
        props["nextHopIpAddress"] = ip
    return {"name": name, "properties": props}


def _estate(tmp_path: Path, *extra_routes: dict[str, Any]) -> Path:
    routes = [_route("to-nva", "10.2.0.0/16", "VirtualAppliance", "10.0.1.4"),
              _route("evil-\x1b[31m[bold]", "10.3.0.0/16", "None"), *extra_routes]
    resources = [
        vnet("vnet1", "10.0.0.0/16", subnets=[
            subnet(VNET_ID, "default", "10.0.0.0/24", routeTable={"id": RT_ID}),
            subnet(VNET_ID, "nva", "10.0.1.0/24")]),
        {"id": RT_ID, "name": "rt1", "type": "Microsoft.Network/routeTables",
         "location": "westeurope", "properties": {"routes": routes}},
        nic("nic1", "10.0.0.4"), vm("vm1", nics=["nic1"]),
        nic("nic-nva", "10.0.1.4", f"{VNET_ID}/subnets/nva", enableIPForwarding=True),
        vm("nva", nics=["nic-nva"]),
    ]
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources))
    return path


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return _estate(tmp_path)


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """The same estate with a user route whose prefix is the Storage service tag."""
    return _estate(tmp_path, _route("to-storage", "Storage", "VirtualAppliance", "10.0.1.4"))


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Through ``main``, as the console script runs: errors become one line and an exit code."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def hop_args(snapshot: Path, dest: str, *more: str) -> list[str]:
    return ["next-hop", "-s", str(snapshot), "--vm", "vm1", "--source-ip", "10.0.0.4",
            "--dest-ip", dest, *more]


# -- next-hop ----------------------------------------------------------------------------------
def test_next_hop_json_is_network_watchers_shape(estate: Path) -> None:
    code, out = invoke(*hop_args(estate, "10.2.0.9", "-o", "json"))
    assert code == 0
    assert json.loads(out) == {"nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.1.4",
                               "routeTableId": RT_ID}
    code, out = invoke(*hop_args(estate, "10.0.0.9", "-o", "json"))
    assert (code, json.loads(out)) == (0, {"nextHopType": "VirtualNetwork",
                                           "routeTableId": "System Route"})
    code, out = invoke(*hop_args(estate, "10.9.0.9", "-o", "json", "--query", "nextHopType"))
    assert (code, json.loads(out)) == (0, "None")


def test_next_hop_text_names_the_deciding_route_and_its_evidence(estate: Path) -> None:
    code, out = invoke(*hop_args(estate, "10.2.0.9"))
    assert code == 0
    assert "Next hop type:  VirtualAppliance" in out
    assert "Next hop IP:    10.0.1.4" in out
    assert f"Route table:    {RT_ID}" in out
    assert "Decided by:     User route 'to-nva' 10.2.0.0/16" in out
    assert f"Evidence:       {RT_ID} /properties/routes/0" in out
    assert "nic-nva (IP forwarding enabled)" in out


def test_hostile_route_names_print_inert(estate: Path) -> None:
    code, out = invoke(*hop_args(estate, "10.3.0.9"))
    assert code == 0
    assert "\x1b" not in out
    assert "evil-\\x1b[31m[bold]" in out


def test_next_hop_unknown_exits_3_with_the_reasons(tagged: Path) -> None:
    code, out = invoke(*hop_args(tagged, "20.38.1.1", "-o", "json"))
    assert code == 3
    data = json.loads(out)
    assert data["nextHopType"] == "Unknown"
    assert any("service tag Storage" in r for r in data["reasons"])
    code, out = invoke(*hop_args(tagged, "20.38.1.1"))
    assert code == 3
    assert "UNKNOWN" in out
    # A destination the tag cannot hold (private space) is still answered.
    assert invoke(*hop_args(tagged, "10.0.0.9"))[0] == 0


def test_service_tags_file_resolves_the_route(tagged: Path, tmp_path: Path) -> None:
    pytest.importorskip("vnetdoctor.ingest.servicetags")
    tags = tmp_path / "ServiceTags_Public.json"
    tags.write_text(json.dumps({"changeNumber": 1, "cloud": "Public", "values": [
        {"name": "Storage", "id": "Storage",
         "properties": {"addressPrefixes": ["20.38.0.0/16"]}}]}))
    code, out = invoke(*hop_args(tagged, "20.38.1.1", "--service-tags", str(tags), "-o", "json"))
    assert code == 0
    assert json.loads(out) == {"nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.1.4",
                               "routeTableId": RT_ID}


def test_profiles_change_the_platform_routes(estate: Path) -> None:
    code, out = invoke(*hop_args(estate, "25.4.0.1", "-o", "json"))
    assert (code, json.loads(out)["nextHopType"]) == (0, "None")
    code, out = invoke(*hop_args(estate, "25.4.0.1", "--profile", "documented", "-o", "json"))
    assert (code, json.loads(out)["nextHopType"]) == (0, "Internet")


@pytest.mark.parametrize(("day", "dest", "expect"), [
    ("2020-09-03", "25.41.3.9", "None"),  # azure-2020-07: 25.41.3.0/25 None
    ("2020-07-07", "25.41.3.9", "Internet"),  # azure-2020: not yet
    ("2018-03-12", "25.41.3.9", "Internet"),
    ("2024-08-26", "25.150.0.1", "None"),  # azure-2024
    ("2023-03-01", "25.150.0.1", "Internet"),  # azure-2023
])
def test_as_of_picks_the_profile_of_the_snapshot_date(estate: Path, day: str, dest: str,
                                                      expect: str) -> None:
    code, out = invoke(*hop_args(estate, dest, "--as-of", day, "-o", "json"))
    assert (code, json.loads(out)["nextHopType"]) == (0, expect)


def test_effective_routes_as_of_names_the_profile(estate: Path) -> None:
    code, out = invoke("effective-routes", "-s", str(estate), "--vm", "vm1", "--as-of",
                       "2018-03-05")
    assert code == 0
    assert "profile azure-2018-03)" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--source-ip", "10.0.0.x"], "--source-ip: invalid IP address '10.0.0.x'"),
    (["--dest-ip", "fd00::1"], "not the same IP version"),
    (["--vm", "ghost"], "no virtual machine named 'ghost'"),
    (["--nic", "nic-nva"], "is not attached to VM 'vm1'"),
    (["--profile", "azure-1999"], "unknown route profile 'azure-1999'"),
    (["--as-of", "2020-13-01"], "--as-of: '2020-13-01' is not a date (YYYY-MM-DD)"),
    (["--as-of", "2020-09"], "--as-of: '2020-09' is not a date (YYYY-MM-DD)"),
    (["--as-of", "2020-09-03", "--profile", "documented"], "mutually exclusive"),
])
def test_bad_input_is_one_line_exit_2(estate: Path, capsys: pytest.CaptureFixture[str],
                                      args: list[str], message: str) -> None:
    base = {"--vm": "vm1", "--source-ip": "10.0.0.4", "--dest-ip": "10.0.0.9"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for pair in base.items() for x in pair]
    code, out, err = run_main(capsys, "next-hop", "-s", str(estate), *flat)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_missing_required_flag_is_exit_2(estate: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "next-hop", "-s", str(estate), "--vm", "vm1",
                            "--source-ip", "10.0.0.4")
    assert code == 2
    assert "--dest-ip" in err


# -- effective-routes --------------------------------------------------------------------------
def test_effective_routes_json_is_the_az_cli_shape(estate: Path) -> None:
    code, out = invoke("effective-routes", "-s", str(estate), "--nic", "nic1", "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"value"}
    assert data["value"][0] == {"name": None, "disableBgpRoutePropagation": False,
                                "source": "Default", "state": "Active",
                                "addressPrefix": ["10.0.0.0/16"], "nextHopIpAddress": [],
                                "nextHopType": "VnetLocal"}
    user = [r for r in data["value"] if r["source"] == "User"]
    assert user[0] == {"name": "to-nva", "disableBgpRoutePropagation": False, "source": "User",
                       "state": "Active", "addressPrefix": ["10.2.0.0/16"],
                       "nextHopIpAddress": ["10.0.1.4"], "nextHopType": "VirtualAppliance"}
    assert len(data["value"]) == 23 + 2


def test_effective_routes_by_vm_query_and_profile(estate: Path) -> None:
    code, out = invoke("effective-routes", "-s", str(estate), "--vm", "vm1", "--profile",
                       "azure-2020", "-o", "json", "--query", "value[].addressPrefix[]")
    assert code == 0
    assert json.loads(out) == ["10.0.0.0/16", "0.0.0.0/0", "10.0.0.0/8", "100.64.0.0/10",
                               "192.168.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]


def test_effective_routes_text(estate: Path) -> None:
    code, out = invoke("effective-routes", "-s", str(estate), "--vm", "vm1")
    assert code == 0
    assert "Effective routes of NIC nic1 (subnet default, route table rt1, profile azure-2024)" \
        in out
    assert "VirtualAppliance" in out
    assert "rt1/properties/routes/0" in out
    assert "\x1b" not in out


def test_effective_routes_incomplete_exits_3(tagged: Path) -> None:
    code, out = invoke("effective-routes", "-s", str(tagged), "--vm", "vm1", "-o", "json")
    assert code == 3
    data = json.loads(out)
    assert any("Storage" in p for p in data["problems"])
    assert ["Storage"] in [r["addressPrefix"] for r in data["value"]]


def test_effective_routes_needs_a_nic_or_vm(estate: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "effective-routes", "-s", str(estate))
    assert code == 2
    assert "name a VM (--vm) or a network interface (--nic)" in err


def test_help_has_examples() -> None:
    for name in ("next-hop", "effective-routes"):
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.output
        assert "Exit codes: 0 answered, 3 unknown" in result.output
