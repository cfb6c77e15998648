"""Security admin rules before NSGs (decisions A1-A6), in IP flow verify and in diagnose."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from builders import admin_rule_example

from vnetdoctor import load_sample
from vnetdoctor.api import diagnose
from vnetdoctor.engine.admin_rules import evaluate_admin_rules, ordered
from vnetdoctor.engine.nsg import Verdict, ip_flow_verify
from vnetdoctor.ingest.loader import load_snapshot, snapshot_from_json
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import AddressPrefix, PortRange, Protocol
from vnetdoctor.model.network_manager import AdminAccess, SecurityAdminRule
from vnetdoctor.model.security import Access, Direction
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.samples import snapshot_files

SUB = "/subscriptions/3f2b9c1e-7d4a-4e8b-9a61-5c0d2e8f7a14"
DATA = f"{SUB}/resourceGroups/rg-spoke-data/providers/Microsoft.Network/virtualNetworks/" + (
    "vnet-spoke-data"
)
NM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkManagers/nm"
ip = ipaddress.ip_address

# The literal response of NetworkManagerEffectiveSecurityAdminRulesList.json (2023-09-01, S123).
SPEC_EXAMPLE: dict[str, Any] = admin_rule_example()


def _envelope(vnet: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"{vnet}/networkManagerEffectiveSecurityAdminRules",
        "type": "Microsoft.Network/virtualNetworks/networkManagerEffectiveSecurityAdminRules",
        "properties": {"virtualNetwork": {"id": vnet}, "value": rules},
    }


def test_the_spec_example_loads_as_a_default_rule() -> None:
    vnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
    snap = snapshot_from_json([_envelope(vnet, [SPEC_EXAMPLE])])
    rules = snap.admin_rules_for(ResourceId(vnet))
    assert rules is not None
    (rule,) = rules
    assert rule.name == "SampleAdminRule"
    assert rule.kind == "Default"
    assert rule.flag == "AllowVnetInbound"
    assert rule.admin_access is AdminAccess.DENY
    assert rule.access is Access.DENY
    assert rule.priority == 1
    assert rule.direction is Direction.INBOUND
    assert rule.destination_port_ranges == (PortRange(22, 22),)
    assert rule.pointer == "/properties/value/0"
    assert rule.rule_name == "SampleAdminRule"


def _rule(name: str, priority: int, access: AdminAccess) -> SecurityAdminRule:
    return SecurityAdminRule(
        id=ResourceId(f"{NM}/securityAdminConfigurations/c/ruleCollections/rc/rules/{name}"),
        name=name,
        priority=priority,
        direction=Direction.INBOUND,
        access=Access.DENY if access is AdminAccess.DENY else Access.ALLOW,
        protocol=Protocol.ANY,
        source_address_prefixes=(AddressPrefix.parse("*"),),
        destination_address_prefixes=(AddressPrefix.parse("10.0.0.0/8"),),
        admin_access=access,
    )


def test_lowest_priority_wins_and_ties_prefer_deny() -> None:
    rules = [
        _rule("allow", 5, AdminAccess.ALLOW),
        _rule("always", 5, AdminAccess.ALWAYS_ALLOW),
        _rule("deny", 5, AdminAccess.DENY),
        _rule("first", 1, AdminAccess.ALLOW),
    ]
    assert [r.name for r in ordered(rules)] == ["first", "deny", "always", "allow"]
    got = evaluate_admin_rules(
        rules[:3], Direction.INBOUND, Protocol.TCP, ip("1.2.3.4"), ip("10.1.1.1"), None, 80
    )
    assert got.access is AdminAccess.DENY
    got = evaluate_admin_rules(
        rules, Direction.OUTBOUND, Protocol.TCP, ip("1.2.3.4"), ip("10.1.1.1"), None, 80
    )
    assert got.rule is None  # direction differs
    got = evaluate_admin_rules(
        rules, Direction.INBOUND, Protocol.TCP, ip("1.2.3.4"), ip("11.1.1.1"), None, 80
    )
    assert got.rule is None  # destination outside 10/8


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample()


def test_ip_flow_verify_applies_admin_rules_first(sample: Snapshot) -> None:
    v = ip_flow_verify(sample, "nic-vm-svc-01", "Inbound", "Tcp", "10.0.5.4:23", "10.0.6.4:5000")
    azure = v.to_azure()
    assert azure["access"] == "Deny"
    assert azure["ruleName"] == "Block-Telnet-NFS-Inbound"
    assert azure["adminRuleId"].endswith(
        "/ruleCollections/rc-block-high-risk/rules/" + azure["ruleName"]
    )
    assert [layer.layer for layer in v.layers] == ["securityAdmin"]
    v = ip_flow_verify(sample, "nic-vm-svc-01", "Inbound", "Tcp", "10.0.5.4:80", "10.0.6.4:5000")
    assert v.access is Verdict.ALLOW  # no admin match: the NSGs (none) decide
    assert [layer.layer for layer in v.layers] != ["securityAdmin"]


def _with_spoke_data_rules(tmp_path: Path, rules: list[dict[str, Any]]) -> Snapshot:
    extra = tmp_path / "admin.json"
    extra.write_text(json.dumps(_envelope(DATA, rules)))
    return load_snapshot([*snapshot_files(), extra])


def _admin(name: str, access: str, priority: int = 100) -> dict[str, Any]:
    return {
        "id": f"{NM}/securityAdminConfigurations/c/ruleCollections/rc/rules/{name}",
        "kind": "Custom",
        "properties": {
            "protocol": "Tcp",
            "sources": [{"addressPrefixType": "IPPrefix", "addressPrefix": "10.1.1.0/24"}],
            "destinations": [
                {"addressPrefixType": "ServiceTag", "addressPrefix": "VirtualNetwork"}
            ],
            "sourcePortRanges": ["0-65535"],
            "destinationPortRanges": ["5432"],
            "direction": "Inbound",
            "access": access,
            "priority": priority,
        },
    }


def test_always_allow_skips_the_nsg_that_denies(tmp_path: Path) -> None:
    # pair 3 of docs/sample.md: nsg-snet-data's Deny-Web-Tier-To-Data blocks vm-web-01 -> vm-db-01
    snap = _with_spoke_data_rules(tmp_path, [_admin("always-web-db", "AlwaysAllow")])
    result = diagnose(snap, "vm-web-01", "vm-db-01", 5432, "tcp")
    codes = {f.code for s in result.steps for f in s.findings}
    assert "NSG_DENY" not in codes
    assert result.step(2).status.value == "pass"


def test_admin_allow_falls_through_to_the_nsgs(tmp_path: Path) -> None:
    snap = _with_spoke_data_rules(tmp_path, [_admin("allow-web-db", "Allow")])
    result = diagnose(snap, "vm-web-01", "vm-db-01", 5432, "tcp")
    codes = {f.code for s in result.steps for f in s.findings}
    assert "NSG_DENY" in codes


def test_admin_deny_wins_over_nsg_allow(tmp_path: Path) -> None:
    # pair 1's flow (vm-app-01 -> vm-db-01) is allowed by nsg-snet-data; an admin Deny drops it
    rule = _admin("deny-db", "Deny")
    rule["properties"]["sources"] = [{"addressPrefixType": "IPPrefix", "addressPrefix": "*"}]
    snap = _with_spoke_data_rules(tmp_path, [rule])
    result = diagnose(snap, "vm-app-01", "vm-db-01", 5432, "tcp")
    blockers = [b for b in result.blockers if b.code == "ADMIN_RULE_DENY"]
    assert len(blockers) == 1
    assert blockers[0].resource is not None
    assert str(blockers[0].resource).endswith("/rules/deny-db")
    assert "NSG_DENY" not in {b.code for b in result.blockers}


def _unknown_spoke_data(tmp_path: Path) -> Snapshot:
    """vnet-spoke-data's admin rules asked for and refused, as `vnetdoctor collect` records it."""
    extra = tmp_path / "admin.json"
    extra.write_text(
        json.dumps(
            {
                "type": "vnetdoctor/effectiveSecurityAdminRules",
                "virtualNetworkId": DATA,
                "error": {"status": 403, "code": "AuthorizationFailed", "message": "denied"},
            }
        )
    )
    return load_snapshot([*snapshot_files(), extra])


