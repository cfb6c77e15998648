"""Effective routes and next hop of a network interface, as Azure computes them.

The rules (azure-semantics.md §2-3 and decisions 4 and 8):

* **System routes** (source ``Default``): one ``VnetLocal`` route per address range of the VNet;
  ``0.0.0.0/0 -> Internet``; the platform ``None`` routes of a :class:`RouteProfile`. A reserved
  ``None`` prefix equal to, or inside, a VNet address range is replaced by the VNet route (§2.1).
* **Peering routes**: each address range of a peered VNet, ``VNetPeering`` (same region) or
  ``VNetGlobalPeering`` (other region), when both peering link objects are ``Connected``.
* **Gateway routes** (source ``VirtualNetworkGateway``): the prefixes of the local network gateways
  and the remote VNets of ``Connected`` connections of the VNet's gateway, or of a hub's gateway
  through ``useRemoteGateways`` / ``allowGatewayTransit``; none on a subnet whose route table sets
  ``disableBgpRoutePropagation``. Prefixes learned through BGP are not in a snapshot: a BGP-enabled
  or ExpressRoute connection makes the lookups such a route could win unknown.
* **Service endpoint routes**: the prefixes of the service's tag (per region) on subnets with the
  endpoint; they need a service tags file, without it the lookups they could win are unknown.
* **User-defined routes** of the subnet's route table, CIDR or service tag prefixes.

Selection: longest prefix match; on equal prefixes User > BGP > System, except that the virtual
network, peering and service endpoint system routes beat BGP routes, even more specific ones
(§2.4); a CIDR user route beats a service-tag user route (regional tag > tag > AzureCloud regional >
AzureCloud). A ``VirtualAppliance`` route whose next hop IP is not inside the VNet or a connected
peer is invalid: Network Watcher answers ``None`` while echoing the appliance IP and the route table
(decision 8). Whatever the snapshot cannot tell (a missing route table, an unresolved service tag,
a route Azure would have rejected) makes the lookups it could decide ``unknown``, never a guess.

Lookups use one dict per prefix length (mask, probe from the longest length down): no dependency,
and fast enough for tens of thousands of routes (``notes/dependencies.md`` §3).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from functools import cached_property
from typing import Any, Final, Protocol

from vnetdoctor.engine.topology import (
    gateways_in,
    peering_links,
    reachable_gateway_prefixes,
    transit_hub,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, IPNetwork, parse_ip
from vnetdoctor.model.network import (
    NextHopType,
    Route,
    RouteTable,
    ServiceEndpoint,
    VirtualNetwork,
)
from vnetdoctor.model.snapshot import Snapshot

SYSTEM_ROUTE: Final = "System Route"



class ServiceTagLookup(Protocol):
    """Microsoft's service tags file, as far as routing needs it (``vnetdoctor.ingest.servicetags``
    provides one): a tag's prefixes by name, case-insensitively, ``None`` for an unknown tag."""

    def prefixes(self, name: str) -> Sequence[IPNetwork] | None: ...


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------
class RouteSource(StrEnum):
    """``EffectiveRoute.source`` as the effective route table API spells it."""

    DEFAULT = "Default"
    USER = "User"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"


class RouteState(StrEnum):
    """``Active`` routes take part in selection; ``Invalid`` ones are overridden."""

    ACTIVE = "Active"
    INVALID = "Invalid"


class EffectiveNextHopType(StrEnum):
    """``nextHopType`` in the effective route table (the API's own spellings)."""

    VNET_LOCAL = "VnetLocal"
    INTERNET = "Internet"
    NONE = "None"
    VIRTUAL_APPLIANCE = "VirtualAppliance"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"
    VNET_PEERING = "VNetPeering"
    VNET_GLOBAL_PEERING = "VNetGlobalPeering"
    VIRTUAL_NETWORK_SERVICE_ENDPOINT = "VirtualNetworkServiceEndpoint"


class WatcherNextHopType(StrEnum):
    """``nextHopType`` in Network Watcher's next hop answer.

    Network Watcher renames some effective-route types: ``VnetLocal`` is ``VirtualNetwork`` in
    every answer recorded since 2018 (``VnetLocal`` in 2017), peering routes are
    ``VirtualNetworkPeering`` (Microsoft's next hop overview lists these names).
    """

    INTERNET = "Internet"
    VIRTUAL_APPLIANCE = "VirtualAppliance"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"
    VIRTUAL_NETWORK = "VirtualNetwork"
    VNET_LOCAL = "VnetLocal"
    VIRTUAL_NETWORK_PEERING = "VirtualNetworkPeering"
    VIRTUAL_NETWORK_SERVICE_ENDPOINT = "VirtualNetworkServiceEndpoint"
    NONE = "None"


class RouteKind(StrEnum):
    """Where an effective route comes from (finer than ``source``)."""

    VIRTUAL_NETWORK = "virtual_network"
    PLATFORM = "platform"  # 0.0.0.0/0 Internet and the profile's None routes
    PEERING = "peering"
    GATEWAY = "gateway"
    SERVICE_ENDPOINT = "service_endpoint"
    USER = "user"


