"""Next hop equals a brute-force longest-prefix reference, on random route tables.

The reference is written from azure-semantics.md §2 directly on ``ipaddress``, independently of
the engine's indexes: every route that holds the destination, the longest prefix, then Azure's
tie-break (User > virtual network system route > BGP > other system routes), the VNet exception
for gateway routes, decision 8 for appliances, duplicates and the undocumented platform routes
under a user 0.0.0.0/0 route answering unknown.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from vnetdoctor.engine.routes import (
    SYSTEM_ROUTE,
    EffectiveNextHopType,
    RouteProfile,
    effective_routes,
    next_hop,
)
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.gateway import (
    BgpSettings,
    Connection,
    LocalNetworkGateway,
    VirtualNetworkGateway,
    VirtualNetworkGatewayIpConfiguration,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import AddressPrefix
from vnetdoctor.model.network import NextHopType, Route, RouteTable, Subnet, VirtualNetwork
from vnetdoctor.model.snapshot import Snapshot

NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
VNET = ResourceId(f"{NET}/virtualNetworks/v")
SUBNET = VNET.child("subnets", "default")
RT = ResourceId(f"{NET}/routeTables/rt")
GW = ResourceId(f"{NET}/virtualNetworkGateways/gw")
LNG = ResourceId(f"{NET}/localNetworkGateways/onprem")
CONN = ResourceId(f"{NET}/connections/cn")
NIC = ResourceId(f"{NET}/networkInterfaces/nic1")
BGP_IP = ipaddress.ip_address("10.255.255.254")

# Anchors where the platform routes live, so that random prefixes collide with them often.
ANCHORS = [int(ipaddress.ip_address(a)) for a in (
    "10.0.0.0", "10.1.0.0", "10.0.1.0", "172.16.0.0", "192.168.0.0", "100.64.0.0", "25.4.0.0",
    "25.176.0.0", "127.0.0.0", "20.35.252.0", "8.8.8.0", "0.0.0.0")]


HOPS = [NextHopType.VNET_LOCAL, NextHopType.INTERNET, NextHopType.NONE,
        NextHopType.VIRTUAL_APPLIANCE, NextHopType.VIRTUAL_APPLIANCE,
        NextHopType.VIRTUAL_NETWORK_GATEWAY]
PROFILES = list(RouteProfile)


@dataclass(frozen=True)
class Udr:
    prefix: ipaddress.IPv4Network
    hop: NextHopType
    ip: ipaddress.IPv4Address | None


@dataclass(frozen=True)
class World:
    spaces: tuple[ipaddress.IPv4Network, ...]
    udrs: tuple[Udr, ...]
    onprem: tuple[ipaddress.IPv4Network, ...]
    disable_bgp: bool
    profile: RouteProfile
    destinations: tuple[ipaddress.IPv4Address, ...]


class _Stream:
    """Small integers read from Hypothesis' bytes: all-zero bytes decode to the smallest world
    (one VNet range, no routes), so shrinking still leads to a minimal counter-example."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def below(self, bound: int, width: int = 1) -> int:
        chunk = self._data[self._at:self._at + width]
        self._at += width
        return int.from_bytes(chunk, "big") % bound if chunk else 0

    def network(self, min_len: int = 0, max_len: int = 32) -> ipaddress.IPv4Network:
        anchor = ANCHORS[self.below(len(ANCHORS))]
        offset = self.below(1 << 18, 3)
        length = min_len + self.below(max_len - min_len + 1)
        return ipaddress.IPv4Network(((anchor + offset) & 0xFFFFFFFF, length), strict=False)

    def address(self, inside: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Address:
        pick, offset = self.below(len(ANCHORS) + 3), self.below(1 << 20, 3)
        if pick >= len(ANCHORS) and inside:  # an edge or a random address of a prefix
            net = inside[offset % len(inside)]
            step = (0, net.num_addresses - 1, offset % net.num_addresses)[pick - len(ANCHORS)]
            return net.network_address + step
        return ipaddress.IPv4Address((ANCHORS[pick % len(ANCHORS)] + offset) & 0xFFFFFFFF)


def decode(data: bytes) -> World:
    s = _Stream(data)
    spaces: list[ipaddress.IPv4Network] = []
    for _ in range(1 + s.below(2)):
        net = s.network(8, 24)
        if not any(net.overlaps(x) for x in spaces):
            spaces.append(net)
    udrs = []
    for _ in range(s.below(11)):
        prefix, hop = s.network(), HOPS[s.below(len(HOPS))]
        ip = s.address(spaces)
        udrs.append(Udr(prefix, hop, ip if hop is NextHopType.VIRTUAL_APPLIANCE else None))
    twin = s.below(12) - 1
    if 0 <= twin < len(udrs):  # a duplicate prefix, which Azure would have rejected
        udrs.append(Udr(udrs[twin].prefix, HOPS[twin % 3], None))
    onprem = tuple(dict.fromkeys(s.network(8, 28) for _ in range(s.below(4))))
    disable_bgp = bool(s.below(2))
    profile = PROFILES[s.below(len(PROFILES))]
    prefixes = [*spaces, *(u.prefix for u in udrs), *onprem]
    dests = tuple(s.address(prefixes) for _ in range(1 + s.below(6)))
    return World(tuple(spaces), tuple(udrs), onprem, disable_bgp, profile, dests)


# 2 + 10 * 10 + 1 + 1 + 3 * 5 + 2 + 1 + 6 * 4 bytes at most.
worlds = st.binary(min_size=160, max_size=160).map(decode)


def build(world: World) -> tuple[Snapshot, NetworkInterface]:
    routes = tuple(
        Route(id=RT.child("routes", f"r{i}"), name=f"r{i}",
              address_prefix=AddressPrefix.parse(str(u.prefix)), next_hop_type=u.hop,
              next_hop_ip_address=u.ip, index=i)
        for i, u in enumerate(world.udrs))
    table = RouteTable(id=RT, name="rt", routes=routes,
                       disable_bgp_route_propagation=world.disable_bgp)
    vnet = VirtualNetwork(id=VNET, name="v", location="westeurope",
                          address_prefixes=world.spaces,
                          subnets=(Subnet(id=SUBNET, name="default", route_table=RT),))
    nic_ip = world.spaces[0].network_address + 4
    nic = NetworkInterface(id=NIC, name="nic1", ip_configurations=(IpConfiguration(
        id=NIC.child("ipConfigurations", "c"), name="c", private_ip_address=nic_ip,
        subnet=SUBNET, primary=True),))
    gateways, lngs, connections = {}, {}, {}
    if world.onprem:
        gateways[GW] = VirtualNetworkGateway(
            id=GW, name="gw", bgp_settings=BgpSettings(bgp_peering_address=str(BGP_IP)),
            ip_configurations=(VirtualNetworkGatewayIpConfiguration(
                id=GW.child("ipConfigurations", "c"), name="c",
                subnet=VNET.child("subnets", "GatewaySubnet")),))
        lngs[LNG] = LocalNetworkGateway(id=LNG, name="onprem", address_prefixes=world.onprem)
        connections[CONN] = Connection(id=CONN, name="cn", connection_type="IPsec",
                                       connection_status="Connected",
                                       virtual_network_gateway1=GW, local_network_gateway2=LNG)
    snap = Snapshot(virtual_networks={VNET: vnet}, network_interfaces={NIC: nic},
                    route_tables={RT: table}, virtual_network_gateways=gateways,
                    local_network_gateways=lngs, connections=connections)
    return snap, nic


_UDR_RANK, _VNET_RANK, _BGP_RANK, _PLATFORM_RANK = 0, 1, 2, 3
DOCUMENTED = {"0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}
Answer = tuple[str, str | None, str | None] | None  # None = unknown


def reference(world: World, dest: ipaddress.IPv4Address) -> Answer:
    spec = world.profile.spec
    candidates: list[tuple[ipaddress.IPv4Network, int, object]] = []
    candidates += [(s, _VNET_RANK, "vnet") for s in world.spaces]
    for net, hop, _ in spec.networks:  # the profile's data, parsed once
        if not isinstance(net, ipaddress.IPv4Network):
            continue
        if hop is EffectiveNextHopType.NONE and any(net.subnet_of(s) for s in world.spaces):
            continue
        candidates.append((net, _PLATFORM_RANK, (hop, str(net) in DOCUMENTED)))
    if not world.disable_bgp:
        candidates += [(p, _BGP_RANK, "bgp") for p in world.onprem
                       if not any(p.subnet_of(s) for s in world.spaces)]
    candidates += [(u.prefix, _UDR_RANK, u) for u in world.udrs]
    holding = [c for c in candidates if dest in c[0]]
    longest = max(c[0].prefixlen for c in holding)
    at_longest = [c for c in holding if c[0].prefixlen == longest]
    rank = min(c[1] for c in at_longest)
    top = [c for c in at_longest if c[1] == rank]
    what = top[0][2]
    vnet_name = spec.vnet_next_hop.value
    if isinstance(what, Udr):
        if len(top) > 1:
            return None  # duplicate prefixes in one route table
        table = str(RT)
        if what.hop is NextHopType.VIRTUAL_APPLIANCE:
            assert what.ip is not None
            ok = any(what.ip in s for s in world.spaces)
            return ("VirtualAppliance" if ok else "None", str(what.ip), table)
        return ({NextHopType.VNET_LOCAL: vnet_name, NextHopType.INTERNET: "Internet",
                 NextHopType.NONE: "None",
                 NextHopType.VIRTUAL_NETWORK_GATEWAY: "VirtualNetworkGateway"}[what.hop],
                None, table)
    if what == "vnet":
        return (vnet_name, None, SYSTEM_ROUTE)
    if what == "bgp":
        return ("VirtualNetworkGateway", str(BGP_IP), SYSTEM_ROUTE)
    assert isinstance(what, tuple)
    hop, documented = what
    if not documented and any(u.prefix.prefixlen == 0 for u in world.udrs):
        return None  # reportedly absent under a user 0.0.0.0/0 route: unknown
    return (hop.value, None, SYSTEM_ROUTE)


def ours(answer: dict[str, str]) -> Answer:
    if answer["nextHopType"] == "Unknown":
        return None
    return (answer["nextHopType"], answer.get("nextHopIpAddress"), answer.get("routeTableId"))


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds)
def test_next_hop_equals_brute_force_longest_prefix(world: World) -> None:
    note(repr(world))
    snap, nic = build(world)
    source = nic.ip_configurations[0].private_ip_address
    assert source is not None
    first = world.destinations[0]
    assert ours(next_hop(snap, nic, source, first, world.profile).to_azure()) == \
        reference(world, first)
    table = effective_routes(snap, nic, world.profile)
    for dest in world.destinations[1:]:
        assert ours(table.next_hop(dest, source).to_azure()) == reference(world, dest), dest