def test_unknown_admin_rules_turn_an_nsg_allow_into_unknown(tmp_path: Path) -> None:
    # pair 1's flow (vm-app-01 -> vm-db-01) is allowed by nsg-snet-data: with the admin rules of
    # vnet-spoke-data unknown, an admin Deny could drop it, so it must not be "reachable"
    snap = _unknown_spoke_data(tmp_path)
    v = ip_flow_verify(snap, "nic-vm-db-01", "Inbound", "Tcp", "10.2.1.4:5432", "10.1.2.4:50000")
    assert v.access is Verdict.UNKNOWN
    assert v.layers[0].layer == "securityAdmin"
    assert v.layers[0].access is Verdict.UNKNOWN
    assert any("unknown (Azure did not list them (HTTP 403" in n for n in v.notes)
    result = diagnose(snap, "vm-app-01", "vm-db-01", 5432, "tcp")
    assert result.verdict.value != "reachable"
    assert result.step(2).status.value == "unknown"
    unknown = [f for f in result.step(2).findings if f.code == "NSG_UNKNOWN"]
    assert unknown
    assert "vnet-spoke-data are unknown" in unknown[0].message


def test_unknown_admin_rules_keep_an_nsg_deny(tmp_path: Path) -> None:
    # pair 3: nsg-snet-data denies vm-web-01 -> vm-db-01; only an admin AlwaysAllow, which nothing
    # says exists, could lift that: the NSG deny stands, with a note
    snap = _unknown_spoke_data(tmp_path)
    result = diagnose(snap, "vm-web-01", "vm-db-01", 5432, "tcp")
    assert result.verdict.value == "blocked"
    assert "NSG_DENY" in {b.code for b in result.blockers}
    v = ip_flow_verify(snap, "nic-vm-db-01", "Inbound", "Tcp", "10.2.1.4:5432", "10.1.1.4:50000")
    assert v.access is Verdict.DENY
    assert any("AlwaysAllow would override" in n for n in v.notes)


def test_other_vnets_are_unaffected_by_one_unknown(tmp_path: Path) -> None:
    snap = _unknown_spoke_data(tmp_path)
    v = ip_flow_verify(snap, "nic-vm-svc-01", "Inbound", "Tcp", "10.0.5.4:80", "10.0.6.4:5000")
    assert v.access is Verdict.ALLOW