# ---------------------------------------------------------------------------------------------
# Profiles: Azure's platform routes changed over the years
# ---------------------------------------------------------------------------------------------
_DOCUMENTED: Final = frozenset(
    {"0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}
)
_I = EffectiveNextHopType.INTERNET
_N = EffectiveNextHopType.NONE


def _nones(*prefixes: str) -> tuple[tuple[str, EffectiveNextHopType], ...]:
    return tuple((p, _N) for p in prefixes)


_V4_DOCUMENTED: Final = (("0.0.0.0/0", _I), *_nones("10.0.0.0/8", "100.64.0.0/10",
                                                   "172.16.0.0/12", "192.168.0.0/16"))
_V6_2018: Final = (("::/0", _I), *_nones(
    "2603:1080::/25", "fd35:eef2::/32", "fde4:8dba::/32", "2001:4898::/33", "2404:f801::/33",
    "2a01:110::/33", "2a01:4180:8000::/33", "2001:489a::/35", "2001:489a:e000::/35",
    "2a01:111::/36", "2a01:111:e000::/36", "2001:506:28::/48", "2801:80:1d0:2000::/52"))


@dataclass(frozen=True)
class ProfileSpec:
    """One profile's data. ``defaults`` are the platform routes after the VNet's own ranges, in the
    order Azure lists them; ``observed_in`` names the recorded cases (``../shared/fixtures/cases``)
    whose answers show this profile."""

    name: str
    summary: str
    defaults: tuple[tuple[str, EffectiveNextHopType], ...]
    vnet_next_hop: WatcherNextHopType
    peering_next_hop: WatcherNextHopType
    observed_in: tuple[str, ...]

    @cached_property
    def networks(self) -> tuple[tuple[IPNetwork, EffectiveNextHopType, bool], ...]:
        """``(prefix, next hop type, documented by Microsoft)`` per default route."""
        return tuple((ipaddress.ip_network(p), t, p in _DOCUMENTED) for p, t in self.defaults)


class RouteProfile(Enum):
    """Azure's platform route set and Network Watcher's names, as observed at a period.

    Microsoft documents four reserved ``None`` prefixes (10/8, 172.16/12, 192.168/16, 100.64/10,
    §2.1); the effective route tables Azure returned between 2016 and 2024 differ from that and
    from each other. Each profile reproduces one observed set (decision 4); the newest,
    :attr:`AZURE_2024`, is the default. The differences:

    * ``azure-2016``: the documented four plus ``25.0.0.0/8 -> None`` (7 routes for a one-range
      VNet); next hop answers of the time name the VNet ``VnetLocal`` (assumed: none recorded).
    * ``azure-2017``: exactly the documented four (6 routes); next hop names the VNet ``VnetLocal``
      (answers of 2017-06-01 and 2017-06-30).
    * ``azure-2018``: the documented four plus IPv6 ``::/0 -> Internet`` and 13 IPv6 ``None``
      prefixes, even for an IPv4-only VNet (20 routes); next hop says ``VirtualNetwork`` from then
      on.
    * ``documented``: exactly the documented four, with today's names; Azure answered this in 2019
      and the REST specification's example shows it.
    * ``azure-2020``: ``172.16.0.0/12`` is missing (5 routes; users reported the same in
      MicrosoftDocs/azure-docs#42222).
    * ``azure-2021``: still no ``172.16.0.0/12``, plus 12 platform ``None`` prefixes in
      25/8, 40.108/15, 104.146/15, 157.59/16, 198.18/15, 23.103/18, 20.35.252/22 (17 routes).
    * ``azure-2023``: the 2021 set plus ``172.16.0.0/12`` again (18 routes).
    * ``azure-2024``: 23 routes: ``127.0.0.0/8`` and a different set of ``25.x`` prefixes
      (25.176/13, 25.152/14, 25.184/14, 25.148/15, 25.150/16, 25.156/16, 25.159/16 instead of
      25.48/12, 25.33/16, 25.41/20); the same list a third party published in August 2024.

    The undocumented ``None`` prefixes are reported to vanish when a user route for 0.0.0.0/0
    exists (third party, unverified): with such a route, a lookup they would decide is unknown.
    """

    AZURE_2024 = ProfileSpec(
        name="azure-2024",
        summary="23 platform routes incl. 127/8 and 25.x/40.x/104.x None prefixes (newest)",
        defaults=(("0.0.0.0/0", _I), *_nones(
            "10.0.0.0/8", "127.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "25.176.0.0/13",
            "25.152.0.0/14", "25.184.0.0/14", "25.4.0.0/14", "25.148.0.0/15", "198.18.0.0/15",
            "25.150.0.0/16", "25.156.0.0/16", "25.159.0.0/16", "40.109.0.0/16", "192.168.0.0/16",
            "104.147.0.0/16", "157.59.0.0/16", "40.108.0.0/17", "104.146.0.0/17", "23.103.0.0/18",
            "20.35.252.0/22")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2024-08-27-1",
            "effectiveroutetable-cli-nic-convenience-2024-08-27-2",
            "nexthop-cli-watcher-vm-2024-08-27-1",
        ),
    )
    AZURE_2023 = ProfileSpec(
        name="azure-2023",
        summary="18 routes: the 2021 set plus 172.16/12",
        defaults=(("0.0.0.0/0", _I), *_nones(
            "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "25.48.0.0/12", "25.4.0.0/14",
            "198.18.0.0/15", "157.59.0.0/16", "192.168.0.0/16", "25.33.0.0/16", "40.109.0.0/16",
            "104.147.0.0/16", "104.146.0.0/17", "40.108.0.0/17", "23.103.0.0/18", "25.41.0.0/20",
            "20.35.252.0/22")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2023-03-03-1",
            "nexthop-cli-watcher-vm-2023-02-24-1",
        ),
    )
    AZURE_2021 = ProfileSpec(
        name="azure-2021",
        summary="17 routes: no 172.16/12, 12 undocumented None prefixes",
        defaults=(("0.0.0.0/0", _I), *_nones(
            "10.0.0.0/8", "100.64.0.0/10", "25.48.0.0/12", "25.4.0.0/14", "198.18.0.0/15",
            "157.59.0.0/16", "192.168.0.0/16", "25.33.0.0/16", "40.109.0.0/16", "104.147.0.0/16",
            "40.108.0.0/17", "104.146.0.0/17", "23.103.0.0/18", "25.41.0.0/20",
            "20.35.252.0/22")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2021-05-19-1",
            "nexthop-cli-watcher-vm-2021-05-27-1",
        ),
    )
    AZURE_2020 = ProfileSpec(
        name="azure-2020",
        summary="5 routes: the documented set without 172.16/12",
        defaults=(("0.0.0.0/0", _I), *_nones("10.0.0.0/8", "100.64.0.0/10", "192.168.0.0/16")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2020-07-09-1",
            "nexthop-javafluent-watcher-functions-2020-07-21-1",
            "nexthop-cli-watcher-vm-2020-09-11-1",
            "nexthop-netfluent-canwatchnetwork-2020-11-27-1",
            "nexthop-netfluent-manage-watcher-2020-11-27-1",
            "nexthop-cli-watcher-vm-2020-12-20-1",
        ),
    )
    DOCUMENTED = ProfileSpec(
        name="documented",
        summary="the four documented None prefixes (10/8, 172.16/12, 192.168/16, 100.64/10)",
        defaults=_V4_DOCUMENTED,
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-netsdk-effective-route-acls-2019-08-24-1",
            "nexthop-netsdk-nexthop-2019-08-24-1",
            "nexthop-netsdk-nexthop-2019-08-24-2",
            "effectiveroutetable-restspec-2021-02-01-1",
        ),
    )
    AZURE_2018 = ProfileSpec(
        name="azure-2018",
        summary="20 routes: the documented set plus ::/0 Internet and 13 IPv6 None prefixes",
        defaults=(*_V4_DOCUMENTED, *_V6_2018),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "nexthop-cli-watcher-2018-03-13-1",
            "effectiveroutetable-netsdk-effective-route-acls-2018-03-24-1",
            "effectiveroutetable-cli-nic-convenience-2018-04-04-1",
            "nexthop-cli-watcher-vm-2018-09-11-1",
            "nexthop-cli-watcher-vm-2018-12-04-1",
        ),
    )
    AZURE_2017 = ProfileSpec(
        name="azure-2017",
        summary="the documented four; next hop names the VNet VnetLocal",
        defaults=_V4_DOCUMENTED,
        vnet_next_hop=WatcherNextHopType.VNET_LOCAL,
        # Assumption: the 2017 API had no peering value in its enum (§2.7, unverified).
        peering_next_hop=WatcherNextHopType.VNET_LOCAL,
        observed_in=(
            "nexthop-netsdk-nexthop-2017-02-09-1",
            "nexthop-netsdk-nexthop-2017-02-09-2",
            "effectiveroutetable-cli-nic-convenience-2017-03-09-1",
            "nexthop-cli-watcher-2017-06-01-1",
            "nexthop-cli-watcher-2017-06-30-1",
            "nexthop-javafluent-watcher-functions-2017-09-22-1",
        ),
    )
    AZURE_2016 = ProfileSpec(
        name="azure-2016",
        summary="the documented four plus 25.0.0.0/8 None",
        defaults=(("0.0.0.0/0", _I), *_nones("10.0.0.0/8", "25.0.0.0/8", "100.64.0.0/10",
                                             "172.16.0.0/12", "192.168.0.0/16")),
        vnet_next_hop=WatcherNextHopType.VNET_LOCAL,
        peering_next_hop=WatcherNextHopType.VNET_LOCAL,
        observed_in=(
            "effectiveroutetable-netsdk-effective-route-acls-2016-08-02-1",
            "effectiveroutetable-cli-nic-convenience-2016-09-16-1",
            "effectiveroutetable-cli-nic-convenience-2016-11-21-1",
        ),
    )

    @property
    def spec(self) -> ProfileSpec:
        value: ProfileSpec = self.value
        return value

    def __str__(self) -> str:
        return self.spec.name

    @classmethod
    def parse(cls, name: str) -> RouteProfile:
        """A profile by its name (``azure-2024``, ``documented``, ...), case-insensitively."""
        folded = name.strip().casefold().replace("_", "-")
        for member in cls:
            if member.spec.name == folded:
                return member
        known = ", ".join(m.spec.name for m in cls)
        raise UsageError(f"unknown route profile {name!r}; known profiles: {known}")

    @classmethod
    def names(cls) -> list[str]:
        return [m.spec.name for m in cls]


