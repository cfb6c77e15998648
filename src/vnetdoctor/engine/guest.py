"""Steps 1 (guest side), 3, 4 and 8 of the runbook: what the VMs' own operating systems say.

Pure functions over :class:`~vnetdoctor.model.evidence.GuestEvidence` (read it with
:func:`vnetdoctor.guest.load.load_guest_evidence`). The API for ``diagnose``::

    from vnetdoctor.guest.load import load_guest_evidence
    from vnetdoctor.engine.guest import guest_findings, firewall_verdict, listener_check
    from vnetdoctor.model.net import Flow, Protocol
    from vnetdoctor.model.security import Direction

    src = load_guest_evidence("web.probe.json")        # the source VM (optional)
    dst = load_guest_evidence("db-artefacts/")         # the destination VM (optional)
    flow = Flow(parse_ip("10.0.1.4"), parse_ip("10.0.2.5"), Protocol.TCP, 5432)

    for f in guest_findings(flow, source=src, destination=dst,
                            source_nic_ips=[...], destination_nic_ips=[...]):
        f.code, f.step, f.status, f.severity, f.message, f.resource, f.remediation

    firewall_verdict(dst, flow, Direction.INBOUND)     # FirewallDecision: verdict allow|deny|
                                                       # unknown, rule, source (file:line), reasons
    firewall_verdict(src, flow, Direction.OUTBOUND)
    forward_verdict(nva, flow)                         # a Linux appliance on the path (FORWARD)
    listener_check(dst, flow.destination, 5432)        # ListenerCheck: status, socket, source
    nic_ip_check(dst, destination_nic_ips)             # NicIpCheck: status, missing, addresses
    ghost_nic_check(dst, destination_nic_ips)          # GhostNicCheck: status, ghosts
    smb_check(flow, destination=dst, source=src)       # SmbCheck: status, decisions

Every result carries the evidence it rests on as a :class:`~vnetdoctor.model.evidence.SourceRef`
(``str(ref)`` is ``file[artefact]:line``, the ``resource`` of a guest finding). An answer the
evidence cannot give is ``unknown`` with its reasons, never a guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Final

import msgspec

from vnetdoctor.engine.guest_common import (
    Decision,
    FirewallDecision,
    GuestVerdict,
    Packet,
    Tri,
)
from vnetdoctor.engine.guest_netfilter import BaseChain, base_chains, evaluate_hooks
from vnetdoctor.engine.guest_windows import windows_decision
from vnetdoctor.model.evidence import (
    AdapterStatus,
    ConnectTest,
    GuestAdapter,
    GuestEvidence,
    ListeningSocket,
    OsFamily,
    SourceRef,
)
from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction

__all__ = [
    "FirewallDecision",
    "GhostNicCheck",
    "GhostStatus",
    "GuestFinding",
    "GuestVerdict",
    "ListenerCheck",
    "ListenerStatus",
    "NicIpCheck",
    "NicIpStatus",
    "SmbCheck",
    "connect_result",
    "firewall_verdict",
    "forward_verdict",
    "ghost_nic_check",
    "guest_findings",
    "listener_check",
    "nic_ip_check",
    "smb_check",
]

SMB_PORT: Final = 445
_PROTO_NUMBER: Final = {Protocol.TCP: 6, Protocol.UDP: 17}


# ---------------------------------------------------------------------------------------------
# Step 3: the guest firewall
# ---------------------------------------------------------------------------------------------
def firewall_verdict(
    evidence: GuestEvidence, flow: Flow, direction: Direction | str
) -> FirewallDecision:
    """Does this guest's firewall let ``flow`` through? ``INBOUND``: the guest is the
    destination (its INPUT path takes the SYN, its OUTPUT path the SYN-ACK); ``OUTBOUND``: the
    guest is the source. ``allow`` only when every rule set that applies accepts it."""
    way = direction if isinstance(direction, Direction) else Direction(str(direction).capitalize())
    if evidence.windows_firewall is not None or evidence.os_family is OsFamily.WINDOWS:
        return _windows(evidence, flow, way)
    return _netfilter(evidence, flow, way)


def _windows(evidence: GuestEvidence, flow: Flow, way: Direction) -> FirewallDecision:
    fw = evidence.windows_firewall
    if fw is None:
        return FirewallDecision(
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
    return FirewallDecision(
        verdict=decision.verdict,
        direction=way,
        engine="windows-firewall",
        rule=decision.rule,
        source=decision.source,
        reasons=reasons,
        assumptions=tuple(assumptions),
    )


def _netfilter(evidence: GuestEvidence, flow: Flow, way: Direction) -> FirewallDecision:
    context = _netfilter_context(evidence, flow, way)
    if isinstance(context, FirewallDecision):
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


def forward_verdict(evidence: GuestEvidence, flow: Flow) -> FirewallDecision:
    """Does this guest, a Linux appliance (NVA) on the path, forward ``flow``? The kernel must
    forward (``net.ipv4.ip_forward``) and every base chain at the prerouting, forward and
    postrouting hooks must accept the packet and its reply. ``direction`` is ``Forward``."""
    if evidence.windows_firewall is not None or evidence.os_family is OsFamily.WINDOWS:
        return FirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=_FORWARD,
            engine="windows",
            reasons=("forwarding through a Windows appliance (RRAS) is not modelled",),
        )
    context = _netfilter_context(evidence, flow, _FORWARD)
    if isinstance(context, FirewallDecision):
        return context
    engine, doubts, assumptions, protocol = context
    family = flow.destination.version
    enabled = evidence.ipv4_forwarding if family == 4 else evidence.ipv6_forwarding
    knob = "net.ipv4.ip_forward" if family == 4 else "net.ipv6.conf.all.forwarding"
    if enabled is False:
        return FirewallDecision(
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
) -> FirewallDecision | tuple[str, list[str], list[str], int]:
    """The engine name, doubts and assumptions that the evidence itself brings, or the
    decision when there is nothing to evaluate."""
    family = flow.destination.version
    protocol = _protocol_number(flow)
    if protocol is None:
        return FirewallDecision(
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
        return FirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=way,
            engine=engine,
            reasons=(
                f"no firewall rules in the evidence: give `{save}` and `nft -j list ruleset` "
                "(or run vnetdoctor probe as root)",
                *_gap_reasons(evidence, (save, "nft-json")),
            ),
        )
    doubts: list[str] = []
    assumptions: list[str] = []
    probed = evidence.collected_at is not None
    if not have_nft:
        failed = _gap_reasons(evidence, ("nft-json",))
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
        failed = _gap_reasons(evidence, (save, save.replace("-save", "-legacy-save")))
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
) -> FirewallDecision:
    first = evaluate_hooks(chains, request[0], request[1])
    second: Decision | None = None
    if flow.protocol is Protocol.TCP or flow.protocol is Protocol.ICMP:
        second = evaluate_hooks(chains, reply[0], reply[1])

    def decided(d: Decision, packet: str, extra: Sequence[str] = ()) -> FirewallDecision:
        return FirewallDecision(
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
        return FirewallDecision(
            verdict=GuestVerdict.UNKNOWN,
            direction=way,
            engine=engine,
            reasons=("the rules in the evidence accept the flow, but: " + doubts[0], *doubts[1:]),
            assumptions=tuple(assumptions),
        )
    return FirewallDecision(
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
    if flow.protocol is Protocol.ICMP:
        return 1 if flow.destination.version == 4 else 58
    return _PROTO_NUMBER.get(flow.protocol)


def _gap_reasons(evidence: GuestEvidence, names: Iterable[str]) -> list[str]:
    wanted = set(names)
    return [f"{g.what}: {g.reason}" for g in evidence.gaps if g.what in wanted]


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


# ---------------------------------------------------------------------------------------------
# Step 4: a listener on an address the traffic reaches
# ---------------------------------------------------------------------------------------------
class ListenerStatus(StrEnum):
    LISTENING = "listening"
    LOOPBACK_ONLY = "loopback-only"
    OTHER_ADDRESS = "other-address"
    NOT_LISTENING = "not-listening"
    UNKNOWN = "unknown"


class ListenerCheck(msgspec.Struct, frozen=True, kw_only=True):
    """``socket`` is the listener that decided (or the loopback / other-address one);
    ``sockets`` every socket on the port; ``source`` the line to cite."""

    status: ListenerStatus
    address: IPAddress
    port: int
    protocol: Protocol
    socket: ListeningSocket | None = None
    sockets: tuple[ListeningSocket, ...] = ()
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()

    @property
    def resource(self) -> str | None:
        return str(self.source) if self.source is not None else None


def listener_check(
    evidence: GuestEvidence,
    address: IPAddress,
    port: int,
    protocol: Protocol = Protocol.TCP,
) -> ListenerCheck:
    """Is something listening on ``port`` at an address that traffic to ``address`` (the NIC
    IP) reaches: the wildcard of its family, ``::`` when it is dual-stack, or ``address``
    itself? A listener on 127.0.0.1 only is :attr:`ListenerStatus.LOOPBACK_ONLY`."""

    def make(
        status: ListenerStatus,
        *,
        socket: ListeningSocket | None = None,
        sockets: Sequence[ListeningSocket] = (),
        source: SourceRef | None = None,
        reasons: Sequence[str] = (),
    ) -> ListenerCheck:
        return ListenerCheck(
            status=status,
            address=address,
            port=port,
            protocol=protocol,
            socket=socket,
            sockets=tuple(sockets),
            source=source,
            reasons=tuple(reasons),
        )

    if evidence.listeners is None:
        return make(
            ListenerStatus.UNKNOWN,
            reasons=(
                "no listening-socket evidence: run vnetdoctor probe, or give `ss -ltnup` / "
                "`netstat -ano` output",
                *_gap_reasons(
                    evidence, ("ss", "netstat-linux", "netstat-windows", "windows-probe")
                ),
            ),
        )
    table_source = next((t.source for t in evidence.listeners if t.source), None)
    candidates = [s for s in evidence.sockets if s.protocol is protocol and s.port == port]
    unresolved = [s for s in evidence.sockets if s.protocol is protocol and s.port is None]
    adapter = evidence.adapter_with(address)
    reach = [(s, _reaches(s, address, adapter)) for s in candidates]
    yes = next((s for s, r in reach if r[0] is Tri.YES), None)
    if yes is not None:
        return make(
            ListenerStatus.LISTENING,
            socket=yes,
            sockets=tuple(candidates),
            source=yes.source,
        )
    maybe = next(((s, r[1]) for s, r in reach if r[0] is Tri.MAYBE), None)
    if maybe is not None:
        sock, why = maybe
        return make(
            ListenerStatus.UNKNOWN,
            socket=sock,
            sockets=tuple(candidates),
            source=sock.source,
            reasons=(why or "cannot tell",),
        )
    loopback = next((s for s in candidates if s.is_loopback), None)
    if loopback is not None:
        return make(
            ListenerStatus.LOOPBACK_ONLY,
            socket=loopback,
            sockets=tuple(candidates),
            source=loopback.source,
            reasons=(
                f"{_proto(protocol)} {port} is bound to {loopback.address_text} only, which "
                "traffic from another machine never reaches",
            ),
        )
    if candidates:
        other = candidates[0]
        return make(
            ListenerStatus.OTHER_ADDRESS,
            socket=other,
            sockets=tuple(candidates),
            source=other.source,
            reasons=(
                f"{_proto(protocol)} {port} is bound to "
                f"{', '.join(sorted({_bound(s) for s in candidates}))}, which traffic "
                f"to {address} does not reach",
            ),
        )
    if unresolved:
        return make(
            ListenerStatus.UNKNOWN,
            sockets=unresolved,
            source=unresolved[0].source,
            reasons=(
                "some listeners are shown by service name vnetdoctor cannot map to a port "
                "(give `ss -ltn` / `netstat -ln`, with -n)",
            ),
        )
    incomplete = [t for t in evidence.listeners if not t.complete]
    if incomplete and len(incomplete) == len(evidence.listeners):
        return make(
            ListenerStatus.UNKNOWN,
            source=incomplete[0].source,
            reasons=(incomplete[0].note or "the socket list is incomplete",),
        )
    return make(
        ListenerStatus.NOT_LISTENING,
        source=table_source,
        reasons=(f"nothing listens on {_proto(protocol)} port {port}",),
    )


def _bound(sock: ListeningSocket) -> str:
    if sock.interface:
        return f"{sock.address_text}%{sock.interface} (interface {sock.interface} only)"
    if sock.address is not None and sock.address.is_unspecified:
        return f"{sock.address_text} (IPv{sock.address.version} only)"
    return sock.address_text


def _proto(protocol: Protocol) -> str:
    return protocol.value.upper()


def _reaches(
    sock: ListeningSocket, address: IPAddress, adapter: GuestAdapter | None
) -> tuple[Tri, str | None]:
    if sock.interface and not (sock.address is not None and sock.address.is_loopback):
        if adapter is None:
            return (
                Tri.MAYBE,
                f"the socket is bound to interface {sock.interface}, and the NIC holding "
                f"{address} is not known",
            )
        if adapter.name != sock.interface:
            return Tri.NO, None
    if sock.address is None:
        text = sock.address_text
        if text == "*":
            if address.version == 4:
                return Tri.YES, None
            return (
                Tri.MAYBE,
                "ss prints `*` for an IPv4 wildcard (older iproute2) and for a dual-stack one",
            )
        if text.casefold() in ("localhost", "ip6-localhost"):
            return Tri.NO, None
        return Tri.MAYBE, f"the socket's address is printed as {text!r}, not as an IP"
    bound = sock.address
    if isinstance(bound, ipaddress.IPv6Address) and bound.ipv4_mapped is not None:
        bound = bound.ipv4_mapped
    if bound.is_unspecified:
        if bound.version == address.version:
            return Tri.YES, None
        if bound.version == 6 and address.version == 4:
            if sock.dual_stack is True:
                return Tri.YES, None
            if sock.dual_stack is None:
                return Tri.MAYBE, (
                    "netstat prints an IPv6 wildcard (:::port) for IPv6-only and "
                    "dual-stack sockets alike"
                )
        return Tri.NO, None
    return (Tri.YES if bound == address else Tri.NO), None


# ---------------------------------------------------------------------------------------------
# Step 1 (guest side): the guest's IP against the Azure NIC
# ---------------------------------------------------------------------------------------------
class NicIpStatus(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"


class NicIpCheck(msgspec.Struct, frozen=True, kw_only=True):
    """``missing``: Azure's IPs the guest does not hold (or holds as ``Duplicate``);
    ``guest_addresses``: the guest's own global addresses, to show what it uses instead."""

    status: NicIpStatus
    azure_addresses: tuple[IPAddress, ...] = ()
    missing: tuple[IPAddress, ...] = ()
    guest_addresses: tuple[IPAddress, ...] = ()
    static: bool | None = None
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()

    @property
    def resource(self) -> str | None:
        return str(self.source) if self.source is not None else None


