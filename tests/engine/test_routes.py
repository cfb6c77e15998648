"""Effective routes and next hop: each rule of azure-semantics.md §2-3, on small ARM estates."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence
from typing import Any

import pytest

from vnetdoctor.engine.routes import (
    DEFAULT_PROFILE,
    SYSTEM_ROUTE,
    EffectiveNextHopType,
    EffectiveRouteTable,
    NextHop,
    NextHopStatus,
    RouteKind,
    RouteProfile,
    RouteSource,
    RouteState,
    WatcherNextHopType,
    effective_routes,
    next_hop,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.net import IPNetwork
from vnetdoctor.model.snapshot import Snapshot

SUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers"
NET = f"{SUB}/Microsoft.Network"


# -- ARM builders (the shapes Azure returns, trimmed) ------------------------------------------
def vnet(name: str, *prefixes: str, subnets: Sequence[dict[str, Any]] = (),
         peerings: Sequence[dict[str, Any]] = (), location: str = "westeurope") -> dict[str, Any]:
    vid = f"{NET}/virtualNetworks/{name}"
    subs = list(subnets) or [subnet(name, "default", prefixes[0])]
    return {"id": vid, "name": name, "type": "Microsoft.Network/virtualNetworks",
            "location": location,
            "properties": {"addressSpace": {"addressPrefixes": list(prefixes)}, "subnets": subs,
                           "virtualNetworkPeerings": list(peerings)}}


def subnet(vnet_name: str, name: str, prefix: str, *, route_table: str | None = None,
           endpoints: Sequence[tuple[str, Sequence[str]]] = ()) -> dict[str, Any]:
    props: dict[str, Any] = {"addressPrefix": prefix}
    if route_table:
        props["routeTable"] = {"id": f"{NET}/routeTables/{route_table}"}
    if endpoints:
        props["serviceEndpoints"] = [{"service": s, "locations": list(locs)}
                                     for s, locs in endpoints]
    return {"id": f"{NET}/virtualNetworks/{vnet_name}/subnets/{name}", "name": name,
            "properties": props}


def peering(local: str, remote: str, *, state: str = "Connected", access: bool = True,
            use_remote_gateways: bool = False, allow_gateway_transit: bool = False,
            remote_space: Sequence[str] = ()) -> dict[str, Any]:
    props: dict[str, Any] = {
        "remoteVirtualNetwork": {"id": f"{NET}/virtualNetworks/{remote}"},
        "peeringState": state, "allowVirtualNetworkAccess": access,
        "useRemoteGateways": use_remote_gateways, "allowGatewayTransit": allow_gateway_transit}
    if remote_space:
        props["remoteAddressSpace"] = {"addressPrefixes": list(remote_space)}
    return {"id": f"{NET}/virtualNetworks/{local}/virtualNetworkPeerings/{local}-to-{remote}",
            "name": f"{local}-to-{remote}", "properties": props}


def route(name: str, prefix: str, hop: str, ip: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"addressPrefix": prefix, "nextHopType": hop}
    if ip is not None:
        props["nextHopIpAddress"] = ip
    return {"name": name, "properties": props}


def route_table(name: str, *routes: dict[str, Any], disable_bgp: bool = False) -> dict[str, Any]:
    return {"id": f"{NET}/routeTables/{name}", "name": name,
            "type": "Microsoft.Network/routeTables", "location": "westeurope",
            "properties": {"routes": list(routes), "disableBgpRoutePropagation": disable_bgp}}


def nic(name: str, ip: str, vnet_name: str, subnet_name: str = "default", *,
        forwarding: bool = False) -> dict[str, Any]:
    nid = f"{NET}/networkInterfaces/{name}"
    return {"id": nid, "name": name, "type": "Microsoft.Network/networkInterfaces",
            "location": "westeurope",
            "properties": {"enableIPForwarding": forwarding, "ipConfigurations": [{
                "id": f"{nid}/ipConfigurations/ipconfig1", "name": "ipconfig1",
                "properties": {"privateIPAddress": ip, "primary": True, "subnet": {
                    "id": f"{NET}/virtualNetworks/{vnet_name}/subnets/{subnet_name}"}}}]}}


def gateway(name: str, vnet_name: str, bgp_ip: str = "10.0.255.254") -> dict[str, Any]:
    return {"id": f"{NET}/virtualNetworkGateways/{name}", "name": name,
            "type": "Microsoft.Network/virtualNetworkGateways", "location": "westeurope",
            "properties": {"gatewayType": "Vpn", "vpnType": "RouteBased",
                           "bgpSettings": {"asn": 65515, "bgpPeeringAddress": bgp_ip},
                           "ipConfigurations": [{
                               "id": f"{NET}/virtualNetworkGateways/{name}/ipConfigurations/c0",
                               "name": "c0", "properties": {"subnet": {
                                   "id": f"{NET}/virtualNetworks/{vnet_name}/subnets/"
                                         "GatewaySubnet"}}}]}}


def local_gateway(name: str, *prefixes: str) -> dict[str, Any]:
    return {"id": f"{NET}/localNetworkGateways/{name}", "name": name,
            "type": "Microsoft.Network/localNetworkGateways", "location": "westeurope",
            "properties": {"gatewayIpAddress": "203.0.113.1",
                           "localNetworkAddressSpace": {"addressPrefixes": list(prefixes)}}}


def connection(name: str, gw: str, lng: str | None = None, *, status: str = "Connected",
               kind: str = "IPsec", bgp: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"connectionType": kind, "connectionStatus": status,
                             "enableBgp": bgp,
                             "virtualNetworkGateway1": {"id": f"{NET}/virtualNetworkGateways/{gw}"}}
    if lng:
        props["localNetworkGateway2"] = {"id": f"{NET}/localNetworkGateways/{lng}"}
    return {"id": f"{NET}/connections/{name}", "name": name,
            "type": "Microsoft.Network/connections", "location": "westeurope",
            "properties": props}


class Tags:
    """A service tags file in memory (the engine only needs ``prefixes``)."""

    def __init__(self, **tags: Sequence[str]) -> None:
        self._tags = {k.replace("_", ".").casefold(): tuple(ipaddress.ip_network(p) for p in v)
                      for k, v in tags.items()}

    def prefixes(self, name: str) -> tuple[IPNetwork, ...] | None:
        return self._tags.get(name.casefold())


def estate(*resources: dict[str, Any]) -> Snapshot:
    return snapshot_from_json(list(resources))


def hub(*routes: dict[str, Any], disable_bgp: bool = False,
        extra: Sequence[dict[str, Any]] = ()) -> Snapshot:
    """VNet hub 10.0.0.0/16, subnet default with route table rt, NIC nic1 10.0.0.4."""
    resources = [vnet("hub", "10.0.0.0/16",
                      subnets=[subnet("hub", "default", "10.0.0.0/24", route_table="rt")]),
                 nic("nic1", "10.0.0.4", "hub"),
                 route_table("rt", *routes, disable_bgp=disable_bgp), *extra]
    return estate(*resources)


def hop(snap: Snapshot, dest: str, nic_name: str = "nic1", source: str = "10.0.0.4",
        **kwargs: Any) -> NextHop:
    return next_hop(snap, snap.network_interfaces.find(nic_name), source, dest, **kwargs)


def table(snap: Snapshot, nic_name: str = "nic1", **kwargs: Any) -> EffectiveRouteTable:
    return effective_routes(snap, snap.network_interfaces.find(nic_name), **kwargs)


def rows(t: EffectiveRouteTable) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    return [(r.source.value, r.state.value, tuple(r.prefix_texts),
             r.next_hop_type.value if r.next_hop_type else None) for r in t.routes]


def answer(h: NextHop) -> tuple[str | None, str | None, str | None]:
    d = h.to_azure()
    return d["nextHopType"], d.get("nextHopIpAddress"), d.get("routeTableId")


RT = f"{NET}/routeTables/rt"


# -- system routes -----------------------------------------------------------------------------
def test_system_routes_of_the_default_profile_in_azures_order() -> None:
    t = table(estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v")))
    assert DEFAULT_PROFILE is RouteProfile.AZURE_2024
    listed = rows(t)
    assert listed[0] == ("Default", "Active", ("10.0.0.0/16",), "VnetLocal")
    assert listed[1] == ("Default", "Active", ("0.0.0.0/0",), "Internet")
    assert [r[2][0] for r in listed[2:6]] == ["10.0.0.0/8", "127.0.0.0/8", "100.64.0.0/10",
                                              "172.16.0.0/12"]
    assert len(listed) == 23
    assert t.is_complete
    assert t.to_azure()["value"][0] == {
        "name": None, "disableBgpRoutePropagation": False, "source": "Default",
        "state": "Active", "addressPrefix": ["10.0.0.0/16"], "nextHopIpAddress": [],
        "nextHopType": "VnetLocal"}


@pytest.mark.parametrize(("profile", "count", "has_172", "has_25_8"), [
    (RouteProfile.AZURE_2016, 7, True, True),
    (RouteProfile.AZURE_2017, 6, True, False),
    (RouteProfile.DOCUMENTED, 6, True, False),
    (RouteProfile.AZURE_2018, 20, True, False),
    (RouteProfile.AZURE_2018_03, 7, True, False),
    (RouteProfile.AZURE_2020, 5, False, False),
    (RouteProfile.AZURE_2020_07, 7, False, False),
    (RouteProfile.AZURE_2021, 17, False, False),
    (RouteProfile.AZURE_2023, 18, True, False),
    (RouteProfile.AZURE_2024, 23, True, False),
])
def test_profiles_differ_as_recorded(profile: RouteProfile, count: int, has_172: bool,
                                     has_25_8: bool) -> None:
    t = table(estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v")), profile=profile)
    prefixes = {r.prefix_texts[0] for r in t.routes}
    assert len(t.routes) == count
    assert ("172.16.0.0/12" in prefixes) is has_172
    assert ("25.0.0.0/8" in prefixes) is has_25_8
    assert RouteProfile.parse(str(profile)) is profile
    assert profile.spec.observed  # every profile says when Azure answered with it
    # ... and names the recorded cases that show it, but for two sets no case here holds
    assert set(profile.spec.observed_in) or profile in (RouteProfile.AZURE_2018_03,
                                                        RouteProfile.AZURE_2020_07)


def test_the_two_sets_without_a_case() -> None:
    snap = estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v"))
    assert [r.prefix_texts[0] for r in table(snap, profile=RouteProfile.AZURE_2018_03).routes] \
        == ["10.0.0.0/16", "0.0.0.0/0", "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12",
            "192.168.0.0/16", "::/0"]
    late = [r.prefix_texts[0] for r in table(snap, profile=RouteProfile.AZURE_2020_07).routes]
    early = [r.prefix_texts[0] for r in table(snap, profile=RouteProfile.AZURE_2020).routes]
    assert late == [*early, "25.33.80.0/20", "25.41.3.0/25"]
    assert answer(hop(snap, "25.41.3.127", profile=RouteProfile.AZURE_2020_07))[0] == "None"
    assert answer(hop(snap, "25.41.3.128", profile=RouteProfile.AZURE_2020_07))[0] == "Internet"


@pytest.mark.parametrize(("day", "profile"), [
    ("2015-06-01", RouteProfile.AZURE_2016),
    ("2016-08-03", RouteProfile.AZURE_2016),
    ("2017-05-24", RouteProfile.AZURE_2017),
    ("2017-09-01", RouteProfile.DOCUMENTED),
    ("2018-03-01", RouteProfile.AZURE_2018_03),
    ("2018-03-20", RouteProfile.AZURE_2018_03),
    ("2018-03-21", RouteProfile.AZURE_2018),
    ("2018-08-18", RouteProfile.DOCUMENTED),
    ("2019-03-31", RouteProfile.DOCUMENTED),
    ("2019-04-01", RouteProfile.AZURE_2020),
    ("2020-07-13", RouteProfile.AZURE_2020),
    ("2020-07-14", RouteProfile.AZURE_2020_07),
    ("2021-03-09", RouteProfile.AZURE_2020_07),
    ("2021-03-10", RouteProfile.AZURE_2021),
    ("2023-03-01", RouteProfile.AZURE_2023),
    ("2026-01-01", RouteProfile.AZURE_2024),
])
def test_as_of_picks_the_period(day: str, profile: RouteProfile) -> None:
    assert RouteProfile.as_of(day) is profile


@pytest.mark.parametrize("day", ["2020-02-30", "yesterday", "2020-9-3", ""])
def test_as_of_rejects_what_is_not_a_date(day: str) -> None:
    with pytest.raises(UsageError, match="--as-of"):
        RouteProfile.as_of(day)


def test_profile_names_and_errors() -> None:
    assert RouteProfile.parse("AZURE_2018") is RouteProfile.AZURE_2018
    with pytest.raises(UsageError, match="known profiles: azure-2024"):
        RouteProfile.parse("azure-1999")


def test_ipv6_defaults_only_in_2018_or_for_a_dual_stack_vnet() -> None:
    snap = estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v"))
    assert any(r.prefix_texts == ["::/0"] for r in table(snap, profile=RouteProfile.AZURE_2018)
               .routes)
    assert not any(r.prefix_texts == ["::/0"] for r in table(snap).routes)
    dual = estate(vnet("v", "10.0.0.0/16", "fd00:db8::/48",
                       subnets=[subnet("v", "default", "10.0.0.0/24")]),
                  nic("nic1", "10.0.0.4", "v"))
    assert ("Default", "Active", ("::/0",), "Internet") in rows(table(dual))
    assert answer(hop(dual, "2001:db8::1", source="fd00:db8::4")) == (
        "Internet", None, SYSTEM_ROUTE)
    assert answer(hop(dual, "fd00:db8::9", source="fd00:db8::4")) == (
        "VirtualNetwork", None, SYSTEM_ROUTE)


@pytest.mark.parametrize(("space", "kept_none"), [
    ("10.1.0.0/16", True),  # inside 10/8: a more specific VNet route, 10/8 stays (§2.1 literal)
    ("10.0.0.0/8", False),  # equal: the None route becomes the VNet route
    ("10.0.0.0/7", False),  # includes 10/8: the None route is removed
])
def test_reserved_prefixes_give_way_to_the_vnet(space: str, kept_none: bool) -> None:
    snap = estate(vnet("v", space, subnets=[subnet("v", "default", "10.1.0.0/24")]),
                  nic("nic1", "10.1.0.4", "v"))
    listed = rows(table(snap))
    assert (("Default", "Active", ("10.0.0.0/8",), "None") in listed) is kept_none
    assert answer(hop(snap, "10.200.0.1", source="10.1.0.4"))[0] == (
        "None" if kept_none else "VirtualNetwork")


def test_internet_none_and_vnet_answers() -> None:
    snap = estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v"))
    assert answer(hop(snap, "10.0.0.6")) == ("VirtualNetwork", None, SYSTEM_ROUTE)
    assert answer(hop(snap, "8.8.8.8")) == ("Internet", None, SYSTEM_ROUTE)
    assert answer(hop(snap, "10.9.0.1")) == ("None", None, SYSTEM_ROUTE)
    assert answer(hop(snap, "25.4.1.1")) == ("None", None, SYSTEM_ROUTE)
    assert answer(hop(snap, "25.4.1.1", profile=RouteProfile.DOCUMENTED))[0] == "Internet"
    assert answer(hop(snap, "10.0.0.6", profile=RouteProfile.AZURE_2017))[0] == "VnetLocal"


# -- user routes -------------------------------------------------------------------------------
def test_longest_prefix_then_user_over_system() -> None:
    snap = hub(route("all-to-nva", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"),
               route("vnet-to-nva", "10.0.0.0/16", "VirtualAppliance", "10.0.1.4"),
               route("local", "10.0.0.0/24", "VnetLocal"),
               extra=[nic("nva", "10.0.1.4", "hub", forwarding=True)])
    t = table(snap)
    assert ("Default", "Invalid", ("0.0.0.0/0",), "Internet") in rows(t)
    assert ("Default", "Invalid", ("10.0.0.0/16",), "VnetLocal") in rows(t)
    assert answer(hop(snap, "8.8.8.8")) == ("VirtualAppliance", "10.0.1.4", RT)
    assert answer(hop(snap, "10.0.5.5")) == ("VirtualAppliance", "10.0.1.4", RT)
    assert answer(hop(snap, "10.0.0.9")) == ("VirtualNetwork", None, RT)
    decided = hop(snap, "10.0.5.5")
    assert decided.resource_id == RT
    assert decided.pointer == "/properties/routes/1"
    assert decided.matched_prefix == ipaddress.ip_network("10.0.0.0/16")
    assert any("nva (IP forwarding enabled)" in n for n in decided.notes)
    # The documented 10/8 None route still beats the user 0/0 route for other 10.x addresses.
    assert answer(hop(snap, "10.9.9.9")) == ("None", None, SYSTEM_ROUTE)


def test_user_none_internet_and_gateway_types() -> None:
    snap = hub(route("drop", "8.8.8.0/24", "None"), route("out", "10.50.0.0/16", "Internet"),
               route("to-gw", "10.60.0.0/16", "VirtualNetworkGateway"))
    assert answer(hop(snap, "8.8.8.8")) == ("None", None, RT)
    assert answer(hop(snap, "10.50.0.1")) == ("Internet", None, RT)
    gw = hop(snap, "10.60.0.1")
    assert answer(gw) == ("VirtualNetworkGateway", None, RT)
    assert any("no virtual network gateway" in n for n in gw.notes)


def test_appliance_without_direct_connectivity_answers_none_echoing_ip_and_table() -> None:
    snap = hub(route("r", "10.1.3.0/24", "VirtualAppliance", "10.9.1.2"))
    h = hop(snap, "10.1.3.6")
    assert answer(h) == ("None", "10.9.1.2", RT)
    assert h.route is not None
    assert h.route.appliance_reachable is False
    assert any("decision 8" in n for n in h.notes)
    # The route stays Active in the effective route table: it still decides.
    assert ("User", "Active", ("10.1.3.0/24",), "VirtualAppliance") in rows(table(snap))


def test_appliance_in_a_peered_vnet() -> None:
    def with_peering(access: bool) -> Snapshot:
        return estate(
            vnet("hub", "10.0.0.0/16", peerings=[peering("hub", "fw", access=access)],
                 subnets=[subnet("hub", "default", "10.0.0.0/24", route_table="rt")]),
            vnet("fw", "10.9.0.0/16", peerings=[peering("fw", "hub")]),
            nic("nic1", "10.0.0.4", "hub"),
            route_table("rt", route("r", "10.1.0.0/16", "VirtualAppliance", "10.9.1.2")))

    assert answer(hop(with_peering(True), "10.1.3.6")) == ("VirtualAppliance", "10.9.1.2", RT)
    blocked = hop(with_peering(False), "10.1.3.6")
    assert blocked.status is NextHopStatus.UNKNOWN
    assert any("allowVirtualNetworkAccess false" in r for r in blocked.reasons)


def test_routes_azure_rejects_make_the_lookups_they_decide_unknown() -> None:
    snap = hub(route("a", "10.8.0.0/16", "VirtualAppliance"),
               route("b", "10.7.0.0/16", "None"), route("c", "10.7.0.0/16", "Internet"))
    no_ip = hop(snap, "10.8.0.1")
    assert no_ip.is_unknown
    assert answer(no_ip) == ("Unknown", None, None)
    assert any("needs a next hop IP address" in r for r in no_ip.reasons)
    duplicate = hop(snap, "10.7.0.1")
    assert duplicate.is_unknown
    assert any("appears in several routes" in r for r in duplicate.reasons)
    # A lookup the broken routes cannot decide is still answered.
    assert answer(hop(snap, "8.8.8.8")) == ("Internet", None, SYSTEM_ROUTE)
    assert not table(snap).is_complete


def test_unreadable_route_fields_are_unknown_not_skipped() -> None:
    snap = hub(route("bad-prefix", "10.300.0.0/16", "None"),
               route("bad-hop", "10.5.0.0/16", "Teleport"))
    assert snap.warnings
    h = hop(snap, "8.8.8.8")
    assert h.is_unknown  # a route whose prefix is unreadable could decide anything
    assert any("bad-prefix" in r for r in h.reasons)
    assert any("bad-hop" in r for r in hop(snap, "10.5.0.1").reasons)


def test_route_table_missing_from_the_snapshot() -> None:
    snap = estate(vnet("v", "10.0.0.0/16",
                       subnets=[subnet("v", "default", "10.0.0.0/24", route_table="gone")]),
                  nic("nic1", "10.0.0.4", "v"))
    h = hop(snap, "10.0.0.9")
    assert h.is_unknown
    assert any("routeTables/gone" in r and "not in the snapshot" in r for r in h.reasons)
    assert h.route is not None
    assert h.route.kind is RouteKind.VIRTUAL_NETWORK


def test_subnet_missing_from_the_snapshot() -> None:
    snap = estate(nic("nic1", "10.0.0.4", "absent"))
    t = table(snap)
    assert t.routes == ()
    assert t.problems
    assert "not in the snapshot" in t.problems[0]
    h = hop(snap, "10.0.0.9")
    assert h.is_unknown
    assert h.reasons == t.problems


def test_vnet_without_address_space_is_unknown_not_none() -> None:
    body = vnet("v", "10.0.0.0/16")
    del body["properties"]["addressSpace"]
    h = hop(estate(body, nic("nic1", "10.0.0.4", "v")), "10.0.0.9")
    assert h.is_unknown
    assert any("no address space" in r for r in h.reasons)


def test_undocumented_platform_routes_under_a_user_default_route() -> None:
    snap = hub(route("default", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4"))
    undocumented = hop(snap, "25.4.1.1")
    assert undocumented.is_unknown
    assert any("reported to disappear" in r for r in undocumented.reasons)
    assert answer(hop(snap, "10.9.0.1")) == ("None", None, SYSTEM_ROUTE)  # documented 10/8


def test_disable_bgp_route_propagation_is_carried_on_every_route() -> None:
    t = table(hub(route("r", "10.5.0.0/16", "None"), disable_bgp=True))
    assert t.disable_bgp_route_propagation
    assert all(r["disableBgpRoutePropagation"] for r in t.to_azure()["value"])


# -- service tags ------------------------------------------------------------------------------
def test_service_tag_user_route_without_and_with_a_tags_file() -> None:
    snap = hub(route("to-storage", "Storage", "VirtualAppliance", "10.0.1.4"),
               route("exact", "20.60.0.0/16", "Internet"))
    unresolved = hop(snap, "20.38.1.1")
    assert unresolved.is_unknown
    assert any("service tag Storage" in r for r in unresolved.reasons)
    assert answer(hop(snap, "10.0.0.9")) == ("VirtualNetwork", None, SYSTEM_ROUTE)
    assert answer(hop(snap, "172.16.0.1"))[0] == "None"  # tags hold public space only
    t = table(snap)
    assert ("User", "Active", ("Storage",), "VirtualAppliance") in rows(t)
    assert t.to_azure()["problems"]
    tags = Tags(Storage=["20.38.0.0/16", "20.60.0.0/16"])
    assert answer(hop(snap, "20.38.1.1", service_tags=tags)) == (
        "VirtualAppliance", "10.0.1.4", RT)
    # Equal prefixes: an explicit CIDR route beats the service-tag route (§2.3).
    assert answer(hop(snap, "20.60.1.1", service_tags=tags)) == ("Internet", None, RT)


def test_regional_tag_beats_top_level_tag_at_equal_prefix() -> None:
    snap = hub(route("top", "Storage", "None"),
               route("regional", "Storage.WestEurope", "VirtualAppliance", "10.0.1.4"))
    tags = Tags(Storage=["20.38.0.0/16"], Storage_WestEurope=["20.38.0.0/16"])
    assert answer(hop(snap, "20.38.1.1", service_tags=tags))[0] == "VirtualAppliance"


def test_service_endpoint_routes() -> None:
    snap = estate(
        vnet("v", "10.0.0.0/16", subnets=[subnet("v", "default", "10.0.0.0/24", endpoints=[
            ("Microsoft.Storage", ["westeurope", "northeurope"])])]),
        nic("nic1", "10.0.0.4", "v"))
    unresolved = hop(snap, "20.38.1.1")
    assert unresolved.is_unknown
    assert any("Storage.westeurope" in r and "--service-tags" in r for r in unresolved.reasons)
    assert answer(hop(snap, "10.0.0.9"))[0] == "VirtualNetwork"
    tags = Tags(Storage_WestEurope=["20.38.0.0/16"], Storage_NorthEurope=["20.150.0.0/16"])
    assert answer(hop(snap, "20.150.3.3", service_tags=tags)) == (
        "VirtualNetworkServiceEndpoint", None, SYSTEM_ROUTE)
    assert answer(hop(snap, "8.8.8.8", service_tags=tags))[0] == "Internet"
    se = next(r for r in table(snap, service_tags=tags).routes
              if r.kind is RouteKind.SERVICE_ENDPOINT)
    assert se.next_hop_type is EffectiveNextHopType.VIRTUAL_NETWORK_SERVICE_ENDPOINT
    assert se.pointer == "/properties/subnets/0/properties/serviceEndpoints/0"
    assert [str(p) for p in se.address_prefixes] == ["20.38.0.0/16", "20.150.0.0/16"]


# -- peering -----------------------------------------------------------------------------------
def two_vnets(state_ab: str = "Connected", state_ba: str = "Connected",
              location_b: str = "westeurope", **flags: Any) -> Snapshot:
    return estate(vnet("a", "10.0.0.0/16", peerings=[peering("a", "b", state=state_ab, **flags)]),
                  vnet("b", "10.1.0.0/16", peerings=[peering("b", "a", state=state_ba)],
                       location=location_b),
                  nic("nic1", "10.0.0.4", "a"))


def test_connected_peering_adds_a_vnet_peering_route() -> None:
    snap = two_vnets()
    peer = next(r for r in table(snap).routes if r.kind is RouteKind.PEERING)
    assert (peer.source, peer.next_hop_type) == (RouteSource.DEFAULT,
                                                 EffectiveNextHopType.VNET_PEERING)
    assert peer.pointer == "/properties/virtualNetworkPeerings/0"
    assert answer(hop(snap, "10.1.0.5")) == ("VirtualNetworkPeering", None, SYSTEM_ROUTE)
    assert answer(hop(snap, "10.1.0.5", profile=RouteProfile.AZURE_2017))[0] == "VnetLocal"


def test_global_peering_between_regions() -> None:
    peer = next(r for r in table(two_vnets(location_b="eastus")).routes
                if r.kind is RouteKind.PEERING)
    assert peer.next_hop_type is EffectiveNextHopType.VNET_GLOBAL_PEERING


@pytest.mark.parametrize(("ab", "ba"), [("Initiated", "Connected"), ("Connected", "Disconnected"),
                                        ("Disconnected", "Disconnected")])
def test_peering_not_connected_both_ways_adds_no_route(ab: str, ba: str) -> None:
    snap = two_vnets(ab, ba)
    assert not any(r.kind is RouteKind.PEERING for r in table(snap).routes)
    assert answer(hop(snap, "10.1.0.5")) == ("None", None, SYSTEM_ROUTE)  # 10/8 None


def test_peering_with_access_disabled_keeps_its_route_and_says_so() -> None:
    snap = two_vnets(access=False)
    h = hop(snap, "10.1.0.5")
    assert answer(h)[0] == "VirtualNetworkPeering"
    assert any("decision 3" in n for n in h.notes)


def test_peering_whose_remote_vnet_is_not_in_the_snapshot() -> None:
    snap = estate(vnet("a", "10.0.0.0/16", peerings=[
        peering("a", "elsewhere", remote_space=["10.7.0.0/16"])]), nic("nic1", "10.0.0.4", "a"))
    assert answer(hop(snap, "10.7.0.1")) == ("VirtualNetworkPeering", None, SYSTEM_ROUTE)
    t = table(snap)
    assert not t.is_complete  # VNetPeering or VNetGlobalPeering: the region is unknown
    assert any("region is unknown" in p for p in t.all_problems())


# -- gateways ----------------------------------------------------------------------------------
def gateway_estate(*, status: str = "Connected", bgp: bool = False, kind: str = "IPsec",
                   disable_bgp: bool = False, transit: bool = True) -> Snapshot:
    """Spoke 10.1.0.0/16 uses hub 10.0.0.0/16's gateway; on-premises 192.168.0.0/16."""
    return estate(
        vnet("hub", "10.0.0.0/16", subnets=[subnet("hub", "GatewaySubnet", "10.0.255.0/27")],
             peerings=[peering("hub", "spoke", allow_gateway_transit=transit)]),
        vnet("spoke", "10.1.0.0/16", peerings=[peering("spoke", "hub", use_remote_gateways=True)],
             subnets=[subnet("spoke", "default", "10.1.0.0/24", route_table="rt")]),
        route_table("rt", disable_bgp=disable_bgp),
        gateway("gw", "hub"), local_gateway("onprem", "192.168.0.0/16", "10.1.5.0/24"),
        connection("cn", "gw", "onprem", status=status, bgp=bgp, kind=kind),
        nic("nic1", "10.1.0.4", "spoke"))


