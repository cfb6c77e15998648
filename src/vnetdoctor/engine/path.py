"""The hop-by-hop path of one packet through Azure, and everything that stops it.

From the source NIC: its outbound NSG layers, the route lookup, then each hop: within the VNet,
across a peering (forwarded traffic needs the receiving side's ``allowForwardedTraffic``),
through a virtual appliance (its NIC must forward IP; its own NSGs apply in and out), to a
gateway or the Internet; into the destination subnet and NIC inbound NSG layers. The trace does
not stop at the first blocker: it carries on as if each were fixed, so that the answer lists every
blocker on the path. Loops are detected. Every decision names the resource and JSON pointer behind
it. The return path is checked for asymmetry through appliances.

Peering and gateway reasons (a missing or disconnected peering, transit) are judged by
:mod:`vnetdoctor.engine.intervnet`; the trace records where the route left the packet.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.endpoints import Endpoint
from vnetdoctor.engine.nsg import FlowVerdict, NsgEngine, Verdict
from vnetdoctor.engine.outbound import OutboundMethod, outbound_for
from vnetdoctor.engine.routes import EffectiveNextHopType, NextHop, RouteKind
from vnetdoctor.engine.topology import peering_links
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.security import Direction
from vnetdoctor.model.snapshot import Snapshot

MAX_HOPS: Final = 16


class Outcome(StrEnum):
    """Where the packet ends up (its *disposition*)."""

    DELIVERED = "delivered"  # reached the destination NIC (NSG decisions are separate issues)
    WRONG_HOST = "wrong-host"  # reached a NIC, but not the one asked about (duplicate IP)
    NO_HOST = "no-host"  # the route leads into a VNet where no NIC holds the address
    INTERNET = "internet"  # left Azure for the Internet
    GATEWAY = "gateway"  # left through a virtual network gateway
    AZURE_SERVICE = "azure-service"  # a service endpoint route
    NO_ROUTE = "no-route"  # a platform None route: no route to the destination
    DROPPED = "dropped"  # a user None route, a missing appliance, a loop
    UNKNOWN = "unknown"


class Hop(msgspec.Struct, frozen=True, kw_only=True):
    """One decision on the path, for people and for the report's diagram."""

    kind: str
    name: str
    decision: str
    detail: str = ""
    resource: str | None = None
    pointer: str | None = None
    status: str = "pass"

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "decision": self.decision,
            "detail": self.detail,
            "resource": self.resource,
            "pointer": self.pointer,
            "status": self.status,
        }


class Issue(msgspec.Struct, frozen=True, kw_only=True):
    """Something on the path that blocks or may block the packet, with a finding code."""

    code: str
    message: str
    resource: str | None = None
    pointer: str | None = None
    command: str | None = None
    status: str | None = None  # overrides the code's default status
    step: int | None = None  # overrides the code's default step


class Trace(msgspec.Struct, frozen=True, kw_only=True):
    hops: tuple[Hop, ...]
    issues: tuple[Issue, ...]
    outcome: Outcome
    delivered_to: NetworkInterface | None = None
    appliances: tuple[ResourceId, ...] = ()
    egress_ipc: IpConfiguration | None = None
    egress_nic: NetworkInterface | None = None
    nsg_verdicts: tuple[FlowVerdict, ...] = ()


class _Builder:
    def __init__(self) -> None:
        self.hops: list[Hop] = []
        self.issues: list[Issue] = []
        self.verdicts: list[FlowVerdict] = []

    def hop(self, **kwargs: object) -> None:
        self.hops.append(Hop(**kwargs))  # type: ignore[arg-type]

    def issue(self, **kwargs: object) -> None:
        self.issues.append(Issue(**kwargs))  # type: ignore[arg-type]


def _vnet(snapshot: Snapshot, ipc: IpConfiguration | None) -> VirtualNetwork | None:
    return None if ipc is None else snapshot.subnet_vnet(ipc.subnet)


def _ipc_of(nic: NetworkInterface, ip: IPAddress | None = None) -> IpConfiguration | None:
    if ip is not None:
        found = next((c for c in nic.ip_configurations if c.private_ip_address == ip), None)
        if found is not None:
            return found
    return nic.primary_ip_configuration


