"""Network security group evaluation, exactly as Azure does it, with an honest *unknown*.

This module is the library API for NSGs::

    from vnetdoctor import load_snapshot
    from vnetdoctor.engine.nsg import ip_flow_verify, effective_security_rules

    snap = load_snapshot("estate/")
    verdict = ip_flow_verify(snap, "web1-nic", "Inbound", "Tcp", "10.0.1.4:443", "203.0.113.9:*")
    verdict.access           # Verdict.ALLOW / DENY / UNKNOWN
    verdict.to_azure()       # {"access": "Allow", "ruleName": "securityRules/AllowWeb"}
    effective_security_rules(snap, "web1-nic").to_azure()   # {"value": [...]} as Azure shapes it

Semantics (azure-semantics.md section 1 and decisions 1-3):

- A rule matches a packet on protocol (``*`` matches every protocol, decision 1), source and
  destination (CIDR, single IP, ``*``, service tags, application security groups, singular and
  plural fields), source and destination ports (single, range, list, ``*``). Rules are taken in
  priority order and the first match decides.
- Layering: inbound is the subnet's NSG then the NIC's NSG; outbound the NIC's then the
  subnet's. Both must allow; a layer without an NSG allows. A Deny in any layer decides.
- Three-valued matching: each field of each rule matches a packet *yes*, *no* or *maybe*. *Maybe*
  comes from a tag that cannot be resolved (no service tags file, a route table or peer missing
  from the snapshot, a range whose Internet membership changed over the years), a field the
  loader could not parse (``SecurityRule.problems``), an ASG membership the snapshot cannot tell,
  or a wildcard port (``*``) against a rule that covers only some ports. A rule that *may* match
  and is reached before a decision makes the answer ``Unknown``: it is never skipped. An NSG
  that is referenced but absent from the snapshot is ``Unknown`` too.

Speed: an NSG is compiled once per (NSG, direction, NIC subnet) into per-field lookup tables of
rule bitsets (Python ints, bit *i* = the *i*-th rule in priority order; the protocol is folded
into the destination-port table); a packet costs four bisections, a few big-integer ANDs and one
lowest-set-bit, whatever the number of rules (about 2 us per NSG of 1,000 rules; see
``benchmarks/bench_nsg.py``).
:func:`reference_decision` is the brute-force specification the property tests compare against.
"""

from __future__ import annotations

import ipaddress
import weakref
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Final, NamedTuple

import msgspec

