"""Effective routes, the table of one NIC, and the longest-prefix lookup that answers next hop.

Ranks decide between equal prefixes (User > BGP > System, with the exceptions of §2.4);
:class:`RouteIndex` keeps one dict per prefix length per IP version, and whatever the snapshot
cannot tell makes the lookups it could decide unknown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, Final

from vnetdoctor.engine.routes.vocabulary import (
    SYSTEM_ROUTE,
    EffectiveNextHopType,
    RouteKind,
    RouteProfile,
    RouteSource,
    RouteState,
    WatcherNextHopType,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, IPNetwork, parse_ip


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EffectiveRoute:
    """One row of the effective route table, with the evidence vnetdoctor adds to it.

    ``resource_id`` and ``pointer`` name the configuration that creates the route: the route
    table and ``/properties/routes/N`` for a user route, the VNet and its address range, subnet
    service endpoint or peering for system routes, the local network gateway or connection for a
    gateway route; ``None`` for the platform's own routes (``0.0.0.0/0``, the profile's ``None``
    routes). ``unresolved`` routes have prefixes the snapshot cannot tell (a service tag without a
    tags file, a route table missing from the snapshot); ``problems`` make any lookup the route
    could decide unknown; ``uncertain`` says what of the row may differ from Azure's listing
    without changing where packets go; ``notes`` are facts worth showing.
    """

    source: RouteSource
    state: RouteState
    address_prefixes: tuple[IPNetwork, ...]
    next_hop_type: EffectiveNextHopType | None
    kind: RouteKind
    next_hop_ip_addresses: tuple[IPAddress, ...] = ()
    name: str | None = None
    disable_bgp_route_propagation: bool = False
    resource_id: ResourceId | None = None
    pointer: str | None = None
    service_tag: str | None = None
    unresolved: bool = False
    appliance_reachable: bool | None = None
    problems: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        """Precedence among routes for the same prefix: lower wins (§2.3, §2.4)."""
        if self.kind is RouteKind.USER:
            return _tag_rank(self.service_tag) if self.service_tag else _RANK_USER
        return _KIND_RANK[self.kind]

    @property
    def route_table_id(self) -> ResourceId | None:
        """The route table of a user route (Network Watcher's ``routeTableId``)."""
        return self.resource_id if self.kind is RouteKind.USER else None

    @property
    def prefix_texts(self) -> list[str]:
        if self.address_prefixes:
            return [str(p) for p in self.address_prefixes]
        return [self.service_tag] if self.service_tag else []

    def describe(self) -> str:
        """A short human label: ``User route 'to-nva' 10.1.0.0/16`` / ``Default 10.0.0.0/16``."""
        what = f"{self.source.value} route"
        if self.name:
            what += f" {self.name!r}"
        prefixes = self.prefix_texts
        shown = ", ".join(prefixes[:3]) + (f" (+{len(prefixes) - 3})" if len(prefixes) > 3 else "")
        return f"{what} {shown or '(prefix unknown)'}"

    def to_azure(self) -> dict[str, Any]:
        """The ``EffectiveRoute`` JSON shape of ``az network nic show-effective-route-table``."""
        return {
            "name": self.name,
            "disableBgpRoutePropagation": self.disable_bgp_route_propagation,
            "source": self.source.value,
            "state": self.state.value,
            "addressPrefix": self.prefix_texts,
            "nextHopIpAddress": [str(ip) for ip in self.next_hop_ip_addresses],
            "nextHopType": self.next_hop_type.value if self.next_hop_type else None,
        }


class NextHopStatus(StrEnum):
    ANSWERED = "answered"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NextHop:
    """Network Watcher's next hop answer, with the route that decided it.

    ``route_table_id`` is ``None`` when no user route decided (Azure prints ``"System Route"``).
    When ``status`` is ``unknown``, ``reasons`` say why and ``route`` is the route that would
    decide if the unknowns turned out harmless (``None`` if there is none).
    """

    status: NextHopStatus
    nic_id: ResourceId
    destination: IPAddress
    source: IPAddress | None
    profile: RouteProfile
    next_hop_type: WatcherNextHopType | None = None
    next_hop_ip_address: IPAddress | None = None
    route_table_id: ResourceId | None = None
    route: EffectiveRoute | None = None
    matched_prefix: IPNetwork | None = None
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_unknown(self) -> bool:
        return self.status is NextHopStatus.UNKNOWN

    @property
    def resource_id(self) -> ResourceId | None:
        return self.route.resource_id if self.route else None

    @property
    def pointer(self) -> str | None:
        return self.route.pointer if self.route else None

    def to_azure(self) -> dict[str, Any]:
        """Network Watcher's ``NextHopResult`` JSON (``nextHopIpAddress`` only when there is one,
        as Azure omits it). An unknown answer is ``{"nextHopType": "Unknown", "reasons": [...]}``:
        Azure has no such value, and a script must not mistake it for one of Azure's."""
        if self.is_unknown or self.next_hop_type is None:
            return {"nextHopType": "Unknown", "reasons": list(self.reasons)}
        out: dict[str, Any] = {"nextHopType": self.next_hop_type.value}
        if self.next_hop_ip_address is not None:
            out["nextHopIpAddress"] = str(self.next_hop_ip_address)
        out["routeTableId"] = str(self.route_table_id) if self.route_table_id else SYSTEM_ROUTE
        return out


# Ranks for equal prefixes: lower wins (§2.3, §2.4).
_RANK_USER: Final = 0
_RANK_TAG_REGIONAL: Final = 1
_RANK_TAG: Final = 2
_RANK_AZURECLOUD_REGIONAL: Final = 3
_RANK_AZURECLOUD: Final = 4
_RANK_VNET: Final = 5
_RANK_PEERING: Final = 6
_RANK_SERVICE_ENDPOINT: Final = 7
_RANK_GATEWAY: Final = 8
_RANK_PLATFORM: Final = 9
_PREFERRED_OVER_BGP: Final = frozenset(
    {RouteKind.VIRTUAL_NETWORK, RouteKind.PEERING, RouteKind.SERVICE_ENDPOINT,
     RouteKind.INTERFACE_ENDPOINT})

# Service tags hold public Azure space only: no prefix of the 2025-10-28 service tags file
# (3,039 tags) overlaps these ranges. An unresolved tag route can therefore not decide them.
_NOT_IN_SERVICE_TAGS: Final = tuple(ipaddress.ip_network(p) for p in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "fc00::/7", "fe80::/10"))
_TAGS_WITH_PRIVATE_SPACE: Final = frozenset({"virtualnetwork"})


