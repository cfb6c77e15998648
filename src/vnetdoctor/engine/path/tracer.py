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

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Final

import msgspec

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.endpoints import Endpoint
from vnetdoctor.engine.firewall import FirewallDecision, FirewallEngine
from vnetdoctor.engine.guest import ListenerStatus, firewall_verdict, listener_check
from vnetdoctor.engine.guest_common import GuestVerdict
from vnetdoctor.engine.loadbalancer import (
    PROBE_SOURCE,
    Backend,
    LoadBalancerIndex,
    is_basic,
    nat_rule_for,
    probe_of,
    rule_for,
)
from vnetdoctor.engine.nsg import FlowVerdict, NsgEngine, Verdict
from vnetdoctor.engine.outbound import OutboundMethod, outbound_for
from vnetdoctor.engine.routes import EffectiveNextHopType, NextHop, RouteKind
from vnetdoctor.engine.topology import peering_links
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.firewall import AzureFirewall
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import (
    FrontendIpConfiguration,
    InboundNatRule,
    LoadBalancer,
    Probe,
)
from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.network_manager import SecurityAdminRule
from vnetdoctor.model.security import Direction
from vnetdoctor.model.snapshot import Snapshot

MAX_HOPS: Final = 16
# Issue codes that block a flow at a load balancer's backend unless their status says otherwise
# (the runbook's catalogue holds the same defaults; the engine does not import the runbook).
_BLOCKING: Final = frozenset(
    {
        "NSG_DENY",
        "ADMIN_RULE_DENY",
        "LB_PUBLIC_CLOSED_NO_NSG",
        "FIREWALL_ASYMMETRIC_RETURN",
        "ROUTE_ASYMMETRIC",
    }
)


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
    # Labelled facts for the report's diagram, e.g. (("frontend", "fe-svc 10.0.5.10"),
    # ("rule", "rule-https Tcp 443 -> 443")) on a load-balancer hop, or the deciding rule
    # collection and rule on a firewall hop. Empty on most hops.
    facts: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "name": self.name,
            "decision": self.decision,
            "detail": self.detail,
            "resource": self.resource,
            "pointer": self.pointer,
            "status": self.status,
        }
        if self.facts:
            out["facts"] = dict(self.facts)
        return out


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
    # Azure Firewalls crossed, in path order, with what each decided (F1-F6).
    firewalls: tuple[FirewallDecision, ...] = ()


class _Builder:
    def __init__(self) -> None:
        self.hops: list[Hop] = []
        self.issues: list[Issue] = []
        self.verdicts: list[FlowVerdict] = []
        self.firewalls: list[FirewallDecision] = []

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


def _loop(
    b: _Builder,
    kind: str,
    name: str,
    rid: ResourceId,
    ip: IPAddress | None,
    route: routing.EffectiveRoute,
    current: NetworkInterface,
    destination: IPAddress,
    *,
    hop_name: str | None = None,
) -> None:
    """Record a route loop: the next hop (an appliance or a firewall) already forwarded this
    packet."""
    b.hop(
        kind=kind,
        name=hop_name or name,
        decision="loop",
        status="fail",
        detail=f"{ip} was already on the path",
        resource=str(rid),
    )
    b.issue(
        code="ROUTE_LOOP",
        message=f"{route.describe()} at {current.name} sends {destination} back to {name} "
        f"({ip}), which already forwarded it: a loop",
        resource=str(route.resource_id) if route.resource_id else None,
        pointer=route.pointer,
    )


def firewall_interface(
    firewall: AzureFirewall, ip: IPAddress
) -> tuple[NetworkInterface, IpConfiguration]:
    """An Azure Firewall as the interface packets leave it by: ``ip`` in AzureFirewallSubnet,
    forwarding (the firewall has no NIC resource; its subnet's routes apply)."""
    ipc = IpConfiguration(
        id=ResourceId(f"{firewall.id}/ipConfigurations/next-hop"),
        name="next-hop",
        private_ip_address=ip,
        subnet=firewall.subnet,
        primary=True,
    )
    nic = NetworkInterface(
        id=ResourceId(f"{firewall.id}/networkInterfaces/next-hop"),
        name=firewall.name,
        ip_configurations=(ipc,),
        enable_ip_forwarding=True,
    )
    return nic, ipc


