"""Next hops that are not the destination: virtual appliances, Azure Firewalls, the Internet, and
the return path through them.

A virtual appliance's NIC must forward IP and its own NSGs apply in and out. An Azure Firewall
decides by its rules (F1-F9), may SNAT (F5), and forwards by the routes of AzureFirewallSubnet.
The Internet needs a public source (the outbound method). A stateful appliance or firewall drops
a flow whose return skips it (F6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.endpoints import Endpoint
from vnetdoctor.engine.firewall import FirewallDecision
from vnetdoctor.engine.nsg import Verdict
from vnetdoctor.engine.outbound import OutboundMethod, outbound_for
from vnetdoctor.engine.path import lb
from vnetdoctor.engine.path.peering import forwarded_check, vnet_of
from vnetdoctor.engine.path.records import (
    Issue,
    Outcome,
    Recorder,
    Trace,
    port_arg,
    port_text,
)
from vnetdoctor.engine.routes import EffectiveNextHopType, NextHop
from vnetdoctor.engine.topology import peering_links
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.firewall import AzureFirewall
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.security import Direction

if TYPE_CHECKING:
    from vnetdoctor.engine.path.tracer import Tracer, Walk


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


def _loop(
    b: Recorder,
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


# -- virtual appliances ---------------------------------------------------------------------------
def appliance(
    t: Tracer, b: Recorder, hop: NextHop, walk: Walk, current_vnet: VirtualNetwork | None
) -> tuple[NetworkInterface, IpConfiguration] | None:
    """A virtual appliance as next hop: the NIC holding its address, reachable from here, that
    must forward IP; its NSGs apply inbound and outbound. ``None``: the packet is dropped."""
    route = hop.route
    assert route is not None
    src_ip, dst_ip = walk.packet_source, walk.destination_ip
    appliance_ip = hop.next_hop_ip_address
    holders = [] if appliance_ip is None else t.snapshot.nics_with_ip(appliance_ip)
    if current_vnet is not None:
        reachable = {
            current_vnet.id,
            *(
                link.remote.id
                for link in peering_links(t.snapshot, current_vnet)
                if link.remote is not None and link.is_usable
            ),
        }
        holders = [
            (n, c)
            for n, c in holders
            if (v := vnet_of(t.snapshot, c)) is not None and v.id in reachable
        ]
    if not holders:
        b.issue(
            code="ROUTE_APPLIANCE_MISSING",
            message=f"{route.describe()} sends {dst_ip} to virtual appliance "
            f"{appliance_ip}, but no network interface holds that address",
            resource=str(route.resource_id) if route.resource_id else None,
            pointer=route.pointer,
        )
        return None
    nic, ipc = holders[0]
    if nic.id in walk.visited:
        _loop(b, "appliance", nic.name, nic.id, appliance_ip, route, walk.nic, dst_ip)
        return None
    walk.visited.add(nic.id)
    appliance_vnet = vnet_of(t.snapshot, ipc)
    if (
        current_vnet is not None
        and appliance_vnet is not None
        and appliance_vnet.id != current_vnet.id
    ):
        forwarded_check(b, current_vnet, appliance_vnet, src_ip)
    _appliance_checks(t, b, route, nic, appliance_ip, dst_ip)
    for direction in (Direction.INBOUND, Direction.OUTBOUND):
        t.nsg_step(b, nic, ipc, direction, walk.protocol, src_ip, dst_ip, walk.port, "appliance")
    return nic, ipc


def _appliance_checks(
    t: Tracer,
    b: Recorder,
    route: routing.EffectiveRoute,
    nic: NetworkInterface,
    appliance_ip: IPAddress | None,
    dst_ip: IPAddress,
) -> None:
    """The appliance's hop, with IP forwarding on its NIC and its VM running."""
    vm = t.snapshot.vm_of_nic(nic)
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


