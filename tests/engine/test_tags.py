"""Service tags in snapshot context, and Microsoft's service tags file."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from builders import RG, subnet, vnet

from vnetdoctor import Snapshot, load_snapshot
from vnetdoctor.engine.tags import (
    AddressSet,
    Match,
    TagResolver,
    azure_load_balancer,
    canonical_tag,
    internet,
)
from vnetdoctor.ingest.servicetags import (
    ServiceTagsError,
    load_service_tags,
    parse_service_tags,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import parse_ip

NET = f"{RG}/Microsoft.Network"
VNET_A = f"{NET}/virtualNetworks/a"
VNET_B = f"{NET}/virtualNetworks/b"
SUBNET_A = ResourceId(f"{VNET_A}/subnets/default")
SERVICE_TAGS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "servicetags"
                / "ServiceTags_Public_20251028.json").resolve()


def ip(text: str) -> Any:
    return parse_ip(text)


def nets(expansion: Any) -> set[str]:
    return {str(p) for p in expansion.prefixes}


def peering(name: str, remote: str, state: str = "Connected", access: bool = True,
            **props: Any) -> dict[str, Any]:
    return {"name": name, "properties": {
        "remoteVirtualNetwork": {"id": remote}, "peeringState": state,
        "allowVirtualNetworkAccess": access, **props}}


def load(tmp_path: Path, resources: list[dict[str, Any]]) -> Snapshot:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(resources))
    return load_snapshot(path)


def two_vnets(tmp_path: Path, a_peers: list[dict[str, Any]], b_peers: list[dict[str, Any]],
              *extra: dict[str, Any], **subnet_props: Any) -> Snapshot:
    return load(tmp_path, [
        vnet("a", "10.1.0.0/16", [subnet(VNET_A, "default", "10.1.0.0/24", **subnet_props)],
             virtualNetworkPeerings=a_peers),
        vnet("b", "10.2.0.0/16", [subnet(VNET_B, "default", "10.2.0.0/24")],
             virtualNetworkPeerings=b_peers),
        *extra,
    ])


# ---------------------------------------------------------------------------------------------
# Address sets
# ---------------------------------------------------------------------------------------------
def test_address_set_membership_and_difference() -> None:
    s = AddressSet.of([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("10.1.0.0/16"),
                       ipaddress.ip_network("2001:db8::/32")])
    assert ip("10.200.0.1") in s
    assert ip("11.0.0.0") not in s
    assert ip("2001:db8::5") in s
    holed = s.minus(AddressSet.of([ipaddress.ip_network("10.128.0.0/9")]))
    assert [str(n) for n in holed.networks()] == ["10.0.0.0/9", "2001:db8::/32"]
    assert not AddressSet()
    assert "10.0.0.1" not in s


# ---------------------------------------------------------------------------------------------
# Built-in tags
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("VIRTUAL_NETWORK", "VirtualNetwork"), ("virtualnetwork", "VirtualNetwork"),
    ("AZURE_LOADBALANCER", "AzureLoadBalancer"), ("INTERNET", "Internet"),
    ("Storage.WestEurope", "Storage.WestEurope"),
])
def test_canonical_tag(text: str, expected: str) -> None:
    assert canonical_tag(text) == expected


def test_azure_load_balancer() -> None:
    lb = azure_load_balancer()
    assert nets(lb) == {"168.63.129.16/32", "fe80::1234:5678:9abc/128"}
    assert lb.membership(ip("168.63.129.16")) is Match.YES
    assert lb.membership(ip("168.63.129.17")) is Match.NO
    assert lb.is_complete


@pytest.mark.parametrize(("address", "expected"), [
    ("8.8.8.8", Match.YES), ("100.1.2.3", Match.YES), ("12.11.12.14", Match.YES),
    ("10.0.0.1", Match.NO), ("192.168.1.1", Match.NO), ("100.64.0.1", Match.NO),
    ("224.0.0.5", Match.NO), ("127.0.0.1", Match.NO),
    ("25.1.2.3", Match.MAYBE), ("13.96.0.1", Match.MAYBE), ("2001:db8::1", Match.MAYBE),
])
def test_internet_is_three_valued(address: str, expected: Match) -> None:
    assert internet().membership(ip(address)) is expected


def test_internet_prints_azures_newest_expansion() -> None:
    printed = internet().prefixes
    assert len(printed) == 282
    assert [str(p) for p in printed[:3]] == ["1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/9"]
    assert not internet().is_complete
    assert internet().reasons


# ---------------------------------------------------------------------------------------------
# VirtualNetwork (decision 2)
# ---------------------------------------------------------------------------------------------
def test_virtual_network_own_space_peers_and_host_ip(tmp_path: Path) -> None:
    snap = two_vnets(tmp_path, [peering("a-b", VNET_B)], [peering("b-a", VNET_A)])
    tag = TagResolver(snap).expand("VirtualNetwork", SUBNET_A)
    assert [str(p) for p in tag.prefixes] == ["10.1.0.0/16", "168.63.129.16/32", "10.2.0.0/16"]
    assert tag.is_complete
    assert tag.membership(ip("10.2.3.4")) is Match.YES
    assert tag.membership(ip("10.3.0.1")) is Match.NO
    assert tag.sources_of(ip("10.2.3.4"))[0].origin == "peered virtual network b"


@pytest.mark.parametrize(("a_side", "b_side"), [
    ({"state": "Initiated"}, {}),
    ({}, {"state": "Disconnected"}),
    ({"access": False}, {}),
    ({}, {"access": False}),
])
def test_virtual_network_excludes_unusable_peerings(
        tmp_path: Path, a_side: dict[str, Any], b_side: dict[str, Any]) -> None:
    snap = two_vnets(tmp_path, [peering("a-b", VNET_B, **a_side)],
                     [peering("b-a", VNET_A, **b_side)])
    tag = TagResolver(snap).expand("VirtualNetwork", SUBNET_A)
    assert "10.2.0.0/16" not in nets(tag)
    assert tag.is_complete


def test_a_peer_missing_from_the_snapshot_is_uncertain(tmp_path: Path) -> None:
    snap = load(tmp_path, [vnet("a", "10.1.0.0/16", [subnet(VNET_A, "default", "10.1.0.0/24")],
                                virtualNetworkPeerings=[peering(
                                    "a-b", VNET_B,
                                    remoteAddressSpace={"addressPrefixes": ["10.2.0.0/16"]})])])
    tag = TagResolver(snap).expand("VirtualNetwork", SUBNET_A)
    assert tag.membership(ip("10.2.0.9")) is Match.MAYBE
    assert tag.membership(ip("10.3.0.9")) is Match.NO
    assert "not in the snapshot" in tag.reasons[0]


def gateway(name: str, vnet_id: str, **props: Any) -> dict[str, Any]:
    gid = f"{NET}/virtualNetworkGateways/{name}"
    return {"id": gid, "name": name, "type": "Microsoft.Network/virtualNetworkGateways",
            "properties": {"ipConfigurations": [{
                "id": f"{gid}/ipConfigurations/c", "name": "c",
                "properties": {"subnet": {"id": f"{vnet_id}/subnets/GatewaySubnet"}}}], **props}}


def connection(name: str, gw: str, lng: str, status: str = "Connected",
               **props: Any) -> dict[str, Any]:
    return {"id": f"{NET}/connections/{name}", "name": name,
            "type": "Microsoft.Network/connections",
            "properties": {"connectionType": "IPsec", "connectionStatus": status,
                           "virtualNetworkGateway1": {"id": f"{NET}/virtualNetworkGateways/{gw}"},
                           "localNetworkGateway2": {"id": f"{NET}/localNetworkGateways/{lng}"},
                           **props}}


def local_gateway(name: str, prefix: str) -> dict[str, Any]:
    return {"id": f"{NET}/localNetworkGateways/{name}", "name": name,
            "type": "Microsoft.Network/localNetworkGateways",
            "properties": {"localNetworkAddressSpace": {"addressPrefixes": [prefix]}}}


def test_gateway_prefixes_and_transit(tmp_path: Path) -> None:
    # b is the hub with a VPN gateway to on-premises 192.168.50.0/24; a uses it by transit.
    snap = two_vnets(
        tmp_path,
        [peering("a-b", VNET_B, useRemoteGateways=True)],
        [peering("b-a", VNET_A, allowGatewayTransit=True)],
        gateway("gw", VNET_B), connection("onprem", "gw", "lng"),
        local_gateway("lng", "192.168.50.0/24"))
    tag = TagResolver(snap).expand("VirtualNetwork", SUBNET_A)
    assert "192.168.50.0/24" in nets(tag)
    assert tag.is_complete
    assert "gateway transit through b" in tag.sources_of(ip("192.168.50.1"))[0].origin


def test_gateway_connection_states(tmp_path: Path) -> None:
    def tag_for(*resources: dict[str, Any]) -> Any:
        snap = load(tmp_path, [vnet("a", "10.1.0.0/16", [subnet(VNET_A, "default",
                                                                "10.1.0.0/24")]), *resources])
        return TagResolver(snap).expand("VirtualNetwork", SUBNET_A)

    down = tag_for(gateway("gw", VNET_A), connection("c", "gw", "lng", status="NotConnected"),
                   local_gateway("lng", "192.168.50.0/24"))
    assert down.membership(ip("192.168.50.1")) is Match.NO
    assert down.is_complete
    no_lng = tag_for(gateway("gw", VNET_A), connection("c", "gw", "lng"))
    assert no_lng.membership(ip("192.168.50.1")) is Match.MAYBE
    bgp = tag_for(gateway("gw", VNET_A), connection("c", "gw", "lng", enableBgp=True),
                  local_gateway("lng", "192.168.50.0/24"))
    assert bgp.membership(ip("192.168.50.1")) is Match.YES
    assert bgp.membership(ip("172.30.0.1")) is Match.MAYBE
    assert "BGP" in bgp.reasons[0]


def route_table(*routes: tuple[str, str]) -> dict[str, Any]:
    return {"id": f"{NET}/routeTables/rt", "name": "rt", "type": "Microsoft.Network/routeTables",
            "properties": {"routes": [
                {"name": name, "properties": {"addressPrefix": prefix,
                                              "nextHopType": "VirtualAppliance",
                                              "nextHopIpAddress": "10.1.0.4"}}
                for name, prefix in routes]}}


def test_udr_prefixes_are_in_the_tag_with_the_assumption(tmp_path: Path) -> None:
    rt = {"routeTable": {"id": f"{NET}/routeTables/rt"}}
    snap = two_vnets(tmp_path, [], [], route_table(("default", "0.0.0.0/0"),
                                                   ("storage", "Storage")), **rt)
    tag = TagResolver(snap).expand("VirtualNetwork", SUBNET_A)
    assert tag.membership(ip("8.8.8.8")) is Match.YES  # "might also contain default routes"
    assert tag.sources_of(ip("8.8.8.8"))[0].assumption
    assert any("Storage" in r for r in tag.reasons)  # the tag route needs the file
    tags = parse_service_tags(json.dumps({"values": [
        {"name": "Storage", "properties": {"addressPrefixes": ["20.60.0.0/16"]}}]}))
    with_file = TagResolver(snap, tags).expand("VirtualNetwork", SUBNET_A)
    assert with_file.is_complete
    assert "20.60.0.0/16" in nets(with_file)


def test_a_missing_route_table_makes_the_tag_uncertain(tmp_path: Path) -> None:
    snap = two_vnets(tmp_path, [], [], routeTable={"id": f"{NET}/routeTables/gone"})
    tag = TagResolver(snap).expand("VirtualNetwork", SUBNET_A)
    assert tag.membership(ip("10.1.2.3")) is Match.YES
    assert tag.membership(ip("8.8.8.8")) is Match.MAYBE
    assert "'gone'" in tag.reasons[0]


def test_no_subnet_or_vnet_leaves_only_the_host_ip_certain(tmp_path: Path) -> None:
    snap = load(tmp_path, [])
    for context in (None, SUBNET_A):
        tag = TagResolver(snap).expand("VirtualNetwork", context)
        assert tag.membership(ip("168.63.129.16")) is Match.YES
        assert tag.membership(ip("10.1.0.1")) is Match.MAYBE


# ---------------------------------------------------------------------------------------------
# Other tags and the service tags file
# ---------------------------------------------------------------------------------------------
def test_a_tag_without_a_file_is_unresolved_and_named(tmp_path: Path) -> None:
    tag = TagResolver(load(tmp_path, [])).expand("Sql.WestEurope")
    assert not tag.is_resolved
    assert tag.membership(ip("1.2.3.4")) is Match.MAYBE
    assert "'Sql.WestEurope'" in tag.reasons[0]
    assert "--service-tags" in tag.reasons[0]


def test_parse_service_tags_lookup_is_case_insensitive() -> None:
    tags = parse_service_tags(json.dumps({"changeNumber": 7, "cloud": "Public", "values": [
        {"name": "Storage.WestEurope", "id": "Storage.WestEurope",
         "properties": {"region": "westeurope", "addressPrefixes": ["20.38.0.0/16", "2603::/48"]}},
    ]}), path="t.json")
    assert "storage.westeurope" in tags
    assert len(tags) == 1
    prefixes = tags.prefixes("STORAGE.WestEurope")
    assert prefixes is not None
    assert [str(p) for p in prefixes] == ["20.38.0.0/16", "2603::/48"]
    assert tags.prefixes("Storage") is None
    assert tags.description == "t.json, changeNumber 7"
    tag = TagResolver(Snapshot(), tags).expand("storage.westeurope")
    assert tag.membership(ip("20.38.1.1")) is Match.YES
    assert tag.membership(ip("20.39.1.1")) is Match.NO


@pytest.mark.parametrize(("data", "message"), [
    (b"{nope", "not valid JSON"),
    (b'{"values": 3}', "not a service tags file"),
    (b'[1, 2]', "not a service tags file"),
    (b'{"values": [{"name": "A"}, {"name": "a"}]}', "listed twice"),
])
def test_parse_service_tags_errors(data: bytes, message: str) -> None:
    with pytest.raises(ServiceTagsError, match=message) as info:
        parse_service_tags(data, path="bad.json")
    assert str(info.value).startswith("bad.json")
    assert "\n" not in str(info.value)


def test_a_bad_prefix_is_reported_when_the_tag_is_used() -> None:
    tags = parse_service_tags(b'{"values": [{"name": "X", "properties": '
                              b'{"addressPrefixes": ["1.2.3.0/24", "nope"]}}]}', path="x.json")
    with pytest.raises(ServiceTagsError, match=r"x\.json.*addressPrefixes\[1\].*'X'"):
        tags.prefixes("X")


def test_load_service_tags_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ServiceTagsError, match=r"missing\.json: cannot read"):
        load_service_tags(tmp_path / "missing.json")


def test_the_real_service_tags_file() -> None:
    if not SERVICE_TAGS.is_file():
        pytest.skip(f"service tags file not found at {SERVICE_TAGS} (../shared/fixtures)")
    tags = load_service_tags(SERVICE_TAGS)
    assert tags.change_number == 375
    assert tags.cloud == "Public"
    assert len(tags) == 3039
    regional = tags.prefixes("Storage.WestEurope")
    assert regional
    assert all(p.version in (4, 6) for p in regional)
    resolved = TagResolver(Snapshot(), tags).expand("Storage.WestEurope")
    assert resolved.is_complete
    assert resolved.membership(regional[0].network_address) is Match.YES
    assert not TagResolver(Snapshot(), tags).expand("NoSuchTag").is_resolved