def nic_ip_check(evidence: GuestEvidence, azure_ips: Iterable[IPAddress]) -> NicIpCheck:
    """Does the guest hold the private IPs Azure assigned to its NICs (azure-semantics 8.5.1)?"""
    wanted = tuple(dict.fromkeys(azure_ips))
    if evidence.adapters is None:
        return NicIpCheck(
            status=NicIpStatus.UNKNOWN,
            azure_addresses=wanted,
            reasons=("no adapter evidence (ip -j addr, ipconfig /all, or vnetdoctor probe)",),
        )
    present = [a for a in evidence.adapters if not a.is_ghost and not a.is_loopback]
    held: dict[IPAddress, tuple[GuestAdapter, str | None]] = {}
    for adapter in present:
        for configured in adapter.addresses:
            held.setdefault(configured.address, (adapter, configured.state))
    guest = tuple(
        a for a in held if not a.is_link_local and not a.is_loopback and not a.is_multicast
    )
    missing: list[IPAddress] = []
    reasons: list[str] = []
    for ip in wanted:
        found = held.get(ip)
        if found is None:
            missing.append(ip)
            continue
        adapter, state = found
        if state is not None and state.casefold() in ("duplicate", "tentative"):
            missing.append(ip)
            reasons.append(
                f"Windows marks {ip} on {adapter.name} as {state}: another machine uses it"
            )
        elif adapter.status.value in ("Disconnected", "Down", "Disabled"):
            missing.append(ip)
            reasons.append(f"{ip} is on adapter {adapter.name}, which is {adapter.status.value}")
    if not wanted:
        return NicIpCheck(
            status=NicIpStatus.UNKNOWN,
            guest_addresses=guest,
            reasons=("no Azure NIC IPs to compare with",),
        )
    if not missing:
        holder = held[wanted[0]][0]
        return NicIpCheck(
            status=NicIpStatus.MATCH,
            azure_addresses=wanted,
            guest_addresses=guest,
            source=holder.source,
        )
    suspect = next(
        (a for a in present if a.addresses and any(not x.is_link_local for x in a.addresses)), None
    )
    static = None
    if suspect is not None:
        origins = {x.origin for x in suspect.addresses if not x.is_link_local}
        static = True if "static" in origins else False if origins == {"dhcp"} else None
        if suspect.dhcp_enabled is False:
            static = True
    apipa = [a for a in held if a.version == 4 and a in ipaddress.ip_network("169.254.0.0/16")]
    if apipa:
        reasons.append(f"{apipa[0]} is an automatic (APIPA) address: the guest got no DHCP lease")
    if not reasons:
        shown = ", ".join(str(a) for a in guest) or "no address"
        reasons.append(
            f"Azure assigned {', '.join(str(m) for m in missing)}, but the guest has {shown}"
            + (" (configured statically)" if static else "")
        )
    cited = suspect.source if suspect is not None else None
    if suspect is not None:
        first = next(
            (x.source for x in suspect.addresses if not x.is_link_local and x.source), None
        )
        cited = first or cited
    return NicIpCheck(
        status=NicIpStatus.MISMATCH,
        azure_addresses=wanted,
        missing=tuple(missing),
        guest_addresses=guest,
        static=static,
        source=cited,
        reasons=tuple(reasons),
    )


