"""Step 3 of the runbook: does the guest's own firewall pass the flow? Windows Firewall or
netfilter (iptables and nftables, every base chain on the packet's path), for the request and,
where the protocol has one, its reply; and the FORWARD path of a Linux appliance
(docs/semantics/guest.md#windows-firewall-step-3,
docs/semantics/guest.md#linux-iptables-and-nftables-step-3-and-appliances-on-the-path)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from vnetdoctor.engine.guest.common import (
    Decision,
    GuestFirewallDecision,
    GuestVerdict,
    Packet,
    Tri,
    gap_reasons,
)
from vnetdoctor.engine.guest.hooks import BaseChain, base_chains, evaluate_hooks
from vnetdoctor.engine.guest.windows import windows_decision
from vnetdoctor.model.evidence import AdapterStatus, GuestEvidence, OsFamily
from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction

__all__ = ["firewall_verdict", "forward_verdict"]

_MODELLED: Final = frozenset({Protocol.TCP, Protocol.UDP, Protocol.ICMP})


def firewall_verdict(
    evidence: GuestEvidence, flow: Flow, direction: Direction | str
) -> GuestFirewallDecision:
    """Does this guest's firewall let ``flow`` through? ``INBOUND``: the guest is the
    destination (its INPUT path takes the SYN, its OUTPUT path the SYN-ACK); ``OUTBOUND``: the
    guest is the source. ``allow`` only when every rule set that applies accepts it."""
    way = direction if isinstance(direction, Direction) else Direction(str(direction).capitalize())
    if evidence.windows_firewall is not None or evidence.os_family is OsFamily.WINDOWS:
        return _windows(evidence, flow, way)
    return _netfilter(evidence, flow, way)


def _windows(evidence: GuestEvidence, flow: Flow, way: Direction) -> GuestFirewallDecision:
    fw = evidence.windows_firewall
    if fw is None:
        return GuestFirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=way,
            engine="windows-firewall",
            reasons=(
                "no Windows Firewall export in the evidence (run vnetdoctor probe, or give "
                "Get-NetFirewallRule / Get-NetFirewallProfile output)",
            ),
        )
    decision = windows_decision(fw, evidence, flow, way)
    reasons = decision.reasons
    if not fw.profiles:
        reasons = (*reasons, "no firewall profiles in the evidence (Get-NetFirewallProfile)")
    assumptions: list[str] = []
    deciding = next((r for r in fw.rules if r.source == decision.source), None)
    if deciding is not None and deciding.program is None and deciding.service is None:
        assumptions.append(
            f'the export does not show whether rule "{deciding.label}" is limited to a program '
            "or service (netsh without `verbose`): assumed it is not"
        )
    return GuestFirewallDecision(
        verdict=decision.verdict,
        direction=way,
        engine="windows-firewall",
        rule=decision.rule,
        source=decision.source,
        reasons=reasons,
        assumptions=tuple(assumptions),
    )


def _netfilter(evidence: GuestEvidence, flow: Flow, way: Direction) -> GuestFirewallDecision:
    context = _netfilter_context(evidence, flow, way)
    if isinstance(context, GuestFirewallDecision):
        return context
    engine, doubts, assumptions, protocol = context
    chains = base_chains(evidence.iptables or (), evidence.nftables, flow.destination.version)
    request, reply = _packets(evidence, flow, way, protocol)
    inbound = way is Direction.INBOUND
    in_hooks, out_hooks = ("ingress", "prerouting", "input"), ("output", "postrouting")
    return _judge(
        chains,
        flow,
        way,
        engine,
        doubts,
        assumptions,
        (request, in_hooks if inbound else out_hooks),
        (reply, out_hooks if inbound else in_hooks),
    )


_FORWARD: Final = "Forward"


def forward_verdict(evidence: GuestEvidence, flow: Flow) -> GuestFirewallDecision:
    """Does this guest, a Linux appliance (NVA) on the path, forward ``flow``? The kernel must
    forward (``net.ipv4.ip_forward``) and every base chain at the prerouting, forward and
    postrouting hooks must accept the packet and its reply. ``direction`` is ``Forward``."""
    if evidence.windows_firewall is not None or evidence.os_family is OsFamily.WINDOWS:
        return GuestFirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=_FORWARD,
            engine="windows",
            reasons=("forwarding through a Windows appliance (RRAS) is not modelled",),
        )
    context = _netfilter_context(evidence, flow, _FORWARD)
    if isinstance(context, GuestFirewallDecision):
        return context
    engine, doubts, assumptions, protocol = context
    family = flow.destination.version
    enabled = evidence.ipv4_forwarding if family == 4 else evidence.ipv6_forwarding
    knob = "net.ipv4.ip_forward" if family == 4 else "net.ipv6.conf.all.forwarding"
    if enabled is False:
        return GuestFirewallDecision(
            verdict=GuestVerdict.DENY,
            direction=_FORWARD,
            engine=engine,
            rule=f"{knob} = 0 (the kernel does not forward packets)",
            source=evidence.forwarding_source if family == 4 else None,
            reasons=("the appliance drops every packet not addressed to itself",),
        )
    if enabled is None:
        doubts.append(f"whether the kernel forwards ({knob}) is not in the evidence")
    chains = base_chains(evidence.iptables or (), evidence.nftables, family)
    locals_ = evidence.local_addresses
    original = (flow.source, flow.destination, flow.source_port, flow.destination_port)
    toward_src = _route_interface(evidence, flow.source)
    toward_dst = _route_interface(evidence, flow.destination)
    tcp = protocol == 6
    request = Packet(
        family=family,
        protocol=protocol,
        src=flow.source,
        dst=flow.destination,
        sport=flow.source_port,
        dport=flow.destination_port,
        tcp_flags=frozenset({"syn"}) if tcp else frozenset(),
        icmp_type=8 if protocol == 1 else 128 if protocol == 58 else None,
        ct_state="new",
        ct_direction="original",
        iif=toward_src,
        oif=toward_dst,
        src_local=Tri.YES if flow.source in locals_ else Tri.NO,
        dst_local=Tri.YES if flow.destination in locals_ else Tri.NO,
        original=original,
        local_addresses=locals_,
    )
    reply = Packet(
        family=family,
        protocol=protocol,
        src=flow.destination,
        dst=flow.source,
        sport=flow.destination_port,
        dport=flow.source_port,
        tcp_flags=frozenset({"syn", "ack"}) if tcp else frozenset(),
        icmp_type=0 if protocol == 1 else 129 if protocol == 58 else None,
        ct_state="established",
        ct_direction="reply",
        iif=toward_dst,
        oif=toward_src,
        src_local=request.dst_local,
        dst_local=request.src_local,
        original=original,
        local_addresses=locals_,
    )
    hooks = ("ingress", "prerouting", "forward", "postrouting")
    return _judge(
        chains, flow, _FORWARD, engine, doubts, assumptions, (request, hooks), (reply, hooks)
    )


def _netfilter_context(
    evidence: GuestEvidence, flow: Flow, way: str
) -> GuestFirewallDecision | tuple[str, list[str], list[str], int]:
    """The engine name, doubts and assumptions that the evidence itself brings, or the
    decision when there is nothing to evaluate."""
    family = flow.destination.version
    protocol = _protocol_number(flow)
    if protocol is None:
        return GuestFirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=way,
            engine="netfilter",
            reasons=(f"protocol {flow.protocol.value} is not modelled for the guest firewall",),
        )
    save = "iptables-save" if family == 4 else "ip6tables-save"
    have_ipt = family in evidence.iptables_families
    have_nft = evidence.nftables is not None or evidence.nft_collected
    engine = (
        "+".join(
            n
            for n, present in ((save.removesuffix("-save"), have_ipt), ("nftables", have_nft))
            if present
        )
        or "netfilter"
    )
    if not have_ipt and not have_nft:
        return GuestFirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=way,
            engine=engine,
            reasons=(
                f"no firewall rules in the evidence: give `{save}` and `nft -j list ruleset` "
                "(or run vnetdoctor probe as root)",
                *gap_reasons(evidence, (save, "nft-json")),
            ),
        )
    doubts: list[str] = []
    assumptions: list[str] = []
    probed = evidence.collected_at is not None
    if not have_nft:
        failed = gap_reasons(evidence, ("nft-json",))
        if evidence.nft_absent:
            assumptions.append(
                "nft is not installed in the guest: no native nftables tables assumed"
            )
        elif failed:
            doubts.extend(failed)
        elif not probed:
            assumptions.append(
                "no `nft -j list ruleset` was given: native nftables tables (firewalld, ufw on "
                "nftables) are assumed absent"
            )
    if not have_ipt:
        failed = gap_reasons(evidence, (save, save.replace("-save", "-legacy-save")))
        not_installed = any("not installed" in r for r in failed)
        if failed and not not_installed:
            doubts.extend(failed)
        elif not probed:
            assumptions.append(f"no `{save}` was given: legacy iptables tables are assumed absent")
    if evidence.legacy_tables_hidden and family not in evidence.legacy_families:
        doubts.append(
            "iptables-legacy tables exist but are not in the evidence (iptables-legacy-save)"
        )
    doubts.extend(
        f"firewall rules in an unreadable form: {u}" for u in evidence.firewall_unreadable
    )
    return engine, doubts, assumptions, protocol


def _judge(
    chains: Sequence[BaseChain],
    flow: Flow,
    way: str,
    engine: str,
    doubts: Sequence[str],
    assumptions: Sequence[str],
    request: tuple[Packet, tuple[str, ...]],
    reply: tuple[Packet, tuple[str, ...]],
) -> GuestFirewallDecision:
    first = evaluate_hooks(chains, request[0], request[1])
    second: Decision | None = None
    if flow.protocol is Protocol.TCP or flow.protocol is Protocol.ICMP:
        second = evaluate_hooks(chains, reply[0], reply[1])

    def decided(d: Decision, packet: str, extra: Sequence[str] = ()) -> GuestFirewallDecision:
        return GuestFirewallDecision(
            verdict=d.verdict,
            direction=way,
            engine=engine,
            rule=d.rule,
            chain=d.chain,
            source=d.source,
            packet=packet,
            reasons=(*d.reasons, *extra),
            assumptions=tuple(assumptions),
        )

    if first.verdict is GuestVerdict.DENY:
        return decided(first, "request")
    if second is not None and second.verdict is GuestVerdict.DENY:
        return decided(second, "reply", ("the connection's reply packets are dropped",))
    if first.verdict is GuestVerdict.UNKNOWN:
        return decided(first, "request", doubts)
    if second is not None and second.verdict is GuestVerdict.UNKNOWN:
        return decided(second, "reply", doubts)
    if doubts:
        return GuestFirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=way,
            engine=engine,
            reasons=("the rules in the evidence accept the flow, but: " + doubts[0], *doubts[1:]),
            assumptions=tuple(assumptions),
        )
    return GuestFirewallDecision(
        verdict=GuestVerdict.ALLOW,
        direction=way,
        engine=engine,
        rule=first.rule,
        chain=first.chain,
        source=first.source,
        reasons=(
            "every base chain on the path accepts the connection's first packet"
            + (" and its reply" if second is not None else ""),
        ),
        assumptions=tuple(assumptions),
    )


def _protocol_number(flow: Flow) -> int | None:
    if flow.protocol not in _MODELLED:
        return None
    return flow.protocol.ip_number(flow.destination.version)


def _packets(
    evidence: GuestEvidence, flow: Flow, way: Direction, protocol: int
) -> tuple[Packet, Packet]:
    inbound = way is Direction.INBOUND
    local_ip = flow.destination if inbound else flow.source
    remote_ip = flow.source if inbound else flow.destination
    adapter = evidence.adapter_with(local_ip)
    iface = adapter.name if adapter is not None else None
    if not inbound:
        iface = _route_interface(evidence, remote_ip) or iface
    locals_ = evidence.local_addresses
    tcp = protocol == 6
    icmp_request = 8 if protocol == 1 else 128 if protocol == 58 else None
    icmp_reply = 0 if protocol == 1 else 129 if protocol == 58 else None
    original = (flow.source, flow.destination, flow.source_port, flow.destination_port)
    remote_local = Tri.YES if remote_ip in locals_ else Tri.NO
    request = Packet(
        family=flow.destination.version,
        protocol=protocol,
        src=flow.source,
        dst=flow.destination,
        sport=flow.source_port,
        dport=flow.destination_port,
        tcp_flags=frozenset({"syn"}) if tcp else frozenset(),
        icmp_type=icmp_request,
        ct_state="new",
        ct_direction="original",
        iif=iface if inbound else "",
        oif="" if inbound else iface,
        src_local=remote_local if inbound else Tri.YES,
        dst_local=Tri.YES if inbound else remote_local,
        original=original,
        local_addresses=locals_,
    )
    reply = Packet(
        family=flow.destination.version,
        protocol=protocol,
        src=flow.destination,
        dst=flow.source,
        sport=flow.destination_port,
        dport=flow.source_port,
        tcp_flags=frozenset({"syn", "ack"}) if tcp else frozenset(),
        icmp_type=icmp_reply,
        ct_state="established",
        ct_direction="reply",
        iif="" if inbound else iface,
        oif=iface if inbound else "",
        src_local=Tri.YES if inbound else remote_local,
        dst_local=remote_local if inbound else Tri.YES,
        original=original,
        local_addresses=locals_,
    )
    return request, reply


def _route_interface(evidence: GuestEvidence, destination: IPAddress) -> str | None:
    best: tuple[int, int] | None = None
    name: str | None = None
    for route in evidence.routes or ():
        if route.destination.version != destination.version or destination not in route.destination:
            continue
        key = (route.destination.prefixlen, -(route.metric or 0))
        if best is None or key > best:
            best, name = key, route.interface
    if name is not None:
        return name
    usable = [
        a
        for a in evidence.adapters or ()
        if not a.is_loopback and not a.is_ghost and a.status is AdapterStatus.UP
    ]
    for adapter in usable:
        for address in adapter.addresses:
            if address.prefix_length is None:
                continue
            network = ipaddress.ip_network(
                f"{address.address}/{address.prefix_length}", strict=False
            )
            if network.version == destination.version and destination in network:
                return adapter.name
    if len(usable) == 1:
        return usable[0].name  # one NIC: every packet to another host leaves by it
    return None