# -- Azure Firewall -------------------------------------------------------------------------------
def firewall(
    t: Tracer,
    b: Recorder,
    hop: NextHop,
    azfw: AzureFirewall,
    walk: Walk,
    current_vnet: VirtualNetwork | None,
) -> tuple[NetworkInterface, IpConfiguration, IPAddress] | None:
    """An Azure Firewall's private IP as next hop: its rules decide (F1-F9), it may SNAT
    (F5), and it forwards by the routes of AzureFirewallSubnet. Returns the interface the packet
    leaves by and its source after SNAT; ``None``: the packet is lost here."""
    route = hop.route
    assert route is not None
    fw_ip = hop.next_hop_ip_address
    assert fw_ip is not None
    fw_vnet = t.snapshot.subnet_vnet(azfw.subnet)
    if not _reach_firewall(t, b, route, azfw, fw_ip, fw_vnet, walk, current_vnet):
        return None
    decision = t.firewalls.evaluate(
        azfw, walk.protocol, walk.packet_source, walk.destination_ip, walk.port, fqdn=t.fqdn
    )
    b.firewalls.append(decision)
    _firewall_hop(t, b, azfw, fw_ip, decision)
    _firewall_issues(b, azfw, decision, walk)
    if azfw.subnet is None or fw_vnet is None:
        b.issue(
            code="ROUTE_UNKNOWN",
            message=f"Azure Firewall {azfw.name} has no subnet in the snapshot: the "
            "routes it forwards by are unknown",
            resource=str(azfw.id),
        )
        return None
    nic, ipc = firewall_interface(azfw, fw_ip)
    snat = decision.access is Verdict.ALLOW and decision.snat
    return nic, ipc, fw_ip if snat else walk.packet_source


def _reach_firewall(
    t: Tracer,
    b: Recorder,
    route: routing.EffectiveRoute,
    azfw: AzureFirewall,
    fw_ip: IPAddress,
    fw_vnet: VirtualNetwork | None,
    walk: Walk,
    current_vnet: VirtualNetwork | None,
) -> bool:
    """Whether the packet gets to the firewall: over a usable peering when it is in another
    VNet (forwarded traffic allowed there), and not a second time (a loop)."""
    dst_ip = walk.destination_ip
    if current_vnet is not None and fw_vnet is not None and fw_vnet.id != current_vnet.id:
        link = next(
            (
                lk
                for lk in peering_links(t.snapshot, current_vnet)
                if lk.remote is not None and lk.remote.id == fw_vnet.id
            ),
            None,
        )
        if link is None or not link.is_usable:
            b.issue(
                code="ROUTE_APPLIANCE_MISSING",
                message=f"{route.describe()} sends {dst_ip} to Azure Firewall "
                f"{azfw.name} ({fw_ip}) in {fw_vnet.name}, which {current_vnet.name} "
                "cannot reach (no usable peering)",
                resource=str(route.resource_id) if route.resource_id else None,
                pointer=route.pointer,
            )
            return False
        forwarded_check(b, current_vnet, fw_vnet, walk.packet_source)
    if azfw.id in walk.visited:
        _loop(
            b,
            "firewall",
            f"Azure Firewall {azfw.name}",
            azfw.id,
            fw_ip,
            route,
            walk.nic,
            dst_ip,
            hop_name=azfw.name,
        )
        return False
    walk.visited.add(azfw.id)
    return True


def _firewall_hop(
    t: Tracer, b: Recorder, azfw: AzureFirewall, fw_ip: IPAddress, decision: FirewallDecision
) -> None:
    notes = list(decision.notes)
    subnet = t.snapshot.subnet(azfw.subnet)
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
        name=azfw.name,
        decision=decision.access.value,
        detail=f"Azure Firewall {fw_ip}: {decision.describe()}{snat_text}"
        + (f" ({extra})" if extra else ""),
        resource=str(decision.resource),
        pointer=decision.pointer,
        status={Verdict.ALLOW: "pass", Verdict.DENY: "fail"}.get(decision.access, "unknown"),
        facts=(
            ("firewall", f"{azfw.name} {fw_ip}"),
            ("collection", decision.collection or "(none)"),
            (
                "rule",
                decision.rule if decision.rule is not None else "no rule matches: default deny",
            ),
            ("phase", decision.phase),
        ),
    )


def _firewall_issues(
    b: Recorder, azfw: AzureFirewall, decision: FirewallDecision, walk: Walk
) -> None:
    protocol, src_ip, dst_ip, port = (
        walk.protocol,
        walk.packet_source,
        walk.destination_ip,
        walk.port,
    )
    flow = f"{protocol.value} {src_ip} -> {dst_ip}:{port_text(port)}"
    if decision.access is Verdict.DENY and decision.rule is not None:
        b.issue(
            code="FIREWALL_DENY",
            message=f"Azure Firewall {azfw.name}: {decision.phase} rule "
            f"{decision.rule!r} of collection {decision.collection!r} denies {flow}",
            resource=str(decision.resource),
            pointer=decision.pointer,
            command=_firewall_command(azfw, protocol, src_ip, dst_ip, port),
        )
    elif decision.access is Verdict.DENY:
        b.issue(
            code="FIREWALL_NO_MATCH",
            message=f"Azure Firewall {azfw.name}: no DNAT, network or application rule "
            f"matches {flow}, so the firewall denies it by default"
            + (f" ({'; '.join(decision.notes)})" if decision.notes else ""),
            resource=str(azfw.firewall_policy or azfw.id),
            command=_firewall_command(azfw, protocol, src_ip, dst_ip, port),
        )
    elif decision.access is Verdict.UNKNOWN:
        b.issue(
            code="FIREWALL_UNKNOWN",
            message=f"Azure Firewall {azfw.name}: the decision for {flow} is unknown: "
            + ("; ".join(decision.notes) or "a rule may match"),
            resource=str(decision.resource),
            pointer=decision.pointer,
        )


