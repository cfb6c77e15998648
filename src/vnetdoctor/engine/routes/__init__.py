"""Effective routes and next hop of a network interface, as Azure computes them.

The rules (``docs/semantics/routes.md#decisions``):

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
and fast enough for tens of thousands of routes (``benchmarks/bench_routes.py``).

The package's modules, in the order they build on each other: :mod:`.vocabulary` (route sources,
next hop types, profiles), :mod:`.table` (effective routes, the table, the lookup), :mod:`.build`
(the table of a NIC) and :mod:`.api` (the library functions).
"""

from __future__ import annotations

from vnetdoctor.engine.routes.api import TableKey, effective_routes, next_hop, table_key
from vnetdoctor.engine.routes.table import (
    EffectiveRoute,
    EffectiveRouteTable,
    NextHop,
    NextHopStatus,
)
from vnetdoctor.engine.routes.vocabulary import (
    DEFAULT_PROFILE,
    SYSTEM_ROUTE,
    EffectiveNextHopType,
    ProfileSpec,
    RouteKind,
    RouteProfile,
    RouteSource,
    RouteState,
    ServiceTagLookup,
    WatcherNextHopType,
)

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
    "TableKey",
    "WatcherNextHopType",
    "effective_routes",
    "next_hop",
    "table_key",
]