DEFAULT_PROFILE: Final = RouteProfile.AZURE_2024


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
    {RouteKind.VIRTUAL_NETWORK, RouteKind.PEERING, RouteKind.SERVICE_ENDPOINT})

# Service tags hold public Azure space only: no prefix of the 2025-10-28 service tags file
# (3,039 tags) overlaps these ranges. An unresolved tag route can therefore not decide them.
_NOT_IN_SERVICE_TAGS: Final = tuple(ipaddress.ip_network(p) for p in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "fc00::/7", "fe80::/10"))
_TAGS_WITH_PRIVATE_SPACE: Final = frozenset({"virtualnetwork"})

# Service endpoint service -> the service tag whose prefixes its route carries.
_SERVICE_ENDPOINT_TAGS: Final = {
    "microsoft.storage": "Storage",
    "microsoft.storage.global": "Storage",
    "microsoft.sql": "Sql",
    "microsoft.azurecosmosdb": "AzureCosmosDB",
    "microsoft.keyvault": "AzureKeyVault",
    "microsoft.servicebus": "ServiceBus",
    "microsoft.eventhub": "EventHub",
    "microsoft.azureactivedirectory": "AzureActiveDirectory",
    "microsoft.web": "AppService",
    "microsoft.containerregistry": "AzureContainerRegistry",
}


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
    def _index(self) -> _Index:
        return _Index(self.routes)

    def next_hop(
        self, destination: IPAddress | str, source: IPAddress | str | None = None
    ) -> NextHop:
        """Where a packet from this NIC to ``destination`` goes next."""
        dest = _as_ip(destination, "destination IP address")
        src = None if source is None else _as_ip(source, "source IP address")
        if src is not None and src.version != dest.version:
            raise UsageError(f"source IP {src} and destination IP {dest} are not the same IP "
                             "version")
        return self._index.decide(self, dest, src)