def _firewall_command(
    azfw: AzureFirewall,
    protocol: Protocol,
    source: IPAddress,
    destination: IPAddress,
    port: int | None,
) -> str:
    proto = "Any" if protocol is Protocol.ANY else protocol.value.upper()
    name = f"allow-{source}-to-{destination}{'' if port is None else f'-{port}'}".replace(
        ".", "-"
    )
    ports = port_arg(port)
    if azfw.firewall_policy is not None:
        pol = azfw.firewall_policy
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
        f"az network firewall network-rule create -g {azfw.id.resource_group} "
        f"-f {azfw.name} --collection-name {name} --priority <lower than the deny> "
        f"--action Allow -n {name} --protocols {proto} --source-addresses {source} "
        f"--destination-addresses {destination} --destination-ports {ports}"
    )


# -- the Internet ---------------------------------------------------------------------------------
def internet(
    t: Tracer, b: Recorder, hop: NextHop, walk: Walk, appliances: tuple[ResourceId, ...]
) -> Trace:
    """The Internet as next hop: the outbound method decides whether the packet has a
    public source. A destination that is a load balancer's public frontend continues into
    that load balancer."""
    route = hop.route
    assert route is not None
    nic, ipc, dst_ip = walk.nic, walk.ipc, walk.destination_ip
    if not dst_ip.is_global:
        b.issue(
            code="ROUTE_BLACKHOLE_INTERNET",
            message=f"{route.describe()} sends the private address {dst_ip} to the "
            "Internet, where it is dropped",
            resource=str(route.resource_id) if route.resource_id else None,
            pointer=route.pointer,
        )
        return b.trace(Outcome.DROPPED, appliances)
    if ipc is None:
        return b.trace(Outcome.INTERNET, appliances)
    out = outbound_for(t.snapshot, nic, ipc)
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
        return b.trace(Outcome.DROPPED, appliances, egress=(nic, ipc))
    found = t.lbs.public_frontend_at(dst_ip) if t.snapshot.load_balancers else None
    if found is None:
        return b.trace(Outcome.INTERNET, appliances, egress=(nic, ipc))
    b.hop(
        kind="route",
        name=str(dst_ip),
        decision="public frontend",
        detail=f"{dst_ip} is the public IP of {found[0].name} frontend "
        f"{found[1].name}; the source arrives from "
        + (", ".join(str(i) for i in out.public_ips) or "an unknown public address"),
        resource=str(found[1].id),
    )
    return lb.load_balancer(
        t,
        b,
        lb.LbVisit(
            lb=found[0],
            frontend=found[1],
            hop=None,
            source=walk.source,
            src_ip=walk.packet_source,
            dst_ip=dst_ip,
            protocol=walk.protocol,
            port=walk.port,
            appliances=appliances,
            clients=out.public_ips,
            egress=(nic, ipc),
        ),
    )


# -- the return path ------------------------------------------------------------------------------
def return_asymmetry(t: Tracer, forward: Trace, source: Endpoint) -> Issue | None:
    """A stateful appliance drops a flow whose return skips it (or the reverse)."""
    dst_nic = forward.delivered_to
    if forward.outcome is not Outcome.DELIVERED or dst_nic is None or source.ip is None:
        return None
    dst_ipc = dst_nic.primary_ip_configuration
    dst_ip = next(iter(dst_nic.private_ip_addresses), None)
    if dst_ipc is None or dst_ip is None:
        return None
    back = t.next_hop(dst_nic, dst_ipc, dst_ip, source.ip)
    if back.is_unknown or back.route is None:
        return None
    back_ip = (
        back.next_hop_ip_address
        if back.route.next_hop_type is EffectiveNextHopType.VIRTUAL_APPLIANCE
        else None
    )
    back_fw = None if back_ip is None else t.snapshot.firewall_at(back_ip)
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
        holders = t.snapshot.nics_with_ip(back_ip)
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