def _in(vnet: VirtualNetwork | None, ip: IPAddress) -> bool:
    return vnet is not None and any(
        ip in p for p in vnet.address_prefixes if p.version == ip.version
    )


def _port_text(port: int | None) -> str:
    return "*" if port is None else str(port)


def nsg_command(
    verdict: FlowVerdict,
    protocol: Protocol,
    source: IPAddress,
    destination: IPAddress,
    port: int | None,
) -> str | None:
    """The `az` command that lets the flow through the NSG that denied it."""
    rule = verdict.rule
    nsg_id = verdict.nsg_id
    if rule is None or nsg_id is None or rule.priority is None:
        return None
    priority = max(100, rule.priority - 1) if rule.priority > 100 else None
    if priority is None:
        return None
    proto = "*" if protocol is Protocol.ANY else protocol.value
    name = (
        f"allow-{source}-to-{destination}-{_port_text(port)}".replace(".", "-")
        .replace(":", "-")
        .replace("*", "any")
    )
    return (
        f"az network nsg rule create -g {nsg_id.resource_group} --nsg-name {nsg_id.name} "
        f"-n {name} --priority {priority} --direction {verdict.direction.value} "
        f"--access Allow --protocol {proto} --source-address-prefixes {source} "
        f"--destination-address-prefixes {destination} "
        f"--destination-port-ranges {_port_text(port)}"
    )


