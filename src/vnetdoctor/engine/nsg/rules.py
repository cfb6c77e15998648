"""Packets and rules as the NSG engine sees them, and the brute-force specification.

:func:`shape_rule` analyses a rule once: what each of its fields can match, as address intervals
and port ranges with *yes*/*maybe* (a tag the snapshot cannot expand, a field the loader could not
read). :func:`reference_decision` walks the rules in priority order with those shapes, one packet
at a time: the slow, obvious evaluator that :mod:`.compiled` must agree with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Final, NamedTuple

import msgspec

from vnetdoctor.engine.tags import (
    Match,
    TagExpansion,
)
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
from vnetdoctor.model.security import Access, Direction, SecurityRule


class FlowAccess(StrEnum):
    """Network Watcher's ``access``: ``Allow``, ``Deny``, or ``Unknown`` (which Azure also uses).

    Not :class:`vnetdoctor.Verdict` (a diagnosis's reachable/blocked): this is one packet's
    answer from the NSGs (and Azure Firewall's rules)."""

    ALLOW = "Allow"
    DENY = "Deny"
    UNKNOWN = "Unknown"


Verdict = FlowAccess  # the name the fabric trace and the firewall engine still import


_OF_ACCESS: Final = {Access.ALLOW: FlowAccess.ALLOW, Access.DENY: FlowAccess.DENY}
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
class Side(NamedTuple):
    any: bool
    networks: tuple[IPNetwork, ...]
    tags: tuple[TagExpansion, ...]
    asgs: frozenset[ResourceId]
    maybe_all: bool


class Ports(NamedTuple):
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
    source: Side
    source_ports: Ports
    destination: Side
    destination_ports: Ports
    never_definite: bool

    @property
    def order(self) -> tuple[int, int, int]:
        priority = self.rule.priority if self.rule.priority is not None else -1
        return (priority, int(self.rule.is_default), self.rule.index)


def _side(prefixes: Sequence[AddressPrefix], asgs: Sequence[ResourceId], problem: bool,
          expand: Callable[[str], TagExpansion]) -> Side:
    if prefixes and asgs:  # ARM forbids both; nothing certain can be said
        return Side(False, (), (), frozenset(), True)
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
    return Side(any_, tuple(networks), tuple(tags), frozenset(asgs), problem or empty)


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
        source_ports=Ports(sport, _covers_all(sport), "sourcePort" in uncertain or not sport),
        destination=_side(rule.destination_address_prefixes,
                          rule.destination_application_security_groups,
                          "destination" in uncertain, expand),
        destination_ports=Ports(dport, _covers_all(dport),
                                 "destinationPort" in uncertain or not dport),
        never_definite=never,
    )


# -- brute-force matching (the specification) ----------------------------------------------------
def protocol_match(shape: RuleShape, protocol: Protocol) -> Match:
    if shape.rule.protocol is None:
        return Match.MAYBE
    if shape.rule.protocol is Protocol.ANY or shape.rule.protocol is protocol:
        found = Match.YES
    elif protocol is Protocol.ANY:
        found = Match.MAYBE
    else:
        found = Match.NO
    return max(found, Match.MAYBE) if shape.protocol_maybe else found


def _side_match(side: Side, ip: IPAddress, membership: AsgMembership) -> Match:
    found = Match.NO
    if side.any or any(n.version == ip.version and ip in n for n in side.networks):
        found = Match.YES
    else:
        for tag in side.tags:
            found = max(found, tag.membership(ip))
        if side.asgs:
            found = max(found, membership.match(side.asgs))
    return max(found, Match.MAYBE) if side.maybe_all else found


def _port_match(ports: Ports, port: int | None) -> Match:
    if port is None:
        found = Match.YES if ports.full else (Match.MAYBE if ports.ranges else Match.NO)
    else:
        found = Match.YES if any(port in r for r in ports.ranges) else Match.NO
    return max(found, Match.MAYBE) if ports.maybe_all else found


def field_matches(shape: RuleShape, flow: FlowContext) -> tuple[Match, Match, Match, Match, Match]:
    """Per field (protocol, source, source port, destination, destination port), by brute force."""
    return (
        protocol_match(shape, flow.protocol),
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

    access: FlowAccess
    rule: SecurityRule | None
    position: int = -1


def sorted_shapes(rules: Iterable[SecurityRule], direction: Direction,
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
    shapes = sorted_shapes(rules, direction, expand, problems)
    for i, shape in enumerate(shapes):
        result = min(field_matches(shape, flow))
        if result is Match.NO:
            continue
        if result is Match.MAYBE or shape.never_definite:
            return RuleDecision(FlowAccess.UNKNOWN, shape.rule, i)
        for later in shapes[i + 1:]:
            if later.rule.priority != shape.rule.priority:
                break
            if later.rule.access != shape.rule.access and min(field_matches(later, flow)):
                return RuleDecision(FlowAccess.UNKNOWN, shape.rule, i)
        assert shape.rule.access is not None
        return RuleDecision(_OF_ACCESS[shape.rule.access], shape.rule, i)
    return RuleDecision(FlowAccess.DENY, None)


def why_maybe(shape: RuleShape, flow: FlowContext) -> list[str]:
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

