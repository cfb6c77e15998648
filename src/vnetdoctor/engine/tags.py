"""Service tags expanded in the context of an estate, with an explicit *unknown*.

An NSG rule may name a service tag instead of a prefix. What the tag holds depends on the tag:

- ``VirtualNetwork`` (``docs/semantics/nsg.md#nsg-2``) is relative to a NIC: its VNet's address
  spaces; the spaces of peered VNets whose peering is ``Connected`` both ways with
  ``allowVirtualNetworkAccess`` on both link objects (decision 3); prefixes reachable through the
  VNet's gateway or a hub's gateway by transit (local network gateways, VNet-to-VNet spaces of
  ``Connected`` connections); ``168.63.129.16/32``; and the prefixes of the UDRs in the route table
  on the NIC's subnet (an assumption, stated wherever it decides a verdict).
- ``AzureLoadBalancer`` is the host's virtual IP ``168.63.129.16/32`` [S4], plus the IPv6 address
  ``fe80::1234:5678:9abc/128`` that every recorded effective-rules answer since 2020 lists.
- ``Internet`` is not a fixed set: the expansions Azure returned between 2016 and 2024 exclude
  the non-routable blocks (every year) and a drifting list of Microsoft-internal ranges. An address
  outside every exclusion ever observed is ``Internet``; an address in a non-routable block never
  is; an address in a range that some years excluded and others did not is *unknown*. IPv6 is
  unknown (no recorded answer lists IPv6 Internet prefixes). The printed expansion is the newest
  recorded one (2024-08-27, 282 prefixes).
- Every other tag comes from Microsoft's service tags file given with ``--service-tags``.

A tag that cannot be resolved is never an empty set that silently matches nothing: its
:class:`TagExpansion` marks the addresses it may hold as *uncertain* and says why, and the NSG
engine answers ``unknown`` when such a rule is reached. The same holds for the parts of
``VirtualNetwork`` that the snapshot cannot tell (a route table or peer VNet it lacks).
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from enum import IntEnum
from functools import cache
from typing import Final, Protocol

import msgspec

from vnetdoctor.engine.topology import (
    PeeringStatus,
    gateway_connections,
    gateways_in,
    peering_links,
    transit_hub,
)
from vnetdoctor.model.gateway import Connection, VirtualNetworkGateway
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, IPNetwork
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.snapshot import Snapshot

VIRTUAL_NETWORK: Final = "VirtualNetwork"
AZURE_LOAD_BALANCER: Final = "AzureLoadBalancer"
INTERNET: Final = "Internet"

#: Spellings Azure accepts for the three built-in tags, classic ones included [S4].
_BUILTIN_ALIASES: Final = {
    "virtualnetwork": VIRTUAL_NETWORK,
    "virtual_network": VIRTUAL_NETWORK,
    "azureloadbalancer": AZURE_LOAD_BALANCER,
    "azure_loadbalancer": AZURE_LOAD_BALANCER,
    "internet": INTERNET,
}

HOST_VIRTUAL_IP: Final = ipaddress.ip_network("168.63.129.16/32")
_LB_IPV6: Final = ipaddress.ip_network("fe80::1234:5678:9abc/128")
_ALL_V4: Final = ipaddress.ip_network("0.0.0.0/0")
_ALL_V6: Final = ipaddress.ip_network("::/0")
EVERYTHING: Final[tuple[IPNetwork, ...]] = (_ALL_V4, _ALL_V6)

UDR_ASSUMPTION: Final = (
    "assumption (docs/semantics/nsg.md#nsg-2): the VirtualNetwork tag includes the address "
    "prefixes of the UDRs in the route table on the NIC's subnet")

# The Internet tag, from Azure's own effective-rules answers (../shared/fixtures/cases,
# effectiveNetworkSecurityGroups and securityGroupView, 2016-2024). Each answer's expansion is the
# complement of an exclusion list; these are the lists, as CIDRs.
#
# Excluded by every answer: the non-routable blocks.
_NEVER_INTERNET: Final = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
)
# Excluded by at least one answer (the union over 2016-2024): outside these, always Internet.
_EVER_EXCLUDED: Final = (
    "0.0.0.0/8", "4.128.0.0/12", "10.0.0.0/8", "13.96.0.0/13", "20.35.252.0/22", "20.128.0.0/16",
    "20.130.0.0/16", "20.144.0.0/14", "20.176.0.0/13", "21.0.0.0/8", "22.0.0.0/8",
    "23.103.0.0/18", "25.0.0.0/8", "40.66.128.0/17", "40.108.0.0/17", "40.109.0.0/16",
    "52.132.0.0/14", "52.145.0.0/16", "68.18.0.0/15", "100.64.0.0/10", "104.146.0.0/17",
    "104.147.0.0/16", "104.212.36.0/22", "104.212.52.0/22", "127.0.0.0/8", "129.75.0.0/16",
    "134.177.0.0/16", "138.196.0.0/16", "141.251.0.0/16", "146.147.0.0/16", "157.59.0.0/16",
    "169.254.0.0/16", "172.16.0.0/12", "192.0.2.0/24", "192.32.0.0/16", "192.100.102.0/23",
    "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
)
# Excluded by the newest answer (2024-08-27): its complement is the printed expansion.
_EXCLUDED_2024: Final = (
    "0.0.0.0/8", "4.128.0.0/12", "10.0.0.0/8", "13.96.0.0/13", "20.35.252.0/22", "20.128.0.0/16",
    "20.130.0.0/16", "20.144.0.0/14", "20.176.0.0/13", "21.0.0.0/8", "22.0.0.0/8",
    "23.103.0.0/18", "25.0.0.0/16", "25.4.0.0/14", "25.64.0.0/10", "25.128.0.0/17",
    "25.142.0.0/15", "25.144.0.0/15", "25.148.0.0/15", "25.150.0.0/16", "25.152.0.0/14",
    "25.156.0.0/16", "25.159.0.0/16", "25.160.0.0/12", "25.176.0.0/13", "25.184.0.0/14",
    "25.192.0.0/15", "25.248.0.0/16", "25.250.0.0/18", "25.250.64.0/20", "25.250.84.0/23",
    "25.252.0.0/16", "25.254.0.0/21", "25.254.8.0/24", "25.254.64.0/18", "25.254.128.0/17",
    "40.66.128.0/17", "40.108.0.0/17", "40.109.0.0/16", "52.132.0.0/14", "52.145.0.0/16",
    "68.18.0.0/15", "100.64.0.0/10", "104.146.0.0/17", "104.147.0.0/16", "104.212.36.0/22",
    "104.212.52.0/22", "127.0.0.0/8", "129.75.0.0/16", "134.177.0.0/16", "138.196.0.0/16",
    "141.251.0.0/16", "146.147.0.0/16", "157.59.0.0/16", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.2.0/24", "192.32.0.0/16", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
)


class Match(IntEnum):
    """Three-valued truth: AND is ``min``, OR is ``max``."""

    NO = 0
    MAYBE = 1
    YES = 2


# ---------------------------------------------------------------------------------------------
# Address sets as sorted, disjoint integer intervals (one list per IP version)
# ---------------------------------------------------------------------------------------------
Interval = tuple[int, int]


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


class AddressSet(msgspec.Struct, frozen=True, gc=False):
    """An immutable union of networks, for fast membership tests."""

    v4: tuple[Interval, ...] = ()
    v6: tuple[Interval, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[IPNetwork]) -> AddressSet:
        v4: list[Interval] = []
        v6: list[Interval] = []
        for net in networks:
            bounds = (int(net.network_address), int(net.broadcast_address))
            (v4 if net.version == 4 else v6).append(bounds)
        return cls(_merge(v4), _merge(v6))

    def intervals(self, version: int) -> tuple[Interval, ...]:
        return self.v4 if version == 4 else self.v6

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return False
        return self.contains_int(ip.version, int(ip))

    def contains_int(self, version: int, value: int) -> bool:
        spans = self.v4 if version == 4 else self.v6
        i = bisect_right(spans, (value, 1 << 129)) - 1
        return i >= 0 and spans[i][0] <= value <= spans[i][1]

    def __bool__(self) -> bool:
        return bool(self.v4 or self.v6)

    def minus(self, other: AddressSet) -> AddressSet:
        return AddressSet(_subtract(self.v4, other.v4), _subtract(self.v6, other.v6))

    def networks(self) -> list[IPNetwork]:
        """The set as the fewest CIDRs, in address order (as Azure prints expansions)."""
        out: list[IPNetwork] = []
        for lo, hi in self.v4:
            out.extend(ipaddress.summarize_address_range(
                ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)))
        for lo, hi in self.v6:
            out.extend(ipaddress.summarize_address_range(
                ipaddress.IPv6Address(lo), ipaddress.IPv6Address(hi)))
        return out


def _subtract(a: Sequence[Interval], b: Sequence[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


EVERYWHERE: Final = AddressSet.of(EVERYTHING)


# ---------------------------------------------------------------------------------------------
# Expansions
# ---------------------------------------------------------------------------------------------
class TagSource(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where part of an expansion comes from (for explanations)."""

    origin: str
    prefixes: tuple[IPNetwork, ...]
    assumption: str | None = None