# ---------------------------------------------------------------------------------------------
# Library API
# ---------------------------------------------------------------------------------------------
def effective_routes(
    snapshot: Snapshot,
    nic: NetworkInterface,
    profile: RouteProfile = DEFAULT_PROFILE,
    *,
    service_tags: ServiceTagLookup | None = None,
    ip_configuration: IpConfiguration | None = None,
) -> EffectiveRouteTable:
    """The effective routes of ``nic`` (of ``ip_configuration``'s subnet, else the primary one's).

    Never raises on odd configuration: what the snapshot cannot tell becomes ``problems`` on the
    table or on the routes it affects.
    """
    return _Builder(snapshot, nic, profile, service_tags, ip_configuration).build()


TableKey = tuple[ResourceId | None, ...]


def table_key(nic: NetworkInterface, ipc: IpConfiguration | None) -> TableKey:
    """What an effective route table depends on besides the snapshot: the subnet.

    ``_Builder.build`` reads the NIC only for its id and, when the NIC has no subnet or spans
    several subnets, for the name in a problem or note; those NICs get a table of their own.
    """
    chosen = ipc or nic.primary_ip_configuration
    if chosen is not None and chosen.subnet is not None and all(
        c.subnet == chosen.subnet for c in nic.ip_configurations
    ):
        return (chosen.subnet,)
    return (nic.id, None if ipc is None else ipc.id)


def next_hop(
    snapshot: Snapshot,
    nic: NetworkInterface,
    source_ip: IPAddress | str,
    destination_ip: IPAddress | str,
    profile: RouteProfile = DEFAULT_PROFILE,
    *,
    service_tags: ServiceTagLookup | None = None,
) -> NextHop:
    """Network Watcher's next hop for a packet leaving ``nic`` from ``source_ip``.

    Like Azure, the source IP need not be one of the NIC's (the answer then says so in
    ``notes``); when it is, the routes of that IP configuration's subnet are used. Raises
    :class:`~vnetdoctor.errors.UsageError` for an invalid IP or mixed IP versions.
    """
    src = _as_ip(source_ip, "source IP address")
    dest = _as_ip(destination_ip, "destination IP address")
    ipc = next((c for c in nic.ip_configurations if c.private_ip_address == src), None)
    table = effective_routes(snapshot, nic, profile, service_tags=service_tags,
                             ip_configuration=ipc)
    hop = table.next_hop(dest, src)
    if ipc is None and nic.ip_configurations:
        owned = ", ".join(str(ip) for ip in nic.private_ip_addresses) or "none"
        note = (f"source IP {src} is not an address of NIC {nic.name} ({owned}); Azure answers "
                "such a request too, with the routes of the NIC's primary IP configuration")
        hop = replace(hop, notes=(*hop.notes, note))
    return hop


def _as_ip(value: IPAddress | str, what: str) -> IPAddress:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    try:
        return parse_ip(value)
    except ValueError:
        raise UsageError(f"invalid {what} {value!r}") from None


