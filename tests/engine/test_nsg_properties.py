"""Property tests: the compiled NSG evaluator equals a brute-force reference.

The reference (:func:`vnetdoctor.engine.nsg.reference_decision`) sorts the rules by priority and
checks every field of every rule against the packet with plain ``ipaddress`` membership and
``PortRange`` containment, three-valued (a tag that cannot be resolved, a missing or unparsable
field, an unknown ASG membership or a ``*`` port make a field *maybe*). The compiled evaluator
uses bitset tables. Random rule sets mix everything Azure allows and some things it does not
(missing fields, duplicate priorities, loader problems), over a small address and port universe
so that rules and packets collide often.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnetdoctor.engine.nsg import (
    AsgMembership,
    CompiledRules,
    FlowAccess,
    FlowContext,
    RuleDecision,
    field_matches,
    reference_decision,
    shape_rule,
)
from vnetdoctor.engine.tags import (
    AddressSet,
    Match,
    TagExpansion,
    azure_load_balancer,
    internet,
    unresolved,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import AddressPrefix, PortRange, Protocol
from vnetdoctor.model.security import Access, Direction, SecurityRule

NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n"
ASGS = [ResourceId(f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/"
                   f"applicationSecurityGroups/asg{i}") for i in range(3)]


def _net(text: str) -> Any:
    return ipaddress.ip_network(text)


_VNET = TagExpansion(tag="VirtualNetwork", prefixes=(_net("10.0.0.0/23"),),
                     definite=AddressSet.of([_net("10.0.0.0/23")]),
                     uncertain=AddressSet.of([_net("10.0.2.0/25")]), reasons=("test",))
TAGS: dict[str, TagExpansion] = {
    "virtualnetwork": _VNET,
    "internet": internet(),
    "azureloadbalancer": azure_load_balancer(),
    "storage": unresolved("Storage", "no file"),
}


def expand(tag: str) -> TagExpansion:
    return TAGS[tag.casefold()]


# -- strategies ------------------------------------------------------------------------------
# Rules and packets are decoded from one integer each (mixed radix, simplest choice first), so
# that an example costs a handful of draws and shrinks towards simple rules.
_HOSTS = ["10.0.0.1", "10.0.0.9", "10.0.1.200", "10.0.2.5", "10.0.2.200", "10.0.3.3",
          "8.8.8.8", "25.1.2.3", "168.63.129.16", "2001:db8::1"]
_PREFIX_POOL = [
    AddressPrefix.parse(t) for t in (
        "*", "10.0.0.0/22", "VirtualNetwork", "*", "Internet", "10.0.0.0/23", "AzureLoadBalancer",
        "Storage", "0.0.0.0/0", "2001:db8::/32", *_HOSTS,
        *(str(ipaddress.ip_network(f"10.0.{a}.0/{n}", strict=False))
          for a in range(4) for n in (22, 23, 24, 25, 30, 32)))]
_PORT_POOL = [PortRange(0, 65535), PortRange(0, 10), PortRange(0, 65535), PortRange(5, 25),
              *(PortRange(a, b) for a in range(0, 21, 2) for b in range(a, 21, 3)),
              *(PortRange(a, 65535) for a in range(0, 21, 4))]
_PROBLEM_POOL = [(), (), (), (), ("sourceAddressPrefix",), ("destinationAddressPrefixes[1]",),
                 ("sourcePortRanges[2]",), ("destinationPortRange",), ("protocol",),
                 ("access",), ("description",), ("somethingElse",)]
_ASG_SETS = [(), (), (ASGS[0],), (ASGS[1],), (ASGS[0], ASGS[1]), (ASGS[2],)]
_PRIORITIES = [100, 101, 102, 100, 101, 103, 104, 105, 110, None, 65000, 65500]
_DIRECTION_POOL = [Direction.INBOUND, Direction.OUTBOUND, Direction.INBOUND,
                   Direction.OUTBOUND, None]
_ACCESS_POOL = [Access.ALLOW, Access.DENY, Access.ALLOW, Access.DENY, None]
_PROTOCOL_POOL = [Protocol.ANY, Protocol.TCP, Protocol.ANY, Protocol.UDP, Protocol.ICMP, None]


class _Digits:
    def __init__(self, code: int) -> None:
        self.code = code

    def pick(self, options: list[Any]) -> Any:
        self.code, i = divmod(self.code, len(options))
        return options[i]

    def some(self, options: list[Any]) -> tuple[Any, ...]:
        """One to three items, or (rarely) none: a missing field."""
        return tuple(self.pick(options) for _ in range(self.pick([1, 2, 1, 3, 1, 0])))


def decode_rule(index: int, code: int) -> SecurityRule:
    d = _Digits(code)
    priority = d.pick(_PRIORITIES)
    direction = d.pick(_DIRECTION_POOL)
    access = d.pick(_ACCESS_POOL)
    protocol = d.pick(_PROTOCOL_POOL)
    src_asgs, dst_asgs = d.pick(_ASG_SETS), d.pick(_ASG_SETS)
    src = d.some(_PREFIX_POOL)
    dst = d.some(_PREFIX_POOL)
    # Mostly valid (ASGs xor prefixes); the leftover digits sometimes keep both, or neither.
    if src_asgs and d.pick([True, True, False]):
        src = ()
    if dst_asgs and d.pick([True, True, False]):
        dst = ()
    return SecurityRule(
        id=ResourceId(f"{NSG}/securityRules/r{index}"), name=f"r{index}", priority=priority,
        direction=direction, access=access, protocol=protocol,
        source_address_prefixes=src, destination_address_prefixes=dst,
        source_application_security_groups=src_asgs,
        destination_application_security_groups=dst_asgs,
        source_port_ranges=d.some(_PORT_POOL), destination_port_ranges=d.some(_PORT_POOL),
        is_default=d.pick([False, True]), index=index, problems=d.pick(_PROBLEM_POOL))


def decode_flow(code: int) -> FlowContext:
    d = _Digits(code)
    ports: list[int | None] = [*range(26), None, 7, 3]
    return FlowContext(
        protocol=d.pick([Protocol.TCP, Protocol.UDP, Protocol.TCP, Protocol.ICMP, Protocol.ESP,
                         Protocol.ANY]),
        source=ipaddress.ip_address(d.pick(_HOSTS)),
        destination=ipaddress.ip_address(d.pick(_HOSTS)),
        source_port=d.pick(ports), destination_port=d.pick(ports),
        source_asgs=AsgMembership(frozenset(d.pick(_ASG_SETS)), d.pick([True, False])),
        destination_asgs=AsgMembership(frozenset(d.pick(_ASG_SETS)), d.pick([True, False])),
    )


_CODE = st.integers(0, 2**160)


@st.composite
def rules(draw: Any, count: int | None = None) -> list[SecurityRule]:
    codes = draw(st.lists(_CODE, min_size=1, max_size=10)) if count is None else [
        draw(_CODE) for _ in range(count)]
    return [decode_rule(i, c) for i, c in enumerate(codes)]


FLOWS = _CODE.map(decode_flow)
DIRECTIONS = st.sampled_from([Direction.INBOUND, Direction.OUTBOUND])


def _same(a: RuleDecision, b: RuleDecision) -> bool:
    return a.access is b.access and a.rule is b.rule


# -- properties ------------------------------------------------------------------------------
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), DIRECTIONS, st.lists(FLOWS, min_size=1, max_size=4))
def test_compiled_equals_brute_force(rule_set: list[SecurityRule], direction: Direction,
                                     flows: list[FlowContext]) -> None:
    compiled = CompiledRules.compile(rule_set, direction, expand)
    for flow in flows:
        fast = compiled.decide(flow)
        slow = reference_decision(rule_set, direction, flow, expand)
        assert _same(fast, slow), (flow, fast, slow)


@settings(max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), DIRECTIONS, FLOWS, rules(count=1), st.integers(1, 70000))
def test_a_lower_priority_rule_never_changes_the_verdict(
        rule_set: list[SecurityRule], direction: Direction, flow: FlowContext,
        extra: list[SecurityRule], gap: int) -> None:
    before = CompiledRules.compile(rule_set, direction, expand).decide(flow)
    if before.rule is None or before.rule.priority is None:
        return  # nothing matched (anything can), or the order itself is unknown
    (new,) = extra
    new = SecurityRule(**{**{f: getattr(new, f) for f in new.__struct_fields__},
                          "priority": before.rule.priority + gap, "index": len(rule_set),
                          "name": "appended",
                          "id": ResourceId(f"{NSG}/securityRules/appended")})
    after = CompiledRules.compile([*rule_set, new], direction, expand).decide(flow)
    assert _same(before, after)


@settings(max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), DIRECTIONS, FLOWS)
def test_explanations_agree_with_the_reference_fields(
        rule_set: list[SecurityRule], direction: Direction, flow: FlowContext) -> None:
    compiled = CompiledRules.compile(rule_set, direction, expand)
    decision = compiled.decide(flow)
    evaluations = compiled.explain(flow)
    assert [e.rule for e in evaluations] == [s.rule for s in compiled.shapes]
    for e, shape in zip(evaluations, compiled.shapes, strict=True):
        fields = (e.protocol, e.source, e.source_port, e.destination, e.destination_port)
        assert fields == field_matches(shape, flow)
        assert fields == field_matches(shape_rule(e.rule, expand), flow)
    deciding = [e for e in evaluations if e.outcome in {"decides", "may match"}]
    if decision.rule is None:
        assert deciding == []
        assert all(e.outcome == "no match" for e in evaluations)
    else:
        assert [e.rule for e in deciding] == [decision.rule]
        assert (deciding[0].outcome == "may match") is (decision.access is FlowAccess.UNKNOWN)
        before = evaluations[:decision.position]
        assert all(min(e.fields.values()) is Match.NO for e in before)
