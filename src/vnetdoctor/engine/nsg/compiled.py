"""The compiled evaluator: one NSG direction as per-field lookup tables of rule bitsets.

Bit *i* of every bitset is the *i*-th rule in priority order. A packet is four bisections (source,
destination, source port, destination port with the protocol folded in), a few big-integer ANDs
and one lowest-set-bit, whatever the number of rules. :func:`~.rules.reference_decision` is the
specification it is tested against.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, NamedTuple

import msgspec

from vnetdoctor.engine.nsg.rules import (
    FIELDS,
    AsgMembership,
    FlowAccess,
    FlowContext,
    Ports,
    RuleDecision,
    RuleShape,
    Side,
    protocol_match,
    sorted_shapes,
)
from vnetdoctor.engine.tags import (
    Interval,
    Match,
    TagExpansion,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import (
    IPAddress,
    Protocol,
)
from vnetdoctor.model.security import Access, Direction, NetworkSecurityGroup, SecurityRule

# ---------------------------------------------------------------------------------------------
# The compiled evaluator
# ---------------------------------------------------------------------------------------------
_NO_MATCH: Final = RuleDecision(FlowAccess.DENY, None)


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


def _ip_table(shapes: Sequence[RuleShape], pick: Callable[[RuleShape], Side],
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


def _port_table(shapes: Sequence[RuleShape], pick: Callable[[RuleShape], Ports]) -> _PortTable:
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
                found = protocol_match(shape, protocol)
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
        self._unknown = tuple(RuleDecision(FlowAccess.UNKNOWN, shape.rule, bit)
                              for bit, shape in enumerate(self.shapes))
        self._decided = tuple(
            RuleDecision(FlowAccess.ALLOW if shape.rule.access is Access.ALLOW else FlowAccess.DENY,
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

    def _asg_index(self, pick: Callable[[RuleShape], Side]) -> tuple[dict[ResourceId, int], int]:
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
        return cls(sorted_shapes(rules, direction, expand, problems), direction)

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
                outcome = "decides" if decision.access is not FlowAccess.UNKNOWN else "may match"
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


