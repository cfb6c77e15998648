"""Azure Firewall semantics (F2, F5, F6, F7, F9) and the firewall hop in the trace."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from vnetdoctor import load_sample
from vnetdoctor.api import diagnose
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.engine.firewall import (
    FirewallEngine,
    fqdn_matches,
    is_snat,
    private_ranges,
    protocol_match,
)
from vnetdoctor.engine.nsg import Verdict
from vnetdoctor.engine.path import Trace, Tracer
from vnetdoctor.engine.tags import Match
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.firewall import FirewallRule, FirewallRuleKind
from vnetdoctor.model.net import Protocol
from vnetdoctor.model.snapshot import Snapshot

P = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
ip = ipaddress.ip_address


def _rule(protocols: tuple[str, ...], ports: tuple[str, ...]) -> FirewallRule:
    return FirewallRule(
        name="r", kind=FirewallRuleKind.NETWORK, protocols=protocols, destination_ports=ports
    )


def test_protocol_any_with_explicit_ports_is_tcp_and_udp_only() -> None:
    assert protocol_match(_rule(("ANY",), ("443",)), Protocol.ICMP) is Match.NO
    assert protocol_match(_rule(("ANY",), ("443",)), Protocol.UDP) is Match.YES
    assert protocol_match(_rule(("ANY",), ("*",)), Protocol.ICMP) is Match.YES
    assert protocol_match(_rule(("ANY",), ("*",)), Protocol.ESP) is Match.YES
    assert protocol_match(_rule(("TCP",), ("*",)), Protocol.UDP) is Match.NO


def test_wildcard_fqdns_do_not_match_the_apex() -> None:
    assert fqdn_matches("*.contoso.com", "a.contoso.com")
    assert not fqdn_matches("*.contoso.com", "contoso.com")
    assert fqdn_matches("WWW.Test.com", "www.test.com")


def _classic(extra: dict[str, str] | None = None, **props: Any) -> Snapshot:
    fw = {
        "id": f"{P}/azureFirewalls/fw",
        "name": "fw",
        "type": "Microsoft.Network/azureFirewalls",
        "properties": {
            "ipConfigurations": [{"properties": {"privateIPAddress": "10.0.250.4"}}],
            "additionalProperties": extra or {},
            **props,
        },
    }
    return snapshot_from_json([fw])


def test_snat_private_ranges_default_to_rfc1918_and_rfc6598() -> None:
    snap = _classic()
    fw = next(iter(snap.azure_firewalls.values()))
    assert not is_snat(snap, fw, ip("100.64.1.1"))  # RFC 6598 (F5: the newer doc wins)
    assert not is_snat(snap, fw, ip("172.20.0.1"))
    assert is_snat(snap, fw, ip("52.1.1.1"))
    snap = _classic({"Network.SNAT.PrivateRanges": "255.255.255.255/32"})
    fw = next(iter(snap.azure_firewalls.values()))
    assert private_ranges(snap, fw) == ("255.255.255.255/32",)
    assert is_snat(snap, fw, ip("10.1.1.1"))  # always SNAT
    snap = _classic({"Network.SNAT.PrivateRanges": "IANAPrivateRanges , 52.0.0.0/8"})
    fw = next(iter(snap.azure_firewalls.values()))
    assert not is_snat(snap, fw, ip("52.1.1.1"))
    assert not is_snat(snap, fw, ip("10.1.1.1"))


def test_policy_classic_collections_are_ignored_and_missing_policy_noted() -> None:
    snap = _classic(
        firewallPolicy={"id": f"{P}/firewallPolicies/absent"},
        networkRuleCollections=[
            {
                "name": "c",
                "properties": {
                    "priority": 100,
                    "action": {"type": "Allow"},
                    "rules": [
                        {
                            "name": "all",
                            "protocols": ["Any"],
                            "sourceAddresses": ["*"],
                            "destinationAddresses": ["*"],
                            "destinationPorts": ["*"],
                        }
                    ],
                },
            }
        ],
    )
    fw = next(iter(snap.azure_firewalls.values()))
    d = FirewallEngine(snap).evaluate(fw, Protocol.TCP, ip("10.0.0.1"), ip("10.1.0.1"), 80)
    assert d.access is Verdict.DENY
    assert d.rule is None
    assert any("F9" in n for n in d.notes)
    assert any("absent is not in the snapshot" in n for n in d.notes)


def test_application_rules_are_unknown_without_a_host_name() -> None:
    snap = _classic(
        applicationRuleCollections=[
            {
                "name": "web",
                "properties": {
                    "priority": 200,
                    "action": {"type": "Allow"},
                    "rules": [
                        {
                            "name": "contoso",
                            "protocols": [{"protocolType": "Https", "port": 443}],
                            "sourceAddresses": ["10.0.0.0/8"],
                            "targetFqdns": ["*.contoso.com"],
                        }
                    ],
                },
            }
        ]
    )
    fw = next(iter(snap.azure_firewalls.values()))
    engine = FirewallEngine(snap)
    d = engine.evaluate(fw, Protocol.TCP, ip("10.0.0.1"), ip("52.1.1.1"), 443)
    assert d.access is Verdict.UNKNOWN
    assert d.rule == "contoso"
    d = engine.evaluate(fw, Protocol.TCP, ip("10.0.0.1"), ip("52.1.1.1"), 443, fqdn="a.contoso.com")
    assert d.access is Verdict.ALLOW
    assert d.phase == "application"
    assert d.snat
    d = engine.evaluate(fw, Protocol.TCP, ip("10.0.0.1"), ip("52.1.1.1"), 80)
    assert d.access is Verdict.DENY  # no application rule on port 80


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample()


def _trace(snap: Snapshot, src: str, dst: str, port: int) -> Trace:
    tracer = Tracer(snap, Fabric(snap))
    return tracer.trace(
        resolve_endpoint(snap, src), resolve_endpoint(snap, dst), Protocol.TCP, port
    )


def test_sample_firewall_hop_names_the_deciding_rule(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-fwclient-01", "vm-svc-01", 22)
    hops = [h for h in trace.hops if h.kind == "firewall"]
    assert len(hops) == 1
    hop = hops[0]
    assert hop.name == "azfw-hub"
    assert hop.decision == "Deny"
    assert hop.status == "fail"
    assert hop.resource is not None
    assert hop.resource.endswith("rcg-contoso-baseline")
    assert hop.pointer == "/properties/ruleCollections/0/rules/0"
    assert "deny-ssh-rdp-east-west" in hop.detail
    (fw,) = trace.firewalls
    assert fw.access is Verdict.DENY


def test_sample_healthy_pair_keeps_the_source_and_returns_through_the_firewall(
    sample: Snapshot,
) -> None:
    trace = _trace(sample, "vm-fwclient-01", "vm-svc-01", 443)
    (fw,) = trace.firewalls
    assert fw.access is Verdict.ALLOW
    assert not fw.snat
    assert fw.rule == "clients-https-ssh"
    assert trace.outcome.value == "delivered"
    result = diagnose(sample, "vm-fwclient-01", "vm-svc-01", 443, "tcp")
    assert result.step(2).status.value == "pass"
