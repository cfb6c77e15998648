"""Step 9 judges a gateway connection's status: only NotConnected blocks, Unknown, Connecting and
an absent status are unknown, and one Connected side of a Vnet2Vnet pair shows the tunnel up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vnetdoctor.api import diagnose
from vnetdoctor.codes import Status
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.runbook.runner import Verdict

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = (REPO.parent / "shared" / "fixtures" / "cases").resolve()
VNET2VNET = "connectivitycheck-netfluent-vnet2vnet-2017-11-16-1"


def _codes(d: Any) -> dict[str, Status]:
    return {f.code: f.status for s in d.steps for f in s.findings}


@pytest.mark.fixtures
def test_recorded_vnet2vnet_pair_unknown_and_absent_is_not_blocked() -> None:
    """Azure answered Reachable (probes 100 sent / 0 failed) across connections recorded with
    connectionStatus Unknown and absent: unknown here, never blocked."""
    folder = CASES_DIR / VNET2VNET
    if not folder.is_dir():
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR}")
    case = json.loads((folder / "case.json").read_text())
    assert case["expected"]["connectionStatus"] == "Reachable"
    snap = snapshot_from_json(json.loads((folder / "snapshot.json").read_text()))
    d = diagnose(snap, case["target"]["vm"], case["target"]["destination_vm"], 22)
    codes = _codes(d)
    assert "GATEWAY_CONNECTION_DOWN" not in codes
    assert codes["GATEWAY_CONNECTION_UNKNOWN"] is Status.UNKNOWN
    assert not d.blockers
    assert d.verdict is not Verdict.BLOCKED
    kinds = [h.kind for h in d.path]
    assert "gateway" in kinds


def _rid(kind: str, name: str) -> str:
    return f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/{kind}/{name}"


def _pair(status_ab: str | None, status_ba: str | None) -> list[dict[str, Any]]:
    """VNet a 10.1.0.0/16 and b 10.2.0.0/16, each with a gateway, joined by a Vnet2Vnet pair."""
    out: list[dict[str, Any]] = []
    for n, net in (("a", "10.1"), ("b", "10.2")):
        vid = _rid("virtualNetworks", n)
        out.append({"id": vid, "name": n, "type": "Microsoft.Network/virtualNetworks",
                    "location": "westeurope", "properties": {
                        "addressSpace": {"addressPrefixes": [f"{net}.0.0/16"]},
                        "subnets": [
                            {"id": f"{vid}/subnets/default", "name": "default",
                             "properties": {"addressPrefix": f"{net}.0.0/24"}},
                            {"id": f"{vid}/subnets/GatewaySubnet", "name": "GatewaySubnet",
                             "properties": {"addressPrefix": f"{net}.255.0/27"}}]}})
        out.append({"id": _rid("virtualNetworkGateways", f"gw-{n}"), "name": f"gw-{n}",
                    "type": "Microsoft.Network/virtualNetworkGateways",
                    "location": "westeurope", "properties": {
                        "gatewayType": "Vpn", "vpnType": "RouteBased",
                        "ipConfigurations": [{
                            "id": f"{_rid('virtualNetworkGateways', f'gw-{n}')}/ipConfigurations/c",
                            "name": "c",
                            "properties": {"subnet": {"id": f"{vid}/subnets/GatewaySubnet"}}}]}})
        nid = _rid("networkInterfaces", f"nic-{n}")
        out.append({"id": nid, "name": f"nic-{n}", "type": "Microsoft.Network/networkInterfaces",
                    "location": "westeurope", "properties": {"ipConfigurations": [{
                        "id": f"{nid}/ipConfigurations/ipc", "name": "ipc",
                        "properties": {"privateIPAddress": f"{net}.0.4", "primary": True,
                                       "subnet": {"id": f"{vid}/subnets/default"}}}]}})
    for name, one, two, status in (("ab", "a", "b", status_ab), ("ba", "b", "a", status_ba)):
        props: dict[str, Any] = {
            "connectionType": "Vnet2Vnet",
            "virtualNetworkGateway1": {"id": _rid("virtualNetworkGateways", f"gw-{one}")},
            "virtualNetworkGateway2": {"id": _rid("virtualNetworkGateways", f"gw-{two}")}}
        if status is not None:
            props["connectionStatus"] = status
        out.append({"id": _rid("connections", name), "name": name,
                    "type": "Microsoft.Network/connections", "location": "westeurope",
                    "properties": props})
    return out


@pytest.mark.parametrize(
    ("ab", "ba", "expect"),
    [
        ("Connected", "Connected", None),
        ("Connected", "Unknown", None),  # recorded 2020-11-27: Reachable
        ("Unknown", None, "GATEWAY_CONNECTION_UNKNOWN"),  # recorded 2017-11-16: Reachable
        ("Connecting", "Connecting", "GATEWAY_CONNECTION_UNKNOWN"),
        (None, None, "GATEWAY_CONNECTION_UNKNOWN"),
        ("NotConnected", "Unknown", "GATEWAY_CONNECTION_DOWN"),
        ("NotConnected", "NotConnected", "GATEWAY_CONNECTION_DOWN"),
    ],
)
def test_only_not_connected_blocks(ab: str | None, ba: str | None, expect: str | None) -> None:
    snap = snapshot_from_json(_pair(ab, ba))
    d = diagnose(snap, "nic-a", "nic-b", 22)
    step9 = {f.code: f.status for f in d.steps[8].findings}
    if expect is None:
        assert step9 == {}
        assert d.steps[8].status is Status.PASS
    else:
        assert list(step9) == [expect]
        want = Status.FAIL if expect == "GATEWAY_CONNECTION_DOWN" else Status.UNKNOWN
        assert d.steps[8].status is want
        assert (d.verdict is Verdict.BLOCKED) == (want is Status.FAIL)