# ---------------------------------------------------------------------------------------------
# Step 8: ghost NICs and SMB
# ---------------------------------------------------------------------------------------------
class GhostStatus(StrEnum):
    NONE = "none"
    PRESENT = "present"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not-applicable"


class GhostNicCheck(msgspec.Struct, frozen=True, kw_only=True):
    """``ghosts``: not-present "Microsoft Hyper-V Network Adapter" devices (the only ones the
    guide says to uninstall); ``holds_azure_ip``: one of them still carries the NIC's IP."""

    status: GhostStatus
    ghosts: tuple[GuestAdapter, ...] = ()
    other_hidden: tuple[GuestAdapter, ...] = ()
    holds_azure_ip: bool = False
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()


def ghost_nic_check(evidence: GuestEvidence, azure_ips: Iterable[IPAddress] = ()) -> GhostNicCheck:
    if evidence.os_family is OsFamily.LINUX:
        return GhostNicCheck(
            status=GhostStatus.NOT_APPLICABLE, reasons=("Linux has no hidden network adapters",)
        )
    if evidence.adapters is None or not evidence.adapters_include_hidden:
        return GhostNicCheck(
            status=GhostStatus.UNKNOWN,
            reasons=(
                "the evidence does not list hidden adapters (ipconfig never shows them): run "
                "vnetdoctor probe, or give `Get-NetAdapter -IncludeHidden`",
            ),
        )
    not_present = [a for a in evidence.adapters if a.is_ghost]
    ghosts = tuple(
        a for a in not_present if "hyper-v network adapter" in (a.description or a.name).casefold()
    )
    others = tuple(a for a in not_present if a not in ghosts)
    wanted = set(azure_ips)
    holds = any(x.address in wanted for a in ghosts for x in a.addresses)
    if not ghosts:
        return GhostNicCheck(status=GhostStatus.NONE, other_hidden=others)
    return GhostNicCheck(
        status=GhostStatus.PRESENT,
        ghosts=ghosts,
        other_hidden=others,
        holds_azure_ip=holds,
        source=ghosts[0].source,
        reasons=(
            f"{len(ghosts)} unavailable Hyper-V network adapter(s): "
            + ", ".join(a.description or a.name for a in ghosts),
        ),
    )


