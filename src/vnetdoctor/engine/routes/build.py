"""Building the effective route table of a NIC: system, peering, gateway, service endpoint and
user routes, then the overridden ones marked ``Invalid`` (the rules:
:mod:`vnetdoctor.engine.routes`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Final

from vnetdoctor.engine.routes.table import (
    EffectiveRoute,
    EffectiveRouteTable,
    RouteIndex,
    under,
)
from vnetdoctor.engine.routes.vocabulary import (
    DOCUMENTED_PREFIXES,
    EffectiveNextHopType,
    RouteKind,
    RouteProfile,
    RouteSource,
    RouteState,
    ServiceTagLookup,
)
from vnetdoctor.engine.topology import (
    gateways_in,
    peering_links,
    reachable_gateway_prefixes,
    transit_hub,
)
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.net import IPAddress, IPNetwork
from vnetdoctor.model.network import (
    NextHopType,
    Route,
    RouteTable,
    ServiceEndpoint,
    VirtualNetwork,
)
from vnetdoctor.model.private_endpoint import PrivateEndpoint
from vnetdoctor.model.snapshot import Snapshot

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


# ---------------------------------------------------------------------------------------------
# Building the table
# ---------------------------------------------------------------------------------------------
_USER_HOPS: Final = {
    NextHopType.VIRTUAL_APPLIANCE: EffectiveNextHopType.VIRTUAL_APPLIANCE,
    NextHopType.VIRTUAL_NETWORK_GATEWAY: EffectiveNextHopType.VIRTUAL_NETWORK_GATEWAY,
    NextHopType.VNET_LOCAL: EffectiveNextHopType.VNET_LOCAL,
    NextHopType.INTERNET: EffectiveNextHopType.INTERNET,
    NextHopType.NONE: EffectiveNextHopType.NONE,
}



def _location(text: str | None) -> str:
    return (text or "").replace(" ", "").casefold()



def _ips(text: str | None) -> Iterable[IPAddress]:
    for part in (text or "").split(","):
        try:
            yield ipaddress.ip_address(part.strip())
        except ValueError:
            continue


def build_table(
    snapshot: Snapshot,
    nic: NetworkInterface,
    profile: RouteProfile,
    service_tags: ServiceTagLookup | None,
    ip_configuration: IpConfiguration | None,
) -> EffectiveRouteTable:
    """The effective routes of ``nic`` (see :func:`vnetdoctor.engine.routes.effective_routes`)."""
    return _Builder(snapshot, nic, profile, service_tags, ip_configuration).build()


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
            self._interface_endpoints(vnet)
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
            if hop is EffectiveNextHopType.NONE and under(network, spaces):
                continue  # a VNet range equal to or around a reserved prefix replaces it (§2.1)
            v6_internet |= network.version == 6 and hop is EffectiveNextHopType.INTERNET
            notes = () if documented else (f"undocumented platform route (profile {spec.name})",)
            self._route(RouteSource.DEFAULT, RouteKind.PLATFORM, (network,), hop, notes=notes)
        if not v6_internet and any(p.version == 6 for p in spaces):
            self._route(RouteSource.DEFAULT, RouteKind.PLATFORM, (ipaddress.ip_network("::/0"),),
                        EffectiveNextHopType.INTERNET)

    def _undocumented_under_default_udr(self) -> None:
        """The undocumented platform None routes are reported to vanish under a user 0.0.0.0/0
        route (unverified, docs/semantics/routes.md#rt-3): a lookup they would decide is
        then unknown."""
        if not any(r.kind is RouteKind.USER and any(p.prefixlen == 0 and p.version == 4
                                                    for p in r.address_prefixes)
                   for r in self.routes):
            return
        for i, route in enumerate(self.routes):
            prefixes = route.address_prefixes
            if (route.kind is RouteKind.PLATFORM and prefixes and prefixes[0].version == 4
                    and str(prefixes[0]) not in DOCUMENTED_PREFIXES):
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

    # -- private endpoints (docs/semantics/private-endpoints.md#routes) ------------------------
    def _interface_endpoints(self, vnet: VirtualNetwork) -> None:
        """The /32 ``InterfaceEndpoint`` route of each private endpoint in this VNet or a
        directly peered one; a user route covering the endpoint replaces it only when the
        endpoint's subnet enables route-table policies and the user route is no shorter than
        the endpoint VNet's address space (PE-5)."""
        if not self.snapshot.private_endpoints:
            return
        near = {vnet.id} | {
            link.remote.id for link in peering_links(self.snapshot, vnet)
            if link.remote is not None and link.local_side.is_connected
            and (link.remote_side is None or link.remote_side.is_connected)}
        for pe in sorted(self.snapshot.private_endpoints.values(), key=lambda p: p.id):
            pe_vnet = self.snapshot.subnet_vnet(pe.subnet)
            if pe_vnet is None or pe_vnet.id not in near:
                continue
            subnet = self.snapshot.subnet(pe.subnet)
            policy = ((subnet.private_endpoint_network_policies if subnet else None)
                      or "disabled").casefold()
            shortest = min((p.prefixlen for p in pe_vnet.address_prefixes), default=0)
            for ip in _endpoint_ips(self.snapshot, pe):
                host = ipaddress.ip_network(ip)
                overriding = next((
                    r for r in self.routes if r.kind is RouteKind.USER
                    and any(ip in p and p.prefixlen >= shortest for p in r.address_prefixes)),
                    None) if policy in ("enabled", "routetableenabled") else None
                if overriding is not None:
                    self.notes.append(f"the /32 route of private endpoint {pe.name} ({ip}) is "
                                      f"replaced by {overriding.describe()} (route-table "
                                      "policies are enabled on its subnet)")
                    continue
                self._route(RouteSource.DEFAULT, RouteKind.INTERFACE_ENDPOINT, (host,),
                            EffectiveNextHopType.INTERFACE_ENDPOINT, resource_id=pe.id,
                            notes=(f"private endpoint {pe.name}",))

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


def _finish(routes: list[EffectiveRoute]) -> tuple[tuple[EffectiveRoute, ...], RouteIndex]:
    """Mark overridden routes ``Invalid`` and index the rest. A route is ``Active`` while it wins
    one of its prefixes: it loses a prefix to a lower rank at the same prefix, and a gateway route
    inside a VNet, peering or service endpoint prefix loses even though it is more specific
    (§2.4). A route whose prefixes are unknown stays ``Active``."""
    index = RouteIndex(routes)
    winners = index.winners()
    final = tuple(
        route if i in winners or not route.address_prefixes
        else replace(route, state=RouteState.INVALID)
        for i, route in enumerate(routes))
    index.rebind(final)
    return final, index


def _endpoint_ips(snapshot: Snapshot, pe: PrivateEndpoint) -> list[IPAddress]:
    """The addresses of a private endpoint: its NIC's, else its static IP configurations'."""
    out: list[IPAddress] = []
    for rid in pe.network_interfaces:
        nic = snapshot.network_interfaces.get_ref(rid)
        if nic is not None:
            out.extend(a for a in nic.private_ip_addresses if a not in out)
    if not out:
        out = [c.private_ip_address for c in pe.ip_configurations
               if c.private_ip_address is not None]
    return out