# ---------------------------------------------------------------------------------------------
# Building the table
# ---------------------------------------------------------------------------------------------
_KIND_RANK: Final = {
    RouteKind.USER: _RANK_USER,
    RouteKind.VIRTUAL_NETWORK: _RANK_VNET,
    RouteKind.PEERING: _RANK_PEERING,
    RouteKind.SERVICE_ENDPOINT: _RANK_SERVICE_ENDPOINT,
    RouteKind.GATEWAY: _RANK_GATEWAY,
    RouteKind.PLATFORM: _RANK_PLATFORM,
}
_USER_HOPS: Final = {
    NextHopType.VIRTUAL_APPLIANCE: EffectiveNextHopType.VIRTUAL_APPLIANCE,
    NextHopType.VIRTUAL_NETWORK_GATEWAY: EffectiveNextHopType.VIRTUAL_NETWORK_GATEWAY,
    NextHopType.VNET_LOCAL: EffectiveNextHopType.VNET_LOCAL,
    NextHopType.INTERNET: EffectiveNextHopType.INTERNET,
    NextHopType.NONE: EffectiveNextHopType.NONE,
}


def _tag_rank(tag: str) -> int:
    folded = tag.casefold()
    if folded == "azurecloud":
        return _RANK_AZURECLOUD
    if folded.startswith("azurecloud."):
        return _RANK_AZURECLOUD_REGIONAL
    return _RANK_TAG_REGIONAL if "." in folded else _RANK_TAG


def _location(text: str | None) -> str:
    return (text or "").replace(" ", "").casefold()


def _within(inner: IPNetwork, outer: IPNetwork) -> bool:
    if inner.version != outer.version or inner.prefixlen < outer.prefixlen:
        return False
    return int(inner.network_address) >> (inner.max_prefixlen - outer.prefixlen) == \
        int(outer.network_address) >> (outer.max_prefixlen - outer.prefixlen)


def _under(prefix: IPNetwork, covers: Sequence[IPNetwork]) -> bool:
    return any(_within(prefix, c) for c in covers)


def _ips(text: str | None) -> Iterable[IPAddress]:
    for part in (text or "").split(","):
        try:
            yield ipaddress.ip_address(part.strip())
        except ValueError:
            continue