class SmbCheck(msgspec.Struct, frozen=True, kw_only=True):
    status: GuestVerdict
    decisions: tuple[FirewallDecision, ...] = ()
    listener: ListenerCheck | None = None
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()


def smb_check(
    flow: Flow, *, destination: GuestEvidence | None, source: GuestEvidence | None = None
) -> SmbCheck:
    """Can the source open SMB (TCP 445) to the destination: the destination's firewall and
    listener, the source's outbound firewall."""
    smb = Flow(flow.source, flow.destination, Protocol.TCP, SMB_PORT, flow.source_port)
    decisions: list[FirewallDecision] = []
    listener = None
    if destination is not None:
        decisions.append(firewall_verdict(destination, smb, Direction.INBOUND))
        listener = listener_check(destination, flow.destination, SMB_PORT)
    if source is not None:
        decisions.append(firewall_verdict(source, smb, Direction.OUTBOUND))
    deny = next((d for d in decisions if d.verdict is GuestVerdict.DENY), None)
    if deny is not None:
        return SmbCheck(
            status=GuestVerdict.DENY,
            decisions=tuple(decisions),
            listener=listener,
            source=deny.source,
            reasons=(f"TCP 445 is blocked by {deny.rule}",),
        )
    if listener is not None and listener.status in (
        ListenerStatus.NOT_LISTENING,
        ListenerStatus.LOOPBACK_ONLY,
        ListenerStatus.OTHER_ADDRESS,
    ):
        return SmbCheck(
            status=GuestVerdict.DENY,
            decisions=tuple(decisions),
            listener=listener,
            source=listener.source,
            reasons=("nothing serves SMB on TCP 445 (is the Server service running?)",),
        )
    if (
        destination is None
        or any(d.verdict is GuestVerdict.UNKNOWN for d in decisions)
        or (listener is not None and listener.status is ListenerStatus.UNKNOWN)
    ):
        return SmbCheck(
            status=GuestVerdict.UNKNOWN,
            decisions=tuple(decisions),
            listener=listener,
            reasons=("not all of the SMB path is in the evidence",),
        )
    return SmbCheck(status=GuestVerdict.ALLOW, decisions=tuple(decisions), listener=listener)