@dataclass(frozen=True)
class EffectiveRouteTable:
    """The effective routes of one NIC (of its IP configuration's subnet), ready for lookups.

    ``problems`` are table-wide: the table is incomplete (its subnet or VNet is missing), so every
    lookup is unknown. :meth:`next_hop` is the fast path for many lookups on one table.
    """

    nic_id: ResourceId
    profile: RouteProfile
    routes: tuple[EffectiveRoute, ...]
    ip_configuration_id: ResourceId | None = None
    subnet_id: ResourceId | None = None
    virtual_network_id: ResourceId | None = None
    route_table_id: ResourceId | None = None
    disable_bgp_route_propagation: bool = False
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_complete(self) -> bool:
        """True when the table is exactly what Azure would list (no unknowns anywhere)."""
        return not self.all_problems()

    def all_problems(self) -> list[str]:
        """Everything that keeps this table from being exactly Azure's."""
        out = list(self.problems)
        for route in self.routes:
            out.extend(f"{route.describe()}: {p}" for p in (*route.problems, *route.uncertain))
        return out

    def to_azure(self) -> dict[str, Any]:
        """``{"value": [...]}`` as the effective route table API returns it; ``problems`` is added
        (not an Azure key) only when the table is incomplete."""
        out: dict[str, Any] = {"value": [r.to_azure() for r in self.routes]}
        problems = self.all_problems()
        if problems:
            out["problems"] = problems
        return out

    @cached_property
    def _index(self) -> RouteIndex:
        return RouteIndex(self.routes)

    def next_hop(
        self, destination: IPAddress | str, source: IPAddress | str | None = None
    ) -> NextHop:
        """Where a packet from this NIC to ``destination`` goes next."""
        dest = as_ip(destination, "destination IP address")
        src = None if source is None else as_ip(source, "source IP address")
        if src is not None and src.version != dest.version:
            raise UsageError(f"source IP {src} and destination IP {dest} are not the same IP "
                             "version")
        return self._index.decide(self, dest, src)