def test_gateway_routes_through_transit() -> None:
    snap = gateway_estate()
    h = hop(snap, "192.168.1.1", source="10.1.0.4")
    assert answer(h) == ("VirtualNetworkGateway", "10.0.255.254", SYSTEM_ROUTE)
    assert h.route is not None
    assert h.route.source is RouteSource.VIRTUAL_NETWORK_GATEWAY
    assert h.pointer == "/properties/localNetworkAddressSpace/addressPrefixes/0"
    listed = rows(table(snap))
    # BGP beats the system None route at an equal prefix...
    assert ("Default", "Invalid", ("192.168.0.0/16",), "None") in listed
    # ... but a VNet route beats a more specific gateway route (§2.4 exception).
    assert ("VirtualNetworkGateway", "Invalid", ("10.1.5.0/24",), "VirtualNetworkGateway") \
        in listed
    assert answer(hop(snap, "10.1.5.9", source="10.1.0.4"))[0] == "VirtualNetwork"


@pytest.mark.parametrize("change", [{"status": "NotConnected"}, {"disable_bgp": True},
                                    {"transit": False}])
def test_no_gateway_routes(change: dict[str, Any]) -> None:
    snap = gateway_estate(**change)
    assert not any(r.kind is RouteKind.GATEWAY for r in table(snap).routes)
    assert answer(hop(snap, "192.168.1.1", source="10.1.0.4"))[0] == "None"


