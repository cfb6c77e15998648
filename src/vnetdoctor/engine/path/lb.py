"""A load balancer frontend as the destination
        (``docs/semantics/load-balancers.md#frontend-checks``, LB-1 to LB-6).

The frontend's rule for the flow (an inbound NAT rule before a load-balancing rule), the health
of each pool member by its probe (L3, with the guest's answers when a :class:`GuestOracle` has
evidence), then each backend the flow may be hashed to, traced inbound (L4). Lookups of rules,
probes and pool members are in :mod:`vnetdoctor.engine.loadbalancer`.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

import msgspec

from vnetdoctor.codes import CODES, Status
from vnetdoctor.engine.endpoints import Endpoint
from vnetdoctor.engine.loadbalancer import (
    PROBE_SOURCE,
    Backend,
    is_basic,
    nat_rule_for,
    probe_of,
    rule_for,
)
from vnetdoctor.engine.nsg import Verdict
from vnetdoctor.engine.path.oracle import GuestAccess, GuestOracle, ListenerAnswer, Listening
from vnetdoctor.engine.path.records import (
    Hop,
    Issue,
    Outcome,
    Recorder,
    Trace,
    port_arg,
    port_text,
)
from vnetdoctor.engine.routes import EffectiveNextHopType, EffectiveRoute, NextHop
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import (
    FrontendIpConfiguration,
    InboundNatRule,
    LoadBalancer,
    LoadBalancingRule,
    Probe,
)
from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction

if TYPE_CHECKING:
    from vnetdoctor.engine.path.tracer import Tracer

# Issue codes that block a flow at a load balancer's backend unless their own status says
# otherwise: those the catalogue fails by default.
BLOCKING: Final = frozenset(code for code, spec in CODES.items() if spec.status is Status.FAIL)


@dataclass(frozen=True)
class LbVisit:
    """A packet arriving at a load balancer's frontend, and what the trace brought along.

    Internal frontend (``clients`` is ``None``): the backends see the source's private IP.
    Public frontend: the source has left through its outbound path; ``clients`` are the public
    (SNAT) addresses it leaves with, empty when they are unknown (default outbound access), and
    ``egress`` the interface it left by. ``lost_from`` is the first hop index at which the load
    balancer's hop is marked failed when the trace ends (a Basic frontend over global peering).
    """

    lb: LoadBalancer
    frontend: FrontendIpConfiguration
    hop: NextHop | None
    source: Endpoint
    src_ip: IPAddress
    dst_ip: IPAddress
    protocol: Protocol
    port: int | None
    appliances: tuple[ResourceId, ...]
    clients: tuple[IPAddress, ...] | None = None
    egress: tuple[NetworkInterface, IpConfiguration] | None = None
    lost_from: int | None = None

    @property
    def public(self) -> bool:
        return self.clients is not None

    @property
    def where(self) -> str:
        kind = "public" if self.public else "internal"
        return f"{self.lb.name} {kind} frontend {self.frontend.name} ({self.dst_ip})"

    @property
    def frontend_fact(self) -> tuple[str, str]:
        kind = "public" if self.public else "internal"
        return (
            "frontend",
            f"{self.frontend.name} {self.dst_ip} ({kind}, {self.lb.sku or 'SKU unknown'})",
        )


class _Health(NamedTuple):
    """One pool member's health (``up``, ``down`` or ``unknown``), its hop, and the issue that
    marks it down."""

    state: str
    hop: Hop
    issue: Issue | None = None


def _member(
    state: str,
    name: str,
    decision: str,
    detail: str,
    resource: str,
    *,
    status: str = "pass",
    issue: Issue | None = None,
) -> _Health:
    hop = Hop(
        kind="lb-backend",
        name=name,
        decision=decision,
        status=status,
        detail=detail,
        resource=resource,
    )
    return _Health(state, hop, issue)


# -- the frontend ---------------------------------------------------------------------------------
def load_balancer(t: Tracer, b: Recorder, v: LbVisit) -> Trace:
    """The frontend's rule for the flow, then the rule's own leg.

    A Standard public frontend is closed unless an NSG on the backend's subnet or NIC allows
    the flow (L1); a Basic one follows part-1 rules (no NSG = open).

    An inbound NAT rule for the port is chosen before a load-balancing rule. The sources
    are silent on precedence because ARM refuses a NAT rule and a load-balancing rule on
    the same frontend, protocol and port ("Port numbers for each rule must be unique within
    the Load Balancer", section 3.1); the NAT rule names the more specific target, so it
    wins when a snapshot has both (for instance an HA-ports rule), and the hop says so.
    """
    lb, fe, where = v.lb, v.frontend, v.where
    if v.protocol not in (Protocol.TCP, Protocol.UDP):
        _refuse(
            b,
            v,
            decision="not balanced",
            status="unknown",
            detail=f"{where}: {v.protocol.value} is not load-balanced (TCP and UDP only)",
            facts=(v.frontend_fact,),
            resource=str(fe.id),
            code="LB_NOT_LOAD_BALANCED",
            message=f"{where}: {v.protocol.value} is not load-balanced (load-balancing rules "
            "carry TCP and UDP only, L6); test with TCP or UDP on a rule's port",
        )
        return _finish(b, v, Outcome.UNKNOWN)
    route = None if v.hop is None else v.hop.route
    if (
        not v.public
        and is_basic(lb)
        and route is not None
        and route.next_hop_type is EffectiveNextHopType.VNET_GLOBAL_PEERING
    ):
        v = dataclasses.replace(v, lost_from=len(b.hops))
        b.issue(
            code="LB_GLOBAL_PEERING_BASIC",
            message=f"{where} belongs to a Basic load balancer, whose frontends cannot "
            f"be reached over global VNet peering ({route.describe()} from "
            f"{v.source.name}; section 3.7 step 2); use a Standard load balancer",
            resource=str(lb.id),
            pointer="/sku/name",
        )
    nat = nat_rule_for(lb, fe, v.protocol, v.port)
    rule = rule_for(lb, fe, v.protocol, v.port)
    if nat is not None:
        note = (
            ""
            if rule is None
            else f"; assumption: load-balancing rule {rule.name} also serves this port "
            "(ARM normally refuses the overlap), the NAT rule is taken"
        )
        return _finish(b, v, *_inbound_nat(t, b, v, nat, note))
    if rule is not None:
        return _finish(b, v, *_balance(t, b, v, rule))
    port = port_text(v.port)
    _refuse(
        b,
        v,
        decision="no rule",
        status="fail",
        detail=f"{where}: no load-balancing or inbound NAT rule for {v.protocol.value}/{port}",
        facts=(v.frontend_fact, ("rule", f"none for {v.protocol.value} {port}")),
        resource=str(lb.id),
        code="LB_NO_RULE_FOR_PORT",
        message=f"{where} has no load-balancing or inbound NAT rule for "
        f"{v.protocol.value} port {port}: nothing listens on the frontend for this flow",
        issue_pointer="/properties/loadBalancingRules",
    )
    return _finish(b, v, Outcome.DROPPED)


def _refuse(
    b: Recorder,
    v: LbVisit,
    *,
    decision: str,
    status: str,
    detail: str,
    facts: tuple[tuple[str, str], ...],
    resource: str,
    code: str,
    message: str,
    hop_pointer: str | None = None,
    issue_pointer: str | None = None,
    at: int | None = None,
) -> None:
    """The load balancer's hop where it does not pass the flow on, and the issue that says
    why; ``at`` puts the hop before its members' hops."""
    b.hop(
        kind="load-balancer",
        name=v.lb.name,
        decision=decision,
        status=status,
        detail=detail,
        resource=resource,
        pointer=hop_pointer,
        facts=facts,
        at=at,
    )
    b.issue(code=code, message=message, resource=resource, pointer=issue_pointer)


def _finish(
    b: Recorder, v: LbVisit, outcome: Outcome, delivered: NetworkInterface | None = None
) -> Trace:
    if v.lost_from is not None:  # the load balancer's hop is where the packet is lost
        b.fail_first(
            "load-balancer", v.lost_from, "a Basic frontend is unreachable over global VNet peering"
        )
    return b.trace(outcome, v.appliances, delivered_to=delivered, egress=v.egress)


# -- an inbound NAT rule --------------------------------------------------------------------------
def _inbound_nat(
    t: Tracer, b: Recorder, v: LbVisit, nat: InboundNatRule, note: str
) -> tuple[Outcome, NetworkInterface | None]:
    """An inbound NAT rule: one frontend port to one member's backend port (section 3.5).
    NAT rules carry no probe (section 3.1), so no health applies."""
    lb, where = v.lb, v.where
    target = t.lbs.nat_target(lb, nat, v.port)
    pointer = f"/properties/inboundNatRules/{nat.index}"
    backend_port = target.backend_port
    facts = (
        v.frontend_fact,
        (
            "NAT rule",
            f"{nat.name} {nat.protocol} {port_text(v.port)} -> {port_text(backend_port)}",
        ),
    )
    if target.backend is None:
        _refuse(
            b,
            v,
            decision="NAT target unknown",
            status="unknown",
            detail=f"{where}: inbound NAT rule {nat.name}: {target.reason}{note}",
            facts=(*facts, ("backend", "unknown")),
            resource=str(lb.id),
            code="LB_NAT_BACKEND_UNKNOWN",
            message=f"{where}: inbound NAT rule {nat.name!r} serves {v.protocol.value} port "
            f"{port_text(v.port)}, but {target.reason}",
            hop_pointer=pointer,
            issue_pointer=pointer,
        )
        return Outcome.UNKNOWN, None
    member = target.backend
    b.hop(
        kind="load-balancer",
        name=lb.name,
        decision="NAT",
        detail=f"{where}: inbound NAT rule {nat.name} ({nat.protocol} {port_text(v.port)} -> "
        f"{member.ip}:{port_text(backend_port)}; NAT rules have no health probe){note}",
        resource=str(lb.id),
        pointer=pointer,
        facts=(*facts, ("backend", f"{member.label} {member.ip}")),
    )
    floating = v.dst_ip if nat.enable_floating_ip else None
    delivered = _to_backends(t, b, v, [member], floating, backend_port or v.port)
    return Outcome.INTERNET if v.public else Outcome.DELIVERED, delivered


# -- a load-balancing rule ------------------------------------------------------------------------
class _Pool(NamedTuple):
    """A rule's backend pool judged by its probe: ``healthy`` are the members that take new
    flows, ``rescued`` when AllProbedUp sends to all of them although all are down."""

    probe: Probe | None
    members: list[Backend]
    judged: list[tuple[Backend, _Health]]
    healthy: list[Backend]
    unknown: list[Backend]
    rescued: bool


def _pool_health(t: Tracer, lb: LoadBalancer, rule: LoadBalancingRule) -> _Pool:
    probe = probe_of(lb, rule)
    members = t.lbs.backends(lb, rule)
    judged = [(m, _probe_health(t, lb, probe, m)) for m in members]
    healthy = [m for m, h in judged if h.state == "up"]
    unknown = [m for m, h in judged if h.state == "unknown"]
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
    return _Pool(probe, members, judged, healthy, unknown, rescued)


def _balance(
    t: Tracer, b: Recorder, v: LbVisit, rule: LoadBalancingRule
) -> tuple[Outcome, NetworkInterface | None]:
    """A load-balancing rule: the members' health decides which backends take the flow."""
    lb, where = v.lb, v.where
    backend_port = rule.backend_port or v.port
    probe, members, judged, healthy, unknown, rescued = _pool_health(t, lb, rule)
    # The load balancer's hop comes first, then one hop per member with its health.
    at = len(b.hops)
    b.hops.extend(h.hop for _, h in judged)
    for _, h in judged:
        if h.issue is not None:
            # Another backend takes the flows (or AllProbedUp sends to all): a warning.
            status = "warn" if healthy else h.issue.status
            b.issues.append(msgspec.structs.replace(h.issue, status=status))
    probe_text = (
        "no probe (all members assumed healthy; section 3.3 [unverified])"
        if probe is None
        else f"{probe.name} {probe.protocol or '?'} {port_text(probe.port)}"
    )
    facts = (
        v.frontend_fact,
        (
            "rule",
            f"{rule.name} {rule.protocol} {port_text(rule.frontend_port)} -> "
            f"{port_text(backend_port)}",
        ),
        ("backends", ", ".join(f"{m.label} {h.state}" for m, h in judged) or "none"),
        ("health", f"{len(healthy)} of {len(members)} healthy; probe {probe_text}"),
    )
    pointer = f"/properties/loadBalancingRules/{rule.index}"
    if rescued:
        assert probe is not None
        b.hop(
            at=at,
            kind="load-balancer",
            name=lb.name,
            decision="all probed up",
            status="pass",
            detail=f"probe {probe.name}: noHealthyBackendsBehavior AllProbedUp sends to "
            "every backend although all are probed down",
            resource=str(lb.id),
        )
    if not healthy and unknown:
        _refuse(
            b,
            v,
            at=at,
            decision="health unknown",
            status="unknown",
            detail=f"{where}: rule {rule.name}, no backend known healthy, "
            f"{len(unknown)} of unknown health",
            facts=facts,
            resource=str(lb.id),
            code="LB_HEALTH_UNKNOWN",
            message=f"{where}: rule {rule.name!r}: whether "
            f"{', '.join(m.label for m in unknown)} pass(es) health probe "
            f"{probe.name if probe else '?'} cannot be told from the data (L3)",
            hop_pointer=pointer,
            issue_pointer=pointer,
        )
        return Outcome.UNKNOWN, None
    if not healthy:
        _refuse(
            b,
            v,
            at=at,
            decision="no healthy backend",
            status="fail",
            detail=f"{where}: rule {rule.name}, no healthy member of the pool",
            facts=facts,
            resource=str(lb.id),
            code="LB_NO_HEALTHY_BACKEND",
            message=f"{where}: rule {rule.name!r} has no healthy backend (all probed "
            "down; noHealthyBackendsBehavior AllProbedDown, the default [unverified]): "
            "no new flows are sent",
            hop_pointer=pointer,
            issue_pointer=pointer,
        )
        return Outcome.DROPPED, None
    b.hop(
        at=at,
        kind="load-balancer",
        name=lb.name,
        decision="balance",
        detail=f"{where}: rule {rule.name} ({rule.protocol} {rule.frontend_port} -> "
        f"{backend_port}), {len(healthy)} healthy backend(s)"
        + (f", {len(unknown)} of unknown health" if unknown else ""),
        resource=str(lb.id),
        pointer=pointer,
        facts=facts,
    )
    _hairpin(b, v, healthy, pointer)
    floating = v.dst_ip if rule.enable_floating_ip else None
    delivered = _to_backends(t, b, v, healthy, floating, backend_port)
    return Outcome.INTERNET if v.public else Outcome.DELIVERED, delivered


def _hairpin(b: Recorder, v: LbVisit, healthy: list[Backend], pointer: str) -> None:
    """An internal frontend's source that is itself a healthy backend (ILB hairpin, L2)."""
    source = v.source
    if (
        v.public
        or source.nic is None
        or not any(m.nic is not None and m.nic.id == source.nic.id for m in healthy)
    ):
        return
    alone = len(healthy) == 1
    b.issue(
        code="LB_HAIRPIN",
        message=f"{source.name} is itself a backend of {v.where}: flows hashed back to "
        f"it fail (ILB hairpin, L2) - "
        + (
            "it is the only healthy member, so every flow fails"
            if alone
            else f"about 1 in {len(healthy)} flows time out (intermittent)"
        ),
        resource=str(v.lb.id),
        pointer=pointer,
        status=None if alone else "warn",
    )


# -- a member's health ----------------------------------------------------------------------------
def _probe_health(t: Tracer, lb: LoadBalancer, probe: Probe | None, m: Backend) -> _Health:
    """One member's health by L3: ``up``, ``down`` or ``unknown``, with its hop and (when
    down) the issue. Network side: the probe's port allowed inbound from 168.63.129.16 by
    admin rules and NSGs. Guest side, only with guest evidence for the member's VM: the
    guest listens on the probe port and its firewall admits 168.63.129.16. Without guest
    evidence the network-only rule decides and the hop says so."""
    label = m.label
    if m.nic is None or m.ip_configuration is None:
        detail = f"pool member {m.ip} is held by no network interface (section 3.6)"
        return _member("down", str(m.ip), "no host", detail, str(m.pool), status="fail")
    state = (m.admin_state or "").casefold()
    if state == "down":
        detail = f"pool member {m.ip} has adminState Down: no new connections (L3)"
        return _member("down", label, "admin down", detail, str(m.pool), status="fail")
    if state == "up":
        detail = f"pool member {m.ip} has adminState Up, which overrides the probe (L3)"
        return _member("up", label, "admin up", detail, str(m.nic.id))
    vm = t.snapshot.vm_of_nic(m.nic)
    if vm is not None and vm.is_running is False:
        detail = f"{vm.name} is {vm.power_state}: stopped instances are not probed (section 3.3)"
        return _member("down", label, "not running", detail, str(vm.id), status="fail")
    if probe is None or probe.port is None:
        detail = (
            f"pool member {m.ip}: the rule has no probe, so the member is assumed healthy "
            "(section 3.3 [unverified])"
        )
        return _member("up", label, "healthy", detail, str(m.nic.id))
    verdict = t.nsgs.verify(
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
        detail = f"{probe_text} from {PROBE_SOURCE}{rule_text}" + (
            "" if denied else ": " + ("; ".join(verdict.notes) or "unknown")
        )
        return _member(
            "down" if denied else "unknown",
            label,
            "probe " + verdict.access.value,
            detail,
            str(m.nic.id),
            status="fail" if denied else "unknown",
            issue=issue,
        )
    network_ok = f"{probe_text} allowed from {PROBE_SOURCE} by the NSGs{rule_text}"
    oracle = t.oracle
    heard = (
        None
        if vm is None or oracle is None
        else oracle.listener(vm.name, m.ip, probe.port, Protocol.TCP)
    )
    if vm is None or oracle is None or heard is None:
        detail = (
            f"{network_ok}; network-only health (L3): no guest evidence for "
            f"{vm.name if vm else label}, so whether its guest listens on port "
            f"{probe.port} and admits 168.63.129.16 is not known"
        )
        return _member("up", label, "healthy", detail, str(m.nic.id))
    return _guest_probe(oracle, vm.name, lb, probe, m, heard, network_ok)


def _guest_probe(
    oracle: GuestOracle,
    vm: str,
    lb: LoadBalancer,
    probe: Probe,
    m: Backend,
    heard: ListenerAnswer,
    network_ok: str,
) -> _Health:
    """L3's guest half: the probe is a TCP connection (TCP, HTTP and HTTPS probes alike) to
    the probe port, from 168.63.129.16; the guest must listen there and its firewall admit
    it. What the evidence does not show rests on the network-only rule."""
    assert probe.port is not None
    assert m.nic is not None
    label, nic = m.label, str(m.nic.id)
    if heard.listening is Listening.NO:
        why = "; ".join(heard.reasons) or f"nothing listens on TCP {probe.port}"
        issue = Issue(
            code="LB_PROBE_NOT_LISTENING",
            message=f"{lb.name}'s health probe {probe.name} ({probe.protocol or '?'} "
            f"{probe.port}) gets no answer from backend {label}: {why} (guest evidence); "
            "the backend is marked down",
            resource=heard.resource or nic,
        )
        detail = f"{network_ok}, but in the guest: {why}"
        resource = heard.resource or nic
        return _member(
            "down", label, "probe not answered", detail, resource, status="fail", issue=issue
        )
    if heard.listening is Listening.UNKNOWN:
        why = "; ".join(heard.reasons) or "the listener evidence is inconclusive"
        detail = f"{network_ok}; whether the guest listens on {probe.port}: {why}"
        resource = heard.resource or nic
        return _member("unknown", label, "probe unknown", detail, resource, status="unknown")
    seen = heard.listening is Listening.YES  # else the evidence holds no socket list
    wall = oracle.firewall(
        vm, Flow(PROBE_SOURCE, m.ip, Protocol.TCP, probe.port), Direction.INBOUND
    )
    if wall is None or wall.access is GuestAccess.UNSEEN:
        gaps = [] if seen else [f"whether it listens on {probe.port} (no socket list)"]
        gaps.append("whether its firewall admits 168.63.129.16 (no firewall rules)")
        listening = f"; the guest listens on {probe.port}" if seen else ""
        detail = (
            f"{network_ok}{listening}; the guest evidence does not show {' and '.join(gaps)}, "
            "so that part rests on the network-only rule (L3)"
        )
        return _member("up", label, "healthy", detail, (heard.resource if seen else None) or nic)
    resource = wall.resource or nic
    if wall.access is GuestAccess.DENY:
        rule = f" ({wall.rule})" if wall.rule else ""
        issue = Issue(
            code="LB_PROBE_GUEST_FIREWALL_DENY",
            message=f"{lb.name}'s health probe {probe.name} (TCP {probe.port} from "
            f"168.63.129.16) is dropped by the guest firewall of backend {label}{rule}; "
            "the backend is marked down",
            resource=resource,
        )
        detail = f"{network_ok}; the guest listens, but its firewall drops the probe{rule}"
        return _member(
            "down", label, "probe dropped in guest", detail, resource, status="fail", issue=issue
        )
    if wall.access is GuestAccess.UNKNOWN:
        why = "; ".join(wall.reasons) or "the guest firewall's answer is unknown"
        detail = (
            f"{network_ok}; the guest listens on {probe.port}, but whether its "
            f"firewall admits 168.63.129.16 is unknown: {why}"
        )
        return _member("unknown", label, "probe unknown", detail, resource, status="unknown")
    listening = (
        f"the guest listens on {probe.port}"
        if seen
        else f"whether the guest listens on {probe.port} is not shown (no socket list; "
        "network-only rule, L3)"
    )
    detail = (
        f"{network_ok}; {listening}, and its firewall admits 168.63.129.16 (guest evidence, L3)"
    )
    return _member("up", label, "healthy", detail, (heard.resource if seen else None) or nic)


# -- the backends ---------------------------------------------------------------------------------
def _to_backends(
    t: Tracer,
    b: Recorder,
    v: LbVisit,
    targets: list[Backend],
    floating: IPAddress | None,
    backend_port: int | None,
) -> NetworkInterface | None:
    """Each backend the flow may be hashed to, traced inbound (section 3.7 steps 6-7). All
    admit it: delivered. Some: the blockers of the others are warnings (partially
    reachable; the 5-tuple hash decides per flow). None: the blockers stand. ``floating`` is
    the frontend IP the backends see with floating IP."""
    outcomes: list[tuple[bool, list[Issue]]] = []
    delivered: NetworkInterface | None = None
    for m in targets:
        if m.nic is None or m.ip_configuration is None:
            continue
        before = len(b.issues)
        _backend_inbound(t, b, v, m, floating, backend_port)
        added = b.issues[before:]
        blocked = any(
            i.status == "fail" or (i.status is None and i.code in BLOCKING) for i in added
        )
        outcomes.append((blocked, added))
        b.hop(
            kind="destination",
            name=m.label,
            decision="deliver",
            status="fail" if blocked else "pass",
            detail=f"backend {m.ip}:{port_text(backend_port)} of {v.lb.name}",
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
    t: Tracer,
    b: Recorder,
    v: LbVisit,
    m: Backend,
    floating: IPAddress | None,
    backend_port: int | None,
) -> None:
    """Admin rules and NSGs at one backend, with the client as source and the backend IP
    (the frontend IP with floating IP) and backend port as destination (L4)."""
    nic, ipc = m.nic, m.ip_configuration
    assert nic is not None
    assert ipc is not None
    target = floating or m.ip
    clients = v.clients
    if clients is None:
        t.nsg_step(
            b, nic, ipc, Direction.INBOUND, v.protocol, v.src_ip, target, backend_port, "backend"
        )
        return
    subnet = t.snapshot.subnet(ipc.subnet)
    has_nsg = nic.network_security_group is not None or (
        subnet is not None and subnet.network_security_group is not None
    )
    if not has_nsg and not is_basic(v.lb):
        _closed_by_default(b, v, m, nic, backend_port)
    elif not clients and not has_nsg:  # Basic public frontend, no NSG: open (part-1 rules, L1)
        b.hop(
            kind="nsg-inbound",
            name="(no NSG)",
            decision="Allow",
            detail=f"backend {m.label}: no NSG, and a Basic public frontend is open "
            "(L1, part-1 rules)",
            resource=str(nic.id),
        )
    elif not clients:
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
            message=f"Inbound at backend {nic.name} of {v.lb.name}: the source reaches the "
            "public frontend from a public (SNAT) address the snapshot does not hold "
            "(default outbound access), so whether the backend's NSGs admit it is unknown",
            resource=str(nic.id),
        )
    else:
        _public_client(t, b, v, m, target, backend_port, clients)


def _closed_by_default(
    b: Recorder, v: LbVisit, m: Backend, nic: NetworkInterface, backend_port: int | None
) -> None:
    """A Standard public frontend's backend without any NSG: closed (secure by default, L1)."""
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
    group, port = nic.id.resource_group, port_arg(backend_port)
    b.issue(
        code="LB_PUBLIC_CLOSED_NO_NSG",
        message=f"{v.lb.name} is a Standard load balancer: traffic through its public "
        f"frontend reaches backend {m.label} only if an NSG on its subnet or NIC "
        "allows it, and neither has an NSG (secure by default, L1)",
        resource=str(nic.id),
        pointer="/properties/networkSecurityGroup",
        command=f"az network nsg create -g {group} -n nsg-{nic.name} && "
        f"az network nsg rule create -g {group} --nsg-name "
        f"nsg-{nic.name} -n allow-{backend_port or 'port'}-from-internet "
        "--priority 100 --direction Inbound --access Allow --protocol "
        f"{shlex.quote('*') if v.protocol is Protocol.ANY else v.protocol.value} "
        "--source-address-prefixes Internet --destination-port-ranges "
        f"{port} && az network nic update -g "
        f"{group} -n {nic.name} --network-security-group nsg-{nic.name}",
    )


def _public_client(
    t: Tracer,
    b: Recorder,
    v: LbVisit,
    m: Backend,
    target: IPAddress,
    backend_port: int | None,
    clients: tuple[IPAddress, ...],
) -> None:
    """A public frontend's backend, with the source's public addresses as the client: its
    NSGs for the first (and whether the others fare alike), then the reply's route."""
    nic, ipc = m.nic, m.ip_configuration
    assert nic is not None
    assert ipc is not None
    client = clients[0]
    t.nsg_step(b, nic, ipc, Direction.INBOUND, v.protocol, client, target, backend_port, "backend")
    others = {
        t.nsgs.verify(
            nic,
            Direction.INBOUND,
            v.protocol,
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
    _public_return(t, b, nic, ipc, m.ip, client)


def reply_detour(
    t: Tracer, nic: NetworkInterface, ipc: IpConfiguration, local: IPAddress, client: IPAddress
) -> tuple[EffectiveRoute, str, str] | None:
    """Where the reply from ``local`` to a public ``client`` leaves instead of back through the
    translation that let the request in: the route to a virtual appliance, the appliance's
    description, and the code (``FIREWALL_ASYMMETRIC_RETURN`` for an Azure Firewall,
    ``ROUTE_ASYMMETRIC`` otherwise); ``None`` when the reply goes back directly or is unknown."""
    back = t.next_hop(nic, ipc, local, client)
    route = back.route
    if back.is_unknown or route is None:
        return None
    if route.next_hop_type is not EffectiveNextHopType.VIRTUAL_APPLIANCE:
        return None
    ip = back.next_hop_ip_address
    firewall = None if ip is None else t.snapshot.firewall_at(ip)
    if firewall is not None:
        return route, f"Azure Firewall {firewall.name}", "FIREWALL_ASYMMETRIC_RETURN"
    return route, f"appliance {ip}", "ROUTE_ASYMMETRIC"


def _public_return(
    t: Tracer,
    b: Recorder,
    nic: NetworkInterface,
    ipc: IpConfiguration,
    backend_ip: IPAddress,
    client: IPAddress,
) -> None:
    """The reply to a public frontend's client leaves the backend by its effective routes;
    a route sending it to a virtual appliance (e.g. an Azure Firewall) bypasses the load
    balancer's translation: the documented asymmetric-routing failure (section 3.7
    step 7, F6)."""
    detour = reply_detour(t, nic, ipc, backend_ip, client)
    if detour is None:
        return
    route, via, code = detour
    b.issue(
        code=code,
        message=f"{nic.name}'s reply to the public client {client} goes by "
        f"{route.describe()} to {via} instead of back through the load balancer: the "
        "reply leaves with the backend's address and the client drops it (asymmetric "
        "routing, section 3.7 step 7)",
        resource=str(route.resource_id) if route.resource_id else None,
        pointer=route.pointer,
        status="fail",
    )