class TagExpansion(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one tag holds, in one context.

    ``prefixes`` is the list to print (Azure's ``expandedSourceAddressPrefix``). Membership is
    three-valued: an address in ``definite`` is in the tag, one in ``uncertain`` may or may not
    be (``reasons`` say why), any other is not. For most tags ``definite`` is exactly
    ``prefixes``.
    """

    tag: str
    prefixes: tuple[IPNetwork, ...]
    definite: AddressSet
    uncertain: AddressSet = AddressSet()
    reasons: tuple[str, ...] = ()
    sources: tuple[TagSource, ...] = ()

    @property
    def is_complete(self) -> bool:
        return not self.uncertain

    @property
    def is_resolved(self) -> bool:
        """False when nothing at all is known about the tag's contents."""
        return bool(self.definite) or not self.uncertain

    def membership(self, ip: IPAddress) -> Match:
        if ip in self.definite:
            return Match.YES
        if ip in self.uncertain:
            return Match.MAYBE
        return Match.NO

    def sources_of(self, ip: IPAddress) -> list[TagSource]:
        return [s for s in self.sources if any(ip in net for net in s.prefixes)]


def unresolved(tag: str, reason: str) -> TagExpansion:
    """A tag nothing is known about: every address is uncertain."""
    return TagExpansion(tag=tag, prefixes=(), definite=AddressSet(), uncertain=EVERYWHERE,
                        reasons=(reason,))


def canonical_tag(tag: str) -> str:
    """The built-in tags in Azure's spelling (``VirtualNetwork``...); other tags as given."""
    return _BUILTIN_ALIASES.get(tag.strip().casefold(), tag.strip())


def is_builtin_tag(tag: str) -> bool:
    return tag.strip().casefold() in _BUILTIN_ALIASES


@cache
def azure_load_balancer() -> TagExpansion:
    prefixes = (HOST_VIRTUAL_IP, _LB_IPV6)
    return TagExpansion(
        tag=AZURE_LOAD_BALANCER, prefixes=prefixes, definite=AddressSet.of(prefixes),
        sources=(TagSource(origin="the host's virtual IP (Azure health probes)",
                           prefixes=prefixes),))


@cache
def internet() -> TagExpansion:
    def nets(texts: Iterable[str]) -> list[IPNetwork]:
        return [ipaddress.ip_network(t) for t in texts]

    whole_v4 = AddressSet.of([_ALL_V4])
    printed = whole_v4.minus(AddressSet.of(nets(_EXCLUDED_2024))).networks()
    definite = whole_v4.minus(AddressSet.of(nets(_EVER_EXCLUDED)))
    drifting = AddressSet.of(nets(_EVER_EXCLUDED)).minus(AddressSet.of(nets(_NEVER_INTERNET)))
    uncertain = AddressSet(drifting.v4, AddressSet.of([_ALL_V6]).v6)
    return TagExpansion(
        tag=INTERNET, prefixes=tuple(printed), definite=definite, uncertain=uncertain,
        reasons=("Azure's Internet tag excluded some of these ranges in some years and not in "
                 "others (recorded answers 2016-2024), and no answer lists IPv6 Internet "
                 "prefixes",),
        sources=(TagSource(origin="public IPv4 space (Azure's answer of 2024-08-27)",
                           prefixes=tuple(printed)),))


class ServiceTagSource(Protocol):
    """What the engine needs from a service tags file (see :mod:`vnetdoctor.ingest.servicetags`)."""

    @property
    def description(self) -> str: ...

    def prefixes(self, name: str) -> tuple[IPNetwork, ...] | None: ...


def _dedupe(networks: Iterable[IPNetwork]) -> tuple[IPNetwork, ...]:
    return tuple(dict.fromkeys(networks))


class TagResolver:
    """Expands tags for one snapshot (and optionally one service tags file); caches results."""

    def __init__(self, snapshot: Snapshot, service_tags: ServiceTagSource | None = None) -> None:
        self.snapshot = snapshot
        self.service_tags = service_tags
        self._vnet_cache: dict[ResourceId | None, TagExpansion] = {}
        self._file_cache: dict[str, TagExpansion] = {}

    def expand(self, tag: str, subnet: ResourceId | None = None) -> TagExpansion:
        """The tag's contents; ``subnet`` is the evaluated NIC's subnet (for ``VirtualNetwork``)."""
        name = canonical_tag(tag)
        if name == VIRTUAL_NETWORK:
            found = self._vnet_cache.get(subnet)
            if found is None:
                found = self._virtual_network(subnet)
                self._vnet_cache[subnet] = found
            return found
        if name == AZURE_LOAD_BALANCER:
            return azure_load_balancer()
        if name == INTERNET:
            return internet()
        key = name.casefold()
        cached = self._file_cache.get(key)
        if cached is None:
            cached = self._from_file(name)
            self._file_cache[key] = cached
        return cached

    # -- service tags file ----------------------------------------------------------------------
    def _from_file(self, name: str) -> TagExpansion:
        if self.service_tags is None:
            return unresolved(name, f"service tag {name!r} needs Microsoft's service tags file "
                                    "(--service-tags FILE)")
        prefixes = self.service_tags.prefixes(name)
        if prefixes is None:
            return unresolved(name, f"service tag {name!r} is not in "
                                    f"{self.service_tags.description}")
        return TagExpansion(
            tag=name, prefixes=_dedupe(prefixes), definite=AddressSet.of(prefixes),
            sources=(TagSource(origin=f"service tag {name} in {self.service_tags.description}",
                               prefixes=prefixes),))

    # -- VirtualNetwork (decision 2) ------------------------------------------------------------
    def _virtual_network(self, subnet_id: ResourceId | None) -> TagExpansion:
        snap = self.snapshot
        sources: list[TagSource] = []
        uncertain: list[IPNetwork] = []
        reasons: list[str] = []
        vnet = snap.subnet_vnet(subnet_id)
        if subnet_id is None or vnet is None:
            where = "the NIC has no subnet" if subnet_id is None else (
                f"virtual network {subnet_id.parent or subnet_id} is not in the snapshot")
            sources.append(TagSource(origin="the host's virtual IP", prefixes=(HOST_VIRTUAL_IP,)))
            return self._vnet_expansion(sources, list(EVERYTHING),
                                        [f"the VirtualNetwork tag is unknown: {where}"])
        if vnet.problems or not vnet.address_prefixes:
            uncertain.extend(EVERYTHING)
            reasons.append(f"the address space of virtual network {vnet.name!r} could not be read")
        sources.append(TagSource(origin=f"address space of virtual network {vnet.name}",
                                 prefixes=vnet.address_prefixes))
        self._udr_prefixes(subnet_id, sources, uncertain, reasons)
        sources.append(TagSource(origin="the host's virtual IP", prefixes=(HOST_VIRTUAL_IP,)))
        self._peer_prefixes(vnet, sources, uncertain, reasons)
        self._gateway_prefixes(vnet, sources, uncertain, reasons)
        return self._vnet_expansion(sources, uncertain, reasons)

    def _vnet_expansion(self, sources: list[TagSource], uncertain: list[IPNetwork],
                        reasons: list[str]) -> TagExpansion:
        prefixes = _dedupe(p for s in sources for p in s.prefixes)
        definite = AddressSet.of(prefixes)
        return TagExpansion(
            tag=VIRTUAL_NETWORK, prefixes=prefixes, definite=definite,
            uncertain=AddressSet.of(uncertain).minus(definite), reasons=tuple(reasons),
            sources=tuple(sources))

    def _udr_prefixes(self, subnet_id: ResourceId, sources: list[TagSource],
                      uncertain: list[IPNetwork], reasons: list[str]) -> None:
        snap = self.snapshot
        subnet = snap.subnet(subnet_id)
        if subnet is None:
            uncertain.extend(EVERYTHING)
            reasons.append(f"subnet {subnet_id.name!r} is not in its virtual network's body, so "
                           "its route table (whose UDR prefixes the tag includes) is unknown")
            return
        if subnet.problems:
            uncertain.extend(EVERYTHING)
            reasons.append(f"subnet {subnet.name!r} has fields that could not be read "
                           f"({', '.join(subnet.problems)})")
        if subnet.route_table is None:
            return
        table = snap.route_tables.get_ref(subnet.route_table)
        if table is None:
            uncertain.extend(EVERYTHING)
            reasons.append(f"route table {subnet.route_table.name!r} on subnet {subnet.name!r} is "
                           "not in the snapshot; the tag includes its UDR prefixes "
                           "(decision 2)")
            return
        for route in table.routes:
            prefix = route.address_prefix
            origin = f"UDR {route.name} in route table {table.name}"
            if prefix is None or "addressPrefix" in route.problems:
                uncertain.extend(EVERYTHING)
                reasons.append(f"{origin} has an address prefix that could not be read")
            elif prefix.network is not None:
                sources.append(TagSource(origin=origin, prefixes=(prefix.network,),
                                         assumption=UDR_ASSUMPTION))
            elif prefix.tag is not None and canonical_tag(prefix.tag) != VIRTUAL_NETWORK:
                inner = self.expand(prefix.tag)
                sources.append(TagSource(origin=f"{origin} (service tag {prefix.tag})",
                                         prefixes=inner.prefixes, assumption=UDR_ASSUMPTION))
                if inner.uncertain:
                    uncertain.extend(inner.uncertain.networks())
                    reasons.extend(inner.reasons)
            else:
                uncertain.extend(EVERYTHING)
                reasons.append(f"{origin} has address prefix {prefix.text!r}")

    def _peer_prefixes(self, vnet: VirtualNetwork, sources: list[TagSource],
                       uncertain: list[IPNetwork], reasons: list[str]) -> None:
        for link in peering_links(self.snapshot, vnet):
            side = link.local_side
            if side.problems:
                uncertain.extend(link.remote_prefixes or EVERYTHING)
                reasons.append(f"peering {side.name!r} has fields that could not be read")
            elif link.status is PeeringStatus.USABLE:
                remote_name = link.remote.name if link.remote is not None else side.name
                sources.append(TagSource(origin=f"peered virtual network {remote_name}",
                                         prefixes=link.remote_prefixes))
            elif (link.status is PeeringStatus.REMOTE_VNET_UNKNOWN and side.is_connected
                  and side.allow_virtual_network_access):
                uncertain.extend(side.remote_address_prefixes or EVERYTHING)
                remote = side.remote_virtual_network
                reasons.append(f"peered virtual network {remote.name if remote else '?'!r} is not "
                               "in the snapshot, so whether its peering back is Connected with "
                               "access allowed is unknown")

    def _gateway_prefixes(self, vnet: VirtualNetwork, sources: list[TagSource],
                          uncertain: list[IPNetwork], reasons: list[str]) -> None:
        snap = self.snapshot
        hubs: list[tuple[VirtualNetwork, str]] = [(vnet, "")]
        hub = transit_hub(snap, vnet)
        if hub is not None and hub.remote is not None:
            hubs.append((hub.remote, f" (gateway transit through {hub.remote.name})"))
        for owner, via in hubs:
            for gateway in gateways_in(snap, owner.id):
                for connection in gateway_connections(snap, gateway):
                    self._connection(gateway, connection, via, sources, uncertain, reasons)

    def _connection(self, gateway: VirtualNetworkGateway, connection: Connection, via: str,
                    sources: list[TagSource], uncertain: list[IPNetwork],
                    reasons: list[str]) -> None:
        snap = self.snapshot
        status = (connection.connection_status or "").casefold()
        if status in {"notconnected", "disconnected"}:
            return
        prefixes: tuple[IPNetwork, ...] | None
        if connection.local_network_gateway2 is not None:
            lng = snap.local_network_gateways.get_ref(connection.local_network_gateway2)
            prefixes = None if lng is None or lng.problems else lng.address_prefixes
        else:
            other_id = (connection.virtual_network_gateway2
                        if connection.virtual_network_gateway1 == gateway.id
                        else connection.virtual_network_gateway1)
            other = snap.virtual_network_gateways.get_ref(other_id)
            other_vnet = (snap.virtual_networks.get_ref(other.virtual_network_id)
                          if other is not None else None)
            prefixes = other_vnet.address_prefixes if other_vnet is not None else None
        origin = f"connection {connection.name} of gateway {gateway.name}{via}"
        if status != "connected":
            uncertain.extend(prefixes or EVERYTHING)
            reasons.append(f"{origin} has status {connection.connection_status or 'unknown'}")
            return
        if prefixes is None:
            uncertain.extend(EVERYTHING)
            reasons.append(f"the remote side of {origin} is not in the snapshot")
        else:
            sources.append(TagSource(origin=origin, prefixes=prefixes))
        if connection.enable_bgp or (connection.connection_type or "").casefold() == "expressroute":
            uncertain.extend(EVERYTHING)
            reasons.append(f"{origin} uses BGP; prefixes learned by BGP are not in a snapshot")