@pytest.mark.parametrize("change", [{"bgp": True}, {"kind": "ExpressRoute"}])
def test_bgp_learned_routes_are_unknown_except_where_vnet_routes_win(
        change: dict[str, Any]) -> None:
    snap = gateway_estate(**change)
    assert hop(snap, "8.8.8.8", source="10.1.0.4").is_unknown
    assert hop(snap, "10.1.0.9", source="10.1.0.4").next_hop_type is \
        WatcherNextHopType.VIRTUAL_NETWORK
    assert hop(snap, "10.0.0.9", source="10.1.0.4").next_hop_type is \
        WatcherNextHopType.VIRTUAL_NETWORK_PEERING


# -- requests ----------------------------------------------------------------------------------
def test_source_ip_not_on_the_nic_is_answered_with_a_note() -> None:
    snap = estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v"))
    h = hop(snap, "10.0.0.6", source="123.4.5.6")
    assert answer(h) == ("VirtualNetwork", None, SYSTEM_ROUTE)
    assert any("not an address of NIC nic1" in n for n in h.notes)


@pytest.mark.parametrize(("source", "dest", "message"), [
    ("10.0.0.4", "10.0.0.x", "invalid destination IP address"),
    ("nope", "10.0.0.6", "invalid source IP address"),
    ("10.0.0.4", "fd00::1", "not the same IP version"),
])
def test_bad_requests_are_usage_errors(source: str, dest: str, message: str) -> None:
    snap = estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v"))
    with pytest.raises(UsageError, match=message):
        hop(snap, dest, source=source)


