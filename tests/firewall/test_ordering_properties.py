"""Firewall rule-collection ordering (decision F1) against a brute-force reference.

The reference enumerates every rule of every policy in the parent chain, keeps the ones that match
the packet (written directly with :mod:`ipaddress`), and takes the minimum by the documented key:
(rule type phase, parent before child, group priority, collection priority, names). The engine
sorts once and scans; both must name the same deciding rule.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnetdoctor.engine.firewall import FirewallEngine, ordered_collections
from vnetdoctor.engine.nsg import Verdict
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.net import Protocol

P = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
CIDRS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16", "*"]
PORTS = ["22", "80", "443", "1000-2000", "*"]
PRIORITIES = [100, 200, 300]
PHASE = {"NatRule": 0, "NetworkRule": 1}


@st.composite
def rules(draw: Any, kind: str, name: str) -> dict[str, Any]:
    protocols = draw(
        st.lists(st.sampled_from(["TCP", "UDP", "Any", "ICMP"]), min_size=1, max_size=2)
    )
    rule = {
        "ruleType": kind,
        "name": name,
        "ipProtocols": protocols,
        "sourceAddresses": draw(st.lists(st.sampled_from(CIDRS), min_size=1, max_size=2)),
        "destinationAddresses": draw(st.lists(st.sampled_from(CIDRS), min_size=1, max_size=2)),
        "destinationPorts": draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=2)),
    }
    if kind == "NatRule":
        rule["translatedAddress"] = "10.9.9.9"
        rule["translatedPort"] = "8080"
    return rule


@st.composite
def estates(draw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    depth = draw(st.integers(1, 3))
    counter = iter(range(10_000))
    policies: list[dict[str, Any]] = []
    for level in range(depth):
        pid = f"{P}/firewallPolicies/pol{level}"
        groups = []
        for _ in range(draw(st.integers(1, 3))):
            g = next(counter)
            collections = []
            for _ in range(draw(st.integers(1, 3))):
                c = next(counter)
                kind = draw(st.sampled_from(["NetworkRule", "NetworkRule", "NatRule"]))
                rule_list = [
                    draw(rules(kind, f"r{next(counter)}")) for _ in range(draw(st.integers(1, 2)))
                ]
                collections.append(
                    {
                        "ruleCollectionType": "FirewallPolicyNatRuleCollection"
                        if kind == "NatRule"
                        else "FirewallPolicyFilterRuleCollection",
                        "name": f"c{c:04d}",
                        "priority": draw(st.sampled_from(PRIORITIES)),
                        "action": {
                            "type": "DNAT"
                            if kind == "NatRule"
                            else draw(st.sampled_from(["Allow", "Deny"]))
                        },
                        "rules": rule_list,
                    }
                )
            groups.append(
                {
                    "id": f"{pid}/ruleCollectionGroups/g{g:04d}",
                    "name": f"g{g:04d}",
                    "properties": {
                        "priority": draw(st.sampled_from(PRIORITIES)),
                        "ruleCollections": collections,
                    },
                }
            )
        props: dict[str, Any] = {"ruleCollectionGroups": groups}
        if level:
            props["basePolicy"] = {"id": f"{P}/firewallPolicies/pol{level - 1}"}
        policies.append(
            {
                "id": pid,
                "name": f"pol{level}",
                "type": "Microsoft.Network/firewallPolicies",
                "properties": props,
            }
        )
    firewall = {
        "id": f"{P}/azureFirewalls/fw",
        "name": "fw",
        "type": "Microsoft.Network/azureFirewalls",
        "properties": {
            "ipConfigurations": [{"properties": {"privateIPAddress": "10.0.250.4"}}],
            "firewallPolicy": {"id": policies[-1]["id"]},
        },
    }
    return policies, firewall


def _addr(texts: list[str], ip: ipaddress.IPv4Address) -> bool:
    return any(t == "*" or ip in ipaddress.ip_network(t) for t in texts)


def _port(texts: list[str], port: int) -> bool:
    for t in texts:
        if t == "*":
            return True
        lo, _, hi = t.partition("-")
        if int(lo) <= port <= int(hi or lo):
            return True
    return False


def _reference_match(rule: dict[str, Any], proto: str, src: Any, dst: Any, port: int) -> bool:
    explicit = any(p != "*" for p in rule["destinationPorts"])
    allowed: set[str] = set()
    for p in rule["ipProtocols"]:
        if p == "Any":
            allowed |= {"TCP", "UDP"} if explicit else {"TCP", "UDP", "ICMP"}
        else:
            allowed.add(p)
    if proto not in allowed:
        return False
    if not _addr(rule["sourceAddresses"], src) or not _addr(rule["destinationAddresses"], dst):
        return False
    return proto == "ICMP" or _port(rule["destinationPorts"], port)


def _reference(
    policies: list[dict[str, Any]], proto: str, src: Any, dst: Any, port: int
) -> tuple[str | None, str]:
    best: tuple[Any, ...] | None = None
    for depth, pol in enumerate(policies):
        for g in pol["properties"]["ruleCollectionGroups"]:
            for c in g["properties"]["ruleCollections"]:
                for index, r in enumerate(c["rules"]):
                    if not _reference_match(r, proto, src, dst, port):
                        continue
                    key = (
                        PHASE[r["ruleType"]],
                        depth,
                        g["properties"]["priority"],
                        c["priority"],
                        g["name"],
                        c["name"],
                        index,
                        r["name"],
                        c["action"]["type"],
                    )
                    if best is None or key < best:
                        best = key
    if best is None:
        return None, "Deny"
    return best[7], "Allow" if best[8] in ("Allow", "DNAT") else "Deny"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    estates(),
    st.sampled_from(["TCP", "UDP", "ICMP"]),
    st.sampled_from(["10.1.2.3", "10.1.9.9", "10.2.0.1", "192.168.0.1"]),
    st.sampled_from(["10.1.2.3", "10.2.0.1", "10.3.0.1", "8.8.8.8"]),
    st.sampled_from([22, 80, 443, 1500, 3000]),
)
def test_deciding_rule_equals_brute_force(
    estate: tuple[list[dict[str, Any]], dict[str, Any]],
    proto: str,
    src_text: str,
    dst_text: str,
    port: int,
) -> None:
    policies, firewall = estate
    snap = snapshot_from_json([*policies, firewall])
    fw = snap.azure_firewalls[firewall["id"]]
    src, dst = ipaddress.ip_address(src_text), ipaddress.ip_address(dst_text)
    decision = FirewallEngine(snap).evaluate(fw, Protocol(proto.capitalize()), src, dst, port)
    expected_rule, expected_access = _reference(policies, proto, src, dst, port)
    assert decision.rule == expected_rule
    assert decision.access is Verdict(expected_access)


def test_the_documented_inheritance_example() -> None:
    """rule-processing.md's worked example (S101): parent groups always come first."""

    def group(pid: str, name: str, prio: int, cols: list[tuple[str, str, int]]) -> dict[str, Any]:
        kinds = {"NatRule": "FirewallPolicyNatRuleCollection"}
        return {
            "id": f"{pid}/ruleCollectionGroups/{name}",
            "name": name,
            "properties": {
                "priority": prio,
                "ruleCollections": [
                    {
                        "ruleCollectionType": kinds.get(k, "FirewallPolicyFilterRuleCollection"),
                        "name": n,
                        "priority": p,
                        "action": {"type": "DNAT" if k == "NatRule" else "Allow"},
                        "rules": [{"ruleType": k, "name": f"{n}-r"}],
                    }
                    for n, k, p in cols
                ],
            },
        }

    base, child = f"{P}/firewallPolicies/base", f"{P}/firewallPolicies/child"
    docs = [
        {
            "id": base,
            "name": "base",
            "type": "Microsoft.Network/firewallPolicies",
            "properties": {
                "ruleCollectionGroups": [
                    group(
                        base,
                        "BaseRCG1",
                        200,
                        [
                            ("DNATRC1", "NatRule", 600),
                            ("NetworkRC1", "NetworkRule", 800),
                            ("AppRC2", "ApplicationRule", 1200),
                        ],
                    ),
                    group(
                        base,
                        "BaseRCG2",
                        300,
                        [("DNATRC3", "NatRule", 610), ("NetworkRC2", "NetworkRule", 1300)],
                    ),
                ]
            },
        },
        {
            "id": child,
            "name": "child",
            "type": "Microsoft.Network/firewallPolicies",
            "properties": {
                "basePolicy": {"id": base},
                "ruleCollectionGroups": [
                    group(
                        child,
                        "ChildRCG1",
                        300,
                        [("ChNetRC1", "NetworkRule", 700), ("ChAppRC1", "ApplicationRule", 900)],
                    ),
                    group(
                        child,
                        "ChildRCG2",
                        650,
                        [
                            ("ChNetRC2", "NetworkRule", 1100),
                            ("ChAppRC2", "ApplicationRule", 2000),
                            ("ChDNATRC3", "NatRule", 3000),
                        ],
                    ),
                ],
            },
        },
        {
            "id": f"{P}/azureFirewalls/fw",
            "name": "fw",
            "type": "Microsoft.Network/azureFirewalls",
            "properties": {"firewallPolicy": {"id": child}},
        },
    ]
    snap = snapshot_from_json(docs)
    fw = snap.azure_firewalls[f"{P}/azureFirewalls/fw"]
    ordered, notes, _ = ordered_collections(snap, fw)
    assert notes == []
    assert [o.collection.name for o in ordered] == [
        "DNATRC1",
        "DNATRC3",
        "ChDNATRC3",
        "NetworkRC1",
        "NetworkRC2",
        "ChNetRC1",
        "ChNetRC2",
        "AppRC2",
        "ChAppRC1",
        "ChAppRC2",
    ]