def connect_result(evidence: GuestEvidence, address: IPAddress, port: int) -> ConnectTest | None:
    """The guest's own TCP connect test to ``address:port`` (``vnetdoctor probe --peer``,
    ``Test-NetConnection -Port``), if there is one."""
    for test in evidence.connects:
        if test.port == port and test.address == str(address):
            return test
    return None


# ---------------------------------------------------------------------------------------------
# Findings, in the shape of DESIGN.md's Finding
# ---------------------------------------------------------------------------------------------
class GuestFinding(msgspec.Struct, frozen=True, kw_only=True):
    """One guest finding. ``status`` is the step status it implies (``pass``, ``fail``,
    ``warn``, ``unknown``); ``code`` is stable API: the failing codes are DESIGN.md's
    (``GUEST_FIREWALL_DENY``, ``NO_LISTENER``, ``LISTENER_LOOPBACK_ONLY``,
    ``NIC_GUEST_IP_MISMATCH``, ``GHOST_NIC``, ``SMB_BLOCKED``); the others say what passed
    (``GUEST_FIREWALL_ALLOW``, ``LISTENER_OK``, ``NIC_GUEST_IP_MATCH``, ``GHOST_NIC_NONE``,
    ``SMB_OK``) or could
    not be told (``GUEST_FIREWALL_UNKNOWN``, ``LISTENER_UNKNOWN``, ``NIC_GUEST_IP_UNKNOWN``,
    ``GHOST_NIC_UNKNOWN``, ``SMB_UNKNOWN``). ``resource`` is the evidence file and line."""

    code: str
    step: int
    status: str
    severity: str
    message: str
    role: str
    resource: str | None = None
    pointer: str | None = None
    remediation: str = ""
    command: str | None = None
    evidence: SourceRef | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "step": self.step,
            "status": self.status,
            "message": self.message,
            "resource": self.resource,
            "pointer": self.pointer,
            "remediation": self.remediation,
            "command": self.command,
        }


