"""The four real Azure Firewall REST examples (../shared/fixtures/firewall/), loaded and run."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from vnetdoctor.engine.firewall import FirewallEngine, ordered_collections
from vnetdoctor.engine.nsg import Verdict
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.firewall import FirewallAction, FirewallRuleKind
from vnetdoctor.model.net import Protocol
from vnetdoctor.model.snapshot import Snapshot

SUB = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network"
ip = ipaddress.ip_address


def _body(fixtures: Path, name: str, status: str = "200") -> dict[str, Any]:
    doc = json.loads((fixtures / "firewall" / name).read_text())
    body: dict[str, Any] = doc["responses"][status]["body"]
    return body


def _typed(body: dict[str, Any], rtype: str) -> dict[str, Any]:
    return {**body, "type": rtype}


@pytest.fixture
def classic(fixtures: Path) -> Snapshot:
    fw = _typed(_body(fixtures, "AzureFirewallPut.json"), "Microsoft.Network/azureFirewalls")
    return snapshot_from_json([fw])


def test_classic_firewall_fields(classic: Snapshot) -> None:
    (fw,) = classic.azure_firewalls.values()
    assert fw.name == "azurefirewall"
    assert [str(a) for a in fw.private_ip_addresses] == ["10.0.0.0"]  # the spec's placeholder
    assert fw.subnet is not None
    assert fw.subnet.name == "AzureFirewallSubnet"
    assert fw.threat_intel_mode == "Alert"
    assert fw.sku_name == "AZFW_VNet"
    assert fw.sku_tier == "Standard"
    (nat,) = fw.nat_rule_collections
    assert nat.action is FirewallAction.DNAT
    assert nat.priority == 112
    assert nat.kind is FirewallRuleKind.NAT
    assert [r.translated_port for r in nat.rules] == ["8443", "880"]
    assert nat.rules[1].translated_fqdn == "internalhttpserver"
    (net,) = fw.network_rule_collections
    assert net.action is FirewallAction.DENY
    assert net.rules[0].source_addresses == ("192.168.1.1-192.168.1.12", "10.1.4.12-10.1.4.255")
    assert net.rules[0].destination_ports == ("443-444", "8443")
    assert net.rules[1].destination_fqdns == ("www.amazon.com",)
    (app,) = fw.application_rule_collections
    assert app.priority == 110
    assert app.action is FirewallAction.DENY
    assert app.rules[0].application_protocols[0].protocol_type == "Https"
    assert app.rules[0].application_protocols[0].port == 443
    assert app.rules[0].target_fqdns == ("www.test.com",)
    assert classic.firewall_at(ip("10.0.0.0")) is fw


def test_classic_evaluation(classic: Snapshot) -> None:
    (fw,) = classic.azure_firewalls.values()
    engine = FirewallEngine(classic)
    # an address inside the range 192.168.1.1-192.168.1.12, on a port of 443-444
    d = engine.evaluate(fw, Protocol.TCP, ip("192.168.1.7"), ip("10.9.9.9"), 444)
    assert d.access is Verdict.DENY
    assert d.rule == "L4-traffic"
    assert d.phase == "network"
    assert d.pointer == "/properties/networkRuleCollections/0/rules/0"
    assert any("threat intelligence" in n for n in d.notes)
    # just outside the range: the network rules miss; no application rule on 8443 -> default deny
    d = engine.evaluate(fw, Protocol.TCP, ip("192.168.1.13"), ip("10.9.9.9"), 8443)
    assert d.access is Verdict.DENY
    assert d.rule is None
    assert d.phase == "default"
    # UDP never matches the TCP-only rules
    d = engine.evaluate(fw, Protocol.UDP, ip("192.168.1.7"), ip("10.9.9.9"), 443)
    assert d.rule is None
    # the FQDN network rule (no DNS proxy): its match is unknown, and it would deny anyway
    d = engine.evaluate(fw, Protocol.TCP, ip("10.2.4.20"), ip("10.9.9.9"), 8443)
    assert d.access is Verdict.DENY
    assert any("F4" in n for n in d.notes)
    # the application rule needs the host name (F4); with it, it denies
    d = engine.evaluate(fw, Protocol.TCP, ip("10.0.0.9"), ip("52.1.1.1"), 443, fqdn="www.test.com")
    assert d.access is Verdict.DENY
    assert d.phase == "application"
    assert d.rule == "rule1"
    d = engine.evaluate(fw, Protocol.TCP, ip("10.0.0.9"), ip("52.1.1.1"), 443, fqdn="other.com")
    assert d.access is Verdict.DENY
    assert d.rule is None
    # DNAT: traffic to the firewall's public address 1.2.3.4:443 is translated and allowed (F8)
    d = engine.evaluate(fw, Protocol.TCP, ip("203.0.113.9"), ip("1.2.3.4"), 443)
    assert d.access is Verdict.ALLOW
    assert d.phase == "dnat"
    assert d.translated_destination == ip("1.2.3.5")
    assert d.translated_port == 8443
    assert any("F8" in n for n in d.notes)


def _policy_with(fixtures: Path, name: str) -> Snapshot:
    policy = {
        "id": f"{SUB}/firewallPolicies/firewallPolicy",
        "name": "firewallPolicy",
        "type": "Microsoft.Network/firewallPolicies",
        "properties": {"ruleCollectionGroups": []},
    }
    group = _typed(_body(fixtures, name), "Microsoft.Network/firewallPolicies/ruleCollectionGroups")
    return snapshot_from_json([policy, group])


def test_policy_rule_collection_group(fixtures: Path) -> None:
    snap = _policy_with(fixtures, "FirewallPolicyRuleCollectionGroupPut.json")
    (pol,) = snap.firewall_policies.values()
    (group,) = pol.rule_collection_groups  # merged into the policy from a child resource
    assert group.name == "ruleCollectionGroup1"
    assert group.priority == 100
    (collection,) = group.rule_collections
    assert collection.kind is FirewallRuleKind.NETWORK
    assert collection.action is FirewallAction.DENY
    assert collection.priority == 100
    rule = collection.rules[0]
    assert rule.protocols == ("TCP",)
    assert rule.source_addresses == ("10.1.25.0/24",)
    assert collection.pointer == "/properties/ruleCollections/0"


def test_policy_nat_rule_collection_group(fixtures: Path) -> None:
    snap = _policy_with(fixtures, "FirewallPolicyNatRuleCollectionGroupPut.json")
    (pol,) = snap.firewall_policies.values()
    (group,) = pol.rule_collection_groups
    (nat,) = group.rule_collections
    assert nat.kind is FirewallRuleKind.NAT
    assert nat.action is FirewallAction.DNAT  # upper-case "DNAT" in policies
    assert nat.rules[0].protocols == ("TCP", "UDP")
    assert nat.rules[0].translated_fqdn == "internalhttp.server.net"
    assert nat.rules[0].translated_port == "8080"


def test_ip_groups_example(fixtures: Path) -> None:
    body = _body(fixtures, "FirewallPolicyRuleCollectionGroupWithIpGroupsPut.json")
    policy = {
        "id": f"{SUB}/firewallPolicies/firewallPolicy",
        "name": "firewallPolicy",
        "type": "Microsoft.Network/firewallPolicies",
        "properties": {"ruleCollectionGroups": [{"id": body["id"]}]},
    }
    snap = snapshot_from_json(
        [policy, _typed(body, "Microsoft.Network/firewallPolicies/ruleCollectionGroups")]
    )
    (pol,) = snap.firewall_policies.values()
    (group,) = pol.rule_collection_groups
    (collection,) = group.rule_collections
    assert collection.priority is None  # the example omits it
    rule = collection.rules[0]
    # the upstream ids are malformed; they are kept as written
    assert str(rule.source_ip_groups[0]).endswith("/resourceGroup/rg1/ipGroups/ipGroups1")
    fw = {
        "id": f"{SUB}/azureFirewalls/fw",
        "name": "fw",
        "type": "Microsoft.Network/azureFirewalls",
        "properties": {
            "ipConfigurations": [{"properties": {"privateIPAddress": "10.0.0.4"}}],
            "firewallPolicy": {"id": policy["id"]},
        },
    }
    snap = snapshot_from_json(
        [policy, fw, _typed(body, "Microsoft.Network/firewallPolicies/ruleCollectionGroups")]
    )
    firewall = snap.azure_firewalls[f"{SUB}/azureFirewalls/fw"]
    ordered, _notes, assumptions = ordered_collections(snap, firewall)
    assert [o.collection.name for o in ordered] == ["Example-Filter-Rule-Collection"]
    assert any("no priority" in a for a in assumptions)
    # the IP groups are not in the snapshot: the deny rule may match, the verdict is unknown
    d = FirewallEngine(snap).evaluate(firewall, Protocol.TCP, ip("10.1.1.1"), ip("10.2.2.2"), 80)
    assert d.access is Verdict.DENY  # a maybe-deny before the default deny changes nothing
    assert any("ipGroups1" in n for n in d.notes)
    # with the groups present (one empty: the rule is skipped only if all are empty)
    groups = [
        {
            "id": str(rule.source_ip_groups[0]),
            "name": "ipGroups1",
            "type": "Microsoft.Network/ipGroups",
            "properties": {"ipAddresses": ["10.1.0.0/16"]},
        },
        {
            "id": str(rule.destination_ip_groups[0]),
            "name": "ipGroups2",
            "type": "Microsoft.Network/ipGroups",
            "properties": {"ipAddresses": ["10.2.0.0-10.2.0.255"]},
        },
    ]
    snap = snapshot_from_json(
        [
            policy,
            fw,
            *groups,
            _typed(body, "Microsoft.Network/firewallPolicies/ruleCollectionGroups"),
        ]
    )
    firewall = snap.azure_firewalls[f"{SUB}/azureFirewalls/fw"]
    engine = FirewallEngine(snap)
    d = engine.evaluate(firewall, Protocol.TCP, ip("10.1.1.1"), ip("10.2.0.9"), 80)
    assert d.access is Verdict.DENY
    assert d.rule == "network-1"
    d = engine.evaluate(firewall, Protocol.TCP, ip("10.1.1.1"), ip("10.2.1.9"), 80)
    assert d.rule is None
