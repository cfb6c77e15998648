"""NSG evaluation: rule matching, layering, unknowns, effective rules, explanations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import RG, default_rules, nsg, rule, subnet, vm, vnet

from vnetdoctor import ResourceNotFound, Snapshot, UsageError, load_snapshot
from vnetdoctor.engine.nsg import (
    CompiledRules,
    FlowAccess,
    FlowContext,
    NsgEngine,
    effective_security_rules,
    interface_holding,
    ip_flow_verify,
    parse_endpoint,
    security_group_view,
)
from vnetdoctor.engine.tags import Match
from vnetdoctor.ingest.servicetags import parse_service_tags
from vnetdoctor.model.net import Protocol, parse_ip
from vnetdoctor.model.security import Direction

NET = f"{RG}/Microsoft.Network"
VNET1 = f"{NET}/virtualNetworks/vnet1"
SUBNET1 = f"{VNET1}/subnets/default"


def nsg_id(name: str) -> str:
    return f"{NET}/networkSecurityGroups/{name}"


def nic(name: str = "nic1", ip: str = "10.0.0.4", subnet_id: str = SUBNET1,
        nsg_name: str | None = None, asgs: tuple[str, ...] = ()) -> dict[str, Any]:
    nid = f"{NET}/networkInterfaces/{name}"
    props: dict[str, Any] = {
        "ipConfigurations": [{
            "id": f"{nid}/ipConfigurations/ipconfig1", "name": "ipconfig1",
            "properties": {
                "privateIPAddress": ip, "subnet": {"id": subnet_id}, "primary": True,
                "applicationSecurityGroups": [
                    {"id": f"{NET}/applicationSecurityGroups/{a}"} for a in asgs],
            },
        }],
    }
    if nsg_name:
        props["networkSecurityGroup"] = {"id": nsg_id(nsg_name)}
    return {"id": nid, "name": name, "type": "Microsoft.Network/networkInterfaces",
            "location": "westeurope", "properties": props}


def estate(tmp_path: Path, *, nic_nsg: list[dict[str, Any]] | None = None,
           subnet_nsg: list[dict[str, Any]] | None = None,
           extra: list[dict[str, Any]] | None = None, **vnet_props: Any) -> Snapshot:
    """vnet1 10.0.0.0/16 with subnet default 10.0.0.0/24, NIC nic1 10.0.0.4 on VM vm1; optional
    NSGs on the NIC (nsg-nic) and the subnet (nsg-subnet) holding the given custom rules."""
    subnet_props = ({"networkSecurityGroup": {"id": nsg_id("nsg-subnet")}}
                    if subnet_nsg is not None else {})
    resources = [
        vnet("vnet1", "10.0.0.0/16", [subnet(VNET1, "default", "10.0.0.0/24", **subnet_props)],
             **vnet_props),
        nic("nic1", "10.0.0.4", nsg_name="nsg-nic" if nic_nsg is not None else None),
        vm("vm1", ["nic1"]),
    ]
    if nic_nsg is not None:
        resources.append(nsg("nsg-nic", nic_nsg))
    if subnet_nsg is not None:
        resources.append(nsg("nsg-subnet", subnet_nsg))
    resources.extend(extra or [])
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources))
    return load_snapshot(path)


def verify(snap: Snapshot, direction: str, local: str, remote: str, protocol: str = "Tcp",
           **kw: Any) -> Any:
    return ip_flow_verify(snap, "nic1", direction, protocol, local, remote, **kw)


def test_default_rules_missing_from_the_export_still_decide(tmp_path: Path) -> None:
    estate(tmp_path, nic_nsg=[])
    path = tmp_path / "estate.json"
    resources = json.loads(path.read_text())
    [group] = [r for r in resources if r["name"] == "nsg-nic"]
    group["properties"]["defaultSecurityRules"] = [
        r for r in default_rules(nsg_id("nsg-nic"))
        if r["name"] not in ("AllowVnetInBound", "DenyAllInBound")
    ]
    path.write_text(json.dumps(resources))
    snap = load_snapshot(path)
    assert any(w.field == "defaultSecurityRules" for w in snap.warnings)
    inside = verify(snap, "Inbound", "10.0.0.4:22", "10.0.0.5:1")
    assert (inside.access, inside.rule_name) == (
        FlowAccess.ALLOW, "defaultSecurityRules/AllowVnetInBound")
    outside = verify(snap, "Inbound", "10.0.0.4:22", "203.0.113.9:1")
    assert (outside.access, outside.rule_name) == (
        FlowAccess.DENY, "defaultSecurityRules/DenyAllInBound")


# ---------------------------------------------------------------------------------------------
# Single rules
# ---------------------------------------------------------------------------------------------
def test_custom_rule_allows_and_is_named_as_azure_names_it(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("allow-ssh", 1000)])
    v = verify(snap, "Inbound", "10.0.0.4:22", "203.0.113.9:50000")
    assert v.to_azure() == {"access": "Allow", "ruleName": "securityRules/allow-ssh"}
    assert v.pointer == "/properties/securityRules/0"
    assert str(v.nsg_id).endswith("/networkSecurityGroups/nsg-nic")


def test_default_rule_denies_what_no_custom_rule_allows(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("allow-ssh", 1000)])
    v = verify(snap, "Inbound", "10.0.0.4:23", "203.0.113.9:50000")
    assert v.to_azure() == {"access": "Deny", "ruleName": "defaultSecurityRules/DenyAllInBound"}
    assert v.pointer == "/properties/defaultSecurityRules/2"


def test_priority_order_not_list_order(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("allow", 200), rule("deny", 100, access="Deny")])
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1").rule_name == "securityRules/deny"


@pytest.mark.parametrize(("rule_protocol", "protocol", "matches"), [
    ("*", "Icmp", True), ("*", "Esp", True), ("*", "Ah", True), ("*", "Udp", True),
    ("Tcp", "Udp", False), ("Udp", "Udp", True), ("Icmp", "Icmp", True), ("Icmp", "Tcp", False),
])
def test_protocols(tmp_path: Path, rule_protocol: str, protocol: str, matches: bool) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("r", 100, protocol=rule_protocol,
                                          destinationPortRange="*")])
    v = verify(snap, "Inbound", "10.0.0.4:7", "1.2.3.4:9", protocol=protocol)
    assert (v.rule_name == "securityRules/r") is matches


def test_plural_prefixes_and_port_lists(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule(
        "web", 100, sourceAddressPrefix=None,
        sourceAddressPrefixes=["198.51.100.0/24", "203.0.113.7"],
        destinationPortRange=None, destinationPortRanges=["80", "8000-8100"])])
    assert verify(snap, "Inbound", "10.0.0.4:8050", "203.0.113.7:1").access is FlowAccess.ALLOW
    assert verify(snap, "Inbound", "10.0.0.4:80", "198.51.100.200:1").access is FlowAccess.ALLOW
    assert verify(snap, "Inbound", "10.0.0.4:8101", "198.51.100.1:1").access is FlowAccess.DENY
    assert verify(snap, "Inbound", "10.0.0.4:80", "203.0.113.8:1").access is FlowAccess.DENY


def test_source_port_ranges(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("r", 100, sourcePortRange="1024-2048")])
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1500").access is FlowAccess.ALLOW
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:80").access is FlowAccess.DENY


def test_wildcard_port_against_a_partial_rule_is_unknown(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("r", 100, sourcePortRange="1024-2048", access="Deny")])
    v = verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:*")
    assert v.access is FlowAccess.UNKNOWN
    assert "covers only some ports" in v.notes[0]
    full = estate(tmp_path, nic_nsg=[rule("r", 100, sourcePortRanges=["0-1000", "1001-65535"],
                                          sourcePortRange=None)])
    assert verify(full, "Inbound", "10.0.0.4:22", "1.2.3.4:*").access is FlowAccess.ALLOW


def test_rules_of_the_other_direction_are_ignored(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("out-deny", 100, access="Deny", direction="Outbound",
                                          destinationPortRange="*")])
    assert verify(snap, "Inbound", "10.0.0.4:22", "10.0.0.5:1").rule_name == \
        "defaultSecurityRules/AllowVnetInBound"
    assert verify(snap, "Outbound", "10.0.0.4:1", "10.0.0.5:22").rule_name == \
        "securityRules/out-deny"


# ---------------------------------------------------------------------------------------------
# Layering
# ---------------------------------------------------------------------------------------------
def test_inbound_subnet_nsg_first(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("nic-allow", 100)],
                  subnet_nsg=[rule("subnet-deny", 100, access="Deny")])
    v = verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1")
    assert v.rule_name == "securityRules/subnet-deny"
    assert [layer.layer for layer in v.layers] == ["subnet", "networkInterface"]


def test_outbound_nic_nsg_first(tmp_path: Path) -> None:
    out = {"direction": "Outbound", "destinationPortRange": "443"}
    snap = estate(tmp_path, nic_nsg=[rule("nic-deny", 100, access="Deny", **out)],
                  subnet_nsg=[rule("subnet-deny", 100, access="Deny", **out)])
    v = verify(snap, "Outbound", "10.0.0.4:*", "8.8.8.8:443")
    assert v.rule_name == "securityRules/nic-deny"
    assert [layer.layer for layer in v.layers] == ["networkInterface", "subnet"]


def test_both_must_allow_and_the_last_nsg_is_named(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("nic-allow", 100)],
                  subnet_nsg=[rule("subnet-allow", 100)])
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1").rule_name == \
        "securityRules/nic-allow"
    snap2 = estate(tmp_path, nic_nsg=[], subnet_nsg=[rule("subnet-allow", 100)])
    v = verify(snap2, "Inbound", "10.0.0.4:22", "1.2.3.4:1")
    assert v.to_azure() == {"access": "Deny", "ruleName": "defaultSecurityRules/DenyAllInBound"}
    assert v.layers[0].access is FlowAccess.ALLOW


def test_a_missing_nsg_allows(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("allow", 100)])
    v = verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1")
    assert v.access is FlowAccess.ALLOW
    assert v.layers[0].nsg_id is None
    bare = estate(tmp_path)
    v = verify(bare, "Inbound", "10.0.0.4:3389", "1.2.3.4:1")
    assert v.to_azure() == {"access": "Allow"}
    assert "all traffic is allowed" in v.notes[0]


def test_an_nsg_absent_from_the_snapshot_is_unknown(tmp_path: Path) -> None:
    snap = estate(tmp_path, extra=[])
    resources = json.loads((tmp_path / "estate.json").read_text())
    resources[1]["properties"]["networkSecurityGroup"] = {"id": nsg_id("gone")}
    path = tmp_path / "dangling.json"
    path.write_text(json.dumps(resources))
    snap = load_snapshot(path)
    v = verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1")
    assert v.to_azure() == {"access": "Unknown"}
    assert "'gone'" in v.notes[0]
    assert "not in the snapshot" in v.notes[0]


def test_a_later_deny_decides_even_after_an_unknown_layer(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("deny-all-out", 100, access="Deny",
                                          direction="Outbound", destinationPortRange="*")])
    resources = json.loads((tmp_path / "estate.json").read_text())
    resources[0]["properties"]["subnets"][0]["properties"]["networkSecurityGroup"] = {
        "id": nsg_id("gone")}
    path = tmp_path / "dangling.json"
    path.write_text(json.dumps(resources))
    snap = load_snapshot(path)
    outbound = verify(snap, "Outbound", "10.0.0.4:1", "8.8.8.8:443")
    assert outbound.rule_name == "securityRules/deny-all-out"  # NIC first, nothing to undo
    assert outbound.notes == ()
    inbound = verify(snap, "Inbound", "10.0.0.4:22", "8.8.8.8:1")
    assert inbound.to_azure() == {"access": "Deny",
                                  "ruleName": "defaultSecurityRules/DenyAllInBound"}
    assert "denied either way" in inbound.notes[0]


def test_a_nic_whose_vnet_is_missing_has_an_unknown_subnet_layer(tmp_path: Path) -> None:
    resources = [nic("nic1", "10.0.0.4", nsg_name="nsg-nic"), nsg("nsg-nic", [rule("a", 100)]),
                 vm("vm1", ["nic1"])]
    path = tmp_path / "novnet.json"
    path.write_text(json.dumps(resources))
    snap = load_snapshot(path)
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1").access is FlowAccess.UNKNOWN
    # Outbound: the NIC's NSG denies first, so the missing subnet does not matter.
    v = verify(snap, "Outbound", "10.0.0.4:1", "10.9.9.9:22")
    assert v.access is FlowAccess.UNKNOWN  # AllowVnetOutBound needs the VirtualNetwork tag


# ---------------------------------------------------------------------------------------------
# Tags, ASGs, problems
# ---------------------------------------------------------------------------------------------
def test_virtual_network_tag_and_internet(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[])
    assert verify(snap, "Inbound", "10.0.0.4:22", "10.0.200.1:1").rule_name == \
        "defaultSecurityRules/AllowVnetInBound"
    assert verify(snap, "Inbound", "10.0.0.4:22", "168.63.129.16:1").rule_name == \
        "defaultSecurityRules/AllowVnetInBound"
    assert verify(snap, "Outbound", "10.0.0.4:1", "8.8.8.8:53").rule_name == \
        "defaultSecurityRules/AllowInternetOutBound"
    # 10.1.0.1: neither VirtualNetwork nor Internet.
    assert verify(snap, "Outbound", "10.0.0.4:1", "10.1.0.1:53").rule_name == \
        "defaultSecurityRules/DenyAllOutBound"
    # 13.96.0.1: Azure's Internet tag excluded it in some years only.
    drifting = verify(snap, "Outbound", "10.0.0.4:1", "13.96.0.1:443")
    assert drifting.access is FlowAccess.UNKNOWN
    assert "Internet" in drifting.notes[0]


def test_azure_load_balancer_tag(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[])
    assert verify(snap, "Inbound", "10.0.0.4:80", "168.63.129.16:1").access is FlowAccess.ALLOW
    snap2 = estate(tmp_path, nic_nsg=[rule("lb-only", 100, sourceAddressPrefix="AzureLoadBalancer",
                                           destinationPortRange="*", access="Deny")])
    assert verify(snap2, "Inbound", "10.0.0.4:80", "168.63.129.16:1").rule_name == \
        "securityRules/lb-only"


def test_unknown_service_tag_is_unknown_and_named(tmp_path: Path) -> None:
    rules = [rule("storage", 100, direction="Outbound", destinationAddressPrefix="Storage",
                  destinationPortRange="443", access="Deny")]
    snap = estate(tmp_path, nic_nsg=rules)
    v = verify(snap, "Outbound", "10.0.0.4:1", "20.60.1.2:443")
    assert v.to_azure() == {"access": "Unknown"}
    assert "'Storage'" in v.notes[0]
    assert "--service-tags" in v.notes[0]
    # A packet the rule cannot match (another port) is decided without the tag.
    assert verify(snap, "Outbound", "10.0.0.4:1", "20.60.1.2:80").access is FlowAccess.ALLOW
    tags = parse_service_tags(json.dumps({"changeNumber": 1, "values": [
        {"name": "Storage", "id": "Storage", "properties": {"addressPrefixes": ["20.60.0.0/16"]}},
    ]}), path="tags.json")
    assert verify(snap, "Outbound", "10.0.0.4:1", "20.60.1.2:443",
                  service_tags=tags).rule_name == "securityRules/storage"
    assert verify(snap, "Outbound", "10.0.0.4:1", "20.61.1.2:443",
                  service_tags=tags).access is FlowAccess.ALLOW
    missing = parse_service_tags('{"values": []}', path="empty.json")
    v = verify(snap, "Outbound", "10.0.0.4:1", "20.60.1.2:443", service_tags=missing)
    assert v.access is FlowAccess.UNKNOWN
    assert "not in empty.json" in v.notes[0]


def test_udr_prefix_in_virtual_network_states_the_assumption(tmp_path: Path) -> None:
    table = {
        "id": f"{NET}/routeTables/rt1", "name": "rt1", "type": "Microsoft.Network/routeTables",
        "properties": {"routes": [{"name": "to-onprem", "properties": {
            "addressPrefix": "172.20.0.0/16", "nextHopType": "VirtualAppliance",
            "nextHopIpAddress": "10.0.1.4"}}]},
    }
    resources = [
        vnet("vnet1", "10.0.0.0/16", [subnet(VNET1, "default", "10.0.0.0/24",
                                             routeTable={"id": table["id"]})]),
        nic("nic1", "10.0.0.4", nsg_name="nsg-nic"), nsg("nsg-nic", []), vm("vm1", ["nic1"]),
    ]
    path = tmp_path / "udr.json"
    path.write_text(json.dumps([*resources, table]))
    v = verify(load_snapshot(path), "Inbound", "10.0.0.4:22", "172.20.1.1:1")
    assert v.rule_name == "defaultSecurityRules/AllowVnetInBound"
    assert any("nsg.md#nsg-2" in n for n in v.notes)
    path.write_text(json.dumps(resources))  # the route table is referenced but absent
    v = verify(load_snapshot(path), "Inbound", "10.0.0.4:22", "172.20.1.1:1")
    assert v.access is FlowAccess.UNKNOWN
    assert "rt1" in v.notes[0]


def asg(name: str) -> dict[str, Any]:
    return {"id": f"{NET}/applicationSecurityGroups/{name}", "name": name,
            "type": "Microsoft.Network/applicationSecurityGroups", "properties": {}}


def test_application_security_groups(tmp_path: Path) -> None:
    asg_rule = rule("web-from-app", 100, sourceAddressPrefix=None,
                    sourceApplicationSecurityGroups=[{"id": asg("app")["id"]}],
                    destinationAddressPrefix=None,
                    destinationApplicationSecurityGroups=[{"id": asg("web")["id"]}],
                    destinationPortRange="443")
    deny_vnet = rule("deny-vnet", 200, sourceAddressPrefix="VirtualNetwork",
                     destinationPortRange="*", access="Deny")
    resources = [
        vnet("vnet1", "10.0.0.0/16", [subnet(VNET1, "default", "10.0.0.0/24")]),
        nic("nic1", "10.0.0.4", nsg_name="nsg-nic", asgs=("web",)),
        nic("nic2", "10.0.0.5", asgs=("app",)),
        nic("nic3", "10.0.0.6"),
        nsg("nsg-nic", [asg_rule, deny_vnet]), asg("app"), asg("web"), vm("vm1", ["nic1"]),
    ]
    path = tmp_path / "asg.json"
    path.write_text(json.dumps(resources))
    snap = load_snapshot(path)
    assert verify(snap, "Inbound", "10.0.0.4:443", "10.0.0.5:1").rule_name == \
        "securityRules/web-from-app"
    assert verify(snap, "Inbound", "10.0.0.4:443", "10.0.0.6:1").rule_name == \
        "securityRules/deny-vnet"
    # 10.0.0.9 is in the VNet but no NIC of the snapshot holds it: membership unknown.
    unknown = verify(snap, "Inbound", "10.0.0.4:443", "10.0.0.9:1")
    assert unknown.access is FlowAccess.UNKNOWN
    assert "application security groups" in unknown.notes[0]
    # Outside the VNet: not a member of any ASG.
    assert verify(snap, "Inbound", "10.0.0.4:443", "8.8.8.8:1").rule_name == \
        "defaultSecurityRules/DenyAllInBound"


def test_a_rule_with_problems_is_unknown_when_reached(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[
        rule("broken", 100, destinationPortRange="http", access="Deny"),
        rule("allow", 200, destinationPortRange="*", protocol="*"),
    ])
    v = verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1")
    assert v.access is FlowAccess.UNKNOWN
    assert "securityRules/broken" in v.notes[0]
    # The broken rule is Tcp-only: a UDP packet never reaches its bad port field.
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1", protocol="Udp").rule_name == \
        "securityRules/allow"


def test_missing_priority_makes_any_possible_match_unknown(tmp_path: Path) -> None:
    nopriority = rule("nopriority")
    del nopriority["properties"]["priority"]
    snap = estate(tmp_path, nic_nsg=[nopriority, rule("allow", 200, destinationPortRange="*")])
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1").access is FlowAccess.UNKNOWN
    assert verify(snap, "Inbound", "10.0.0.4:80", "1.2.3.4:1").rule_name == \
        "securityRules/allow"


def test_equal_priorities_with_different_access_are_unknown(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("a", 100), rule("b", 100, access="Deny")])
    assert verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1").access is FlowAccess.UNKNOWN
    same = estate(tmp_path, nic_nsg=[rule("a", 100), rule("b", 100)])
    assert verify(same, "Inbound", "10.0.0.4:22", "1.2.3.4:1").access is FlowAccess.ALLOW


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "ip", "port"), [
    ("10.0.0.4:22", "10.0.0.4", 22), ("10.0.0.4:*", "10.0.0.4", None),
    ("[2001:db8::1]:443", "2001:db8::1", 443), (" 1.2.3.4:0 ", "1.2.3.4", 0),
])
def test_parse_endpoint(text: str, ip: str, port: int | None) -> None:
    assert parse_endpoint(text) == (parse_ip(ip), port)


@pytest.mark.parametrize("text", ["10.0.0.4", "10.0.0.4:", "10.0.0.4:65536", "10.0.0.4:-1",
                                  "nope:22", "2001:db8::1:22", "[2001:db8::1]", "1.2.3.4:ssh"])
def test_parse_endpoint_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected|invalid"):
        parse_endpoint(text)


def test_local_ip_must_be_on_the_nic(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[])
    with pytest.raises(UsageError, match=r"10\.0\.0\.9 is not a private IP .*nic1.*10\.0\.0\.4"):
        verify(snap, "Inbound", "10.0.0.9:22", "1.2.3.4:1")
    with pytest.raises(UsageError, match="not a private IP of VM 'vm1'"):
        interface_holding(snap, "vm1", parse_ip("10.0.0.9"))
    assert interface_holding(snap, "VM1", parse_ip("10.0.0.4")).name == "nic1"
    with pytest.raises(ResourceNotFound):
        ip_flow_verify(snap, "nic9", "Inbound", "Tcp", "10.0.0.4:22", "1.2.3.4:1")
    with pytest.raises(UsageError, match="direction"):
        verify(snap, "Sideways", "10.0.0.4:22", "1.2.3.4:1")
    with pytest.raises(UsageError, match="remote"):
        verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4")


# ---------------------------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------------------------
def test_explain_lists_every_rule_field_by_field(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("deny-telnet", 100, destinationPortRange="23",
                                          access="Deny"), rule("allow-ssh", 200)])
    v = verify(snap, "Inbound", "10.0.0.4:22", "1.2.3.4:1", explain=True)
    nic_layer = v.layers[1]
    outcomes = {e.rule.name: e.outcome for e in nic_layer.evaluations}
    assert outcomes == {"deny-telnet": "no match", "allow-ssh": "decides",
                        "AllowVnetInBound": "not reached",
                        "AllowAzureLoadBalancerInBound": "not reached",
                        "DenyAllInBound": "not reached"}
    telnet = nic_layer.evaluations[0]
    assert telnet.destination_port is Match.NO
    assert telnet.protocol is Match.YES
    data = v.to_json(explain=True)
    assert data["access"] == "Allow"
    assert data["explain"]["layers"][1]["rules"][0]["fields"]["destinationPort"] == "no"
    assert "explain" not in v.to_json()


def test_compiled_rules_can_be_used_directly(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("allow-ssh", 100)])
    group = snap.network_security_groups.find("nsg-nic")
    engine = NsgEngine(snap)
    compiled = CompiledRules.compile((*group.security_rules, *group.default_security_rules),
                                     Direction.INBOUND, engine.expander(None))
    flow = FlowContext(Protocol.TCP, parse_ip("1.2.3.4"), parse_ip("10.0.0.4"), 1, 22)
    assert compiled.decide(flow).rule is group.security_rules[0]


# ---------------------------------------------------------------------------------------------
# Effective rules and the security group view
# ---------------------------------------------------------------------------------------------
def test_effective_rules_shape(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("ssh", 1000, sourceAddressPrefix="10.1.2.3")],
                  subnet_nsg=[rule("web", 100, destinationPortRanges=["80", "443"],
                                   destinationPortRange=None, protocol="*")])
    result = effective_security_rules(snap, "nic1")
    assert result.complete
    value = result.to_azure()["value"]
    assert [list(e["association"]) for e in value] == [["networkInterface"], ["subnet"]]
    ssh = value[0]["effectiveSecurityRules"][0]
    assert ssh == {
        "name": "securityRules/ssh", "protocol": "Tcp",
        "sourcePortRange": "0-65535", "destinationPortRange": "22-22",
        "sourcePortRanges": ["0-65535"], "destinationPortRanges": ["22-22"],
        "sourceAddressPrefix": "10.1.2.3/32", "destinationAddressPrefix": "0.0.0.0/0",
        "sourceAddressPrefixes": ["10.1.2.3/32"], "destinationAddressPrefixes": ["0.0.0.0/0"],
        "access": "Allow", "priority": 1000, "direction": "Inbound",
    }
    web = value[1]["effectiveSecurityRules"][0]
    assert web["protocol"] == "All"
    assert web["destinationPortRanges"] == ["80-80", "443-443"]
    vnet_in = next(r for r in value[0]["effectiveSecurityRules"]
                   if r["name"] == "defaultSecurityRules/AllowVnetInBound")
    assert vnet_in["expandedSourceAddressPrefix"] == ["10.0.0.0/16", "168.63.129.16/32"]
    assert value[0]["tagMap"]["AzureLoadBalancer"] == ["168.63.129.16/32",
                                                      "fe80::1234:5678:9abc/128"]
    assert len(value[0]["tagMap"]["Internet"]) == 282


def test_effective_rules_note_what_is_missing(tmp_path: Path) -> None:
    snap = estate(tmp_path, nic_nsg=[rule("storage", 100, destinationAddressPrefix="Storage")])
    result = effective_security_rules(snap, "nic1")
    assert not result.complete
    assert any("Storage" in n for n in result.notes)
    rule_out = result.value[0]["effectiveSecurityRules"][0]
    assert rule_out["expandedDestinationAddressPrefix"] == []
    bare = estate(tmp_path)
    assert effective_security_rules(bare, "nic1").to_azure() == {"value": []}


def test_security_group_view_shape(tmp_path: Path) -> None:
    snap = estate(tmp_path, subnet_nsg=[rule("web", 100, destinationPortRange="443")])
    view = security_group_view(snap, "vm1").to_azure()
    (entry,) = view["networkInterfaces"]
    assoc = entry["securityRuleAssociations"]
    assert "networkInterfaceAssociation" not in assoc
    assert assoc["subnetAssociation"]["securityRules"][0]["properties"]["destinationPortRange"] \
        == "443"
    names = [r["name"] for r in assoc["effectiveSecurityRules"]]
    assert names[:4] == ["DefaultOutboundDenyAll", "DefaultRule_AllowVnetOutBound",
                         "DefaultRule_AllowInternetOutBound", "DefaultRule_DenyAllOutBound"]
    assert "UserRule_web" in names
    assert len(assoc["defaultSecurityRules"]) == 6


# ---------------------------------------------------------------------------------------------
# A hand-written snapshot without Azure's default rules
# ---------------------------------------------------------------------------------------------
def _without_defaults(tmp_path: Path, defaults: list[dict[str, Any]] | None) -> Snapshot:
    """nic1 with NSG nsg-nic holding one custom rule (SSH in) and ``defaults`` as its
    ``defaultSecurityRules`` (``None``: the key absent, as in a trimmed export)."""
    body = nsg("nsg-nic", [rule("allow-ssh", 1000)], defaults=False)
    if defaults is not None:
        body["properties"]["defaultSecurityRules"] = defaults
    resources = [
        vnet("vnet1", "10.0.0.0/16", [subnet(VNET1, "default", "10.0.0.0/24")]),
        nic("nic1", "10.0.0.4", nsg_name="nsg-nic"),
        vm("vm1", ["nic1"]),
        body,
    ]
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources))
    return load_snapshot(path)


def test_an_nsg_without_default_rules_gets_azures_six(tmp_path: Path) -> None:
    """Azure never lists an NSG without its default rules and they cannot be removed: a body
    without ``defaultSecurityRules`` is evaluated with them, and the snapshot says so."""
    snap = _without_defaults(tmp_path, None)
    assert [(w.kind.value, w.field) for w in snap.warnings] == [
        ("default_assumed", "defaultSecurityRules")]
    denied = verify(snap, "Inbound", "10.0.0.4:23", "203.0.113.9:50000")
    assert denied.to_azure() == {"access": "Deny",
                                 "ruleName": "defaultSecurityRules/DenyAllInBound"}
    vnet_in = verify(snap, "Inbound", "10.0.0.4:80", "10.0.0.9:50000")
    assert vnet_in.to_azure() == {"access": "Allow",
                                  "ruleName": "defaultSecurityRules/AllowVnetInBound"}
    out = verify(snap, "Outbound", "10.0.0.4:*", "203.0.113.9:443")
    assert out.to_azure() == {"access": "Allow",
                              "ruleName": "defaultSecurityRules/AllowInternetOutBound"}
    assert verify(snap, "Inbound", "10.0.0.4:22", "203.0.113.9:1").rule_name == (
        "securityRules/allow-ssh")
    listed = effective_security_rules(snap, "nic1").to_azure()["value"][0]
    names = [r["name"] for r in listed["effectiveSecurityRules"]]
    assert names[0] == "securityRules/allow-ssh"
    assert len([n for n in names if n.startswith("defaultSecurityRules/")]) == 6
    assert security_group_view(snap, "vm1").to_azure()["networkInterfaces"]


def test_an_nsg_whose_default_rules_lack_deny_all_still_evaluates(tmp_path: Path) -> None:
    """A trimmed list without the DenyAll rules: Azure's missing defaults are completed at
    ingest with a warning, so the deciding rule is named as Azure names it."""
    allow_vnet = default_rules(nsg_id("nsg-nic"))[:1]  # AllowVnetInBound only
    snap = _without_defaults(tmp_path, allow_vnet)
    [warning] = [w for w in snap.warnings if w.field == "defaultSecurityRules"]
    assert "DenyAllInBound" in warning.message
    assert "AllowVnetInBound" not in warning.message
    v = verify(snap, "Inbound", "10.0.0.4:23", "203.0.113.9:50000", explain=True)
    assert v.to_azure() == {"access": "Deny", "ruleName": "defaultSecurityRules/DenyAllInBound"}
    assert verify(snap, "Inbound", "10.0.0.4:80", "10.0.0.9:1").rule_name == (
        "defaultSecurityRules/AllowVnetInBound")
    assert verify(snap, "Outbound", "10.0.0.4:*", "203.0.113.9:443").rule_name == (
        "defaultSecurityRules/AllowInternetOutBound")
    assert effective_security_rules(snap, "nic1").complete