def guest_findings(
    flow: Flow,
    *,
    source: GuestEvidence | None = None,
    destination: GuestEvidence | None = None,
    source_nic_ips: Sequence[IPAddress] = (),
    destination_nic_ips: Sequence[IPAddress] = (),
) -> tuple[GuestFinding, ...]:
    """Every guest finding for ``flow``, in path order (source, then destination; steps 1, 3, 4,
    8). An end without evidence yields nothing: the caller reports that step as unknown."""
    found: list[GuestFinding] = []
    for role, evidence, nic_ips in (
        ("source", source, source_nic_ips),
        ("destination", destination, destination_nic_ips),
    ):
        if evidence is None:
            continue
        if nic_ips:
            found.append(_nic_finding(nic_ip_check(evidence, nic_ips), role, evidence))
        way = Direction.OUTBOUND if role == "source" else Direction.INBOUND
        found.append(_firewall_finding(firewall_verdict(evidence, flow, way), flow, role))
        if (
            role == "destination"
            and flow.destination_port is not None
            and flow.protocol in (Protocol.TCP, Protocol.UDP)
        ):
            found.append(
                _listener_finding(
                    listener_check(
                        evidence, flow.destination, flow.destination_port, flow.protocol
                    ),
                    role,
                )
            )
        ghost = ghost_nic_check(evidence, nic_ips)
        if ghost.status is not GhostStatus.NOT_APPLICABLE:
            found.append(_ghost_finding(ghost, role))
    if (
        flow.destination_port == SMB_PORT
        and flow.protocol is Protocol.TCP
        and destination is not None
    ):
        found.append(_smb_finding(smb_check(flow, destination=destination, source=source)))
    return tuple(found)


def _ref(ref: SourceRef | None) -> tuple[str | None, str | None]:
    if ref is None:
        return None, None
    return str(ref), ref.pointer


def _nic_finding(check: NicIpCheck, role: str, evidence: GuestEvidence) -> GuestFinding:
    resource, pointer = _ref(check.source)
    if check.status is NicIpStatus.MATCH:
        return GuestFinding(
            code="NIC_GUEST_IP_MATCH",
            step=1,
            status="pass",
            severity="info",
            role=role,
            message=f"The {role} guest holds its Azure IP "
            f"{', '.join(map(str, check.azure_addresses))}.",
            resource=resource,
            pointer=pointer,
            evidence=check.source,
        )
    if check.status is NicIpStatus.UNKNOWN:
        return GuestFinding(
            code="NIC_GUEST_IP_UNKNOWN",
            step=1,
            status="unknown",
            severity="info",
            role=role,
            message=f"Cannot compare the {role} guest's IP with Azure's: "
            f"{'; '.join(check.reasons)}.",
            resource=resource,
            pointer=pointer,
            evidence=check.source,
        )
    ip = check.missing[0]
    return GuestFinding(
        code="NIC_GUEST_IP_MISMATCH",
        step=1,
        status="fail",
        severity="error",
        role=role,
        message=f"The {role} guest ({evidence.hostname or evidence.source}) does not use its "
        "Azure IP: " + "; ".join(check.reasons) + ". Azure delivers traffic only to the NIC's IP.",
        resource=resource,
        pointer=pointer,
        evidence=check.source,
        remediation=f"Configure the guest for DHCP so it takes {ip} from Azure; to pin an "
        "address, set "
        "it static on the NIC in Azure, not inside the VM. If the VM is unreachable, reset "
        "the NIC (Azure portal: change the NIC's private IP, or `az vm repair reset-nic`).",
        command="az vm repair reset-nic --resource-group <rg> --name <vm> --yes",
    )


