"""Windows Firewall evaluation on exports built from Microsoft's documented formats (no real
export exists in ../shared/fixtures/guest): profiles, default actions, block precedence."""

from __future__ import annotations

import ipaddress
from typing import Any

from guest import windows_samples as ws

from vnetdoctor.engine.guest import GuestVerdict, firewall_verdict
from vnetdoctor.guest.load import evidence_from_texts
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.net import Flow, Protocol
from vnetdoctor.model.security import Direction

IN, OUT = Direction.INBOUND, Direction.OUTBOUND


def flow(port: int = 1433, src: str = "10.0.1.9", dst: str = "10.0.0.4") -> Flow:
    return Flow(ipaddress.ip_address(src), ipaddress.ip_address(dst), Protocol.TCP, port)


def probe(**kwargs: Any) -> GuestEvidence:
    return evidence_from_texts([("probe.json", ws.windows_probe(**kwargs), None)], source="vm")


def rule(name: str, action: str, port: str = "1433", **extra: Any) -> dict[str, Any]:
    body = {
        "Name": name,
        "DisplayName": name,
        "Enabled": "True",
        "Direction": "Inbound",
        "Action": action,
        "Profile": "Any",
        "PolicyStoreSource": "PersistentStore",
        "Protocol": "TCP",
        "LocalPort": [port],
        "RemotePort": ["Any"],
        "LocalAddress": ["Any"],
        "RemoteAddress": ["Any"],
        "Program": "Any",
        "Service": "Any",
        "InterfaceType": "Any",
    }
    body.update(extra)
    return body


def profiles(
    *,
    public: str = "True",
    inbound: str = "Block",
    allow_rules: str = "True",
    local_rules: str = "True",
) -> list[dict[str, Any]]:
    return [
        {
            "Name": name,
            "Enabled": public if name == "Public" else "True",
            "DefaultInboundAction": inbound,
            "DefaultOutboundAction": "Allow",
            "AllowInboundRules": allow_rules,
            "AllowLocalFirewallRules": local_rules,
        }
        for name in ("Domain", "Private", "Public")
    ]


def test_the_active_profile_decides() -> None:
    # MSSQL-In covers Domain and Private only; the NIC is Public: default inbound Block
    decision = firewall_verdict(probe(category="Public"), flow(), IN)
    assert decision.verdict is GuestVerdict.DENY
    assert "Public profile default inbound action Block" in (decision.rule or "")
    assert firewall_verdict(probe(category="Private"), flow(), IN).verdict is GuestVerdict.ALLOW
    assert firewall_verdict(probe(category="DomainAuthenticated"), flow(), IN).verdict is (
        GuestVerdict.ALLOW
    )


def test_block_rules_win_over_allow_rules() -> None:
    ev = probe(rules=[rule("Allow SQL", "Allow"), rule("Block SQL", "Block")])
    decision = firewall_verdict(ev, flow(), IN)
    assert decision.verdict is GuestVerdict.DENY
    assert decision.rule == ('Windows Firewall rule "Block SQL" (Block)')
    assert decision.source is not None
    assert decision.source.pointer == "/sections/firewall_rules/data/1"
    assert decision.source.line is not None


def test_profile_off_and_block_all_inbound() -> None:
    off = probe(rules=[], profiles=profiles(public="False"))
    assert firewall_verdict(off, flow(), IN).verdict is GuestVerdict.ALLOW
    block_all = probe(rules=[rule("Allow SQL", "Allow")], profiles=profiles(allow_rules="False"))
    decision = firewall_verdict(block_all, flow(), IN)
    assert decision.verdict is GuestVerdict.DENY
    assert "AllowInboundRules" in (decision.rule or "")


def test_group_policy_ignores_local_rules() -> None:
    ev = probe(rules=[rule("Allow SQL", "Allow")], profiles=profiles(local_rules="False"))
    assert firewall_verdict(ev, flow(), IN).verdict is GuestVerdict.DENY
    gpo = probe(
        rules=[rule("Allow SQL", "Allow", PolicyStoreSource="GroupPolicy")],
        profiles=profiles(local_rules="False"),
    )
    assert firewall_verdict(gpo, flow(), IN).verdict is GuestVerdict.ALLOW


def test_addresses_ports_ranges_and_local_subnet() -> None:
    ev = probe(
        rules=[
            rule("From app subnet", "Allow", RemoteAddress=["10.0.1.0/255.255.255.0"]),
            rule("Range", "Allow", port="8000-8100", RemoteAddress=["10.0.2.1-10.0.2.50"]),
            rule("Local", "Allow", port="9000", RemoteAddress=["LocalSubnet"]),
        ]
    )
    assert firewall_verdict(ev, flow(), IN).verdict is GuestVerdict.ALLOW
    assert firewall_verdict(ev, flow(src="10.0.3.9"), IN).verdict is GuestVerdict.DENY
    assert firewall_verdict(ev, flow(8050, src="10.0.2.9"), IN).verdict is GuestVerdict.ALLOW
    assert firewall_verdict(ev, flow(8050, src="10.0.2.99"), IN).verdict is GuestVerdict.DENY
    assert firewall_verdict(ev, flow(9000, src="10.0.0.77"), IN).verdict is GuestVerdict.ALLOW
    assert firewall_verdict(ev, flow(9000, src="10.0.5.77"), IN).verdict is GuestVerdict.DENY