class _Builder:
    def __init__(
        self,
        snapshot: Snapshot,
        nic: NetworkInterface,
        profile: RouteProfile,
        service_tags: ServiceTagLookup | None,
        ip_configuration: IpConfiguration | None,
    ) -> None:
        self.snapshot = snapshot
        self.nic = nic
        self.profile = profile
        self.tags = service_tags
        self.ipc = ip_configuration or nic.primary_ip_configuration
        self.routes: list[EffectiveRoute] = []
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.disable_bgp = False

    def build(self) -> EffectiveRouteTable:
        nic, ipc = self.nic, self.ipc
        subnet_id = ipc.subnet if ipc is not None else None
        subnet = self.snapshot.subnet(subnet_id)
        vnet = self.snapshot.subnet_vnet(subnet_id)
        table_id = subnet.route_table if subnet is not None else None
        table = self.snapshot.route_tables.get_ref(table_id)
        if ipc is None or subnet_id is None:
            self.problems.append(f"NIC {nic.name} has no IP configuration in a subnet")
        elif subnet is None or vnet is None:
            self.problems.append(f"subnet {subnet_id} of NIC {nic.name} is not in the snapshot")
        if len({c.subnet for c in nic.ip_configurations if c.subnet is not None}) > 1:
            self.notes.append(f"NIC {nic.name} has IP configurations in several subnets; these "
                              f"are the routes of {subnet_id}")
        if table is not None:
            self.disable_bgp = table.disable_bgp_route_propagation
        if vnet is not None and subnet is not None:
            self._system(vnet)
            self._peerings(vnet)
            if self.disable_bgp:
                self.notes.append(f"route table {table_id} disables BGP route propagation: no "
                                  "gateway routes on this subnet")
            else:
                self._gateways(vnet)
            self._service_endpoints(vnet, subnet.index, subnet.service_endpoints)
            if table_id is not None and table is None:
                self.routes.append(EffectiveRoute(
                    source=RouteSource.USER, state=RouteState.ACTIVE, address_prefixes=(),
                    next_hop_type=None, kind=RouteKind.USER, resource_id=table_id,
                    unresolved=True, problems=(
                        f"route table {table_id} of subnet {subnet.name} is not in the "
                        "snapshot: any of its routes could decide",)))
            elif table is not None:
                self._user_routes(vnet, table)
            self._undocumented_under_default_udr()
        routes, index = _finish(self.routes)
        result = EffectiveRouteTable(
            nic_id=nic.id, profile=self.profile, routes=routes,
            ip_configuration_id=ipc.id if ipc is not None else None, subnet_id=subnet_id,
            virtual_network_id=vnet.id if vnet is not None else None, route_table_id=table_id,
            disable_bgp_route_propagation=self.disable_bgp, problems=tuple(self.problems),
            notes=tuple(self.notes))
        result.__dict__["_index"] = index  # the cached_property's slot: built once, here
        return result

    def _route(self, source: RouteSource, kind: RouteKind, prefixes: tuple[IPNetwork, ...],
               hop: EffectiveNextHopType | None, **extra: Any) -> None:
        self.routes.append(EffectiveRoute(
            source=source, state=RouteState.ACTIVE, address_prefixes=prefixes,
            next_hop_type=hop, kind=kind, disable_bgp_route_propagation=self.disable_bgp,
            **extra))

    # -- system routes --------------------------------------------------------------------------
    def _system(self, vnet: VirtualNetwork) -> None:
        spaces = vnet.address_prefixes
        for i, prefix in enumerate(spaces):
            self._route(RouteSource.DEFAULT, RouteKind.VIRTUAL_NETWORK, (prefix,),
                        EffectiveNextHopType.VNET_LOCAL, resource_id=vnet.id,
                        pointer=f"/properties/addressSpace/addressPrefixes/{i}")
        if not spaces:
            self.problems.append(f"VNet {vnet.name} has no address space in the snapshot")
        if any(p.startswith("addressSpace") for p in vnet.problems):
            self._route(RouteSource.DEFAULT, RouteKind.VIRTUAL_NETWORK, (),
                        EffectiveNextHopType.VNET_LOCAL, resource_id=vnet.id,
                        pointer="/properties/addressSpace/addressPrefixes", unresolved=True,
                        problems=(f"an address range of VNet {vnet.name} could not be read",))
        spec = self.profile.spec
        v6_internet = False
        for network, hop, documented in spec.networks:
            if hop is EffectiveNextHopType.NONE and _under(network, spaces):
                continue  # a VNet range equal to or around a reserved prefix replaces it (§2.1)
            v6_internet |= network.version == 6 and hop is EffectiveNextHopType.INTERNET
            notes = () if documented else (f"undocumented platform route (profile {spec.name})",)
            self._route(RouteSource.DEFAULT, RouteKind.PLATFORM, (network,), hop, notes=notes)
        if not v6_internet and any(p.version == 6 for p in spaces):
            self._route(RouteSource.DEFAULT, RouteKind.PLATFORM, (ipaddress.ip_network("::/0"),),
                        EffectiveNextHopType.INTERNET)

    def _undocumented_under_default_udr(self) -> None:
        """The undocumented platform None routes are reported to vanish under a user 0.0.0.0/0
        route [UNVERIFIED, azure-semantics §2.1]: a lookup they would decide is then unknown."""
        if not any(r.kind is RouteKind.USER and any(p.prefixlen == 0 and p.version == 4
                                                    for p in r.address_prefixes)
                   for r in self.routes):
            return
        for i, route in enumerate(self.routes):
            prefixes = route.address_prefixes
            if (route.kind is RouteKind.PLATFORM and prefixes and prefixes[0].version == 4
                    and str(prefixes[0]) not in _DOCUMENTED):
                self.routes[i] = replace(route, problems=(
                    *route.problems,
                    "this undocumented platform route is reported to disappear when a user route "
                    "for 0.0.0.0/0 exists (third-party observation, unverified)"))

    # -- peering --------------------------------------------------------------------------------
    def _peerings(self, vnet: VirtualNetwork) -> None:
        for link in peering_links(self.snapshot, vnet):
            side = link.local_side
            if not side.is_connected:
                continue  # Initiated / Disconnected: no route (§3.1)
            if link.remote_side is not None and not link.remote_side.is_connected:
                continue
            problems: list[str] = []
            uncertain: list[str] = []
            notes: list[str] = []
            hop = EffectiveNextHopType.VNET_PEERING
            if link.remote is None:
                # Azure sets peeringState Connected only once both links are: the route exists,
                # with the remote space the link records.
                notes.append(f"remote VNet {side.remote_virtual_network} is not in the snapshot; "
                             "its address space is taken from the peering's remoteAddressSpace")
                uncertain.append("the remote VNet's region is unknown: VNetPeering or "
                                 "VNetGlobalPeering")
                sync = (side.peering_sync_level or "FullyInSync").casefold()
                if sync != "fullyinsync":
                    problems.append(f"peering {side.name} is {side.peering_sync_level}: its "
                                    "recorded remote address space may be stale")
            elif link.remote_side is None:
                problems.append(f"peering {side.name} says Connected but remote VNet "
                                f"{link.remote.name} has no peering back in the snapshot")
            elif _location(link.remote.location) and _location(vnet.location):
                if _location(link.remote.location) != _location(vnet.location):
                    hop = EffectiveNextHopType.VNET_GLOBAL_PEERING
            else:
                uncertain.append("a VNet location is missing: VNetPeering or VNetGlobalPeering")
            back = link.remote_side
            remote_access = back is None or back.allow_virtual_network_access
            if not (side.allow_virtual_network_access and remote_access):
                notes.append(f"allowVirtualNetworkAccess is false on peering {side.name} or its "
                             "remote side: traffic across it is blocked (decision 3)")
            if side.problems:
                problems.append(f"peering {side.name} has unreadable fields: "
                                f"{', '.join(side.problems)}")
            extra: dict[str, Any] = {
                "resource_id": vnet.id,
                "pointer": f"/properties/virtualNetworkPeerings/{side.index}",
                "uncertain": tuple(uncertain), "notes": tuple(notes)}
            if not link.remote_prefixes:
                self._route(RouteSource.DEFAULT, RouteKind.PEERING, (), hop, unresolved=True,
                            problems=(*problems, f"the address space behind peering {side.name} "
                                      "is unknown"), **extra)
            for prefix in link.remote_prefixes:
                self._route(RouteSource.DEFAULT, RouteKind.PEERING, (prefix,), hop,
                            problems=tuple(problems), **extra)

    # -- gateways -------------------------------------------------------------------------------
    def _gateways(self, vnet: VirtualNetwork) -> None:
        src, kind = RouteSource.VIRTUAL_NETWORK_GATEWAY, RouteKind.GATEWAY
        hop = EffectiveNextHopType.VIRTUAL_NETWORK_GATEWAY
        for found in reachable_gateway_prefixes(self.snapshot, vnet):
            conn, gateway = found.connection, found.gateway
            bgp = gateway.bgp_settings.bgp_peering_address if gateway.bgp_settings else None
            ips = tuple(_ips(bgp))
            express = (conn.connection_type or "").casefold() == "expressroute"
            if conn.enable_bgp or express:
                self._route(src, kind, (), hop, next_hop_ip_addresses=ips, resource_id=conn.id,
                            unresolved=True, problems=(
                                f"connection {conn.name} learns routes through BGP, which a "
                                "snapshot does not hold",))
            if express:
                continue
            lng = self.snapshot.local_network_gateways.get_ref(conn.local_network_gateway2)
            missing = ""
            if conn.local_network_gateway2 is not None and lng is None:
                missing = f"local network gateway {conn.local_network_gateway2} is not in the " \
                          "snapshot"
            elif lng is not None and lng.problems:
                missing = f"local network gateway {lng.name} has unreadable address prefixes"
            elif conn.local_network_gateway2 is None and not found.prefixes:
                missing = f"the remote gateway or VNet of connection {conn.name} is not in the " \
                          "snapshot"
            if missing:
                self._route(src, kind, (), hop, next_hop_ip_addresses=ips, resource_id=conn.id,
                            unresolved=True, problems=(missing,))
            for prefix in found.prefixes:
                rid, pointer = conn.id, None
                if lng is not None:
                    rid = lng.id
                    pointer = ("/properties/localNetworkAddressSpace/addressPrefixes/"
                               f"{lng.address_prefixes.index(prefix)}")
                self._route(src, kind, (prefix,), hop, next_hop_ip_addresses=ips,
                            resource_id=rid, pointer=pointer,
                            notes=(f"via gateway {gateway.name}, connection {conn.name}",))

    # -- service endpoints ----------------------------------------------------------------------
    def _service_endpoints(self, vnet: VirtualNetwork, subnet_index: int,
                           endpoints: Sequence[ServiceEndpoint]) -> None:
        for i, endpoint in enumerate(endpoints):
            base = _SERVICE_ENDPOINT_TAGS.get(endpoint.service.casefold())
            regions = [r for r in (_location(x) for x in endpoint.locations) if r and r != "*"]
            names = ([f"{base}.{r}" for r in regions] or [base]) if base else []
            label = ", ".join(names) or endpoint.service
            prefixes: list[IPNetwork] = []
            missing: list[str] = []
            if base is None:
                missing.append(f"no service tag is known for service endpoint {endpoint.service}")
            elif self.tags is None:
                missing.append(f"service endpoint {endpoint.service} routes the prefixes of "
                               f"{label}: give a service tags file (--service-tags) to resolve "
                               "them")
            else:
                for name in names:
                    found = self.tags.prefixes(name)
                    if found is None:
                        missing.append(f"service tag {name} is not in the service tags file")
                    else:  # service endpoints are IPv4 only
                        prefixes.extend(p for p in found if p.version == 4)
            self._route(RouteSource.DEFAULT, RouteKind.SERVICE_ENDPOINT,
                        tuple(dict.fromkeys(prefixes)),
                        EffectiveNextHopType.VIRTUAL_NETWORK_SERVICE_ENDPOINT, resource_id=vnet.id,
                        pointer=f"/properties/subnets/{subnet_index}/properties/serviceEndpoints/{i}",
                        service_tag=label, unresolved=bool(missing), problems=tuple(missing))

    # -- user routes ----------------------------------------------------------------------------
    def _user_routes(self, vnet: VirtualNetwork, table: RouteTable) -> None:
        groups: dict[str, list[Route]] = {}
        for route in table.routes:
            if route.address_prefix is not None:
                prefix = route.address_prefix
                key = str(prefix.network) if prefix.network else prefix.text.casefold()
                groups.setdefault(key, []).append(route)
        duplicates = {r.index: g for g in groups.values() if len(g) > 1 for r in g}
        for route in table.routes:
            self._user_route(vnet, table, route, duplicates.get(route.index))

    def _user_route(self, vnet: VirtualNetwork, table: RouteTable, route: Route,
                    duplicates: list[Route] | None) -> None:
        problems = [f"unreadable {f}" for f in route.problems]
        notes: list[str] = []
        if duplicates:
            names = ", ".join(r.name for r in duplicates)
            problems.append(f"address prefix {route.address_prefix} appears in several routes of "
                            f"route table {table.name} ({names}); Azure rejects this")
        hop = _USER_HOPS.get(route.next_hop_type) if route.next_hop_type else None
        ips: tuple[IPAddress, ...] = ()
        reachable: bool | None = None
        if hop is EffectiveNextHopType.VIRTUAL_APPLIANCE:
            if route.next_hop_ip_address is not None:
                ips = (route.next_hop_ip_address,)
                reachable, detail = self._appliance(vnet, route.next_hop_ip_address)
                (problems if reachable is None else notes).extend(detail)
            elif "nextHopIpAddress" not in route.problems:
                problems.append("a VirtualAppliance route needs a next hop IP address; Azure "
                                "rejects a route without one")
        elif route.next_hop_ip_address is not None:
            notes.append(f"next hop IP {route.next_hop_ip_address} is ignored: only "
                         "VirtualAppliance routes use one")
        elif hop is EffectiveNextHopType.VIRTUAL_NETWORK_GATEWAY and not self._has_gateway(vnet):
            notes.append("no virtual network gateway in this VNet or a transit hub: traffic on "
                         "this route is dropped")
        prefixes: tuple[IPNetwork, ...] = ()
        tag = None
        prefix = route.address_prefix
        if prefix is not None and prefix.network is not None:
            prefixes = (prefix.network,)
        elif prefix is not None and prefix.tag is not None:
            tag = prefix.tag
            found = None if self.tags is None else self.tags.prefixes(tag)
            if found is not None:
                prefixes = tuple(found)
            elif self.tags is None:
                problems.append(f"service tag {tag} is not resolved: give a service tags file "
                                "(--service-tags)")
            else:
                problems.append(f"service tag {tag} is not in the service tags file")
        self._route(RouteSource.USER, RouteKind.USER, prefixes, hop,
                    next_hop_ip_addresses=ips, name=route.name, resource_id=table.id,
                    pointer=f"/properties/routes/{route.index}", service_tag=tag,
                    unresolved=not prefixes, appliance_reachable=reachable,
                    problems=tuple(problems), notes=tuple(notes))

    def _has_gateway(self, vnet: VirtualNetwork) -> bool:
        if gateways_in(self.snapshot, vnet.id):
            return True
        hub = transit_hub(self.snapshot, vnet)
        return hub is not None

    def _appliance(self, vnet: VirtualNetwork, ip: IPAddress) -> tuple[bool | None, list[str]]:
        """Decision 8: the appliance IP must be in the VNet or a connected peer."""
        facts = self._appliance_facts(ip)
        if any(ip in p for p in vnet.address_prefixes):
            return True, facts
        for link in peering_links(self.snapshot, vnet):
            if not any(ip in p for p in link.remote_prefixes):
                continue
            side = link.local_side
            if link.is_usable:
                return True, [f"next hop IP {ip} is in the VNet behind peering {side.name}",
                              *facts]
            if side.is_connected and (link.remote_side is None or link.remote_side.is_connected):
                why = ("whose remote side is not in the snapshot" if link.remote_side is None
                       else "which blocks access (allowVirtualNetworkAccess false)")
                return None, [f"next hop IP {ip} is behind peering {side.name}, {why}: whether "
                              "Azure treats the route as valid is not known"]
        return False, [f"next hop IP {ip} has no direct connectivity (it is outside VNet "
                       f"{vnet.name} and its connected peers): the route is invalid and Network "
                       "Watcher answers next hop None (decision 8)", *facts]

    def _appliance_facts(self, ip: IPAddress) -> list[str]:
        holders = self.snapshot.nics_with_ip(ip)
        facts = [f"next hop IP {ip} is NIC {nic.name} (IP forwarding "
                 f"{'enabled' if nic.enable_ip_forwarding else 'DISABLED'})" for nic, _ in holders]
        if not holders:
            frontends = [lb.name for lb in self.snapshot.load_balancers.values()
                         for fe in lb.frontend_ip_configurations if fe.private_ip_address == ip]
            facts.append(f"next hop IP {ip} is a frontend of load balancer {', '.join(frontends)}"
                         if frontends else
                         f"no NIC or load balancer frontend in the snapshot holds {ip}")
        return facts