def test_results_are_frozen() -> None:
    snap = estate(vnet("v", "10.0.0.0/16"), nic("nic1", "10.0.0.4", "v"))
    h = hop(snap, "8.8.8.8")
    t = table(snap)
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.next_hop_type = WatcherNextHopType.NONE  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.routes[0].state = RouteState.INVALID  # type: ignore[misc]
    assert h.status is NextHopStatus.ANSWERED


def test_many_lookups_on_one_table_agree_with_the_one_shot_api() -> None:
    snap = hub(*(route(f"r{i}", f"10.{i}.0.0/16", "VirtualAppliance", "10.0.1.4")
                 for i in range(1, 50)))
    t = table(snap)
    for dest in ("10.3.4.5", "10.60.0.1", "10.0.0.9", "1.1.1.1"):
        assert t.next_hop(dest, "10.0.0.4").to_azure() == hop(snap, dest).to_azure()


@pytest.mark.parametrize("status", ["Unknown", "Connecting", ""])
def test_a_connection_of_unknown_status_keeps_its_routes(status: str) -> None:
    """Only NotConnected removes the routes: Azure answered Reachable across a Vnet2Vnet pair
    recorded as Unknown and absent."""
    snap = gateway_estate(status=status)
    assert any(r.kind is RouteKind.GATEWAY for r in table(snap).routes)
    assert answer(hop(snap, "192.168.1.1", source="10.1.0.4"))[0] == "VirtualNetworkGateway"