class Tracer:
    """Traces packets through one snapshot; engines and route tables are shared between traces."""

    def __init__(
        self,
        snapshot: Snapshot,
        nsgs: NsgEngine,
        profile: routing.RouteProfile = routing.DEFAULT_PROFILE,
        service_tags: routing.ServiceTagLookup | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.nsgs = nsgs
        self.profile = profile
        self.service_tags = service_tags
        self._tables: dict[tuple[ResourceId, ResourceId | None], routing.EffectiveRouteTable] = {}

    # -- pieces ---------------------------------------------------------------------------------
    def next_hop(
        self,
        nic: NetworkInterface,
        ipc: IpConfiguration | None,
        source: IPAddress,
        destination: IPAddress,
    ) -> NextHop:
        key = (nic.id, None if ipc is None else ipc.id)
        table = self._tables.get(key)
        if table is None:
            table = routing.effective_routes(
                self.snapshot,
                nic,
                self.profile,
                service_tags=self.service_tags,
                ip_configuration=ipc,
            )
            self._tables[key] = table
        return table.next_hop(destination, source)

    def _nsg(
        self,
        b: _Builder,
        nic: NetworkInterface,
        ipc: IpConfiguration,
        direction: Direction,
        protocol: Protocol,
        source: IPAddress,
        destination: IPAddress,
        port: int | None,
        role: str,
    ) -> None:
        local, remote = (
            ((destination, port), (source, None))
            if direction is Direction.INBOUND
            else ((source, None), (destination, port))
        )
        verdict = self.nsgs.verify(nic, direction, protocol, local, remote, ip_configuration=ipc)
        b.verdicts.append(verdict)
        way = "outbound" if direction is Direction.OUTBOUND else "inbound"
        for layer in verdict.layers:
            name = layer.nsg_id.name if layer.nsg_id is not None else "(no NSG)"
            status = {Verdict.ALLOW: "pass", Verdict.DENY: "fail"}.get(layer.access, "unknown")
            b.hop(
                kind=f"nsg-{way}",
                name=name,
                decision=layer.access.value,
                detail=f"{role}, {layer.layer} layer: {layer.reason}",
                resource=None if layer.nsg_id is None else str(layer.nsg_id),
                pointer=None if layer.rule is None else layer.rule.pointer,
                status=status,
            )
        if verdict.access is Verdict.DENY:
            rule = verdict.rule
            assert rule is not None
            b.issue(
                code="NSG_DENY",
                message=f"{way.capitalize()} at {role} {nic.name}: rule {rule.name!r} "
                f"(priority {rule.priority}) of NSG "
                f"{verdict.nsg_id.name if verdict.nsg_id else '?'} denies "
                f"{protocol.value} {source} -> {destination}:{_port_text(port)}",
                resource=None if verdict.nsg_id is None else str(verdict.nsg_id),
                pointer=rule.pointer,
                command=nsg_command(verdict, protocol, source, destination, port),
            )
        elif verdict.access is Verdict.UNKNOWN:
            reasons = "; ".join(verdict.notes) or "an NSG decision is unknown"
            unknown = next(
                (layer for layer in verdict.layers if layer.access is Verdict.UNKNOWN), None
            )
            b.issue(
                code="NSG_UNKNOWN",
                message=f"{way.capitalize()} at {role} {nic.name}: {reasons}",
                resource=None if unknown is None or unknown.nsg_id is None else str(unknown.nsg_id),
            )

    # -- the trace ------------------------------------------------------------------------------
    def trace(
        self, source: Endpoint, destination: Endpoint, protocol: Protocol, port: int | None
    ) -> Trace:
        b = _Builder()
        nic, src_ip, dst_ip = source.nic, source.ip, destination.ip
        if nic is None or src_ip is None or dst_ip is None:
            missing = (
                "source network interface"
                if nic is None or src_ip is None
                else "destination address"
            )
            b.hop(
                kind="source",
                name=source.name,
                decision="unknown",
                detail=f"the {missing} is not known",
                status="unknown",
            )
            return Trace(hops=tuple(b.hops), issues=(), outcome=Outcome.UNKNOWN)
        ipc = _ipc_of(nic, src_ip)
        assert ipc is not None
        b.hop(
            kind="source",
            name=source.name,
            decision="originate",
            detail=f"{protocol.value} {src_ip} -> {dst_ip}:{_port_text(port)}",
            resource=str(nic.id),
        )
        self._nsg(b, nic, ipc, Direction.OUTBOUND, protocol, src_ip, dst_ip, port, "source")
        appliances: list[ResourceId] = []
        visited = {nic.id}
        current_nic, current_ipc = nic, ipc
        for _ in range(MAX_HOPS):
            hop = self.next_hop(current_nic, current_ipc, src_ip, dst_ip)
            route = hop.route
            if hop.is_unknown or route is None or route.next_hop_type is None:
                reasons = "; ".join(hop.reasons) or "no route decision"
                b.hop(
                    kind="route",
                    name=current_nic.name,
                    decision="unknown",
                    detail=reasons,
                    status="unknown",
                )
                b.issue(
                    code="ROUTE_UNKNOWN",
                    message=f"Route lookup at {current_nic.name} for {dst_ip}: {reasons}",
                    resource=str(current_nic.id),
                )
                return self._done(b, Outcome.UNKNOWN, appliances)
            current_vnet = _vnet(self.snapshot, current_ipc)
            kind = route.next_hop_type
            via = f" {hop.next_hop_ip_address}" if hop.next_hop_ip_address else ""
            route_resource = str(route.resource_id) if route.resource_id else None
            b.hop(
                kind="route",
                name=current_nic.name,
                decision=f"{kind.value}{via}",
                detail=f"{route.describe()} ({route.source.value}) matches {dst_ip}",
                resource=route_resource,
                pointer=route.pointer,
                status="fail" if kind is EffectiveNextHopType.NONE else "pass",
            )
            if kind in (
                EffectiveNextHopType.VNET_LOCAL,
                EffectiveNextHopType.VNET_PEERING,
                EffectiveNextHopType.VNET_GLOBAL_PEERING,
            ):
                return self._deliver(
                    b, current_vnet, hop, source, destination, protocol, port, appliances
                )
            if kind is EffectiveNextHopType.VIRTUAL_APPLIANCE:
                step = self._appliance(
                    b, hop, current_nic, current_vnet, src_ip, dst_ip, protocol, port, visited
                )
                if step is None:
                    return self._done(b, Outcome.DROPPED, appliances)
                current_nic, current_ipc = step
                appliances.append(current_nic.id)
                continue
            if kind is EffectiveNextHopType.VIRTUAL_NETWORK_GATEWAY:
                b.hop(
                    kind="gateway",
                    name=current_vnet.name if current_vnet else "?",
                    decision="forward",
                    detail=f"to the virtual network gateway for {dst_ip}",
                )
                return self._done(b, Outcome.GATEWAY, appliances)
            if kind is EffectiveNextHopType.INTERNET:
                return self._internet(b, current_nic, current_ipc, dst_ip, hop, appliances)
            if kind is EffectiveNextHopType.VIRTUAL_NETWORK_SERVICE_ENDPOINT:
                return self._done(b, Outcome.AZURE_SERVICE, appliances)
            # next hop None
            if route.kind is RouteKind.USER or hop.next_hop_ip_address is not None:
                b.issue(
                    code="ROUTE_NONE",
                    message=f"{route.describe()} sends {dst_ip} to next hop None at "
                    f"{current_nic.name}: the packet is dropped",
                    resource=route_resource,
                    pointer=route.pointer,
                )
                return self._done(b, Outcome.DROPPED, appliances)
            return self._done(b, Outcome.NO_ROUTE, appliances)
        b.issue(
            code="ROUTE_LOOP",
            message=f"More than {MAX_HOPS} hops: the routes loop",
            resource=str(current_nic.id),
        )
        return self._done(b, Outcome.DROPPED, appliances)

    def _done(
        self,
        b: _Builder,
        outcome: Outcome,
        appliances: list[ResourceId],
        delivered_to: NetworkInterface | None = None,
        egress: tuple[NetworkInterface, IpConfiguration] | None = None,
    ) -> Trace:
        return Trace(
            hops=tuple(b.hops),
            issues=tuple(b.issues),
            outcome=outcome,
            delivered_to=delivered_to,
            appliances=tuple(appliances),
            egress_nic=None if egress is None else egress[0],
            egress_ipc=None if egress is None else egress[1],
            nsg_verdicts=tuple(b.verdicts),
        )

    def _deliver(
        self,
        b: _Builder,
        current_vnet: VirtualNetwork | None,
        hop: NextHop,
        source: Endpoint,
        destination: Endpoint,
        protocol: Protocol,
        port: int | None,
        appliances: list[ResourceId],
    ) -> Trace:
        src_ip, dst_ip = source.ip, destination.ip
        assert src_ip is not None
        assert dst_ip is not None
        target_vnet = current_vnet
        if hop.route is not None and hop.route.kind is RouteKind.PEERING and current_vnet:
            target_vnet = self._peer_holding(current_vnet, dst_ip)
            if target_vnet is not None:
                self._forwarded_check(b, current_vnet, target_vnet, src_ip)
        holders = [
            (n, c)
            for n, c in self.snapshot.nics_with_ip(dst_ip)
            if target_vnet is not None
            and (v := _vnet(self.snapshot, c)) is not None
            and v.id == target_vnet.id
        ]
        if not holders:
            where = target_vnet.name if target_vnet else "the virtual network"
            b.hop(
                kind="deliver",
                name=str(dst_ip),
                decision="no host",
                detail=f"no network interface in {where} holds {dst_ip}",
                status="fail",
            )
            return self._done(b, Outcome.NO_HOST, appliances)
        nic, ipc = holders[0]
        if destination.nic is not None and nic.id != destination.nic.id:
            b.hop(
                kind="deliver",
                name=nic.name,
                decision="wrong host",
                detail=f"{dst_ip} in {target_vnet.name if target_vnet else '?'} is "
                f"{nic.name}, not {destination.nic.name}",
                resource=str(nic.id),
                status="fail",
            )
            return self._done(b, Outcome.WRONG_HOST, appliances, delivered_to=nic)
        self._nsg(b, nic, ipc, Direction.INBOUND, protocol, src_ip, dst_ip, port, "destination")
        b.hop(
            kind="destination",
            name=destination.name,
            decision="deliver",
            detail=f"to {nic.name} ({dst_ip})",
            resource=str(nic.id),
        )
        return self._done(b, Outcome.DELIVERED, appliances, delivered_to=nic)

    def _peer_holding(self, vnet: VirtualNetwork, ip: IPAddress) -> VirtualNetwork | None:
        for link in peering_links(self.snapshot, vnet):
            if link.remote is not None and _in(link.remote, ip):
                return link.remote
        return None

    def _forwarded_check(
        self,
        b: _Builder,
        sender: VirtualNetwork,
        receiver: VirtualNetwork,
        packet_source: IPAddress,
    ) -> None:
        """A packet whose source is outside the sending VNet is *forwarded*: the receiving
        side's peering must allow forwarded traffic (decision 3)."""
        if _in(sender, packet_source):
            return
        side = next(
            (p for p in receiver.virtual_network_peerings if p.remote_virtual_network == sender.id),
            None,
        )
        if side is not None and not side.allow_forwarded_traffic:
            b.hop(
                kind="peering",
                name=side.name,
                decision="drop forwarded",
                status="fail",
                detail=f"{receiver.name} does not accept traffic forwarded from {sender.name}",
                resource=str(side.id),
                pointer="/properties/allowForwardedTraffic",
            )
            b.issue(
                code="PEERING_FORWARDED_TRAFFIC_DISABLED",
                message=f"Peering {side.name!r} of {receiver.name} has allowForwardedTraffic "
                f"false: packets from {packet_source} arriving from {sender.name} "
                f"(outside its address space) are dropped",
                resource=str(side.id),
                pointer="/properties/allowForwardedTraffic",
                command=f"az network vnet peering update -g {side.id.resource_group} "
                f"--vnet-name {receiver.name} -n {side.name} "
                f"--set allowForwardedTraffic=true",
            )
        elif side is not None:
            b.hop(
                kind="peering",
                name=side.name,
                decision="accept forwarded",
                detail=f"{receiver.name} accepts traffic forwarded from {sender.name}",
                resource=str(side.id),
            )

    def _appliance(
        self,
        b: _Builder,
        hop: NextHop,
        current_nic: NetworkInterface,
        current_vnet: VirtualNetwork | None,
        src_ip: IPAddress,
        dst_ip: IPAddress,
        protocol: Protocol,
        port: int | None,
        visited: set[ResourceId],
    ) -> tuple[NetworkInterface, IpConfiguration] | None:
        route = hop.route
        assert route is not None
        appliance_ip = hop.next_hop_ip_address
        resource = str(route.resource_id) if route.resource_id else None
        holders = [] if appliance_ip is None else self.snapshot.nics_with_ip(appliance_ip)
        if current_vnet is not None:
            reachable = {
                current_vnet.id,
                *(
                    link.remote.id
                    for link in peering_links(self.snapshot, current_vnet)
                    if link.remote is not None and link.is_usable
                ),
            }
            holders = [
                (n, c)
                for n, c in holders
                if (v := _vnet(self.snapshot, c)) is not None and v.id in reachable
            ]
        if not holders:
            b.issue(
                code="ROUTE_APPLIANCE_MISSING",
                message=f"{route.describe()} sends {dst_ip} to virtual appliance "
                f"{appliance_ip}, but no network interface holds that address",
                resource=resource,
                pointer=route.pointer,
            )
            return None
        nic, ipc = holders[0]
        if nic.id in visited:
            b.hop(
                kind="appliance",
                name=nic.name,
                decision="loop",
                status="fail",
                detail=f"{appliance_ip} was already on the path",
                resource=str(nic.id),
            )
            b.issue(
                code="ROUTE_LOOP",
                message=f"{route.describe()} at {current_nic.name} sends {dst_ip} back to "
                f"{nic.name} ({appliance_ip}), which already forwarded it: a loop",
                resource=resource,
                pointer=route.pointer,
            )
            return None
        visited.add(nic.id)
        appliance_vnet = _vnet(self.snapshot, ipc)
        if (
            current_vnet is not None
            and appliance_vnet is not None
            and appliance_vnet.id != current_vnet.id
        ):
            self._forwarded_check(b, current_vnet, appliance_vnet, src_ip)
        vm = self.snapshot.vm_of_nic(nic)
        b.hop(
            kind="appliance",
            name=vm.name if vm else nic.name,
            decision="forward",
            detail=f"virtual appliance {appliance_ip} ({nic.name}, IP forwarding "
            f"{'on' if nic.enable_ip_forwarding else 'off'})",
            resource=str(nic.id),
            status="pass" if nic.enable_ip_forwarding else "fail",
        )
        if not nic.enable_ip_forwarding:
            b.issue(
                code="ROUTE_APPLIANCE_NO_IP_FORWARDING",
                message=f"{route.describe()} sends {dst_ip} to {appliance_ip} "
                f"({nic.name}), whose NIC has enableIPForwarding false: Azure drops "
                "packets not addressed to the NIC",
                resource=str(nic.id),
                pointer="/properties/enableIPForwarding",
                command=f"az network nic update -g {nic.id.resource_group} -n {nic.name} "
                "--ip-forwarding true",
            )
        if vm is not None and vm.is_running is False:
            b.issue(
                code="VM_NOT_RUNNING",
                step=2,
                message=f"Virtual appliance {vm.name} is {vm.power_state}",
                resource=str(vm.id),
                pointer="/properties/instanceView",
                command=f"az vm start -g {vm.id.resource_group} -n {vm.name}",
            )
        self._nsg(b, nic, ipc, Direction.INBOUND, protocol, src_ip, dst_ip, port, "appliance")
        self._nsg(b, nic, ipc, Direction.OUTBOUND, protocol, src_ip, dst_ip, port, "appliance")
        return nic, ipc

    def _internet(
        self,
        b: _Builder,
        nic: NetworkInterface,
        ipc: IpConfiguration | None,
        dst_ip: IPAddress,
        hop: NextHop,
        appliances: list[ResourceId],
    ) -> Trace:
        route = hop.route
        assert route is not None
        resource = str(route.resource_id) if route.resource_id else None
        if not dst_ip.is_global:
            b.issue(
                code="ROUTE_BLACKHOLE_INTERNET",
                message=f"{route.describe()} sends the private address {dst_ip} to the "
                "Internet, where it is dropped",
                resource=resource,
                pointer=route.pointer,
            )
            return self._done(b, Outcome.DROPPED, appliances)
        if ipc is not None:
            out = outbound_for(self.snapshot, nic, ipc)
            b.hop(
                kind="internet",
                name=str(dst_ip),
                decision=out.method.value,
                detail=out.detail,
                resource=None if out.resource is None else str(out.resource),
                pointer=out.pointer,
                status="fail" if out.method is OutboundMethod.NONE else "pass",
            )
            if out.method is OutboundMethod.NONE:
                b.issue(
                    code="ROUTE_BLACKHOLE_INTERNET",
                    message=f"{route.describe()} sends {dst_ip} to the Internet, but "
                    f"{out.detail}: the packet has no source address outside Azure",
                    resource=None if out.resource is None else str(out.resource),
                    pointer=out.pointer,
                )
                return self._done(b, Outcome.DROPPED, appliances, egress=(nic, ipc))
        return self._done(
            b, Outcome.INTERNET, appliances, egress=None if ipc is None else (nic, ipc)
        )

    # -- the return path ------------------------------------------------------------------------
    def return_asymmetry(self, forward: Trace, source: Endpoint) -> Issue | None:
        """A stateful appliance drops a flow whose return skips it (or the reverse)."""
        dst_nic = forward.delivered_to
        if forward.outcome is not Outcome.DELIVERED or dst_nic is None or source.ip is None:
            return None
        dst_ipc = dst_nic.primary_ip_configuration
        dst_ip = next(iter(dst_nic.private_ip_addresses), None)
        if dst_ipc is None or dst_ip is None:
            return None
        back = self.next_hop(dst_nic, dst_ipc, dst_ip, source.ip)
        if back.is_unknown or back.route is None:
            return None
        back_ip = (
            back.next_hop_ip_address
            if back.route.next_hop_type is EffectiveNextHopType.VIRTUAL_APPLIANCE
            else None
        )
        back_nic = None
        if back_ip is not None:
            holders = self.snapshot.nics_with_ip(back_ip)
            back_nic = holders[0][0].id if holders else None
        forward_set = set(forward.appliances)
        if not forward_set and back_nic is None:
            return None
        if back_nic is not None and back_nic in forward_set:
            return None
        there = ", ".join(r.name for r in forward.appliances) or "no appliance"
        back_text = back_nic.name if back_nic is not None else "no appliance"
        return Issue(
            code="ROUTE_ASYMMETRIC",
            message=f"The forward path crosses {there} but the return path from "
            f"{dst_nic.name} crosses {back_text}; a stateful appliance drops "
            "flows it sees only one way",
            resource=str(back.route.resource_id) if back.route.resource_id else None,
            pointer=back.route.pointer,
        )