def _finish(routes: list[EffectiveRoute]) -> tuple[tuple[EffectiveRoute, ...], _Index]:
    """Mark overridden routes ``Invalid`` and index the rest. A route is ``Active`` while it wins
    one of its prefixes: it loses a prefix to a lower rank at the same prefix, and a gateway route
    inside a VNet, peering or service endpoint prefix loses even though it is more specific
    (§2.4). A route whose prefixes are unknown stays ``Active``."""
    index = _Index(routes)
    winners = index.winners()
    final = tuple(
        route if i in winners or not route.address_prefixes
        else replace(route, state=RouteState.INVALID)
        for i, route in enumerate(routes))
    index.rebind(final)
    return final, index


# ---------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------
class _Index:
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
                if route.kind is RouteKind.GATEWAY and _under(prefix, self._preferred):
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
    if hop is EffectiveNextHopType.VNET_LOCAL:
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


__all__ = [
    "DEFAULT_PROFILE",
    "SYSTEM_ROUTE",
    "EffectiveNextHopType",
    "EffectiveRoute",
    "EffectiveRouteTable",
    "NextHop",
    "NextHopStatus",
    "ProfileSpec",
    "RouteKind",
    "RouteProfile",
    "RouteSource",
    "RouteState",
    "ServiceTagLookup",
    "WatcherNextHopType",
    "effective_routes",
    "next_hop",
]
