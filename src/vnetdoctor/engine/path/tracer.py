"""The hop-by-hop walk of one packet from its source NIC: NSG steps and route lookups.

From the source NIC: its outbound NSG layers, the route lookup, then each hop: within the VNet,
across a peering (forwarded traffic needs the receiving side's ``allowForwardedTraffic``),
through a virtual appliance or an Azure Firewall (:mod:`.appliances`), to a gateway or the
Internet; into the destination subnet and NIC inbound NSG layers, or into a load balancer's
frontend (:mod:`.lb`). The trace does not stop at the first blocker: it carries on as if each
were fixed, so that the answer lists every blocker on the path. Loops are detected.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Final

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.endpoints import Endpoint
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.engine.firewall import FirewallEngine
from vnetdoctor.engine.loadbalancer import LoadBalancerIndex
from vnetdoctor.engine.nsg import FlowVerdict, Verdict
from vnetdoctor.engine.path import appliances, internet, lb
from vnetdoctor.engine.path.oracle import GuestOracle
from vnetdoctor.engine.path.peering import forwarded_check, peer_holding, vnet_of
from vnetdoctor.engine.path.records import Issue, Outcome, Recorder, Trace, port_arg, port_text
from vnetdoctor.engine.private_endpoints import endpoint_of_nic, nsg_applies, policy_text
from vnetdoctor.engine.routes import EffectiveNextHopType, NextHop, RouteKind
from vnetdoctor.engine.tags import ServiceTagSource
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.network_manager import SecurityAdminRule
from vnetdoctor.model.security import Direction
from vnetdoctor.model.snapshot import Snapshot

MAX_HOPS: Final = 16

_IN_VNET: Final = frozenset(
    {
        EffectiveNextHopType.VNET_LOCAL,
        EffectiveNextHopType.VNET_PEERING,
        EffectiveNextHopType.VNET_GLOBAL_PEERING,
        EffectiveNextHopType.INTERFACE_ENDPOINT,
    }
)


def _ipc_of(nic: NetworkInterface, ip: IPAddress | None = None) -> IpConfiguration | None:
    if ip is not None:
        found = next((c for c in nic.ip_configurations if c.private_ip_address == ip), None)
        if found is not None:
            return found
    return nic.primary_ip_configuration


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
    proto = shlex.quote("*") if protocol is Protocol.ANY else protocol.value
    name = (
        f"allow-{source}-to-{destination}{'' if port is None else f'-{port}'}".replace(".", "-")
        .replace(":", "-")
    )
    return (
        f"az network nsg rule create -g {nsg_id.resource_group} --nsg-name {nsg_id.name} "
        f"-n {name} --priority {priority} --direction {verdict.direction.value} "
        f"--access Allow --protocol {proto} --source-address-prefixes {source} "
        f"--destination-address-prefixes {destination} "
        f"--destination-port-ranges {port_arg(port)}"
    )


@dataclass
class Walk:
    """One packet on its way: the flow asked about, where the packet is now (the interface it
    leaves by and its source after any SNAT), and what it has crossed."""

    source: Endpoint
    destination: Endpoint
    protocol: Protocol
    port: int | None
    destination_ip: IPAddress
    nic: NetworkInterface
    ipc: IpConfiguration | None
    packet_source: IPAddress
    visited: set[ResourceId]
    appliances: list[ResourceId]


class Tracer:
    """Traces packets through one snapshot; its ``fabric``'s NSG engine and route tables are
    shared between traces.

    ``oracle`` answers for the guests of load balancer backends (L3); without it, health is
    network-only."""

    def __init__(
        self,
        snapshot: Snapshot,
        fabric: Fabric,
        profile: routing.RouteProfile = routing.DEFAULT_PROFILE,
        service_tags: ServiceTagSource | None = None,
        fqdn: str | None = None,
        *,
        oracle: GuestOracle | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.fqdn = fqdn  # the host name an application asks for (Azure Firewall app rules)
        self.oracle = oracle
        self.fabric = fabric.check(snapshot)
        self.nsgs = fabric.nsgs(service_tags)
        self.profile = profile
        self.service_tags = service_tags
        # Shared by every tracer given this fabric (with this profile and service tags).
        self.route_tables = fabric.route_tables(profile, service_tags)
        self._firewalls: FirewallEngine | None = None
        self._lbs: LoadBalancerIndex | None = None

    @property
    def lbs(self) -> LoadBalancerIndex:
        if self._lbs is None:
            self._lbs = LoadBalancerIndex(self.snapshot)
        return self._lbs

    @property
    def firewalls(self) -> FirewallEngine:
        if self._firewalls is None:
            tags = self.nsgs.tags
            self._firewalls = FirewallEngine(self.snapshot, lambda tag: tags.expand(tag, None))
        return self._firewalls

    # -- pieces ---------------------------------------------------------------------------------
    def next_hop(
        self,
        nic: NetworkInterface,
        ipc: IpConfiguration | None,
        source: IPAddress,
        destination: IPAddress,
    ) -> NextHop:
        return self.route_tables.table(nic, ipc).next_hop(destination, source)

    def nsg_step(
        self,
        b: Recorder,
        nic: NetworkInterface,
        ipc: IpConfiguration,
        direction: Direction,
        protocol: Protocol,
        source: IPAddress,
        destination: IPAddress,
        port: int | None,
        role: str,
    ) -> None:
        """The admin rules and NSG layers at ``nic`` in ``direction``: one hop per layer, and
        the issue when they deny the flow or cannot tell. ``role`` names the NIC's place on
        the path (source, destination, appliance, backend)."""
        local, remote = (
            ((destination, port), (source, None))
            if direction is Direction.INBOUND
            else ((source, None), (destination, port))
        )
        verdict = self.nsgs.verify(nic, direction, protocol, local, remote, ip_configuration=ipc)
        b.verdicts.append(verdict)
        way = "outbound" if direction is Direction.OUTBOUND else "inbound"
        for layer in verdict.layers:
            status = {Verdict.ALLOW: "pass", Verdict.DENY: "fail"}.get(layer.access, "unknown")
            if isinstance(layer.rule, SecurityAdminRule) or layer.layer == "securityAdmin":
                b.hop(
                    kind=f"admin-{way}",
                    name=layer.rule.name if layer.rule is not None else "(no admin rule)",
                    decision=layer.access.value,
                    detail=f"{role}, security admin rules of the VNet: {layer.reason}",
                    resource=None if layer.rule is None else str(layer.rule.id),
                    pointer=None if layer.rule is None else layer.rule.pointer,
                    status=status,
                )
                continue
            name = layer.nsg_id.name if layer.nsg_id is not None else "(no NSG)"
            b.hop(
                kind=f"nsg-{way}",
                name=name,
                decision=layer.access.value,
                detail=f"{role}, {layer.layer} layer: {layer.reason}",
                resource=None if layer.nsg_id is None else str(layer.nsg_id),
                pointer=None if layer.rule is None else layer.rule.pointer,
                status=status,
            )
        self._nsg_issue(b, verdict, nic, way, protocol, source, destination, port, role)

    @staticmethod
    def _nsg_issue(
        b: Recorder,
        verdict: FlowVerdict,
        nic: NetworkInterface,
        way: str,
        protocol: Protocol,
        source: IPAddress,
        destination: IPAddress,
        port: int | None,
        role: str,
    ) -> None:
        flow = f"{protocol.value} {source} -> {destination}:{port_text(port)}"
        if verdict.access is Verdict.DENY and isinstance(verdict.rule, SecurityAdminRule):
            admin = verdict.rule
            b.issue(
                code="ADMIN_RULE_DENY",
                message=f"{way.capitalize()} at {role} {nic.name}: security admin rule "
                f"{admin.name!r} (priority {admin.priority}, Virtual Network Manager) denies "
                f"{flow}; NSGs cannot override it",
                resource=None if admin.id is None else str(admin.id),
                pointer=admin.pointer,
            )
        elif verdict.access is Verdict.DENY:
            rule = verdict.rule
            assert rule is not None
            b.issue(
                code="NSG_DENY",
                message=f"{way.capitalize()} at {role} {nic.name}: rule {rule.name!r} "
                f"(priority {rule.priority}) of NSG "
                f"{verdict.nsg_id.name if verdict.nsg_id else '?'} denies {flow}",
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
        b = Recorder()
        if internet.is_internet_source(source):
            return internet.inbound(self, b, source, destination, protocol, port)
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
            return b.trace(Outcome.UNKNOWN)
        ipc = _ipc_of(nic, src_ip)
        assert ipc is not None
        b.hop(
            kind="source",
            name=source.name,
            decision="originate",
            detail=f"{protocol.value} {src_ip} -> {dst_ip}:{port_text(port)}",
            resource=str(nic.id),
        )
        self.nsg_step(b, nic, ipc, Direction.OUTBOUND, protocol, src_ip, dst_ip, port, "source")
        walk = Walk(
            source=source,
            destination=destination,
            protocol=protocol,
            port=port,
            destination_ip=dst_ip,
            nic=nic,
            ipc=ipc,
            packet_source=src_ip,
            visited={nic.id},
            appliances=[],
        )
        for _ in range(MAX_HOPS):
            done = self._step(b, walk)
            if done is not None:
                return done
        b.issue(
            code="ROUTE_LOOP",
            message=f"More than {MAX_HOPS} hops: the routes loop",
            resource=str(walk.nic.id),
        )
        return b.trace(Outcome.DROPPED, walk.appliances)

    def _step(self, b: Recorder, walk: Walk) -> Trace | None:
        """One route lookup where the packet is, and the hop it leads to; the trace when the
        packet's way ends there, ``None`` when it goes on from where ``walk`` now is."""
        dst_ip = walk.destination_ip
        hop = self.next_hop(walk.nic, walk.ipc, walk.packet_source, dst_ip)
        route = hop.route
        if hop.is_unknown or route is None or route.next_hop_type is None:
            reasons = "; ".join(hop.reasons) or "no route decision"
            b.hop(
                kind="route",
                name=walk.nic.name,
                decision="unknown",
                detail=reasons,
                status="unknown",
            )
            b.issue(
                code="ROUTE_UNKNOWN",
                message=f"Route lookup at {walk.nic.name} for {dst_ip}: {reasons}",
                resource=str(walk.nic.id),
            )
            return b.trace(Outcome.UNKNOWN, walk.appliances)
        kind = route.next_hop_type
        via = f" {hop.next_hop_ip_address}" if hop.next_hop_ip_address else ""
        b.hop(
            kind="route",
            name=walk.nic.name,
            decision=f"{kind.value}{via}",
            detail=f"{route.describe()} ({route.source.value}) matches {dst_ip}",
            resource=str(route.resource_id) if route.resource_id else None,
            pointer=route.pointer,
            status="fail" if kind is EffectiveNextHopType.NONE else "pass",
        )
        return self._forward(b, walk, hop, kind)

    def _forward(
        self, b: Recorder, walk: Walk, hop: NextHop, kind: EffectiveNextHopType
    ) -> Trace | None:
        """Where the route's next hop takes the packet."""
        route = hop.route
        assert route is not None
        current_vnet = vnet_of(self.snapshot, walk.ipc)
        if kind in _IN_VNET:
            return self._deliver(b, current_vnet, hop, walk)
        firewall = (
            self.snapshot.firewall_at(hop.next_hop_ip_address)
            if kind is EffectiveNextHopType.VIRTUAL_APPLIANCE
            and hop.next_hop_ip_address is not None
            else None
        )
        if firewall is not None:
            passed = appliances.firewall(self, b, hop, firewall, walk, current_vnet)
            if passed is None:
                return b.trace(Outcome.DROPPED, walk.appliances)
            walk.nic, walk.ipc, walk.packet_source = passed
            return None
        if kind is EffectiveNextHopType.VIRTUAL_APPLIANCE:
            step = appliances.appliance(self, b, hop, walk, current_vnet)
            if step is None:
                return b.trace(Outcome.DROPPED, walk.appliances)
            walk.nic, walk.ipc = step
            walk.appliances.append(walk.nic.id)
            return None
        if kind is EffectiveNextHopType.VIRTUAL_NETWORK_GATEWAY:
            b.hop(
                kind="gateway",
                name=current_vnet.name if current_vnet else "?",
                decision="forward",
                detail=f"to the virtual network gateway for {walk.destination_ip}",
            )
            return b.trace(Outcome.GATEWAY, walk.appliances)
        if kind is EffectiveNextHopType.INTERNET:
            return appliances.internet(self, b, hop, walk, tuple(walk.appliances))
        if kind is EffectiveNextHopType.VIRTUAL_NETWORK_SERVICE_ENDPOINT:
            return b.trace(Outcome.AZURE_SERVICE, walk.appliances)
        # next hop None
        if route.kind is RouteKind.USER or hop.next_hop_ip_address is not None:
            b.issue(
                code="ROUTE_NONE",
                message=f"{route.describe()} sends {walk.destination_ip} to next hop None at "
                f"{walk.nic.name}: the packet is dropped",
                resource=str(route.resource_id) if route.resource_id else None,
                pointer=route.pointer,
            )
            return b.trace(Outcome.DROPPED, walk.appliances)
        return b.trace(Outcome.NO_ROUTE, walk.appliances)

    def _deliver(
        self, b: Recorder, current_vnet: VirtualNetwork | None, hop: NextHop, walk: Walk
    ) -> Trace:
        """Into the VNet the route leads to (a peer's, across a peering): the NIC holding the
        destination address, or a load balancer's frontend there."""
        src_ip, dst_ip, destination = walk.packet_source, walk.destination_ip, walk.destination
        target_vnet = current_vnet
        if hop.route is not None and hop.route.kind is RouteKind.PEERING and current_vnet:
            target_vnet = peer_holding(self.snapshot, current_vnet, dst_ip)
            if target_vnet is not None:
                forwarded_check(b, current_vnet, target_vnet, src_ip)
        elif hop.route is not None and hop.route.kind is RouteKind.INTERFACE_ENDPOINT:
            target_vnet = self._endpoint_vnet(hop.route.resource_id) or current_vnet
            if (current_vnet is not None and target_vnet is not None
                    and target_vnet.id != current_vnet.id):
                forwarded_check(b, current_vnet, target_vnet, src_ip)
        holders = [
            (n, c)
            for n, c in self.snapshot.nics_with_ip(dst_ip)
            if target_vnet is not None
            and (v := vnet_of(self.snapshot, c)) is not None
            and v.id == target_vnet.id
        ]
        if not holders and self.snapshot.load_balancers:
            found = self.lbs.frontend_at(dst_ip)
            if found is not None:
                visit = lb.LbVisit(
                    lb=found[0],
                    frontend=found[1],
                    hop=hop,
                    source=walk.source,
                    src_ip=src_ip,
                    dst_ip=dst_ip,
                    protocol=walk.protocol,
                    port=walk.port,
                    appliances=tuple(walk.appliances),
                )
                return lb.load_balancer(self, b, visit)
        if not holders:
            where = target_vnet.name if target_vnet else "the virtual network"
            b.hop(
                kind="deliver",
                name=str(dst_ip),
                decision="no host",
                detail=f"no network interface in {where} holds {dst_ip}",
                status="fail",
            )
            return b.trace(Outcome.NO_HOST, walk.appliances)
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
            return b.trace(Outcome.WRONG_HOST, walk.appliances, delivered_to=nic)
        if not self._private_endpoint_bypass(b, nic, ipc):
            self.nsg_step(
                b, nic, ipc, Direction.INBOUND, walk.protocol, src_ip, dst_ip, walk.port,
                "destination",
            )
        b.hop(
            kind="destination",
            name=destination.name,
            decision="deliver",
            detail=f"to {nic.name} ({dst_ip})",
            resource=str(nic.id),
        )
        return b.trace(Outcome.DELIVERED, walk.appliances, delivered_to=nic)

    def _endpoint_vnet(self, pe_id: ResourceId | None) -> VirtualNetwork | None:
        pe = self.snapshot.private_endpoints.get_ref(pe_id)
        return None if pe is None else self.snapshot.subnet_vnet(pe.subnet)

    def _private_endpoint_bypass(
        self, b: Recorder, nic: NetworkInterface, ipc: IpConfiguration
    ) -> bool:
        """True when ``nic`` is a private endpoint's and its subnet's network policies leave
        the subnet's NSG out (docs/semantics/private-endpoints.md#pe-nsg): the hop says so."""
        if endpoint_of_nic(self.snapshot, nic) is None or nsg_applies(self.snapshot, ipc):
            return False
        subnet = self.snapshot.subnet(ipc.subnet)
        nsg = None if subnet is None else subnet.network_security_group
        policy = policy_text(self.snapshot, ipc)
        b.hop(
            kind="nsg-inbound",
            name=nsg.name if nsg is not None else "(no NSG)",
            decision="not applied",
            detail=f"destination, private endpoint subnet: privateEndpointNetworkPolicies is "
            f"{policy}, so the subnet's NSG does not filter traffic to the endpoint",
            resource=None if nsg is None else str(nsg),
            status="pass",
        )
        if nsg is not None and subnet is not None:
            b.issue(
                code="PRIVATE_ENDPOINT_NSG_NOT_APPLIED",
                message=f"NSG {nsg.name} of subnet {subnet.name} does not "
                f"apply to private endpoint NIC {nic.name}: privateEndpointNetworkPolicies is "
                f"{policy}",
                resource=str(subnet.id),
                pointer="/properties/privateEndpointNetworkPolicies",
                status="pass",
            )
        return True

    # -- the return path ------------------------------------------------------------------------
    def return_asymmetry(self, forward: Trace, source: Endpoint) -> Issue | None:
        """A stateful appliance drops a flow whose return skips it (or the reverse)."""
        return appliances.return_asymmetry(self, forward, source)