def test_program_rules_use_the_listening_process() -> None:
    sql = rule("SQL exe", "Allow", Program="%ProgramFiles%\\Microsoft SQL Server\\sqlservr.exe")
    other = rule("Other exe", "Allow", port="5000", Program="C:\\agent\\other.exe")
    ev = probe(rules=[sql, other])
    assert firewall_verdict(ev, flow(), IN).verdict is GuestVerdict.ALLOW
    assert firewall_verdict(ev, flow(5000), IN).verdict is GuestVerdict.DENY


def test_keywords_not_in_the_evidence_are_unknown() -> None:
    ev = probe(rules=[rule("Internet only", "Allow", RemoteAddress=["Internet"])])
    decision = firewall_verdict(ev, flow(), IN)
    assert decision.verdict is GuestVerdict.UNKNOWN
    assert "Internet" in " ".join(decision.reasons)


def test_unknown_network_category_needs_the_same_answer_in_every_profile() -> None:
    items = [
        ("rules.json", ws.JSON_PS7_JOINED, None),
        ("profiles.txt", ws.FORMAT_LIST_PROFILES, None),
    ]
    ev = evidence_from_texts(items, source="vm")
    # Web-In (any profile, 10/8) allows 443 everywhere; Public is off anyway
    assert firewall_verdict(ev, flow(443), IN).verdict is GuestVerdict.ALLOW
    # 8050 is blocked by Deny-8080-Range in Domain/Private, but Public is off: depends
    decision = firewall_verdict(ev, flow(8050), IN)
    assert decision.verdict is GuestVerdict.UNKNOWN
    assert "profile" in " ".join(decision.reasons)


def test_rules_without_their_filters_cannot_allow() -> None:
    items = [
        ("rules.json", ws.JSON_PS51_RULES, None),
        ("profiles.txt", ws.FORMAT_LIST_PROFILES, None),
    ]
    decision = firewall_verdict(evidence_from_texts(items, source="vm"), flow(3389), IN)
    assert decision.verdict is GuestVerdict.UNKNOWN


def test_netsh_export_with_its_assumption_and_localised_values() -> None:
    items = [("rules.txt", ws.NETSH_RULES, None), ("profiles.txt", ws.NETSH_PROFILES, None)]
    ev = evidence_from_texts(items, source="vm")
    decision = firewall_verdict(ev, flow(1433, src="10.1.4.4"), IN)
    # Public is OFF in NETSH_PROFILES and the category is unknown; Domain/Private allow via the rule
    assert decision.verdict is GuestVerdict.ALLOW
    blocked = firewall_verdict(ev, flow(445, src="10.99.0.7"), IN)
    assert blocked.verdict is GuestVerdict.UNKNOWN  # blocked in Domain/Private, open in Public
    german = evidence_from_texts(
        [("r.txt", ws.NETSH_GERMAN, None), ("p.txt", ws.FORMAT_LIST_PROFILES, None)], source="vm"
    )
    decision = firewall_verdict(german, flow(1433), IN)
    assert decision.verdict is not GuestVerdict.DENY
    unknown_language = evidence_from_texts(
        [("r.txt", ws.NETSH_UNKNOWN_LANGUAGE, None), ("p.txt", ws.FORMAT_LIST_PROFILES, None)],
        source="vm",
    )
    assert firewall_verdict(unknown_language, flow(1433), IN).verdict is GuestVerdict.UNKNOWN


def test_outbound_default_allow_and_block_rule() -> None:
    out_block = rule("No SMB out", "Block", port="Any", Direction="Outbound", RemotePort=["445"])
    ev = probe(rules=[out_block])
    assert firewall_verdict(ev, flow(443, src="10.0.0.4", dst="10.0.9.9"), OUT).verdict is (
        GuestVerdict.ALLOW
    )
    assert firewall_verdict(ev, flow(445, src="10.0.0.4", dst="10.0.9.9"), OUT).verdict is (
        GuestVerdict.DENY
    )


def test_no_firewall_evidence() -> None:
    ev = evidence_from_texts([("n.txt", ws.NETSTAT_GERMAN, None)], source="vm")
    decision = firewall_verdict(ev, flow(), IN)
    assert decision.verdict is GuestVerdict.UNKNOWN
    assert "Windows Firewall" in decision.reasons[0]


def test_icmp_on_ipv6_is_icmpv6() -> None:
    """An IPv6 ICMP flow is ICMPv6 (next header 58): a rule written for ICMPv6 matches it, one
    written for ICMPv4 does not (regression: both flows were given protocol number 1)."""
    ping6 = Flow(
        ipaddress.ip_address("fd00::9"), ipaddress.ip_address("fd00::4"), Protocol.ICMP, None
    )
    v6 = probe(rules=[rule("Ping v6", "Allow", port="Any", Protocol="ICMPv6")])
    assert firewall_verdict(v6, ping6, IN).verdict is GuestVerdict.ALLOW
    v4 = probe(rules=[rule("Ping v4", "Allow", port="Any", Protocol="ICMPv4")])
    assert firewall_verdict(v4, ping6, IN).verdict is GuestVerdict.DENY
    ping4 = Flow(
        ipaddress.ip_address("10.0.1.9"), ipaddress.ip_address("10.0.0.4"), Protocol.ICMP, None
    )
    assert firewall_verdict(v4, ping4, IN).verdict is GuestVerdict.ALLOW
    assert firewall_verdict(v6, ping4, IN).verdict is GuestVerdict.DENY