def _firewall_finding(decision: FirewallDecision, flow: Flow, role: str) -> GuestFinding:
    resource, pointer = _ref(decision.source)
    what = f"{flow.protocol.value.upper()} {flow.source} -> {flow.destination}" + (
        f":{flow.destination_port}" if flow.destination_port is not None else ""
    )
    side = "outbound on the source" if role == "source" else "inbound on the destination"
    assumed = (
        (" Assumption: " + "; ".join(decision.assumptions) + ".") if decision.assumptions else ""
    )
    if decision.verdict is GuestVerdict.ALLOW:
        return GuestFinding(
            code="GUEST_FIREWALL_ALLOW",
            step=3,
            status="pass",
            severity="info",
            role=role,
            message=f"The {role} guest firewall ({decision.engine}) allows {what} {side}.{assumed}",
            resource=resource,
            pointer=pointer,
            evidence=decision.source,
        )
    if decision.verdict is GuestVerdict.UNKNOWN:
        return GuestFinding(
            code="GUEST_FIREWALL_UNKNOWN",
            step=3,
            status="unknown",
            severity="warning",
            role=role,
            message=f"Cannot tell whether the {role} guest firewall allows {what} {side}: "
            + "; ".join(decision.reasons)
            + (f" (at {decision.rule})" if decision.rule else "")
            + f".{assumed}",
            resource=resource,
            pointer=pointer,
            evidence=decision.source,
        )
    packet = " (it drops the reply packets)" if decision.packet == "reply" else ""
    remediation, command = _firewall_fix(decision, flow, role)
    return GuestFinding(
        code="GUEST_FIREWALL_DENY",
        step=3,
        status="fail",
        severity="error",
        role=role,
        message=f"The {role} guest firewall ({decision.engine}) blocks {what} {side}{packet}: "
        f"{decision.rule}.{assumed}",
        resource=resource,
        pointer=pointer,
        remediation=remediation,
        command=command,
        evidence=decision.source,
    )