class Tracer:
    """Traces packets through one snapshot; engines and route tables are shared between traces."""

    def __init__(
        self,
        snapshot: Snapshot,
        nsgs: NsgEngine,
        profile: routing.RouteProfile = routing.DEFAULT_PROFILE,
        service_tags: routing.ServiceTagLookup | None = None,
        fqdn: str | None = None,
        *,
        guest: Mapping[str, Any] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.fqdn = fqdn  # the host name an application asks for (Azure Firewall app rules)
        # Guest evidence by VM name (case-folded): load balancer health reads a backend's
        # listener and firewall from it (L3).
        self.guest: dict[str, Any] = {k.casefold(): v for k, v in (guest or {}).items()}
        self.nsgs = nsgs
        self.profile = profile
        self.service_tags = service_tags
        # Shared by every tracer on this snapshot (and profile and service tags).
        self._tables = routing.shared_tables(snapshot, profile, service_tags)
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
        key = routing.table_key(nic, ipc)
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
        if verdict.access is Verdict.DENY and isinstance(verdict.rule, SecurityAdminRule):
            admin = verdict.rule
            b.issue(
                code="ADMIN_RULE_DENY",
                message=f"{way.capitalize()} at {role} {nic.name}: security admin rule "
                f"{admin.name!r} (priority {admin.priority}, Virtual Network Manager) denies "
                f"{protocol.value} {source} -> {destination}:{_port_text(port)}; NSGs cannot "
                "override it",
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
        pkt_src = src_ip  # the packet's source after any SNAT on the way
        for _ in range(MAX_HOPS):
            hop = self.next_hop(current_nic, current_ipc, pkt_src, dst_ip)
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
                    b,
                    current_vnet,
                    hop,
                    source,
                    destination,
                    protocol,
                    port,
                    appliances,
                    packet_source=pkt_src,
                )
            firewall = (
                self.snapshot.firewall_at(hop.next_hop_ip_address)
                if kind is EffectiveNextHopType.VIRTUAL_APPLIANCE
                and hop.next_hop_ip_address is not None
                else None
            )
            if firewall is not None:
                passed = self._firewall(
                    b,
                    hop,
                    firewall,
                    current_nic,
                    current_vnet,
                    pkt_src,
                    dst_ip,
                    protocol,
                    port,
                    visited,
                )
                if passed is None:
                    return self._done(b, Outcome.DROPPED, appliances)
                current_nic, current_ipc, pkt_src = passed
                continue
            if kind is EffectiveNextHopType.VIRTUAL_APPLIANCE:
                step = self._appliance(
                    b, hop, current_nic, current_vnet, pkt_src, dst_ip, protocol, port, visited
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
                return self._internet(
                    b,
                    current_nic,
                    current_ipc,
                    dst_ip,
                    hop,
                    appliances,
                    flow=(source, pkt_src, protocol, port),
                )
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
            firewalls=tuple(b.firewalls),
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
        packet_source: IPAddress | None = None,
    ) -> Trace:
        src_ip, dst_ip = packet_source or source.ip, destination.ip
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
        if not holders and self.snapshot.load_balancers:
            found = self.lbs.frontend_at(dst_ip)
            if found is not None:
                return self._load_balancer(
                    b, found, hop, source, src_ip, dst_ip, protocol, port, appliances
                )
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

    def _load_balancer(
        self,
        b: _Builder,
        found: tuple[LoadBalancer, FrontendIpConfiguration],
        hop: NextHop | None,
        source: Endpoint,
        src_ip: IPAddress,
        dst_ip: IPAddress,
        protocol: Protocol,
        port: int | None,
        appliances: list[ResourceId],
        *,
        clients: tuple[IPAddress, ...] | None = None,
        egress: tuple[NetworkInterface, IpConfiguration] | None = None,
    ) -> Trace:
        """A load balancer frontend as the destination (azure-semantics-2 section 3.7, L1-L6).

        Internal frontend (``clients`` is ``None``): the backends see the source's private IP.
        Public frontend: the source has left through its outbound path; ``clients`` are the
        public (SNAT) addresses it leaves with, empty when they are unknown (default outbound
        access), and the backends see that address, an Internet one (L4; section 3.7 step 6).
        A Standard public frontend is closed unless an NSG on the backend's subnet or NIC allows
        the flow (L1); a Basic one follows part-1 rules (no NSG = open).

        An inbound NAT rule for the port is chosen before a load-balancing rule. The sources
        are silent on precedence because ARM refuses a NAT rule and a load-balancing rule on
        the same frontend, protocol and port ("Port numbers for each rule must be unique within
        the Load Balancer", section 3.1); the NAT rule names the more specific target, so it
        wins when a snapshot has both (for instance an HA-ports rule), and the hop says so.
        """
        lb, fe = found
        public = clients is not None
        kind_text = "public" if public else "internal"
        where = f"{lb.name} {kind_text} frontend {fe.name} ({dst_ip})"
        facts: list[tuple[str, str]] = [
            ("frontend", f"{fe.name} {dst_ip} ({kind_text}, {lb.sku or 'SKU unknown'})")
        ]

        mark_from: int | None = None  # set when a Basic frontend is reached over global peering

        def done(outcome: Outcome, delivered: NetworkInterface | None = None) -> Trace:
            if mark_from is not None:  # the load balancer's hop is where the packet is lost
                for i in range(mark_from, len(b.hops)):
                    if b.hops[i].kind == "load-balancer":
                        b.hops[i] = msgspec.structs.replace(
                            b.hops[i],
                            status="fail",
                            detail=b.hops[i].detail + "; a Basic frontend is unreachable over "
                            "global VNet peering",
                        )
                        break
            return self._done(b, outcome, appliances, delivered_to=delivered, egress=egress)

        if protocol not in (Protocol.TCP, Protocol.UDP):
            b.hop(
                kind="load-balancer",
                name=lb.name,
                decision="not balanced",
                status="unknown",
                detail=f"{where}: {protocol.value} is not load-balanced (TCP and UDP only)",
                resource=str(fe.id),
                facts=tuple(facts),
            )
            b.issue(
                code="LB_NOT_LOAD_BALANCED",
                message=f"{where}: {protocol.value} is not load-balanced (load-balancing rules "
                "carry TCP and UDP only, L6); test with TCP or UDP on a rule's port",
                resource=str(fe.id),
            )
            return done(Outcome.UNKNOWN)
        if (
            not public
            and is_basic(lb)
            and hop is not None
            and hop.route is not None
            and hop.route.next_hop_type is EffectiveNextHopType.VNET_GLOBAL_PEERING
        ):
            mark_from = len(b.hops)
            b.issue(
                code="LB_GLOBAL_PEERING_BASIC",
                message=f"{where} belongs to a Basic load balancer, whose frontends cannot "
                f"be reached over global VNet peering ({hop.route.describe()} from "
                f"{source.name}; section 3.7 step 2); use a Standard load balancer",
                resource=str(lb.id),
                pointer="/sku/name",
            )
        nat = nat_rule_for(lb, fe, protocol, port)
        rule = rule_for(lb, fe, protocol, port)
        if nat is None and rule is None:
            b.hop(
                kind="load-balancer",
                name=lb.name,
                decision="no rule",
                status="fail",
                detail=f"{where}: no load-balancing or inbound NAT rule for "
                f"{protocol.value}/{_port_text(port)}",
                resource=str(lb.id),
                facts=(*facts, ("rule", f"none for {protocol.value} {_port_text(port)}")),
            )
            b.issue(
                code="LB_NO_RULE_FOR_PORT",
                message=f"{where} has no load-balancing or inbound NAT rule for "
                f"{protocol.value} port {_port_text(port)}: nothing listens on the frontend "
                "for this flow",
                resource=str(lb.id),
                pointer="/properties/loadBalancingRules",
            )
            return done(Outcome.DROPPED)
        if nat is not None:
            note = (
                ""
                if rule is None
                else f"; assumption: load-balancing rule {rule.name} also serves this port "
                "(ARM normally refuses the overlap), the NAT rule is taken"
            )
            return self._inbound_nat(
                b, lb, fe, nat, where, facts, note, src_ip, dst_ip, protocol, port, clients, done
            )
        assert rule is not None
        backend_port = rule.backend_port or port
        probe = probe_of(lb, rule)
        members = self.lbs.backends(lb, rule)
        facts.append(
            (
                "rule",
                f"{rule.name} {rule.protocol} {_port_text(rule.frontend_port)} -> "
                f"{_port_text(backend_port)}",
            )
        )
        judged = [(m, *self._probe_health(lb, probe, m)) for m in members]
        healthy = [m for m, state, _, _ in judged if state == "up"]
        unknown = [m for m, state, _, _ in judged if state == "unknown"]
        rescued = False
        if (
            not healthy
            and not unknown
            and probe is not None
            and members
            and (probe.no_healthy_backends_behavior or "").casefold() == "allprobedup"
        ):
            healthy = [m for m in members if m.nic is not None and m.ip_configuration is not None]
            rescued = bool(healthy)
        # The load balancer's hop comes first, then one hop per member with its health.
        at = len(b.hops)
        b.hops.extend(health_hop for _, _, health_hop, _ in judged)

        def lb_hop(**kwargs: Any) -> None:
            b.hops.insert(at, Hop(**kwargs))

        for _m, _state, _hop, issue in judged:
            if issue is not None:
                # Another backend takes the flows (or AllProbedUp sends to all): a warning.
                status = "warn" if healthy else issue.status
                b.issues.append(msgspec.structs.replace(issue, status=status))
        probe_text = (
            "no probe (all members assumed healthy; section 3.3 [unverified])"
            if probe is None
            else f"{probe.name} {probe.protocol or '?'} {_port_text(probe.port)}"
        )
        facts.append(
            (
                "backends",
                ", ".join(f"{m.label} {state}" for m, state, _, _ in judged) or "none",
            )
        )
        facts.append(("health", f"{len(healthy)} of {len(members)} healthy; probe {probe_text}"))
        pointer = f"/properties/loadBalancingRules/{rule.index}"
        if rescued:
            assert probe is not None
            lb_hop(
                kind="load-balancer",
                name=lb.name,
                decision="all probed up",
                status="pass",
                detail=f"probe {probe.name}: noHealthyBackendsBehavior AllProbedUp sends to "
                "every backend although all are probed down",
                resource=str(lb.id),
            )
        if not healthy and unknown:
            lb_hop(
                kind="load-balancer",
                name=lb.name,
                decision="health unknown",
                status="unknown",
                detail=f"{where}: rule {rule.name}, no backend known healthy, "
                f"{len(unknown)} of unknown health",
                resource=str(lb.id),
                pointer=pointer,
                facts=tuple(facts),
            )
            b.issue(
                code="LB_HEALTH_UNKNOWN",
                message=f"{where}: rule {rule.name!r}: whether "
                f"{', '.join(m.label for m in unknown)} pass(es) health probe "
                f"{probe.name if probe else '?'} cannot be told from the data (L3)",
                resource=str(lb.id),
                pointer=pointer,
            )
            return done(Outcome.UNKNOWN)
        if not healthy:
            lb_hop(
                kind="load-balancer",
                name=lb.name,
                decision="no healthy backend",
                status="fail",
                detail=f"{where}: rule {rule.name}, no healthy member of the pool",
                resource=str(lb.id),
                pointer=pointer,
                facts=tuple(facts),
            )
            b.issue(
                code="LB_NO_HEALTHY_BACKEND",
                message=f"{where}: rule {rule.name!r} has no healthy backend (all probed "
                "down; noHealthyBackendsBehavior AllProbedDown, the default [unverified]): "
                "no new flows are sent",
                resource=str(lb.id),
                pointer=pointer,
            )
            return done(Outcome.DROPPED)
        lb_hop(
            kind="load-balancer",
            name=lb.name,
            decision="balance",
            detail=f"{where}: rule {rule.name} ({rule.protocol} {rule.frontend_port} -> "
            f"{backend_port}), {len(healthy)} healthy backend(s)"
            + (f", {len(unknown)} of unknown health" if unknown else ""),
            resource=str(lb.id),
            pointer=pointer,
            facts=tuple(facts),
        )
        if (
            not public
            and source.nic is not None
            and any(m.nic is not None and m.nic.id == source.nic.id for m in healthy)
        ):
            alone = len(healthy) == 1
            b.issue(
                code="LB_HAIRPIN",
                message=f"{source.name} is itself a backend of {where}: flows hashed back to "
                f"it fail (ILB hairpin, L2) - "
                + (
                    "it is the only healthy member, so every flow fails"
                    if alone
                    else f"about 1 in {len(healthy)} flows time out (intermittent)"
                ),
                resource=str(lb.id),
                pointer=pointer,
                status=None if alone else "warn",
            )
        delivered = self._to_backends(
            b,
            lb,
            healthy,
            src_ip,
            dst_ip if rule.enable_floating_ip else None,
            protocol,
            backend_port,
            clients,
        )
        return done(Outcome.INTERNET if public else Outcome.DELIVERED, delivered)

    def _inbound_nat(
        self,
        b: _Builder,
        lb: LoadBalancer,
        fe: FrontendIpConfiguration,
        nat: InboundNatRule,
        where: str,
        facts: list[tuple[str, str]],
        note: str,
        src_ip: IPAddress,
        dst_ip: IPAddress,
        protocol: Protocol,
        port: int | None,
        clients: tuple[IPAddress, ...] | None,
        done: Callable[..., Trace],
    ) -> Trace:
        """An inbound NAT rule: one frontend port to one member's backend port (section 3.5).
        NAT rules carry no probe (section 3.1), so no health applies."""
        target = self.lbs.nat_target(lb, nat, port)
        pointer = f"/properties/inboundNatRules/{nat.index}"
        backend_port = target.backend_port
        facts.append(
            (
                "NAT rule",
                f"{nat.name} {nat.protocol} {_port_text(port)} -> {_port_text(backend_port)}",
            )
        )
        if target.backend is None:
            facts.append(("backend", "unknown"))
            b.hop(
                kind="load-balancer",
                name=lb.name,
                decision="NAT target unknown",
                status="unknown",
                detail=f"{where}: inbound NAT rule {nat.name}: {target.reason}{note}",
                resource=str(lb.id),
                pointer=pointer,
                facts=tuple(facts),
            )
            b.issue(
                code="LB_NAT_BACKEND_UNKNOWN",
                message=f"{where}: inbound NAT rule {nat.name!r} serves {protocol.value} port "
                f"{_port_text(port)}, but {target.reason}",
                resource=str(lb.id),
                pointer=pointer,
            )
            return done(Outcome.UNKNOWN)
        member = target.backend
        facts.append(("backend", f"{member.label} {member.ip}"))
        b.hop(
            kind="load-balancer",
            name=lb.name,
            decision="NAT",
            detail=f"{where}: inbound NAT rule {nat.name} ({nat.protocol} {_port_text(port)} -> "
            f"{member.ip}:{_port_text(backend_port)}; NAT rules have no health probe){note}",
            resource=str(lb.id),
            pointer=pointer,
            facts=tuple(facts),
        )
        delivered = self._to_backends(
            b,
            lb,
            [member],
            src_ip,
            dst_ip if nat.enable_floating_ip else None,
            protocol,
            backend_port or port,
            clients,
        )
        return done(Outcome.INTERNET if clients is not None else Outcome.DELIVERED, delivered)

    def _probe_health(
        self, lb: LoadBalancer, probe: Probe | None, m: Backend
    ) -> tuple[str, Hop, Issue | None]:
        """One member's health by L3: ``up``, ``down`` or ``unknown``, with its hop and (when
        down) the issue. Network side: the probe's port allowed inbound from 168.63.129.16 by
        admin rules and NSGs. Guest side, only with guest evidence for the member's VM: the
        guest listens on the probe port and its firewall admits 168.63.129.16. Without guest
        evidence the network-only rule decides and the hop says so."""
        label = m.label
        if m.nic is None or m.ip_configuration is None:
            return (
                "down",
                Hop(
                    kind="lb-backend",
                    name=str(m.ip),
                    decision="no host",
                    status="fail",
                    detail=f"pool member {m.ip} is held by no network interface (section 3.6)",
                    resource=str(m.pool),
                ),
                None,
            )
        state = (m.admin_state or "").casefold()
        if state == "down":
            return (
                "down",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="admin down",
                    status="fail",
                    detail=f"pool member {m.ip} has adminState Down: no new connections (L3)",
                    resource=str(m.pool),
                ),
                None,
            )
        if state == "up":
            return (
                "up",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="admin up",
                    detail=f"pool member {m.ip} has adminState Up, which overrides the probe (L3)",
                    resource=str(m.nic.id),
                ),
                None,
            )
        vm = self.snapshot.vm_of_nic(m.nic)
        if vm is not None and vm.is_running is False:
            return (
                "down",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="not running",
                    status="fail",
                    detail=f"{vm.name} is {vm.power_state}: stopped instances are not probed "
                    "(section 3.3)",
                    resource=str(vm.id),
                ),
                None,
            )
        if probe is None or probe.port is None:
            return (
                "up",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="healthy",
                    detail=f"pool member {m.ip}: the rule has no probe, so the member is assumed "
                    "healthy (section 3.3 [unverified])",
                    resource=str(m.nic.id),
                ),
                None,
            )
        verdict = self.nsgs.verify(
            m.nic,
            Direction.INBOUND,
            Protocol.TCP,
            (m.ip, probe.port),
            (PROBE_SOURCE, None),
            ip_configuration=m.ip_configuration,
        )
        probe_text = f"health probe {probe.name} ({probe.protocol or '?'} {probe.port})"
        rule_text = "" if verdict.rule is None else f" (rule {verdict.rule.name!r})"
        if verdict.access is not Verdict.ALLOW:
            denied = verdict.access is Verdict.DENY
            issue = None
            if denied:
                issue = Issue(
                    code="LB_PROBE_BLOCKED",
                    message=f"{lb.name}'s {probe_text} from 168.63.129.16 / AzureLoadBalancer "
                    f"is denied at backend {label}{rule_text}: the backend is marked down",
                    resource=None
                    if verdict.rule is None or verdict.rule.id is None
                    else str(verdict.rule.id),
                    pointer=None if verdict.rule is None else verdict.rule.pointer,
                )
            return (
                "down" if denied else "unknown",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="probe " + verdict.access.value,
                    status="fail" if denied else "unknown",
                    detail=f"{probe_text} from {PROBE_SOURCE}{rule_text}"
                    + ("" if denied else ": " + ("; ".join(verdict.notes) or "unknown")),
                    resource=str(m.nic.id),
                ),
                issue,
            )
        evidence = None if vm is None else self.guest.get(vm.name.casefold())
        network_ok = f"{probe_text} allowed from {PROBE_SOURCE} by the NSGs{rule_text}"
        if evidence is None:
            return (
                "up",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="healthy",
                    detail=f"{network_ok}; network-only health (L3): no guest evidence for "
                    f"{vm.name if vm else label}, so whether its guest listens on port "
                    f"{probe.port} and admits 168.63.129.16 is not known",
                    resource=str(m.nic.id),
                ),
                None,
            )
        return self._guest_probe(lb, probe, m, label, evidence, network_ok)

    def _guest_probe(
        self,
        lb: LoadBalancer,
        probe: Probe,
        m: Backend,
        label: str,
        evidence: Any,
        network_ok: str,
    ) -> tuple[str, Hop, Issue | None]:
        """L3's guest half: the probe is a TCP connection (TCP, HTTP and HTTPS probes alike) to
        the probe port, from 168.63.129.16."""
        assert probe.port is not None
        assert m.nic is not None
        gaps: list[str] = []
        if evidence.listeners is None:  # the evidence says nothing about sockets
            gaps.append(f"whether it listens on {probe.port} (no socket list)")
            check = None
        else:
            check = listener_check(evidence, m.ip, probe.port, Protocol.TCP)
        if check is None:
            pass
        elif check.status in (
            ListenerStatus.NOT_LISTENING,
            ListenerStatus.LOOPBACK_ONLY,
            ListenerStatus.OTHER_ADDRESS,
        ):
            why = "; ".join(check.reasons) or f"nothing listens on TCP {probe.port}"
            return (
                "down",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="probe not answered",
                    status="fail",
                    detail=f"{network_ok}, but in the guest: {why}",
                    resource=check.resource or str(m.nic.id),
                ),
                Issue(
                    code="LB_PROBE_NOT_LISTENING",
                    message=f"{lb.name}'s health probe {probe.name} ({probe.protocol or '?'} "
                    f"{probe.port}) gets no answer from backend {label}: {why} (guest evidence); "
                    "the backend is marked down",
                    resource=check.resource or str(m.nic.id),
                ),
            )
        elif check.status is ListenerStatus.UNKNOWN:
            why = "; ".join(check.reasons) or "the listener evidence is inconclusive"
            return (
                "unknown",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="probe unknown",
                    status="unknown",
                    detail=f"{network_ok}; whether the guest listens on {probe.port}: {why}",
                    resource=check.resource or str(m.nic.id),
                ),
                None,
            )
        resource = (check.resource if check is not None else None) or str(m.nic.id)
        has_firewall = (
            evidence.iptables is not None
            or evidence.nftables is not None
            or evidence.windows_firewall is not None
        )
        if not has_firewall:
            gaps.append("whether its firewall admits 168.63.129.16 (no firewall rules)")
            listening = "" if check is None else f"; the guest listens on {probe.port}"
            what = " and ".join(gaps)
            return (
                "up",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="healthy",
                    detail=f"{network_ok}{listening}; the guest evidence does not show {what}, "
                    "so that part rests on the network-only rule (L3)",
                    resource=resource,
                ),
                None,
            )
        wall = firewall_verdict(
            evidence, Flow(PROBE_SOURCE, m.ip, Protocol.TCP, probe.port), Direction.INBOUND
        )
        where = None if wall.source is None else str(wall.source)
        if wall.verdict is GuestVerdict.DENY:
            rule = f" ({wall.rule})" if wall.rule else ""
            return (
                "down",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="probe dropped in guest",
                    status="fail",
                    detail=f"{network_ok}; the guest listens, but its firewall drops the probe"
                    f"{rule}",
                    resource=where or str(m.nic.id),
                ),
                Issue(
                    code="LB_PROBE_GUEST_FIREWALL_DENY",
                    message=f"{lb.name}'s health probe {probe.name} (TCP {probe.port} from "
                    f"168.63.129.16) is dropped by the guest firewall of backend {label}{rule}; "
                    "the backend is marked down",
                    resource=where or str(m.nic.id),
                ),
            )
        if wall.verdict is GuestVerdict.UNKNOWN:
            why = "; ".join(wall.reasons) or "the guest firewall's answer is unknown"
            return (
                "unknown",
                Hop(
                    kind="lb-backend",
                    name=label,
                    decision="probe unknown",
                    status="unknown",
                    detail=f"{network_ok}; the guest listens on {probe.port}, but whether its "
                    f"firewall admits 168.63.129.16 is unknown: {why}",
                    resource=where or str(m.nic.id),
                ),
                None,
            )
        listening = (
            f"the guest listens on {probe.port}"
            if check is not None
            else f"whether the guest listens on {probe.port} is not shown (no socket list; "
            "network-only rule, L3)"
        )
        return (
            "up",
            Hop(
                kind="lb-backend",
                name=label,
                decision="healthy",
                detail=f"{network_ok}; {listening}, and its firewall admits 168.63.129.16 "
                "(guest evidence, L3)",
                resource=resource,
            ),
            None,
        )

    def _to_backends(
        self,
        b: _Builder,
        lb: LoadBalancer,
        targets: list[Backend],
        src_ip: IPAddress,
        floating: IPAddress | None,
        protocol: Protocol,
        backend_port: int | None,
        clients: tuple[IPAddress, ...] | None,
    ) -> NetworkInterface | None:
        """Each backend the flow may be hashed to, traced inbound (section 3.7 steps 6-7). All
        admit it: delivered. Some: the blockers of the others are warnings (partially
        reachable; the 5-tuple hash decides per flow). None: the blockers stand."""
        outcomes: list[tuple[bool, list[Issue]]] = []
        delivered: NetworkInterface | None = None
        for m in targets:
            if m.nic is None or m.ip_configuration is None:
                continue
            before = len(b.issues)
            self._backend_inbound(b, lb, m, src_ip, floating, protocol, backend_port, clients)
            added = b.issues[before:]
            blocked = any(
                i.status == "fail" or (i.status is None and i.code in _BLOCKING) for i in added
            )
            outcomes.append((blocked, added))
            b.hop(
                kind="destination",
                name=m.label,
                decision="deliver",
                status="fail" if blocked else "pass",
                detail=f"backend {m.ip}:{_port_text(backend_port)} of {lb.name}",
                resource=str(m.nic.id),
            )
            if delivered is None and not blocked:
                delivered = m.nic
        if any(not blocked for blocked, _ in outcomes):
            for blocked, added in outcomes:
                if not blocked:
                    continue
                for issue in added:
                    index = b.issues.index(issue)
                    b.issues[index] = msgspec.structs.replace(
                        issue,
                        status="warn",
                        message=issue.message + " (other backends admit the flow: only flows "
                        "hashed to this one fail)",
                    )
        if delivered is None and outcomes:
            first = next(m for m in targets if m.nic is not None)
            delivered = first.nic
        return delivered

    def _backend_inbound(
        self,
        b: _Builder,
        lb: LoadBalancer,
        m: Backend,
        src_ip: IPAddress,
        floating: IPAddress | None,
        protocol: Protocol,
        backend_port: int | None,
        clients: tuple[IPAddress, ...] | None,
    ) -> None:
        """Admin rules and NSGs at one backend, with the client as source and the backend IP
        (the frontend IP with floating IP) and backend port as destination (L4)."""
        nic, ipc = m.nic, m.ip_configuration
        assert nic is not None
        assert ipc is not None
        target = floating or m.ip
        if clients is None:
            self._nsg(
                b, nic, ipc, Direction.INBOUND, protocol, src_ip, target, backend_port, "backend"
            )
            return
        subnet = self.snapshot.subnet(ipc.subnet)
        has_nsg = nic.network_security_group is not None or (
            subnet is not None and subnet.network_security_group is not None
        )
        if not has_nsg and not is_basic(lb):
            b.hop(
                kind="nsg-inbound",
                name="(no NSG)",
                decision="Deny",
                status="fail",
                detail=f"backend {m.label}: neither its NIC nor its subnet has an NSG, and a "
                "Standard public frontend is closed to inbound traffic unless an NSG allows it "
                "(secure by default, L1)",
                resource=str(nic.id),
            )
            b.issue(
                code="LB_PUBLIC_CLOSED_NO_NSG",
                message=f"{lb.name} is a Standard load balancer: traffic through its public "
                f"frontend reaches backend {m.label} only if an NSG on its subnet or NIC "
                "allows it, and neither has an NSG (secure by default, L1)",
                resource=str(nic.id),
                pointer="/properties/networkSecurityGroup",
                command=f"az network nsg create -g {nic.id.resource_group} -n nsg-{nic.name} && "
                f"az network nsg rule create -g {nic.id.resource_group} --nsg-name "
                f"nsg-{nic.name} -n allow-{_port_text(backend_port)}-from-internet "
                "--priority 100 --direction Inbound --access Allow --protocol "
                f"{'*' if protocol is Protocol.ANY else protocol.value} "
                "--source-address-prefixes Internet --destination-port-ranges "
                f"{_port_text(backend_port)} && az network nic update -g "
                f"{nic.id.resource_group} -n {nic.name} --network-security-group nsg-{nic.name}",
            )
            return
        if not clients:
            if not has_nsg:  # Basic public frontend, no NSG: open (part-1 rules, L1)
                b.hop(
                    kind="nsg-inbound",
                    name="(no NSG)",
                    decision="Allow",
                    detail=f"backend {m.label}: no NSG, and a Basic public frontend is open "
                    "(L1, part-1 rules)",
                    resource=str(nic.id),
                )
                return
            b.hop(
                kind="nsg-inbound",
                name=m.label,
                decision="Unknown",
                status="unknown",
                detail="the public address the source leaves with is not known (default "
                "outbound access uses an implicit Microsoft-owned IP), so the backend's NSGs "
                "cannot be evaluated for it",
                resource=str(nic.id),
            )
            b.issue(
                code="NSG_UNKNOWN",
                message=f"Inbound at backend {nic.name} of {lb.name}: the source reaches the "
                "public frontend from a public (SNAT) address the snapshot does not hold "
                "(default outbound access), so whether the backend's NSGs admit it is unknown",
                resource=str(nic.id),
            )
            return
        client = clients[0]
        self._nsg(b, nic, ipc, Direction.INBOUND, protocol, client, target, backend_port, "backend")
        others = {
            self.nsgs.verify(
                nic,
                Direction.INBOUND,
                protocol,
                (target, backend_port),
                (other, None),
                ip_configuration=ipc,
            ).access
            for other in clients[1:]
        }
        if others and others != {b.verdicts[-1].access}:
            b.issue(
                code="NSG_UNKNOWN",
                message=f"Inbound at backend {nic.name}: the backend's NSGs treat the source's "
                f"public addresses ({', '.join(str(c) for c in clients)}) differently, and "
                "which one SNAT picks is not known",
                resource=str(nic.id),
            )
        self._public_return(b, nic, ipc, m.ip, client)

    def _public_return(
        self,
        b: _Builder,
        nic: NetworkInterface,
        ipc: IpConfiguration,
        backend_ip: IPAddress,
        client: IPAddress,
    ) -> None:
        """The reply to a public frontend's client leaves the backend by its effective routes;
        a route sending it to a virtual appliance (e.g. an Azure Firewall) bypasses the load
        balancer's translation: the documented asymmetric-routing failure (section 3.7
        step 7, F6)."""
        back = self.next_hop(nic, ipc, backend_ip, client)
        route = back.route
        if back.is_unknown or route is None:
            return
        if route.next_hop_type is not EffectiveNextHopType.VIRTUAL_APPLIANCE:
            return
        ip = back.next_hop_ip_address
        firewall = None if ip is None else self.snapshot.firewall_at(ip)
        via = f"Azure Firewall {firewall.name}" if firewall is not None else f"appliance {ip}"
        b.issue(
            code="FIREWALL_ASYMMETRIC_RETURN" if firewall is not None else "ROUTE_ASYMMETRIC",
            message=f"{nic.name}'s reply to the public client {client} goes by "
            f"{route.describe()} to {via} instead of back through the load balancer: the "
            "reply leaves with the backend's address and the client drops it (asymmetric "
            "routing, section 3.7 step 7)",
            resource=str(route.resource_id) if route.resource_id else None,
            pointer=route.pointer,
            status="fail",
        )

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
            _loop(b, "appliance", nic.name, nic.id, appliance_ip, route, current_nic, dst_ip)
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

    def _firewall(
        self,
        b: _Builder,
        hop: NextHop,
        firewall: AzureFirewall,
        current_nic: NetworkInterface,
        current_vnet: VirtualNetwork | None,
        src_ip: IPAddress,
        dst_ip: IPAddress,
        protocol: Protocol,
        port: int | None,
        visited: set[ResourceId],
    ) -> tuple[NetworkInterface, IpConfiguration, IPAddress] | None:
        """An Azure Firewall's private IP as next hop: its rules decide (F1-F9), it may SNAT
        (F5), and it forwards by the routes of AzureFirewallSubnet."""
        route = hop.route
        assert route is not None
        fw_ip = hop.next_hop_ip_address
        assert fw_ip is not None
        resource = str(route.resource_id) if route.resource_id else None
        fw_vnet = self.snapshot.subnet_vnet(firewall.subnet)
        if current_vnet is not None and fw_vnet is not None and fw_vnet.id != current_vnet.id:
            link = next(
                (
                    lk
                    for lk in peering_links(self.snapshot, current_vnet)
                    if lk.remote is not None and lk.remote.id == fw_vnet.id
                ),
                None,
            )
            if link is None or not link.is_usable:
                b.issue(
                    code="ROUTE_APPLIANCE_MISSING",
                    message=f"{route.describe()} sends {dst_ip} to Azure Firewall "
                    f"{firewall.name} ({fw_ip}) in {fw_vnet.name}, which {current_vnet.name} "
                    "cannot reach (no usable peering)",
                    resource=resource,
                    pointer=route.pointer,
                )
                return None
            self._forwarded_check(b, current_vnet, fw_vnet, src_ip)
        if firewall.id in visited:
            _loop(
                b,
                "firewall",
                f"Azure Firewall {firewall.name}",
                firewall.id,
                fw_ip,
                route,
                current_nic,
                dst_ip,
                hop_name=firewall.name,
            )
            return None
        visited.add(firewall.id)
        decision = self.firewalls.evaluate(firewall, protocol, src_ip, dst_ip, port, fqdn=self.fqdn)
        b.firewalls.append(decision)
        notes = list(decision.notes)
        subnet = self.snapshot.subnet(firewall.subnet)
        if subnet is not None and subnet.network_security_group is not None:
            notes.append(
                f"NSG {subnet.network_security_group.name} on AzureFirewallSubnet is ignored: "
                "NSGs are disabled on AzureFirewallSubnet (F7)"
            )
        snat_text = ""
        if decision.access is Verdict.ALLOW:
            snat_text = (
                f"; SNAT to {fw_ip} (an address of AzureFirewallSubnet)"
                if decision.snat
                else "; source kept (destination in the firewall's private ranges, no SNAT)"
            )
        extra = "; ".join([*notes, *(f"assumption: {a}" for a in decision.assumptions)])
        b.hop(
            kind="firewall",
            name=firewall.name,
            decision=decision.access.value,
            detail=f"Azure Firewall {fw_ip}: {decision.describe()}{snat_text}"
            + (f" ({extra})" if extra else ""),
            resource=str(decision.resource),
            pointer=decision.pointer,
            status={Verdict.ALLOW: "pass", Verdict.DENY: "fail"}.get(decision.access, "unknown"),
            facts=(
                ("firewall", f"{firewall.name} {fw_ip}"),
                ("collection", decision.collection or "(none)"),
                (
                    "rule",
                    decision.rule if decision.rule is not None else "no rule matches: default deny",
                ),
                ("phase", decision.phase),
            ),
        )
        flow = f"{protocol.value} {src_ip} -> {dst_ip}:{_port_text(port)}"
        if decision.access is Verdict.DENY and decision.rule is not None:
            b.issue(
                code="FIREWALL_DENY",
                message=f"Azure Firewall {firewall.name}: {decision.phase} rule "
                f"{decision.rule!r} of collection {decision.collection!r} denies {flow}",
                resource=str(decision.resource),
                pointer=decision.pointer,
                command=self._firewall_command(firewall, protocol, src_ip, dst_ip, port),
            )
        elif decision.access is Verdict.DENY:
            b.issue(
                code="FIREWALL_NO_MATCH",
                message=f"Azure Firewall {firewall.name}: no DNAT, network or application rule "
                f"matches {flow}, so the firewall denies it by default"
                + (f" ({'; '.join(decision.notes)})" if decision.notes else ""),
                resource=str(firewall.firewall_policy or firewall.id),
                command=self._firewall_command(firewall, protocol, src_ip, dst_ip, port),
            )
        elif decision.access is Verdict.UNKNOWN:
            b.issue(
                code="FIREWALL_UNKNOWN",
                message=f"Azure Firewall {firewall.name}: the decision for {flow} is unknown: "
                + ("; ".join(decision.notes) or "a rule may match"),
                resource=str(decision.resource),
                pointer=decision.pointer,
            )
        if firewall.subnet is None or fw_vnet is None:
            b.issue(
                code="ROUTE_UNKNOWN",
                message=f"Azure Firewall {firewall.name} has no subnet in the snapshot: the "
                "routes it forwards by are unknown",
                resource=str(firewall.id),
            )
            return None
        nic, ipc = firewall_interface(firewall, fw_ip)
        new_src = fw_ip if decision.access is Verdict.ALLOW and decision.snat else src_ip
        return nic, ipc, new_src

    @staticmethod
    def _firewall_command(
        firewall: AzureFirewall,
        protocol: Protocol,
        source: IPAddress,
        destination: IPAddress,
        port: int | None,
    ) -> str:
        proto = "Any" if protocol is Protocol.ANY else protocol.value.upper()
        name = f"allow-{source}-to-{destination}-{_port_text(port)}".replace(".", "-").replace(
            "*", "any"
        )
        ports = _port_text(port)
        if firewall.firewall_policy is not None:
            pol = firewall.firewall_policy
            return (
                "az network firewall policy rule-collection-group collection add-filter-collection "
                f"-g {pol.resource_group} --policy-name {pol.name} "
                "--rule-collection-group-name <group> "
                f"--name {name} --collection-priority <lower than the deny> --action Allow "
                f"--rule-name {name} --rule-type NetworkRule --ip-protocols {proto} "
                f"--source-addresses {source} --destination-addresses {destination} "
                f"--destination-ports {ports}"
            )
        return (
            f"az network firewall network-rule create -g {firewall.id.resource_group} "
            f"-f {firewall.name} --collection-name {name} --priority <lower than the deny> "
            f"--action Allow -n {name} --protocols {proto} --source-addresses {source} "
            f"--destination-addresses {destination} --destination-ports {ports}"
        )

    def _internet(
        self,
        b: _Builder,
        nic: NetworkInterface,
        ipc: IpConfiguration | None,
        dst_ip: IPAddress,
        hop: NextHop,
        appliances: list[ResourceId],
        *,
        flow: tuple[Endpoint, IPAddress, Protocol, int | None] | None = None,
    ) -> Trace:
        """The Internet as next hop: the outbound method decides whether the packet has a
        public source. A destination that is a load balancer's public frontend continues into
        that load balancer (``flow`` = source, packet source, protocol, port)."""
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
            found = (
                self.lbs.public_frontend_at(dst_ip)
                if self.snapshot.load_balancers and flow is not None
                else None
            )
            if found is not None and flow is not None:
                source, pkt_src, protocol, port = flow
                b.hop(
                    kind="route",
                    name=str(dst_ip),
                    decision="public frontend",
                    detail=f"{dst_ip} is the public IP of {found[0].name} frontend "
                    f"{found[1].name}; the source arrives from "
                    + (", ".join(str(i) for i in out.public_ips) or "an unknown public address"),
                    resource=str(found[1].id),
                )
                return self._load_balancer(
                    b,
                    found,
                    None,
                    source,
                    pkt_src,
                    dst_ip,
                    protocol,
                    port,
                    appliances,
                    clients=out.public_ips,
                    egress=(nic, ipc),
                )
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
        back_fw = None if back_ip is None else self.snapshot.firewall_at(back_ip)
        if any(d.snat for d in forward.firewalls):
            return None  # the reply is addressed to the firewall, which returns it itself
        # A denying firewall counts too: the trace judges the path as if each blocker were fixed.
        crossed = list(forward.firewalls)
        back_route = str(back.route.resource_id) if back.route.resource_id else None
        for d in crossed:
            if back_fw is None or back_fw.id != d.firewall:
                via = (
                    f"to Azure Firewall {back_fw.name}"
                    if back_fw is not None
                    else f"by {back.route.describe()} ({back.route.next_hop_type.value})"
                    if back.route.next_hop_type is not None
                    else f"by {back.route.describe()}"
                )
                return Issue(
                    code="FIREWALL_ASYMMETRIC_RETURN",
                    message=f"Azure Firewall {d.firewall.name} forwards {source.ip} -> {dst_ip} "
                    f"without SNAT, but {dst_nic.name}'s reply to {source.ip} goes {via}, "
                    "bypassing it: the firewall is stateful and drops the flow it sees one way "
                    f"(F6). Route {source.ip}'s prefix from {dst_nic.name}'s subnet to the "
                    "firewall",
                    resource=back_route,
                    pointer=back.route.pointer,
                )
        if back_fw is not None and not crossed:
            return Issue(
                code="FIREWALL_ASYMMETRIC_RETURN",
                message=f"The forward path to {dst_nic.name} bypasses Azure Firewall "
                f"{back_fw.name}, but the reply to {source.ip} is routed to it: the firewall is "
                "stateful and drops a reply it never saw the request of (F6)",
                resource=back_route,
                pointer=back.route.pointer,
            )
        back_nic = None
        if back_ip is not None and back_fw is None:
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