from vnetdoctor.engine.admin_rules import evaluate_admin_rules
from vnetdoctor.engine.tags import (
    INTERNET,
    UDR_ASSUMPTION,
    VIRTUAL_NETWORK,
    Interval,
    Match,
    ServiceTagSource,
    TagExpansion,
    TagResolver,
    canonical_tag,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface, VirtualMachine
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import (
    MAX_PORT,
    AddressPrefix,
    IPAddress,
    IPNetwork,
    PortRange,
    Protocol,
    parse_ip,
)
from vnetdoctor.model.network_manager import AdminAccess, SecurityAdminRule
from vnetdoctor.model.security import Access, Direction, NetworkSecurityGroup, SecurityRule
from vnetdoctor.model.snapshot import Snapshot

__all__ = [
    "FIELDS",
    "AsgMembership",
    "CompiledRules",
    "EffectiveSecurityRules",
    "FlowContext",
    "FlowVerdict",
    "LayerResult",
    "NsgEngine",
    "RuleDecision",
    "RuleEvaluation",
    "SecurityGroupView",
    "Verdict",
    "effective_security_rules",
    "engine_for",
    "evaluate_nsg",
    "field_matches",
    "interface_holding",
    "ip_flow_verify",
    "parse_endpoint",
    "reference_decision",
    "security_group_view",
    "shape_rule",
]


class Verdict(StrEnum):
    """Network Watcher's ``access``: ``Allow``, ``Deny``, or ``Unknown`` (which Azure also uses)."""

    ALLOW = "Allow"
    DENY = "Deny"
    UNKNOWN = "Unknown"


_ADMIN_EFFECT: Final = {AdminAccess.DENY: Verdict.DENY, AdminAccess.ALWAYS_ALLOW: Verdict.ALLOW}
_OF_ACCESS: Final = {Access.ALLOW: Verdict.ALLOW, Access.DENY: Verdict.DENY}
_V4_END: Final = (1 << 32) - 1
_V6_END: Final = (1 << 128) - 1
FIELDS: Final = ("protocol", "source", "sourcePort", "destination", "destinationPort")


# ---------------------------------------------------------------------------------------------
# Packets
# ---------------------------------------------------------------------------------------------
def parse_endpoint(text: str) -> tuple[IPAddress, int | None]:
    """``IP:PORT`` (``[v6]:PORT`` for IPv6); the port may be ``*``. Raises ``ValueError``."""
    raw = text.strip()
    if raw.startswith("["):
        host, sep, port = raw[1:].partition("]:")
        if not sep:
            raise ValueError(f"expected [IPv6]:PORT, got {text!r}")
    else:
        host, sep, port = raw.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(f"expected IP:PORT (e.g. 10.0.0.4:443), got {text!r}")
    ip = parse_ip(host)
    port = port.strip()
    if port == "*":
        return ip, None
    if not port.isdigit() or not 0 <= int(port) <= MAX_PORT:
        raise ValueError(f"invalid port {port!r} in {text!r} (expected 0-65535 or *)")
    return ip, int(port)


class AsgMembership(msgspec.Struct, frozen=True, gc=False):
    """The application security groups an address belongs to; ``complete`` false when the
    snapshot cannot tell all of them (then a rule naming another ASG *may* match)."""

    asgs: frozenset[ResourceId] = frozenset()
    complete: bool = True

    def match(self, rule_asgs: Iterable[ResourceId]) -> Match:
        if any(a in self.asgs for a in rule_asgs):
            return Match.YES
        return Match.NO if self.complete else Match.MAYBE


NO_ASGS: Final = AsgMembership()


class FlowContext(msgspec.Struct, frozen=True, gc=False):
    """A packet as one NSG sees it. A port of ``None`` is ``*`` (every port)."""

    protocol: Protocol
    source: IPAddress
    destination: IPAddress
    source_port: int | None = None
    destination_port: int | None = None
    source_asgs: AsgMembership = NO_ASGS
    destination_asgs: AsgMembership = NO_ASGS


# ---------------------------------------------------------------------------------------------
# Rules, analysed once: what each field can match (shared by the engine and the reference)
# ---------------------------------------------------------------------------------------------
class _Side(NamedTuple):
    any: bool
    networks: tuple[IPNetwork, ...]
    tags: tuple[TagExpansion, ...]
    asgs: frozenset[ResourceId]
    maybe_all: bool


class _Ports(NamedTuple):
    ranges: tuple[PortRange, ...]
    full: bool
    maybe_all: bool


def _problem_field(field: str) -> str | None:
    """Which rule field a loader problem (``sourceAddressPrefixes[2]``) makes uncertain.

    ``"rule"`` means the whole rule (priority, direction or access unknown, or a field not
    understood); ``None`` a field that does not affect matching.
    """
    name = field.split("[", 1)[0].split(".", 1)[0]
    if name.startswith(("sourceAddressPrefix", "sourceApplicationSecurityGroup")):
        return "source"
    if name.startswith(("destinationAddressPrefix", "destinationApplicationSecurityGroup")):
        return "destination"
    if name.startswith("sourcePortRange"):
        return "sourcePort"
    if name.startswith("destinationPortRange"):
        return "destinationPort"
    if name == "protocol":
        return "protocol"
    if name in {"description", "provisioningState", "name", "etag", "type", "id"}:
        return None
    return "rule"


class RuleShape(msgspec.Struct, frozen=True, gc=False):
    """One rule with its fields resolved (tags expanded, problems mapped to fields)."""

    rule: SecurityRule
    protocol_maybe: bool
    source: _Side
    source_ports: _Ports
    destination: _Side
    destination_ports: _Ports
    never_definite: bool

    @property
    def order(self) -> tuple[int, int, int]:
        priority = self.rule.priority if self.rule.priority is not None else -1
        return (priority, int(self.rule.is_default), self.rule.index)


def _side(prefixes: Sequence[AddressPrefix], asgs: Sequence[ResourceId], problem: bool,
          expand: Callable[[str], TagExpansion]) -> _Side:
    if prefixes and asgs:  # ARM forbids both; nothing certain can be said
        return _Side(False, (), (), frozenset(), True)
    any_ = False
    networks: list[IPNetwork] = []
    tags: list[TagExpansion] = []
    for p in prefixes:
        if p.is_any:
            any_ = True
        elif p.network is not None:
            networks.append(p.network)
        elif p.tag is not None:
            tags.append(expand(p.tag))
    empty = not prefixes and not asgs
    return _Side(any_, tuple(networks), tuple(tags), frozenset(asgs), problem or empty)


def _covers_all(ranges: Sequence[PortRange]) -> bool:
    reach = -1
    for r in sorted(ranges):
        if r.start > reach + 1:
            return False
        reach = max(reach, r.end)
    return reach >= MAX_PORT


def shape_rule(rule: SecurityRule, expand: Callable[[str], TagExpansion],
               extra_problems: Sequence[str] = ()) -> RuleShape:
    """Analyse ``rule``; ``extra_problems`` are field names the loader warned about."""
    uncertain: set[str] = set()
    never = rule.access is None or rule.direction is None or rule.priority is None
    for field in (*rule.problems, *extra_problems):
        dim = _problem_field(field)
        if dim == "rule":
            never = True
        elif dim is not None:
            uncertain.add(dim)
    sport = rule.source_port_ranges
    dport = rule.destination_port_ranges
    return RuleShape(
        rule=rule,
        protocol_maybe=rule.protocol is None or "protocol" in uncertain,
        source=_side(rule.source_address_prefixes, rule.source_application_security_groups,
                     "source" in uncertain, expand),
        source_ports=_Ports(sport, _covers_all(sport), "sourcePort" in uncertain or not sport),
        destination=_side(rule.destination_address_prefixes,
                          rule.destination_application_security_groups,
                          "destination" in uncertain, expand),
        destination_ports=_Ports(dport, _covers_all(dport),
                                 "destinationPort" in uncertain or not dport),
        never_definite=never,
    )


# -- brute-force matching (the specification) ----------------------------------------------------
def _protocol_match(shape: RuleShape, protocol: Protocol) -> Match:
    if shape.rule.protocol is None:
        return Match.MAYBE
    if shape.rule.protocol is Protocol.ANY or shape.rule.protocol is protocol:
        found = Match.YES
    elif protocol is Protocol.ANY:
        found = Match.MAYBE
    else:
        found = Match.NO
    return max(found, Match.MAYBE) if shape.protocol_maybe else found


def _side_match(side: _Side, ip: IPAddress, membership: AsgMembership) -> Match:
    found = Match.NO
    if side.any or any(n.version == ip.version and ip in n for n in side.networks):
        found = Match.YES
    else:
        for tag in side.tags:
            found = max(found, tag.membership(ip))
        if side.asgs:
            found = max(found, membership.match(side.asgs))
    return max(found, Match.MAYBE) if side.maybe_all else found


def _port_match(ports: _Ports, port: int | None) -> Match:
    if port is None:
        found = Match.YES if ports.full else (Match.MAYBE if ports.ranges else Match.NO)
    else:
        found = Match.YES if any(port in r for r in ports.ranges) else Match.NO
    return max(found, Match.MAYBE) if ports.maybe_all else found


def field_matches(shape: RuleShape, flow: FlowContext) -> tuple[Match, Match, Match, Match, Match]:
    """Per field (protocol, source, source port, destination, destination port), by brute force."""
    return (
        _protocol_match(shape, flow.protocol),
        _side_match(shape.source, flow.source, flow.source_asgs),
        _port_match(shape.source_ports, flow.source_port),
        _side_match(shape.destination, flow.destination, flow.destination_asgs),
        _port_match(shape.destination_ports, flow.destination_port),
    )


class RuleDecision(msgspec.Struct, frozen=True, gc=False):
    """The outcome of one NSG (one direction) for one packet.

    ``access`` is ``Allow``/``Deny`` when ``rule`` decided, ``Unknown`` when ``rule`` *may* match
    and is reached first (or ties on priority with a rule of the other access). ``rule`` is
    ``None`` only when no rule can match at all (an NSG without its default rules): Azure's
    documented answer is then ``Deny`` without a rule name.
    """

    access: Verdict
    rule: SecurityRule | None
    position: int = -1


def _sorted_shapes(rules: Iterable[SecurityRule], direction: Direction,
                   expand: Callable[[str], TagExpansion],
                   problems: Mapping[str, Sequence[str]] | None) -> list[RuleShape]:
    shapes = [
        shape_rule(r, expand, _extra(problems, r))
        for r in rules if r.direction is None or r.direction is direction
    ]
    shapes.sort(key=lambda s: s.order)
    return shapes


def _extra(problems: Mapping[str, Sequence[str]] | None, rule: SecurityRule) -> Sequence[str]:
    if not problems or rule.id is None:
        return ()
    return problems.get(rule.id.key, ())


def reference_decision(
    rules: Iterable[SecurityRule],
    direction: Direction,
    flow: FlowContext,
    expand: Callable[[str], TagExpansion],
    problems: Mapping[str, Sequence[str]] | None = None,
) -> RuleDecision:
    """Brute force: sort by priority, take the first rule whose every field matches.

    The executable specification of :class:`CompiledRules` (property tests compare the two); too
    slow for real use.
    """
    shapes = _sorted_shapes(rules, direction, expand, problems)
    for i, shape in enumerate(shapes):
        result = min(field_matches(shape, flow))
        if result is Match.NO:
            continue
        if result is Match.MAYBE or shape.never_definite:
            return RuleDecision(Verdict.UNKNOWN, shape.rule, i)
        for later in shapes[i + 1:]:
            if later.rule.priority != shape.rule.priority:
                break
            if later.rule.access != shape.rule.access and min(field_matches(later, flow)):
                return RuleDecision(Verdict.UNKNOWN, shape.rule, i)
        assert shape.rule.access is not None
        return RuleDecision(_OF_ACCESS[shape.rule.access], shape.rule, i)
    return RuleDecision(Verdict.DENY, None)


# ---------------------------------------------------------------------------------------------
# The compiled evaluator
# ---------------------------------------------------------------------------------------------
_NO_MATCH: Final = RuleDecision(Verdict.DENY, None)


class _Table(NamedTuple):
    """Segment starts over a number line, and the yes/maybe rule bitsets of each segment."""

    bounds: list[int]
    yes: list[int]
    maybe: list[int]

    def lookup(self, value: int) -> tuple[int, int]:
        i = bisect_right(self.bounds, value) - 1
        return self.yes[i], self.maybe[i]


def _build_table(yes: Sequence[tuple[int, Sequence[Interval]]],
                 maybe: Sequence[tuple[int, Sequence[Interval]]],
                 always_yes: int, always_maybe: int) -> _Table:
    events: list[tuple[int, int, int, int]] = []
    for kind, entries in ((0, yes), (1, maybe)):
        for bit, spans in entries:
            for lo, hi in spans:
                events.append((lo, kind, bit, 1))
                events.append((hi + 1, kind, bit, -1))
    events.sort()
    counts: tuple[dict[int, int], dict[int, int]] = ({}, {})
    masks = [0, 0]
    bounds = [0]
    ys = [always_yes]
    ms = [always_maybe & ~always_yes]
    i = 0
    while i < len(events):
        pos = events[i][0]
        while i < len(events) and events[i][0] == pos:
            _, kind, bit, delta = events[i]
            before = counts[kind].get(bit, 0)
            counts[kind][bit] = before + delta
            if before == 0 and delta > 0:
                masks[kind] |= 1 << bit
            elif before + delta == 0:
                masks[kind] &= ~(1 << bit)
            i += 1
        y = masks[0] | always_yes
        m = (masks[1] | always_maybe) & ~y
        if pos == bounds[-1]:
            ys[-1], ms[-1] = y, m
        else:
            bounds.append(pos)
            ys.append(y)
            ms.append(m)
    return _Table(bounds, ys, ms)


def _ip_table(shapes: Sequence[RuleShape], pick: Callable[[RuleShape], _Side],
              version: int) -> _Table:
    yes: list[tuple[int, Sequence[Interval]]] = []
    maybe: list[tuple[int, Sequence[Interval]]] = []
    always_yes = always_maybe = 0
    for bit, shape in enumerate(shapes):
        side = pick(shape)
        if side.any:
            always_yes |= 1 << bit
            continue
        if side.maybe_all:
            always_maybe |= 1 << bit
        spans = [(int(n.network_address), int(n.broadcast_address))
                 for n in side.networks if n.version == version]
        for tag in side.tags:
            spans.extend(tag.definite.intervals(version))
            if tag.uncertain:
                maybe.append((bit, tag.uncertain.intervals(version)))
        if spans:
            yes.append((bit, spans))
    return _build_table(yes, maybe, always_yes, always_maybe)


_FastTable = tuple[list[int], list[int], list[int]]


def _fast(table: _Table) -> _FastTable:
    """A table as (bounds, yes, possible = yes | maybe), for :meth:`CompiledRules.decide`."""
    return table.bounds, table.yes, [y | m for y, m in zip(table.yes, table.maybe, strict=True)]


def _fast_port(ports: _PortTable, proto_yes: int,
               proto_possible: int) -> tuple[list[int], list[int], list[int], int, int]:
    """A port table with one protocol's masks ANDed in (one lookup for two fields)."""
    bounds, ys, ps = _fast(ports.table)
    return (bounds, [y & proto_yes for y in ys], [p & proto_possible for p in ps],
            ports.full & proto_yes, (ports.full | ports.partial) & proto_possible)


class _PortTable(NamedTuple):
    table: _Table
    full: int
    partial: int

    def lookup(self, port: int | None) -> tuple[int, int]:
        if port is None:
            return self.full, self.partial
        return self.table.lookup(port)


def _port_table(shapes: Sequence[RuleShape], pick: Callable[[RuleShape], _Ports]) -> _PortTable:
    yes: list[tuple[int, Sequence[Interval]]] = []
    always_maybe = full = partial = 0
    for bit, shape in enumerate(shapes):
        ports = pick(shape)
        if ports.maybe_all:
            always_maybe |= 1 << bit
        if ports.full:
            full |= 1 << bit
        elif ports.ranges or ports.maybe_all:
            partial |= 1 << bit
        if ports.ranges:
            yes.append((bit, [(r.start, r.end) for r in ports.ranges]))
    return _PortTable(_build_table(yes, [], 0, always_maybe), full, partial & ~full)


class RuleEvaluation(msgspec.Struct, frozen=True, gc=False):
    """One rule against one packet, field by field (for ``--explain``).

    ``outcome``: ``decides`` (the first rule that matches), ``may match`` (the first rule that
    might: the answer is unknown), ``no match``, or ``not reached`` (after the decision).
    """

    rule: SecurityRule
    protocol: Match
    source: Match
    source_port: Match
    destination: Match
    destination_port: Match
    outcome: str

    @property
    def fields(self) -> dict[str, Match]:
        return dict(zip(FIELDS, (self.protocol, self.source, self.source_port, self.destination,
                                 self.destination_port), strict=True))


class CompiledRules:
    """The rules of one NSG for one direction, compiled for fast first-match evaluation."""

    __slots__ = (
        "_allow",
        "_asg_cache",
        "_conflicts",
        "_decided",
        "_definite_ok",
        "_dport",
        "_dst",
        "_dst_asg",
        "_dst_asg_all",
        "_fast_dport",
        "_fast_dst",
        "_fast_sport",
        "_fast_src",
        "_proto",
        "_sport",
        "_src",
        "_src_asg",
        "_src_asg_all",
        "_unknown",
        "direction",
        "shapes",
    )

    def __init__(self, shapes: Sequence[RuleShape], direction: Direction) -> None:
        self.direction = direction
        self.shapes = tuple(shapes)
        n = len(self.shapes)
        everything = (1 << n) - 1
        self._proto: dict[Protocol, tuple[int, int]] = {}
        for protocol in Protocol:
            y = m = 0
            for bit, shape in enumerate(self.shapes):
                found = _protocol_match(shape, protocol)
                if found is Match.YES:
                    y |= 1 << bit
                elif found is Match.MAYBE:
                    m |= 1 << bit
            self._proto[protocol] = (y, m)
        self._src = {v: _ip_table(self.shapes, lambda s: s.source, v) for v in (4, 6)}
        self._dst = {v: _ip_table(self.shapes, lambda s: s.destination, v) for v in (4, 6)}
        self._sport = _port_table(self.shapes, lambda s: s.source_ports)
        self._dport = _port_table(self.shapes, lambda s: s.destination_ports)
        self._src_asg, self._src_asg_all = self._asg_index(lambda s: s.source)
        self._dst_asg, self._dst_asg_all = self._asg_index(lambda s: s.destination)
        allow = never = 0
        for bit, shape in enumerate(self.shapes):
            if shape.rule.access is Access.ALLOW:
                allow |= 1 << bit
            if shape.never_definite:
                never |= 1 << bit
        self._allow = allow
        self._definite_ok = everything & ~never
        self._fast_src = {v: _fast(t) for v, t in self._src.items()}
        self._fast_dst = {v: _fast(t) for v, t in self._dst.items()}
        sport = self._sport
        self._fast_sport = (*_fast(sport.table), sport.full, sport.full | sport.partial)
        self._fast_dport = {
            protocol: _fast_port(self._dport, py, py | pm)
            for protocol, (py, pm) in self._proto.items()}
        self._asg_cache: dict[int, tuple[AsgMembership, int, int, int, int]] = {}
        self._unknown = tuple(RuleDecision(Verdict.UNKNOWN, shape.rule, bit)
                              for bit, shape in enumerate(self.shapes))
        self._decided = tuple(
            RuleDecision(Verdict.ALLOW if shape.rule.access is Access.ALLOW else Verdict.DENY,
                         shape.rule, bit)
            for bit, shape in enumerate(self.shapes))
        # Rules sharing a priority (invalid in Azure) with the other access, after each rule.
        self._conflicts: dict[int, int] = {}
        for bit, shape in enumerate(self.shapes):
            mask = 0
            for later in range(bit + 1, n):
                other = self.shapes[later].rule
                if other.priority != shape.rule.priority:
                    break
                if other.access != shape.rule.access:
                    mask |= 1 << later
            if mask:
                self._conflicts[bit] = mask

    def _asg_index(self, pick: Callable[[RuleShape], _Side]) -> tuple[dict[ResourceId, int], int]:
        index: dict[ResourceId, int] = {}
        every = 0
        for bit, shape in enumerate(self.shapes):
            for asg in pick(shape).asgs:
                index[asg] = index.get(asg, 0) | (1 << bit)
                every |= 1 << bit
        return index, every

    @classmethod
    def compile(cls, rules: Iterable[SecurityRule], direction: Direction,
                expand: Callable[[str], TagExpansion],
                problems: Mapping[str, Sequence[str]] | None = None) -> CompiledRules:
        """Compile ``rules`` (custom and default together) for ``direction``."""
        return cls(_sorted_shapes(rules, direction, expand, problems), direction)

    @property
    def uses_asgs(self) -> bool:
        return bool(self._src_asg_all or self._dst_asg_all)

    def address_bounds(self, side: str, version: int) -> Sequence[int]:
        """Where the rules' matches change along one side's address space (``side`` is
        ``"source"`` or ``"destination"``): two addresses in the same interval
        (``bisect_right(bounds, address) - 1``) match the same rules on that side, so one
        decision answers for both (the reachability matrix relies on it)."""
        tables = self._fast_src if side == "source" else self._fast_dst
        return tables[version][0]

    def _side_masks(self, tables: dict[int, _Table], asg_index: dict[ResourceId, int],
                    asg_all: int, ip: IPAddress, membership: AsgMembership) -> tuple[int, int]:
        y, m = tables[ip.version].lookup(int(ip))
        if asg_all:
            return self._asg_masks(y, m, asg_index, asg_all, membership)
        return y, m

    def _masks(self, flow: FlowContext) -> tuple[tuple[int, int], ...]:
        return (
            self._proto[flow.protocol],
            self._side_masks(self._src, self._src_asg, self._src_asg_all, flow.source,
                             flow.source_asgs),
            self._sport.lookup(flow.source_port),
            self._side_masks(self._dst, self._dst_asg, self._dst_asg_all, flow.destination,
                             flow.destination_asgs),
            self._dport.lookup(flow.destination_port),
        )

    def decide(self, flow: FlowContext) -> RuleDecision:
        """First match in priority order; ``Unknown`` when a rule that may match comes first.

        ``y`` collects the rules every field of which matches for certain, ``p`` those every
        field of which may match; the lowest bit of ``p`` is the first candidate.
        """
        bounds, ys, ps, any_y, any_p = self._fast_dport[flow.protocol]
        port = flow.destination_port
        if port is None:
            y, p = any_y, any_p
        else:
            i = bisect_right(bounds, port) - 1
            y, p = ys[i], ps[i]
        bounds, ys, ps, any_y, any_p = self._fast_sport
        port = flow.source_port
        if port is None:
            y &= any_y
            p &= any_p
        else:
            i = bisect_right(bounds, port) - 1
            y &= ys[i]
            p &= ps[i]
        ip = flow.source
        bounds, ys, ps = self._fast_src[ip.version]
        i = bisect_right(bounds, int(ip)) - 1
        side_y, side_p = ys[i], ps[i]
        if self._src_asg_all:
            membership = flow.source_asgs
            found = self._asg_cache.get(id(membership))
            if found is None or found[0] is not membership:
                found = self._asg_add(membership)
            side_y |= found[3]
            side_p |= found[4]
        y &= side_y
        p &= side_p
        ip = flow.destination
        bounds, ys, ps = self._fast_dst[ip.version]
        i = bisect_right(bounds, int(ip)) - 1
        side_y, side_p = ys[i], ps[i]
        if self._dst_asg_all:
            membership = flow.destination_asgs
            found = self._asg_cache.get(id(membership))
            if found is None or found[0] is not membership:
                found = self._asg_add(membership)
            side_y |= found[1]
            side_p |= found[2]
        y &= side_y
        p &= side_p
        if not p:
            return _NO_MATCH
        low = p & -p
        bit = low.bit_length() - 1
        if not y & self._definite_ok & low:
            return self._unknown[bit]
        conflict = self._conflicts.get(bit)
        if conflict and p & conflict:
            return self._unknown[bit]
        return self._decided[bit]

    def _asg_add(self, membership: AsgMembership) -> tuple[AsgMembership, int, int, int, int]:
        """What ``membership`` adds to the destination and the source side: (yes, possible)."""
        dst_y, dst_m = self._asg_masks(0, 0, self._dst_asg, self._dst_asg_all, membership)
        src_y, src_m = self._asg_masks(0, 0, self._src_asg, self._src_asg_all, membership)
        found = (membership, dst_y, dst_y | dst_m, src_y, src_y | src_m)
        if len(self._asg_cache) > 4096:
            self._asg_cache.clear()
        self._asg_cache[id(membership)] = found
        return found

    @staticmethod
    def _asg_masks(y: int, m: int, index: dict[ResourceId, int], every: int,
                   membership: AsgMembership) -> tuple[int, int]:
        for asg in membership.asgs:
            y |= index.get(asg, 0)
        if not membership.complete:
            m |= every
        return y, m & ~y

    def explain(self, flow: FlowContext) -> tuple[RuleEvaluation, ...]:
        """Every rule, field by field, with its part in the decision."""
        masks = self._masks(flow)
        decision = self.decide(flow)
        out = []
        for bit, shape in enumerate(self.shapes):
            p, s, sp, d, dp = (
                Match.YES if y >> bit & 1 else Match.MAYBE if m >> bit & 1 else Match.NO
                for y, m in masks)
            if bit == decision.position:
                outcome = "decides" if decision.access is not Verdict.UNKNOWN else "may match"
            elif decision.position >= 0 and bit > decision.position:
                outcome = "not reached"
            else:
                outcome = "no match"
            out.append(RuleEvaluation(shape.rule, p, s, sp, d, dp, outcome))
        return tuple(out)


def evaluate_nsg(
    nsg: NetworkSecurityGroup,
    direction: Direction,
    flow: FlowContext,
    expand: Callable[[str], TagExpansion],
) -> RuleDecision:
    """One NSG, one packet: compile and decide (use :class:`NsgEngine` to reuse compilations)."""
    rules = (*nsg.security_rules, *nsg.default_security_rules)
    return CompiledRules.compile(rules, direction, expand).decide(flow)


# ---------------------------------------------------------------------------------------------
# Verdicts across the NIC and subnet layers
# ---------------------------------------------------------------------------------------------
class LayerResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One NSG layer: ``subnet`` or ``networkInterface``."""

    layer: str
    attached_to: ResourceId | None
    nsg_id: ResourceId | None
    nsg: NetworkSecurityGroup | None
    access: Verdict
    rule: SecurityRule | None
    reason: str
    evaluations: tuple[RuleEvaluation, ...] = ()

    @property
    def has_nsg(self) -> bool:
        return self.nsg_id is not None

    @property
    def rule_name(self) -> str | None:
        return None if self.rule is None else self.rule.rule_name


class FlowVerdict(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The answer of IP flow verify, with the layers that led to it."""

    access: Verdict
    rule: SecurityRule | None
    nsg_id: ResourceId | None
    nic: NetworkInterface
    direction: Direction
    protocol: Protocol
    local_ip: IPAddress
    local_port: int | None
    remote_ip: IPAddress
    remote_port: int | None
    layers: tuple[LayerResult, ...]
    notes: tuple[str, ...] = ()

    @property
    def rule_name(self) -> str | None:
        return None if self.rule is None else self.rule.rule_name

    @property
    def pointer(self) -> str | None:
        return None if self.rule is None else self.rule.pointer

    def to_azure(self) -> dict[str, str]:
        """Network Watcher's answer shape: ``{"access": ..., "ruleName": ...}``."""
        out = {"access": self.access.value}
        if self.rule is not None:
            out["ruleName"] = self.rule.rule_name
            if isinstance(self.rule, SecurityAdminRule) and self.rule.id is not None:
                # Azure's ruleName for an admin rule is undocumented (§2.5): the id beside it.
                out["adminRuleId"] = str(self.rule.id)
        return out

    def to_json(self, *, explain: bool = False) -> dict[str, Any]:
        """Azure's shape; with ``explain``, an ``explain`` object beside it (vnetdoctor's own)."""
        out: dict[str, Any] = dict(self.to_azure())
        if explain:
            out["explain"] = self.explanation()
        return out

    def explanation(self) -> dict[str, Any]:
        def port(p: int | None) -> str:
            return "*" if p is None else str(p)

        inbound = self.direction is Direction.INBOUND
        src, sport = (self.remote_ip, self.remote_port) if inbound else (self.local_ip,
                                                                           self.local_port)
        dst, dport = (self.local_ip, self.local_port) if inbound else (self.remote_ip,
                                                                         self.remote_port)
        return {
            "networkInterface": str(self.nic.id),
            "direction": self.direction.value,
            "protocol": self.protocol.value,
            "source": f"{src}:{port(sport)}",
            "destination": f"{dst}:{port(dport)}",
            "ruleId": None if self.rule is None or self.rule.id is None else str(self.rule.id),
            "networkSecurityGroup": None if self.nsg_id is None else str(self.nsg_id),
            "pointer": self.pointer,
            "layers": [_layer_json(layer) for layer in self.layers],
            "notes": list(self.notes),
        }


def _layer_json(layer: LayerResult) -> dict[str, Any]:
    return {
        "layer": layer.layer,
        "attachedTo": None if layer.attached_to is None else str(layer.attached_to),
        "networkSecurityGroup": None if layer.nsg_id is None else str(layer.nsg_id),
        "access": layer.access.value,
        "ruleName": layer.rule_name,
        "reason": layer.reason,
        "rules": [
            {"name": e.rule.rule_name, "priority": e.rule.priority,
             "access": None if e.rule.access is None else e.rule.access.value,
             "pointer": e.rule.pointer, "outcome": e.outcome,
             "fields": {k: v.name.lower() for k, v in e.fields.items()}}
            for e in layer.evaluations
        ],
    }


class _Step(NamedTuple):
    """A layer with an NSG, compiled; ``results`` caches the layer result of each deciding
    rule (by position)."""

    layer: str
    owner: ResourceId
    nsg: NetworkSecurityGroup
    compiled: CompiledRules
    results: dict[int, LayerResult]


class _Plan(NamedTuple):
    """The packet-independent part of IP flow verify for one NIC, IP configuration, direction."""

    steps: tuple[_Step | LayerResult, _Step | LayerResult]
    subnet_id: ResourceId | None
    vnet_id: ResourceId | None
    local_asgs: AsgMembership
    needs_remote: bool
    udr_assumption: bool  # the VirtualNetwork tag holds UDR prefixes (decision 2)


def _names_virtual_network(rule: SecurityRule) -> bool:
    for prefixes in (rule.source_address_prefixes, rule.destination_address_prefixes):
        for p in prefixes:
            if p.tag is not None and canonical_tag(p.tag) == VIRTUAL_NETWORK:
                return True
    return False


def _problems_index(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """Resource id (folded) -> fields the loader warned about (e.g. a dropped ASG reference)."""
    index: dict[str, list[str]] = {}
    for warning in snapshot.warnings:
        if warning.resource and warning.field:
            index.setdefault(warning.resource.strip().rstrip("/").casefold(), []).append(
                warning.field)
    return {k: tuple(v) for k, v in index.items()}


class NsgEngine:
    """NSG answers for one snapshot (and one service tags file), with compiled NSGs cached.

    Get one with :func:`engine_for` to share it between calls.
    """

    def __init__(self, snapshot: Snapshot, service_tags: ServiceTagSource | None = None) -> None:
        self.snapshot = snapshot
        self.tags = TagResolver(snapshot, service_tags)
        self._problems = _problems_index(snapshot)
        self._compiled: dict[tuple[ResourceId, Direction, ResourceId | None], CompiledRules] = {}
        self._plans: dict[tuple[ResourceId, object, Direction], _Plan] = {}
        self._remote_cache: dict[tuple[int, int, ResourceId | None], AsgMembership] = {}
        self._memberships: dict[tuple[frozenset[ResourceId], bool], AsgMembership] = {}
        self._asg_members: dict[ResourceId, list[IPAddress]] | None = None

    # -- pieces ---------------------------------------------------------------------------------
    def expander(self, subnet: ResourceId | None) -> Callable[[str], TagExpansion]:
        tags = self.tags

        def expand(tag: str) -> TagExpansion:
            return tags.expand(tag, subnet)

        return expand

    def compiled(self, nsg: NetworkSecurityGroup, direction: Direction,
                 subnet: ResourceId | None) -> CompiledRules:
        key = (nsg.id, direction, subnet)
        found = self._compiled.get(key)
        if found is None:
            found = CompiledRules.compile((*nsg.security_rules, *nsg.default_security_rules),
                                          direction, self.expander(subnet), self._problems)
            self._compiled[key] = found
        return found

    def membership(self, ipc: IpConfiguration) -> AsgMembership:
        bad = any(f.startswith("applicationSecurityGroups")
                  for f in self._problems.get(ipc.id.key, ()))
        return AsgMembership(frozenset(ipc.application_security_groups), complete=not bad)

    def remote_membership(self, ip: IPAddress, vnet_id: ResourceId | None) -> AsgMembership:
        """ASGs of an address seen from a NIC in ``vnet_id``: from the NICs that hold it."""
        holders = self.snapshot.nics_with_ip(ip)
        same = [c for _, c in holders if c.subnet is not None and c.subnet.parent == vnet_id]
        if same:
            sets = [self.membership(c) for c in same]
            common = frozenset.intersection(*(s.asgs for s in sets))
            complete = all(s.complete and s.asgs == common for s in sets)
            return AsgMembership(common, complete)
        vnet = self.snapshot.virtual_networks.get_ref(vnet_id)
        if vnet is None or any(n.version == ip.version and ip in n for n in vnet.address_prefixes):
            # An address of the VNet that no NIC of the snapshot holds: could be a NIC the
            # snapshot lacks, so its ASG membership is unknown.
            return AsgMembership(frozenset(), complete=False)
        others = any(c.application_security_groups for _, c in holders)
        return AsgMembership(frozenset(), complete=not others)

    def layers(
        self, nic: NetworkInterface, ipc: IpConfiguration, direction: Direction
    ) -> tuple[tuple[CompiledRules, ...], ResourceId | None, bool, tuple[object, ...]]:
        """What :meth:`verify` evaluates for ``nic``/``ipc`` in ``direction``, packet aside: the
        compiled NSGs of its layers (a layer without an NSG, or unknown, decides alone), the VNet
        remote addresses' ASGs are seen from, whether any layer names ASGs, and a key equal for
        two NICs whose evaluation is the same for the same packet."""
        key = (nic.id, ipc.id, direction)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(nic, ipc, direction)
        compiled = tuple(s.compiled for s in plan.steps if isinstance(s, _Step))
        # Names in layer reasons aside (they reach only messages); compiled tables are per
        # subnet already (tags expand per subnet).
        shape = (
            tuple((s.layer, s.nsg.id, id(s.compiled)) if isinstance(s, _Step)
                  else (s.layer, s.nsg_id, s.access)
                  for s in plan.steps),
            plan.local_asgs, plan.vnet_id, plan.udr_assumption)
        return compiled, plan.vnet_id, plan.needs_remote, shape

    # -- IP flow verify -------------------------------------------------------------------------
    def verify(
        self,
        nic: NetworkInterface,
        direction: Direction,
        protocol: Protocol,
        local: tuple[IPAddress, int | None],
        remote: tuple[IPAddress, int | None],
        *,
        explain: bool = False,
        ip_configuration: IpConfiguration | None = None,
    ) -> FlowVerdict:
        """IP flow verify for ``nic``: see :func:`ip_flow_verify`.

        ``ip_configuration`` names the IP configuration whose subnet and ASGs apply when the
        local address is not the NIC's own: a packet a virtual appliance forwards.
        """
        local_ip, local_port = local
        remote_ip, remote_port = remote
        key = (nic.id, local_ip if ip_configuration is None else ip_configuration.id, direction)
        plan = self._plans.get(key)
        if plan is None:
            ipc = ip_configuration or next(
                (c for c in nic.ip_configurations if c.private_ip_address == local_ip), None)
            if ipc is None:
                held = ", ".join(str(ip) for ip in nic.private_ip_addresses) or "none"
                raise UsageError(f"local IP {local_ip} is not a private IP of network interface "
                                 f"{nic.name!r} (its IPs: {held})")
            plan = self._plans[key] = self._plan(nic, ipc, direction)
        remote_asgs = self._remote(remote_ip, plan.vnet_id) if plan.needs_remote else NO_ASGS
        if direction is Direction.INBOUND:
            flow = FlowContext(protocol, remote_ip, local_ip, remote_port, local_port,
                               remote_asgs, plan.local_asgs)
        else:
            flow = FlowContext(protocol, local_ip, remote_ip, local_port, remote_port,
                               plan.local_asgs, remote_asgs)
        first_step, second_step = plan.steps
        layers = (self._evaluate(first_step, flow, explain),
                  self._evaluate(second_step, flow, explain))
        verdict = self._combine(nic, direction, protocol, local, remote, layers, plan)
        if self.snapshot.effective_admin_rules:
            return self._with_admin_rules(verdict, plan.vnet_id, plan.subnet_id)
        return verdict

    def _with_admin_rules(self, verdict: FlowVerdict, vnet_id: ResourceId | None,
                          subnet_id: ResourceId | None) -> FlowVerdict:
        """Security admin rules of the NIC's VNet come before its NSGs (decision A2)."""
        rules = self.snapshot.admin_rules_for(vnet_id)
        if rules is None:
            return verdict
        inbound = verdict.direction is Direction.INBOUND
        src, dst = ((verdict.remote_ip, verdict.local_ip) if inbound
                    else (verdict.local_ip, verdict.remote_ip))
        src_port, dst_port = ((verdict.remote_port, verdict.local_port) if inbound
                              else (verdict.local_port, verdict.remote_port))
        tags = self.tags

        result = evaluate_admin_rules(rules, verdict.direction, verdict.protocol, src, dst,
                                      src_port, dst_port, lambda t: tags.expand(t, subnet_id))
        rule, access = result.rule, result.access
        notes: list[str] = []
        maybe = [r for r in result.maybe if not r.is_unknown]
        unknown = [r for r in result.maybe if r.is_unknown]  # the VNet's list could not be read
        if maybe:
            notes.append("security admin rule(s) " + ", ".join(r.name for r in maybe)
                         + " may match (network groups or service tags not expanded)")
        notes.extend(f"the security admin rules of VNet {vnet_id.name if vnet_id else '?'} are "
                     f"unknown ({'; '.join(r.problems)}): an admin Deny may drop this flow, and "
                     "an admin AlwaysAllow would override an NSG deny" for r in unknown)
        if rule is None and not result.maybe:
            return verdict
        terminal = access in (AdminAccess.DENY, AdminAccess.ALWAYS_ALLOW)
        outcome = (Verdict.DENY if access is AdminAccess.DENY
                   else Verdict.ALLOW if access is AdminAccess.ALWAYS_ALLOW
                   else verdict.access)
        # A rule whose access is unknown may deny: an allow becomes unknown, a deny stays.
        effects = {_ADMIN_EFFECT.get(m.admin_access, outcome) if m.admin_access
                   else Verdict.DENY if outcome is Verdict.ALLOW else outcome
                   for m in result.maybe}
        if effects - {outcome}:
            outcome = Verdict.UNKNOWN
        reason = ("the security admin rules of the VNet are unknown" if rule is None and unknown
                  else "no security admin rule matches" if rule is None else
                  f"security admin rule {rule.name!r} (priority {rule.priority}, "
                  f"{rule.admin_access.value if rule.admin_access else '?'}) matches")
        layer = LayerResult(layer="securityAdmin", attached_to=vnet_id, nsg_id=None, nsg=None,
                            access=Verdict.UNKNOWN if rule is None and unknown
                            else outcome if terminal or rule is None else Verdict.ALLOW,
                            rule=rule, reason=reason)
        if terminal:
            notes.append(f"the NSGs of this direction are not evaluated: admin rule "
                         f"{access.value if access else ''} terminates")
            return msgspec.structs.replace(verdict, access=outcome, rule=rule, nsg_id=None,
                                           layers=(layer,), notes=tuple(notes))  # NSGs skipped
        if rule is not None:
            notes.append(f"security admin rule {rule.name!r} allows: the NSGs decide")
        return msgspec.structs.replace(verdict, access=outcome, layers=(layer, *verdict.layers),
                                       notes=(*verdict.notes, *notes))

    def _plan(self, nic: NetworkInterface, ipc: IpConfiguration, direction: Direction) -> _Plan:
        """What does not depend on the packet: the layers, compiled, in evaluation order."""
        subnet_id = ipc.subnet
        nic_step = self._step("networkInterface", nic.id, nic.network_security_group,
                              f"network interface {nic.name!r}", direction, subnet_id)
        subnet_step = self._subnet_step(nic, ipc, direction)
        steps = ((subnet_step, nic_step) if direction is Direction.INBOUND
                 else (nic_step, subnet_step))
        vnet_tag = self.tags.expand(VIRTUAL_NETWORK, subnet_id)
        return _Plan(
            steps=steps, subnet_id=subnet_id,
            vnet_id=subnet_id.parent if subnet_id is not None else None,
            local_asgs=self.membership(ipc),
            needs_remote=any(isinstance(s, _Step) and s.compiled.uses_asgs for s in steps),
            udr_assumption=any(source.assumption for source in vnet_tag.sources))

    def _subnet_step(self, nic: NetworkInterface, ipc: IpConfiguration,
                     direction: Direction) -> _Step | LayerResult:
        if ipc.subnet is None:
            return LayerResult(layer="subnet", attached_to=None, nsg_id=None, nsg=None,
                               access=Verdict.UNKNOWN, rule=None,
                               reason=f"IP configuration {ipc.name!r} of {nic.name!r} names no "
                                      "subnet, so the subnet NSG is unknown")
        subnet = self.snapshot.subnet(ipc.subnet)
        if subnet is None:
            return LayerResult(layer="subnet", attached_to=ipc.subnet, nsg_id=None, nsg=None,
                               access=Verdict.UNKNOWN, rule=None,
                               reason=f"subnet {ipc.subnet.name!r} is not in the snapshot (its "
                                      "virtual network is missing), so its NSG is unknown")
        if any(p.startswith("networkSecurityGroup") for p in subnet.problems):
            return LayerResult(layer="subnet", attached_to=subnet.id, nsg_id=None, nsg=None,
                               access=Verdict.UNKNOWN, rule=None,
                               reason=f"the NSG reference of subnet {subnet.name!r} could not "
                                      "be read")
        return self._step("subnet", subnet.id, subnet.network_security_group,
                          f"subnet {subnet.name!r}", direction, ipc.subnet)

    def _step(self, layer: str, owner: ResourceId, nsg_id: ResourceId | None, what: str,
              direction: Direction, subnet: ResourceId | None) -> _Step | LayerResult:
        if nsg_id is None:
            return LayerResult(layer=layer, attached_to=owner, nsg_id=None, nsg=None,
                               access=Verdict.ALLOW, rule=None,
                               reason=f"no NSG on {what}: the layer allows everything")
        nsg = self.snapshot.network_security_groups.get_ref(nsg_id)
        if nsg is None:
            return LayerResult(layer=layer, attached_to=owner, nsg_id=nsg_id, nsg=None,
                               access=Verdict.UNKNOWN, rule=None,
                               reason=f"NSG {nsg_id.name!r} on {what} is not in the snapshot")
        return _Step(layer, owner, nsg, self.compiled(nsg, direction, subnet), {})

    def _evaluate(self, step: _Step | LayerResult, flow: FlowContext,
                  explain: bool) -> LayerResult:
        if isinstance(step, LayerResult):
            return step
        decision = step.compiled.decide(flow)
        if explain or decision.access is Verdict.UNKNOWN:
            return self._layer_result(step, decision, flow, explain)
        # A decided layer depends only on the deciding rule: build it once.
        found = step.results.get(decision.position)
        if found is None:
            found = step.results[decision.position] = self._layer_result(
                step, decision, flow, False)
        return found

    def _layer_result(self, step: _Step, decision: RuleDecision, flow: FlowContext,
                      explain: bool) -> LayerResult:
        return LayerResult(
            layer=step.layer, attached_to=step.owner, nsg_id=step.nsg.id, nsg=step.nsg,
            access=decision.access, rule=decision.rule,
            reason=self._reason(decision, step.nsg, step.compiled, flow),
            evaluations=step.compiled.explain(flow) if explain else ())

    def _remote(self, ip: IPAddress, vnet_id: ResourceId | None) -> AsgMembership:
        key = (int(ip), ip.version, vnet_id)  # IPv4Address.__hash__ is slow
        found = self._remote_cache.get(key)
        if found is None:
            computed = self.remote_membership(ip, vnet_id)
            # One object per distinct membership: compiled NSGs cache their ASG masks by it.
            found = self._memberships.setdefault((computed.asgs, computed.complete), computed)
            if len(self._remote_cache) > 100_000:
                self._remote_cache.clear()
            self._remote_cache[key] = found
        return found

    @staticmethod
    def _reason(decision: RuleDecision, nsg: NetworkSecurityGroup, compiled: CompiledRules,
                flow: FlowContext) -> str:
        rule = decision.rule
        if rule is None:
            return f"no rule of NSG {nsg.name!r} matches (Azure then denies)"
        where = f"{rule.rule_name} (priority {rule.priority}) of NSG {nsg.name!r}"
        if decision.access is not Verdict.UNKNOWN:
            return f"{where} {'allows' if decision.access is Verdict.ALLOW else 'denies'}"
        shape = compiled.shapes[decision.position]
        return f"{where} may match and comes first: {'; '.join(_why_maybe(shape, flow))}"

    def _combine(self, nic: NetworkInterface, direction: Direction, protocol: Protocol,
                 local: tuple[IPAddress, int | None], remote: tuple[IPAddress, int | None],
                 layers: tuple[LayerResult, LayerResult], plan: _Plan) -> FlowVerdict:
        first, second = layers
        notes: tuple[str, ...] = ()
        if first.access is Verdict.DENY or second.access is Verdict.DENY:
            decider = first if first.access is Verdict.DENY else second
            access = Verdict.DENY
            if decider is second and first.access is Verdict.UNKNOWN:
                notes = (f"the {first.layer} layer is unknown ({first.reason}); the packet is "
                         "denied either way, but if that layer denies, Azure names its rule",)
        elif first.access is Verdict.UNKNOWN or second.access is Verdict.UNKNOWN:
            access = Verdict.UNKNOWN
            decider = first if first.access is Verdict.UNKNOWN else second
            notes = tuple(layer.reason for layer in layers if layer.access is Verdict.UNKNOWN)
        else:
            access = Verdict.ALLOW
            # Both layers allow: the rule of the last NSG evaluated is named (as NSG flow logs
            # log an allowed flow against the last NSG that allowed it).
            decider = second if second.nsg_id is not None or first.nsg_id is None else first
            if decider.nsg_id is None:
                notes = ("neither the network interface nor its subnet has an NSG: all traffic "
                         "is allowed",)
        rule = None if access is Verdict.UNKNOWN else decider.rule
        if rule is not None and plan.udr_assumption and _names_virtual_network(rule):
            notes += tuple(self._assumptions(rule, direction, local[0], remote[0],
                                             plan.subnet_id))
        return FlowVerdict(
            access=access, rule=rule, nsg_id=None if rule is None else decider.nsg_id,
            nic=nic, direction=direction, protocol=protocol, local_ip=local[0],
            local_port=local[1], remote_ip=remote[0], remote_port=remote[1], layers=layers,
            notes=notes)

    def _assumptions(self, rule: SecurityRule, direction: Direction, local_ip: IPAddress,
                     remote_ip: IPAddress, subnet: ResourceId | None) -> list[str]:
        """State decision 2's UDR assumption when the deciding match relied on it."""
        src, dst = (remote_ip, local_ip) if direction is Direction.INBOUND else (local_ip,
                                                                                remote_ip)
        out: list[str] = []
        for prefixes, ip in ((rule.source_address_prefixes, src),
                             (rule.destination_address_prefixes, dst)):
            for p in prefixes:
                if p.tag is None or canonical_tag(p.tag) != VIRTUAL_NETWORK:
                    continue
                sources = self.tags.expand(p.tag, subnet).sources_of(ip)
                if sources and all(s.assumption for s in sources):
                    out.append(f"{ip} is in VirtualNetwork only through "
                               f"{sources[0].origin}; {UDR_ASSUMPTION}")
        return out

    # -- effective rules ------------------------------------------------------------------------
    def asg_members(self, asg: ResourceId) -> list[IPAddress]:
        if self._asg_members is None:
            index: dict[ResourceId, list[IPAddress]] = {}
            for nic in self.snapshot.network_interfaces.values():
                for ipc in nic.ip_configurations:
                    if ipc.private_ip_address is None:
                        continue
                    for a in ipc.application_security_groups:
                        index.setdefault(a, []).append(ipc.private_ip_address)
            self._asg_members = index
        return self._asg_members.get(asg, [])

    def associations(self, nic: NetworkInterface) -> list[_Association]:
        """The NSGs that apply to ``nic``: its own, then its subnet's (Azure's order)."""
        out = []
        if nic.network_security_group is not None:
            out.append(_Association("networkInterface", nic.id, nic.network_security_group,
                                    _primary_subnet(nic)))
        subnets = list(dict.fromkeys(c.subnet for c in nic.ip_configurations
                                     if c.subnet is not None))
        for subnet_id in subnets:
            subnet = self.snapshot.subnet(subnet_id)
            nsg_id = None if subnet is None else subnet.network_security_group
            out.append(_Association("subnet", subnet_id, nsg_id, subnet_id,
                                    missing_subnet=subnet is None))
        return out

    def effective(self, nic: NetworkInterface) -> EffectiveSecurityRules:
        """Effective security rules of ``nic``: see :func:`effective_security_rules`."""
        value: list[dict[str, Any]] = []
        notes: list[str] = []
        for assoc in self.associations(nic):
            if assoc.missing_subnet:
                notes.append(f"subnet {assoc.owner.name!r} is not in the snapshot (its virtual "
                             "network is missing): its NSG, if any, is unknown")
                continue
            if assoc.nsg_id is None:
                continue
            nsg = self.snapshot.network_security_groups.get_ref(assoc.nsg_id)
            if nsg is None:
                notes.append(f"NSG {assoc.nsg_id.name!r} on {assoc.kind} {assoc.owner.name!r} "
                             "is not in the snapshot: its rules are unknown")
                continue
            expand = self.expander(assoc.subnet)
            rules = [*_effective_order(nsg.security_rules), *nsg.default_security_rules]
            tag_map: dict[str, list[str]] = {}
            rendered = []
            for rule in rules:
                rendered.append(self._effective_rule(rule, expand, tag_map, notes))
            value.append({
                "networkSecurityGroup": {"id": str(nsg.id)},
                "association": {assoc.kind: {"id": str(assoc.owner)}},
                "effectiveSecurityRules": rendered,
                "tagMap": tag_map,
            })
        return EffectiveSecurityRules(nic=nic, value=value, notes=tuple(dict.fromkeys(notes)))

    def _effective_rule(self, rule: SecurityRule, expand: Callable[[str], TagExpansion],
                        tag_map: dict[str, list[str]], notes: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": rule.rule_name,
            "protocol": _effective_protocol(rule.protocol),
        }
        sport = [r.expanded() for r in rule.source_port_ranges]
        dport = [r.expanded() for r in rule.destination_port_ranges]
        out["sourcePortRange"] = sport[0] if sport else None
        out["destinationPortRange"] = dport[0] if dport else None
        out["sourcePortRanges"] = sport
        out["destinationPortRanges"] = dport
        src, src_expanded = self._effective_side(
            rule.source_address_prefixes, rule.source_application_security_groups, expand,
            tag_map, notes, rule)
        dst, dst_expanded = self._effective_side(
            rule.destination_address_prefixes, rule.destination_application_security_groups,
            expand, tag_map, notes, rule)
        out["sourceAddressPrefix"] = src[0] if src else None
        out["destinationAddressPrefix"] = dst[0] if dst else None
        out["sourceAddressPrefixes"] = src
        out["destinationAddressPrefixes"] = dst
        if src_expanded is not None:
            out["expandedSourceAddressPrefix"] = src_expanded
        if dst_expanded is not None:
            out["expandedDestinationAddressPrefix"] = dst_expanded
        out["access"] = None if rule.access is None else rule.access.value
        out["priority"] = rule.priority
        out["direction"] = None if rule.direction is None else rule.direction.value
        if rule.problems:
            notes.append(f"rule {rule.rule_name} has fields that could not be read "
                         f"({', '.join(rule.problems)})")
        return out

    def _effective_side(self, prefixes: Sequence[AddressPrefix], asgs: Sequence[ResourceId],
                        expand: Callable[[str], TagExpansion], tag_map: dict[str, list[str]],
                        notes: list[str], rule: SecurityRule) -> tuple[list[str], list[str] | None]:
        texts: list[str] = []
        expanded: list[str] | None = None
        for p in prefixes:
            if p.is_any:
                texts.append("0.0.0.0/0")
            elif p.network is not None:
                texts.append(str(p.network))
            elif p.tag is not None:
                name = canonical_tag(p.tag)
                texts.append(name)
                tag = expand(p.tag)
                listed = [str(n) for n in tag.prefixes]
                tag_map.setdefault(name, listed)
                expanded = (expanded or []) + listed
                if not tag.is_complete and name != INTERNET:
                    notes.extend(f"{rule.rule_name}: {reason}" for reason in tag.reasons)
        for asg in asgs:
            # Unverified shape: Azure's effective form of ASG rules is not in the recordings.
            texts.append(str(asg))
            expanded = (expanded or []) + [
                str(ipaddress.ip_network(ip)) for ip in self.asg_members(asg)]
        return texts, None if expanded is None else list(dict.fromkeys(expanded))

    # -- security group view --------------------------------------------------------------------
    def security_group_view(self, vm: VirtualMachine) -> SecurityGroupView:
        """Network Watcher's security group view of ``vm``: see :func:`security_group_view`."""
        interfaces: list[dict[str, Any]] = []
        notes: list[str] = []
        for nic_id, nic in self.snapshot.nics_of(vm):
            if nic is None:
                notes.append(f"network interface {nic_id.name!r} of VM {vm.name!r} is not in "
                             "the snapshot")
                continue
            associations: dict[str, Any] = {}
            nsgs: list[tuple[NetworkSecurityGroup, ResourceId | None]] = []
            for assoc in self.associations(nic):
                if assoc.missing_subnet:
                    notes.append(f"subnet {assoc.owner.name!r} is not in the snapshot: its NSG, "
                                 "if any, is unknown")
                    continue
                if assoc.nsg_id is None:
                    continue
                nsg = self.snapshot.network_security_groups.get_ref(assoc.nsg_id)
                if nsg is None:
                    notes.append(f"NSG {assoc.nsg_id.name!r} on {assoc.kind} "
                                 f"{assoc.owner.name!r} is not in the snapshot")
                    continue
                key = ("networkInterfaceAssociation" if assoc.kind == "networkInterface"
                       else "subnetAssociation")
                associations[key] = {"id": str(assoc.owner),
                                     "securityRules": [_arm_rule(r) for r in nsg.security_rules]}
                nsgs.append((nsg, assoc.subnet))
            if nsgs:
                associations["defaultSecurityRules"] = [
                    _arm_rule(r) for r in nsgs[0][0].default_security_rules]
                effective: list[dict[str, Any]] = []
                for nsg, subnet in nsgs:
                    effective.extend(self._view_effective(nsg, subnet, notes))
                associations["effectiveSecurityRules"] = effective
            interfaces.append({"id": str(nic.id), "securityRuleAssociations": associations})
        return SecurityGroupView(vm=vm, value={"networkInterfaces": interfaces},
                                 notes=tuple(dict.fromkeys(notes)))

    def _view_effective(self, nsg: NetworkSecurityGroup, subnet: ResourceId | None,
                        notes: list[str]) -> list[dict[str, Any]]:
        expand = self.expander(subnet)
        tag_map: dict[str, list[str]] = {}
        out: list[dict[str, Any]] = []
        for direction in (Direction.OUTBOUND, Direction.INBOUND):
            out.append(_legacy_deny_all(direction))
            groups = (("DefaultRule_", nsg.default_security_rules),
                      ("UserRule_", _effective_order(nsg.security_rules)))
            for prefix, rules in groups:
                for rule in rules:
                    if rule.direction is not direction:
                        continue
                    rendered = self._effective_rule(rule, expand, tag_map, notes)
                    rendered["name"] = prefix + rule.name
                    out.append(rendered)
        return out


class _Association(NamedTuple):
    kind: str  # "networkInterface" | "subnet"
    owner: ResourceId
    nsg_id: ResourceId | None
    subnet: ResourceId | None  # the NIC's subnet (context of the VirtualNetwork tag)
    missing_subnet: bool = False


def _primary_subnet(nic: NetworkInterface) -> ResourceId | None:
    ipc = nic.primary_ip_configuration
    return None if ipc is None else ipc.subnet


def _effective_order(rules: Sequence[SecurityRule]) -> list[SecurityRule]:
    """Custom rules as Azure lists them in effective answers: by direction, then priority."""
    def key(r: SecurityRule) -> tuple[int, int, int]:
        return (0 if r.direction is Direction.INBOUND else 1,
                r.priority if r.priority is not None else -1, r.index)

    return sorted(rules, key=key)


def _effective_protocol(protocol: Protocol | None) -> str | None:
    if protocol is None:
        return None
    return "All" if protocol is Protocol.ANY else protocol.value


def _legacy_deny_all(direction: Direction) -> dict[str, Any]:
    """The pre-2017 deny-all rule every security group view still lists, exactly as listed."""
    name = "DefaultInboundDenyAll" if direction is Direction.INBOUND else "DefaultOutboundDenyAll"
    return {
        "name": name, "protocol": "All",
        "sourcePortRange": "0-65535", "destinationPortRange": "0-65535",
        "sourcePortRanges": ["0-65535"], "destinationPortRanges": ["0-65535"],
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
        "sourceAddressPrefixes": ["*"], "destinationAddressPrefixes": ["*"],
        "access": "Deny", "priority": 65500, "direction": direction.value,
    }


def _arm_rule(rule: SecurityRule) -> dict[str, Any]:
    """A rule back in ARM form (singular key for one value, plural for several)."""
    props: dict[str, Any] = {}
    if rule.description is not None:
        props["description"] = rule.description
    props["protocol"] = None if rule.protocol is None else rule.protocol.value

    def put(single: str, plural: str, values: list[str]) -> None:
        if len(values) == 1:
            props[single] = values[0]
            props[plural] = []
        else:
            props[plural] = values

    put("sourcePortRange", "sourcePortRanges", [str(r) for r in rule.source_port_ranges])
    put("destinationPortRange", "destinationPortRanges",
        [str(r) for r in rule.destination_port_ranges])
    if rule.source_application_security_groups:
        props["sourceApplicationSecurityGroups"] = [
            {"id": str(a)} for a in rule.source_application_security_groups]
    else:
        put("sourceAddressPrefix", "sourceAddressPrefixes",
            [p.text for p in rule.source_address_prefixes])
    if rule.destination_application_security_groups:
        props["destinationApplicationSecurityGroups"] = [
            {"id": str(a)} for a in rule.destination_application_security_groups]
    else:
        put("destinationAddressPrefix", "destinationAddressPrefixes",
            [p.text for p in rule.destination_address_prefixes])
    props["access"] = None if rule.access is None else rule.access.value
    props["priority"] = rule.priority
    props["direction"] = None if rule.direction is None else rule.direction.value
    return {"name": rule.name, "id": None if rule.id is None else str(rule.id),
            "properties": props}


def _why_maybe(shape: RuleShape, flow: FlowContext) -> list[str]:
    """Why a rule only *may* match: the uncertain fields and their reasons."""
    names = ("protocol", "source", "source port", "destination", "destination port")
    out = []
    for name, found in zip(names, field_matches(shape, flow), strict=True):
        if found is not Match.MAYBE:
            continue
        detail = ""
        side, ip, asgs = ((shape.source, flow.source, flow.source_asgs) if name == "source"
                          else (shape.destination, flow.destination, flow.destination_asgs))
        if name in {"source", "destination"}:
            reasons = [r for t in side.tags if t.membership(ip) is Match.MAYBE for r in t.reasons]
            if side.asgs and asgs.match(side.asgs) is Match.MAYBE:
                reasons.append(f"the application security groups of {ip} are not all known")
            if side.maybe_all and not reasons:
                reasons.append("the field is missing or could not be read")
            detail = "; ".join(dict.fromkeys(reasons))
        elif name.endswith("port"):
            ports = shape.source_ports if name == "source port" else shape.destination_ports
            port = flow.source_port if name == "source port" else flow.destination_port
            detail = ("the port is * but the rule covers only some ports" if port is None
                      and not ports.maybe_all else "the field is missing or could not be read")
        else:
            detail = "the protocol is missing or could not be read"
        out.append(f"{name}: {detail}" if detail else name)
    if shape.never_definite and not out:
        out.append("its priority, direction or access is missing or could not be read")
    return out


class EffectiveSecurityRules(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """``az network nic list-effective-nsg``: one entry per NSG applied to the NIC.

    ``notes`` says what could not be listed or expanded (an NSG missing from the snapshot, a tag
    without its service tags file); ``complete`` is false when there is any.
    """

    nic: NetworkInterface
    value: list[dict[str, Any]]
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.notes

    def to_azure(self) -> dict[str, Any]:
        return {"value": self.value}


class SecurityGroupView(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Network Watcher's (retired) security group view of a VM, in Azure's shape."""

    vm: VirtualMachine
    value: dict[str, Any]
    notes: tuple[str, ...] = ()

    def to_azure(self) -> dict[str, Any]:
        return self.value


# ---------------------------------------------------------------------------------------------
# The library API
# ---------------------------------------------------------------------------------------------
_ENGINES: weakref.WeakKeyDictionary[Snapshot, dict[int, tuple[object, NsgEngine]]] = (
    weakref.WeakKeyDictionary())
_LAST: tuple[weakref.ref[Snapshot], object, NsgEngine] | None = None


def engine_for(snapshot: Snapshot, service_tags: ServiceTagSource | None = None) -> NsgEngine:
    """The shared :class:`NsgEngine` of ``snapshot`` (and ``service_tags``), built on first use."""
    global _LAST  # noqa: PLW0603 - a one-entry fast path in front of the weak cache
    last = _LAST
    if last is not None and last[0]() is snapshot and last[1] is service_tags:
        return last[2]
    per_snapshot = _ENGINES.setdefault(snapshot, {})
    key = id(service_tags)
    found = per_snapshot.get(key)
    if found is None or found[0] is not service_tags:
        found = (service_tags, NsgEngine(snapshot, service_tags))
        per_snapshot[key] = found
    _LAST = (weakref.ref(snapshot), service_tags, found[1])
    return found[1]


def interface_holding(snapshot: Snapshot, vm: VirtualMachine | str,
                      ip: IPAddress) -> NetworkInterface:
    """The NIC of ``vm`` that holds private IP ``ip`` (how Network Watcher picks the NIC when
    the request names only the VM). Raises :class:`~vnetdoctor.errors.UsageError` when no NIC
    or several hold it."""
    machine = vm if isinstance(vm, VirtualMachine) else snapshot.virtual_machines.find(vm)
    nics = snapshot.nics_of(machine)
    holding = [n for _, n in nics if n is not None and ip in n.private_ip_addresses]
    if len(holding) == 1:
        return holding[0]
    if holding:
        names = ", ".join(n.name for n in holding)
        raise UsageError(f"IP {ip} is on several network interfaces of VM {machine.name!r} "
                         f"({names}); choose one with --nic")
    held = ", ".join(str(a) for _, n in nics if n is not None for a in n.private_ip_addresses)
    missing = [rid.name for rid, n in nics if n is None]
    extra = (f"; its network interfaces {', '.join(missing)} are not in the snapshot"
             if missing else "")
    raise UsageError(f"local IP {ip} is not a private IP of VM {machine.name!r} "
                     f"(its IPs: {held or 'none'}){extra}")


def _nic(snapshot: Snapshot, nic: NetworkInterface | str) -> NetworkInterface:
    return nic if isinstance(nic, NetworkInterface) else snapshot.network_interfaces.find(nic)


def _direction(direction: Direction | str) -> Direction:
    if isinstance(direction, Direction):
        return direction
    for d in Direction:
        if d.value.casefold() == direction.strip().casefold():
            return d
    raise UsageError(f"unknown direction {direction!r} (expected Inbound or Outbound)")


def _endpoint(value: tuple[IPAddress | str, int | str | None] | str,
              which: str) -> tuple[IPAddress, int | None]:
    try:
        if isinstance(value, str):
            return parse_endpoint(value)
        ip_value, port = value
        ip = parse_ip(ip_value) if isinstance(ip_value, str) else ip_value
        if port is None or port == "*":
            return ip, None
        number = int(port)
        if not 0 <= number <= MAX_PORT:
            raise ValueError(f"port {port!r} is outside 0-65535")
        return ip, number
    except ValueError as exc:
        raise UsageError(f"{which}: {exc}") from None


def ip_flow_verify(
    snapshot: Snapshot,
    nic: NetworkInterface | str,
    direction: Direction | str,
    protocol: Protocol | str,
    local: tuple[IPAddress | str, int | str | None] | str,
    remote: tuple[IPAddress | str, int | str | None] | str,
    service_tags: ServiceTagSource | None = None,
    *,
    explain: bool = False,
) -> FlowVerdict:
    """Network Watcher's IP flow verify, from a snapshot.

    ``nic`` is a :class:`NetworkInterface` or its name or id. ``direction`` is ``Inbound`` or
    ``Outbound`` (relative to the NIC); ``local`` is an address of the NIC and ``remote`` the
    other end, each ``"IP:PORT"`` or ``(ip, port)`` with ``*``/``None`` for every port.
    ``service_tags`` is a loaded service tags file (:func:`vnetdoctor.ingest.servicetags.
    load_service_tags`) for tags other than VirtualNetwork, AzureLoadBalancer and Internet.

    Returns a :class:`FlowVerdict`: ``access`` Allow/Deny/Unknown, the deciding ``rule``
    (``rule_name`` as ``securityRules/NAME`` or ``defaultSecurityRules/NAME``, ``pointer``) and
    each layer (with every rule's field-by-field match when ``explain``). When both layers allow,
    the rule of the last NSG evaluated is named. Raises :class:`~vnetdoctor.errors.UsageError`
    when ``local`` is not an IP of the NIC or an argument is malformed, and
    :class:`~vnetdoctor.errors.ResourceNotFound` for an unknown NIC.
    """
    engine = engine_for(snapshot, service_tags)
    proto = protocol if isinstance(protocol, Protocol) else _protocol(protocol)
    return engine.verify(_nic(snapshot, nic), _direction(direction), proto,
                         _endpoint(local, "local"), _endpoint(remote, "remote"), explain=explain)


def _protocol(text: str) -> Protocol:
    try:
        return Protocol.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def effective_security_rules(
    snapshot: Snapshot,
    nic: NetworkInterface | str,
    service_tags: ServiceTagSource | None = None,
) -> EffectiveSecurityRules:
    """``az network nic list-effective-nsg``: the NSGs applied to ``nic`` (its own first, then
    its subnet's), each rule in Azure's effective form.

    Effective form (azure-semantics.md 1.10): ``name`` is ``securityRules/NAME`` or
    ``defaultSecurityRules/NAME``; protocol ``Tcp``/``Udp``/``All``; ``*`` addresses are
    ``0.0.0.0/0``; ports are always ``a-b``; a tag keeps its name and gains
    ``expandedSourceAddressPrefix``/``expandedDestinationAddressPrefix``; each NSG entry has a
    ``tagMap``. ``to_azure()`` gives ``{"value": [...]}``.
    """
    return engine_for(snapshot, service_tags).effective(_nic(snapshot, nic))


def security_group_view(
    snapshot: Snapshot,
    vm: VirtualMachine | str,
    service_tags: ServiceTagSource | None = None,
) -> SecurityGroupView:
    """Network Watcher's security group view: per NIC of ``vm``, the rules of the NIC's and the
    subnet's NSG in ARM form, the default rules, and the effective rules (``UserRule_NAME``,
    ``DefaultRule_NAME`` and the legacy ``Default*DenyAll`` Azure still lists)."""
    machine = vm if isinstance(vm, VirtualMachine) else snapshot.virtual_machines.find(vm)
    return engine_for(snapshot, service_tags).security_group_view(machine)