_KIND_RANK: Final = {
    RouteKind.USER: _RANK_USER,
    RouteKind.VIRTUAL_NETWORK: _RANK_VNET,
    RouteKind.PEERING: _RANK_PEERING,
    RouteKind.INTERFACE_ENDPOINT: _RANK_VNET,
    RouteKind.SERVICE_ENDPOINT: _RANK_SERVICE_ENDPOINT,
    RouteKind.GATEWAY: _RANK_GATEWAY,
    RouteKind.PLATFORM: _RANK_PLATFORM,
}



def _tag_rank(tag: str) -> int:
    folded = tag.casefold()
    if folded == "azurecloud":
        return _RANK_AZURECLOUD
    if folded.startswith("azurecloud."):
        return _RANK_AZURECLOUD_REGIONAL
    return _RANK_TAG_REGIONAL if "." in folded else _RANK_TAG



def _within(inner: IPNetwork, outer: IPNetwork) -> bool:
    if inner.version != outer.version or inner.prefixlen < outer.prefixlen:
        return False
    return int(inner.network_address) >> (inner.max_prefixlen - outer.prefixlen) == \
        int(outer.network_address) >> (outer.max_prefixlen - outer.prefixlen)


def under(prefix: IPNetwork, covers: Sequence[IPNetwork]) -> bool:
    return any(_within(prefix, c) for c in covers)



def as_ip(value: IPAddress | str, what: str) -> IPAddress:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    try:
        return parse_ip(value)
    except ValueError:
        raise UsageError(f"invalid {what} {value!r}") from None



