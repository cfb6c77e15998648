"""The /32 ``InterfaceEndpoint`` route of a private endpoint in the effective routes of its VNet
and of directly peered VNets, and when a user route replaces it
(docs/semantics/private-endpoints.md#routes)."""

from __future__ import annotations

from typing import Any

from builders import RG, nic, subnet, vm, vnet
from dns_builders import vnet_id

from names.pe_estate import PE_IP, estate
from vnetdoctor.engine.routes import effective_routes
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.snapshot import Snapshot


def endpoint_routes(snap: Snapshot, nic_name: str) -> list[dict[str, Any]]:
    table = effective_routes(snap, snap.network_interfaces.find(nic_name))
    return [r for r in table.to_azure()["value"] if r["nextHopType"] == "InterfaceEndpoint"]


def lonely_vnet() -> list[dict[str, Any]]:
    far = vnet_id("vnet-far")
    return [vnet("vnet-far", "10.9.0.0/16", [subnet(far, "default", "10.9.0.0/24")]),
            nic("nic-far", "10.9.0.4", f"{far}/subnets/default"), vm("vm-far", ["nic-far"])]


def udr_to_firewall(prefix: str) -> list[dict[str, Any]]:
    rt = f"{RG}/Microsoft.Network/routeTables/rt-spoke"
    return [{"id": rt, "name": "rt-spoke", "type": "Microsoft.Network/routeTables",
             "location": "westeurope", "properties": {"routes": [
                 {"id": f"{rt}/routes/to-fw", "name": "to-fw", "properties": {
                     "addressPrefix": prefix, "nextHopType": "VirtualAppliance",
                     "nextHopIpAddress": "10.0.0.100"}}]}}]


def with_spoke_route_table(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in body:
        if item.get("name") == "vnet-spoke":
            item["properties"]["subnets"][0]["properties"]["routeTable"] = {
                "id": f"{RG}/Microsoft.Network/routeTables/rt-spoke"}
    return body


def test_the_peered_spoke_and_the_far_vnet() -> None:
    snap = snapshot_from_json([*estate(), *lonely_vnet()])
    routes = endpoint_routes(snap, "nic-app")
    assert [(r["addressPrefix"], r["source"], r["state"]) for r in routes] == [
        ([f"{PE_IP}/32"], "Default", "Active")]
    assert endpoint_routes(snap, "nic-far") == []  # not peered: no route


def test_the_32_beats_a_default_route_to_a_firewall_while_policies_are_disabled() -> None:
    body = with_spoke_route_table([*estate(), *udr_to_firewall("0.0.0.0/0")])
    snap = snapshot_from_json(body)
    table = effective_routes(snap, snap.network_interfaces.find("nic-app"))
    hop = table.next_hop(PE_IP)
    assert hop.route is not None
    assert hop.route.to_azure()["nextHopType"] == "InterfaceEndpoint"
    assert hop.to_azure()["nextHopType"] == "VirtualNetwork"  # Network Watcher's name (PE-5)
    assert table.next_hop("52.1.2.3").to_azure()["nextHopType"] == "VirtualAppliance"


def test_a_udr_as_long_as_the_vnet_space_replaces_it_when_route_policies_are_on() -> None:
    body = with_spoke_route_table(
        [*estate(policies="RouteTableEnabled"), *udr_to_firewall("10.0.0.0/16")])
    snap = snapshot_from_json(body)
    assert endpoint_routes(snap, "nic-app") == []
    table = effective_routes(snap, snap.network_interfaces.find("nic-app"))
    assert table.next_hop(PE_IP).to_azure()["nextHopType"] == "VirtualAppliance"


def test_a_shorter_udr_does_not_replace_it() -> None:
    body = with_spoke_route_table(
        [*estate(policies="RouteTableEnabled"), *udr_to_firewall("10.0.0.0/8")])
    snap = snapshot_from_json(body)
    assert len(endpoint_routes(snap, "nic-app")) == 1