def _firewall_fix(decision: FirewallDecision, flow: Flow, role: str) -> tuple[str, str | None]:
    port = flow.destination_port
    proto = flow.protocol.value.lower()
    inbound = role == "destination"
    where = f" ({decision.resource})" if decision.resource else ""
    if decision.engine == "windows-firewall":
        rule = decision.rule or ""
        if "(Block)" in rule:
            name = rule.split('"')[1] if '"' in rule else rule
            return (
                "Block rules win over allow rules in Windows Firewall: disable or narrow "
                f"{rule}{where}.",
                f'Disable-NetFirewallRule -DisplayName "{name}"',
            )
        if "blocks all incoming" in rule:
            return (
                "Turn off 'Block all incoming connections' for the profile.",
                "Set-NetFirewallProfile -Profile Domain,Private,Public -AllowInboundRules True",
            )
        direction = "Inbound" if inbound else "Outbound"
        port_flag = (
            f" -{'LocalPort' if inbound else 'RemotePort'} {port}" if port is not None else ""
        )
        peer = flow.source if inbound else flow.destination
        return (
            f"Add an allow rule for the flow{where}.",
            f'New-NetFirewallRule -DisplayName "Allow {proto.upper()} {port} '
            f'{"from" if inbound else "to"} {peer}" '
            f"-Direction {direction} -Protocol {proto.upper()}{port_flag} "
            f"-RemoteAddress {peer} -Action Allow",
        )
    if decision.packet == "reply":
        chain = "OUTPUT" if inbound else "INPUT"
        return (
            "The firewall drops the connection's replies: accept established traffic in "
            f"{chain}{where}.",
            f"iptables -I {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        )
    chain_label = decision.chain or ""
    if chain_label.startswith("nft "):
        _, family, table, chain = [*chain_label.split(), "", "", "", ""][:4]
        field = "saddr" if inbound else "daddr"
        nft_peer = flow.source if inbound else flow.destination
        ip_kw = "ip" if flow.destination.version == 4 else "ip6"
        port_part = f" {proto} dport {port}" if port is not None else ""
        return (
            f"Accept the flow before the rule that drops it{where} (and persist it in "
            "/etc/nftables.conf "
            "or your firewall manager).",
            f"nft insert rule {family} {table} {chain} {ip_kw} {field} {nft_peer}{port_part} "
            "accept",
        )
    chain = "INPUT" if inbound else "OUTPUT"
    flag = "-s" if inbound else "-d"
    peer_ip = flow.source if inbound else flow.destination
    binary = "iptables" if flow.destination.version == 4 else "ip6tables"
    port_part = f" -p {proto} --dport {port}" if port is not None else ""
    return (
        f"Accept the flow before the rule that drops it{where}, then persist it "
        "(netfilter-persistent, "
        "firewalld or ufw, whichever manages this VM's firewall).",
        f"{binary} -I {chain} {flag} {peer_ip}{port_part} -j ACCEPT",
    )


def _listener_finding(check: ListenerCheck, role: str) -> GuestFinding:
    resource, pointer = _ref(check.source)
    target = f"{_proto(check.protocol)} {check.address}:{check.port}"
    if check.status is ListenerStatus.LISTENING:
        process = f" ({check.socket.process})" if check.socket and check.socket.process else ""
        return GuestFinding(
            code="LISTENER_OK",
            step=4,
            status="pass",
            severity="info",
            role=role,
            message=f"Something listens on {target}{process}, bound to "
            f"{check.socket.address_text if check.socket else '?'}.",
            resource=resource,
            pointer=pointer,
            evidence=check.source,
        )
    if check.status is ListenerStatus.UNKNOWN:
        return GuestFinding(
            code="LISTENER_UNKNOWN",
            step=4,
            status="unknown",
            severity="warning",
            role=role,
            message=f"Cannot tell whether anything listens on {target}: "
            f"{'; '.join(check.reasons)}.",
            resource=resource,
            pointer=pointer,
            evidence=check.source,
        )
    if check.status is ListenerStatus.LOOPBACK_ONLY:
        return GuestFinding(
            code="LISTENER_LOOPBACK_ONLY",
            step=4,
            status="fail",
            severity="error",
            role=role,
            message=f"The service on port {check.port} listens on "
            f"{check.socket.address_text if check.socket else 'loopback'} "
            f"only: it works locally but not from other machines.",
            resource=resource,
            pointer=pointer,
            evidence=check.source,
            remediation="Bind the service to 0.0.0.0 (all addresses) or to "
            f"{check.address} in its configuration "
            "(bind-address, listen_addresses, Listen...), then restart it.",
        )
    return GuestFinding(
        code="NO_LISTENER",
        step=4,
        status="fail",
        severity="error",
        role=role,
        message=f"Nothing listens on {target}: {'; '.join(check.reasons)}.",
        resource=resource,
        pointer=pointer,
        evidence=check.source,
        remediation="Start the service that should answer on this port, or correct the port or "
        "address it is "
        "configured to listen on.",
        command="ss -ltnp   # Windows: Get-NetTCPConnection -State Listen",
    )


def _ghost_finding(check: GhostNicCheck, role: str) -> GuestFinding:
    resource, pointer = _ref(check.source)
    if check.status is GhostStatus.NONE:
        return GuestFinding(
            code="GHOST_NIC_NONE",
            step=8,
            status="pass",
            severity="info",
            role=role,
            message=f"No unavailable (ghost) network adapters in the {role} guest.",
        )
    if check.status is GhostStatus.UNKNOWN:
        return GuestFinding(
            code="GHOST_NIC_UNKNOWN",
            step=8,
            status="unknown",
            severity="info",
            role=role,
            message=f"Cannot check the {role} guest for ghost NICs: {'; '.join(check.reasons)}.",
        )
    return GuestFinding(
        code="GHOST_NIC",
        step=8,
        status="fail" if check.holds_azure_ip else "warn",
        severity="error" if check.holds_azure_ip else "warning",
        role=role,
        message=f"The {role} guest has {'; '.join(check.reasons)}"
        + (", one of which still holds the NIC's IP" if check.holds_azure_ip else "")
        + ".",
        resource=resource,
        pointer=pointer,
        evidence=check.source,
        remediation="Device Manager > View > Show hidden devices: uninstall the greyed-out "
        "'Microsoft Hyper-V Network Adapter' entries (only those), then reconfigure the active "
        "adapter.",
        command="pnputil /enum-devices /class Net /disconnected   "
        "# then: pnputil /remove-device <InstanceId>",
    )


def _smb_finding(check: SmbCheck) -> GuestFinding:
    resource, pointer = _ref(check.source)
    if check.status is GuestVerdict.ALLOW:
        return GuestFinding(
            code="SMB_OK",
            step=8,
            status="pass",
            severity="info",
            role="destination",
            message="SMB (TCP 445) is open in the guests' firewalls and served on the destination.",
        )
    if check.status is GuestVerdict.UNKNOWN:
        return GuestFinding(
            code="SMB_UNKNOWN",
            step=8,
            status="unknown",
            severity="info",
            role="destination",
            message=f"Cannot tell whether SMB (TCP 445) works: {'; '.join(check.reasons)}.",
        )
    return GuestFinding(
        code="SMB_BLOCKED",
        step=8,
        status="fail",
        severity="error",
        role="destination",
        message=f"SMB (TCP 445) cannot work: {'; '.join(check.reasons)}.",
        resource=resource,
        pointer=pointer,
        evidence=check.source,
        remediation="Allow TCP 445 in the file server's firewall and make sure the Server service "
        "(LanmanServer) runs; outbound 445 must be open on the client too.",
        command='Enable-NetFirewallRule -DisplayGroup "File and Printer Sharing"; '
        "Start-Service LanmanServer",
    )