# ---------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------
class RouteIndex:
    """Longest-prefix match: per IP version, one dict per prefix length, from network integer to
    the prefix and the routes that win it (after the equal-prefix ranking)."""

    __slots__ = ("_lengths", "_preferred", "_routes", "_tables", "_unresolved")

    def __init__(self, routes: Sequence[EffectiveRoute]) -> None:
        self._routes = routes
        self._preferred = [
            p for r in routes if r.kind in _PREFERRED_OVER_BGP for p in r.address_prefixes]
        self._unresolved = [r for r in routes if r.unresolved]
        best: dict[IPNetwork, tuple[int, list[int]]] = {}
        for i, route in enumerate(routes):
            rank = route.rank
            for prefix in route.address_prefixes:
                if route.kind is RouteKind.GATEWAY and under(prefix, self._preferred):
                    continue
                held = best.get(prefix)
                if held is None or rank < held[0]:
                    best[prefix] = (rank, [i])
                elif rank == held[0]:
                    held[1].append(i)
        self._tables: dict[int, dict[int, dict[int, tuple[IPNetwork, tuple[int, ...]]]]] = {
            4: {}, 6: {}}
        for prefix, (_, indices) in best.items():
            by_len = self._tables[prefix.version].setdefault(prefix.prefixlen, {})
            by_len[int(prefix.network_address)] = (prefix, tuple(indices))
        self._lengths = {v: sorted(t, reverse=True) for v, t in self._tables.items()}

    def winners(self) -> set[int]:
        """Indices of the routes that win at least one prefix."""
        return {i for by_len in self._tables.values() for found in by_len.values()
                for _, indices in found.values() for i in indices}

    def rebind(self, routes: Sequence[EffectiveRoute]) -> None:
        """Point at ``routes``: the same routes in the same order, with their final state."""
        assert len(routes) == len(self._routes)
        self._routes = routes
        self._unresolved = [r for r in routes if r.unresolved]

    def match(self, dest: IPAddress) -> tuple[IPNetwork | None, tuple[int, ...]]:
        """The longest prefix holding ``dest`` and the indices of the routes that win it."""
        bits = dest.max_prefixlen
        value = int(dest)
        tables = self._tables[dest.version]
        for length in self._lengths[dest.version]:
            shift = bits - length
            found = tables[length].get(value >> shift << shift)
            if found is not None:
                return found
        return None, ()

    def decide(self, table: EffectiveRouteTable, dest: IPAddress, src: IPAddress | None) -> NextHop:
        prefix, winners = self.match(dest)
        routes = self._routes
        winner = routes[winners[0]] if winners else None
        reasons = list(table.problems)
        if len(winners) > 1 and len({(routes[i].next_hop_type, routes[i].next_hop_ip_addresses)
                                     for i in winners}) > 1:
            names = "; ".join(routes[i].describe() for i in winners)
            reasons.append(f"several routes for {prefix} rank equally with different next hops: "
                           f"{names}")
        if winner is not None:
            reasons.extend(f"{winner.describe()}: {p}" for p in winner.problems)
        for route in self._unresolved:
            if route is not winner and self._could_decide(route, dest, prefix, winner):
                reasons.extend(f"{route.describe()}: {p}" for p in route.problems)
        if winner is None and not reasons:
            reasons.append(f"no route matches {dest}; Azure's answer for this is not recorded")
        notes = (*table.notes, *(winner.notes if winner else ()))
        if reasons or winner is None:
            return NextHop(status=NextHopStatus.UNKNOWN, nic_id=table.nic_id, destination=dest,
                           source=src, profile=table.profile, route=winner,
                           matched_prefix=prefix, reasons=tuple(dict.fromkeys(reasons)),
                           notes=notes)
        hop_type, hop_ip = _watcher_answer(winner, table.profile)
        return NextHop(status=NextHopStatus.ANSWERED, nic_id=table.nic_id, destination=dest,
                       source=src, profile=table.profile, next_hop_type=hop_type,
                       next_hop_ip_address=hop_ip, route_table_id=winner.route_table_id,
                       route=winner, matched_prefix=prefix, notes=notes)

    def _could_decide(self, route: EffectiveRoute, dest: IPAddress,
                      winner_prefix: IPNetwork | None, winner: EffectiveRoute | None) -> bool:
        """Could a route whose prefixes are unknown decide ``dest`` over the known winner?"""
        same_version = [p for p in _NOT_IN_SERVICE_TAGS if p.version == dest.version]
        if (route.service_tag and route.service_tag.casefold() not in _TAGS_WITH_PRIVATE_SPACE
                and any(dest in p for p in same_version)):
            return False
        if route.kind is RouteKind.GATEWAY and any(
                dest in p for p in self._preferred if p.version == dest.version):
            return False
        if winner_prefix is None or winner is None:
            return True
        # Only a host route of equal or better rank leaves no room for a more specific route.
        return not (winner_prefix.prefixlen == winner_prefix.max_prefixlen
                    and winner.rank <= route.rank)


def _watcher_answer(
    route: EffectiveRoute, profile: RouteProfile
) -> tuple[WatcherNextHopType, IPAddress | None]:
    spec = profile.spec
    hop = route.next_hop_type
    first_ip = route.next_hop_ip_addresses[0] if route.next_hop_ip_addresses else None
    if hop is EffectiveNextHopType.VIRTUAL_APPLIANCE:
        if route.appliance_reachable is False:
            return WatcherNextHopType.NONE, first_ip  # decision 8: None, echoing the IP
        return WatcherNextHopType.VIRTUAL_APPLIANCE, first_ip
    if hop in (EffectiveNextHopType.VNET_LOCAL, EffectiveNextHopType.INTERFACE_ENDPOINT):
        # Network Watcher's answer for a private endpoint's /32 is not recorded: taken as the
        # VNet's own (docs/semantics/private-endpoints.md#pe-5).
        return spec.vnet_next_hop, None
    if hop in (EffectiveNextHopType.VNET_PEERING, EffectiveNextHopType.VNET_GLOBAL_PEERING):
        return spec.peering_next_hop, None
    if hop is EffectiveNextHopType.VIRTUAL_NETWORK_GATEWAY:
        return WatcherNextHopType.VIRTUAL_NETWORK_GATEWAY, first_ip
    if hop is EffectiveNextHopType.VIRTUAL_NETWORK_SERVICE_ENDPOINT:
        return WatcherNextHopType.VIRTUAL_NETWORK_SERVICE_ENDPOINT, None
    if hop is EffectiveNextHopType.INTERNET:
        return WatcherNextHopType.INTERNET, None
    return WatcherNextHopType.NONE, None
