"""Tests for the synthetic estate generator used by the benchmarks.

A benchmark on a broken estate measures nothing: dangling references, clashing IPs or
invalid priorities would make the loader take error paths that real estates never
take.  These tests pin the invariants Azure itself enforces.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from synthetic import SUBSCRIPTION, generate_estate  # type: ignore[import-not-found, unused-ignore]

Resource = dict[str, Any]
N_VMS = 200
DEFAULT_RULE_NAMES = {
    "AllowVnetInBound",
    "AllowAzureLoadBalancerInBound",
    "DenyAllInBound",
    "AllowVnetOutBound",
    "AllowInternetOutBound",
    "DenyAllOutBound",
}


@pytest.fixture(scope="module")
def estate() -> list[Resource]:
    result: list[Resource] = generate_estate(N_VMS, seed=0)
    return result


def of_type(estate: list[Resource], suffix: str) -> list[Resource]:
    return [r for r in estate if r["type"] == f"Microsoft.{suffix}"]


def index(estate: list[Resource]) -> dict[str, Resource]:
    """Every addressable object by lower-cased id: resources and their inline children."""
    found: dict[str, Resource] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and "properties" in node:
                found[node["id"].lower()] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(estate)
    return found


def references(node: Any) -> Iterator[str]:
    """Every ARM sub-resource reference (a dict holding only ``id``) anywhere in the tree."""
    if isinstance(node, dict):
        if set(node) == {"id"}:
            yield node["id"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def subnets(estate: list[Resource]) -> dict[str, tuple[Resource, Resource]]:
    """Inline subnets by lower-cased id, with their VNet."""
    return {
        s["id"].lower(): (s, vnet)
        for vnet in of_type(estate, "Network/virtualNetworks")
        for s in vnet["properties"]["subnets"]
    }


def check_structure(estate: list[Resource], n_vms: int) -> None:
    """Invariants that must hold for every size and seed."""
    assert len(of_type(estate, "Compute/virtualMachines")) == n_vms
    ids = [r["id"].lower() for r in estate]
    assert len(ids) == len(set(ids)), "duplicate resource ids"
    known = index(estate)
    dangling = sorted({ref for ref in references(estate) if ref.lower() not in known})
    assert not dangling, f"dangling references: {dangling[:5]}"
    by_subnet = subnets(estate)
    seen: set[ipaddress.IPv4Address] = set()
    for nic in of_type(estate, "Network/networkInterfaces"):
        for cfg in nic["properties"]["ipConfigurations"]:
            ip = ipaddress.IPv4Address(cfg["properties"]["privateIPAddress"])
            subnet, _ = by_subnet[cfg["properties"]["subnet"]["id"].lower()]
            network = ipaddress.IPv4Network(subnet["properties"]["addressPrefix"])
            assert ip in network, f"{ip} outside {network}"
            # Azure reserves the first four addresses and the broadcast address.
            assert int(network.network_address) + 4 <= int(ip) < int(network.broadcast_address)
            assert ip not in seen, f"duplicate private IP {ip}"
            seen.add(ip)


def test_deterministic_for_a_seed() -> None:
    first = json.dumps(generate_estate(120, seed=7))
    assert first == json.dumps(generate_estate(120, seed=7))
    assert first != json.dumps(generate_estate(120, seed=8))


def test_rejects_negative_count() -> None:
    with pytest.raises(ValueError, match="n_vms"):
        generate_estate(-1)


def test_structure(estate: list[Resource]) -> None:
    check_structure(estate, N_VMS)


def test_every_resource_has_the_arm_envelope(estate: list[Resource]) -> None:
    prefix = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/"
    for r in estate:
        assert {"id", "name", "type", "location", "properties"} <= set(r), r.get("id")
        assert r["id"].startswith(prefix)
        provider, rtype = r["type"].split("/")
        assert f"/providers/{provider}/{rtype}/{r['name']}" in r["id"]
    json.dumps(estate, allow_nan=False)


def test_vms_have_one_resolving_nic(estate: list[Resource]) -> None:
    nics = {n["id"].lower(): n for n in of_type(estate, "Network/networkInterfaces")}
    for vm in of_type(estate, "Compute/virtualMachines"):
        (nic_ref,) = vm["properties"]["networkProfile"]["networkInterfaces"]
        nic = nics[nic_ref["id"].lower()]
        assert nic["properties"]["virtualMachine"]["id"].lower() == vm["id"].lower()
        assert vm["properties"]["storageProfile"]["osDisk"]["osType"] in {"Linux", "Windows"}
        codes = [s["code"] for s in vm["properties"]["instanceView"]["statuses"]]
        assert len([c for c in codes if c.startswith("PowerState/")]) == 1
    assert len(nics) == N_VMS


def test_nic_subnets_are_inline_in_vnets(estate: list[Resource]) -> None:
    by_subnet = subnets(estate)
    for nic in of_type(estate, "Network/networkInterfaces"):
        vnets = {
            by_subnet[c["properties"]["subnet"]["id"].lower()][1]["id"]
            for c in nic["properties"]["ipConfigurations"]
        }
        assert len(vnets) == 1, "all ip configurations of a NIC must be in one VNet"
        primaries = [c["properties"]["primary"] for c in nic["properties"]["ipConfigurations"]]
        assert primaries.count(True) == 1


def test_nsg_asg_route_table_references_resolve(estate: list[Resource]) -> None:
    nsgs = {r["id"].lower() for r in of_type(estate, "Network/networkSecurityGroups")}
    rts = {r["id"].lower() for r in of_type(estate, "Network/routeTables")}
    asgs = {r["id"].lower() for r in of_type(estate, "Network/applicationSecurityGroups")}
    used: Counter[str] = Counter()
    for subnet, _ in subnets(estate).values():
        props = subnet["properties"]
        if "networkSecurityGroup" in props:
            assert props["networkSecurityGroup"]["id"].lower() in nsgs
            used["subnet-nsg"] += 1
        if "routeTable" in props:
            assert props["routeTable"]["id"].lower() in rts
            used["route-table"] += 1
    for nic in of_type(estate, "Network/networkInterfaces"):
        if "networkSecurityGroup" in nic["properties"]:
            assert nic["properties"]["networkSecurityGroup"]["id"].lower() in nsgs
            used["nic-nsg"] += 1
        for cfg in nic["properties"]["ipConfigurations"]:
            for asg in cfg["properties"].get("applicationSecurityGroups", []):
                assert asg["id"].lower() in asgs
                used["nic-asg"] += 1
    for nsg in of_type(estate, "Network/networkSecurityGroups"):
        for rule in nsg["properties"]["securityRules"]:
            for key in ("sourceApplicationSecurityGroups", "destinationApplicationSecurityGroups"):
                for asg in rule["properties"].get(key, []):
                    assert asg["id"].lower() in asgs
                    used["rule-asg"] += 1
    assert set(used) == {"subnet-nsg", "route-table", "nic-nsg", "nic-asg", "rule-asg"}, used


def test_nsg_rules(estate: list[Resource]) -> None:
    nsgs = of_type(estate, "Network/networkSecurityGroups")
    assert nsgs
    for nsg in nsgs:
        props = nsg["properties"]
        assert {r["name"] for r in props["defaultSecurityRules"]} == DEFAULT_RULE_NAMES
        rules = props["securityRules"]
        assert 20 <= len(rules) <= 200
        assert len({r["name"] for r in rules}) == len(rules)
        for direction in ("Inbound", "Outbound"):
            prios = [
                r["properties"]["priority"]
                for r in rules
                if r["properties"]["direction"] == direction
            ]
            assert len(prios) == len(set(prios)), f"{nsg['name']}: duplicate {direction} priority"
            assert all(100 <= p <= 4096 for p in prios)
        for rule in rules:
            p = rule["properties"]
            assert rule["id"] == f"{nsg['id']}/securityRules/{rule['name']}"
            for side in ("source", "destination"):
                forms = [
                    f"{side}AddressPrefix" in p,
                    bool(p[f"{side}AddressPrefixes"]),
                    bool(p.get(f"{side}ApplicationSecurityGroups")),
                ]
                assert forms.count(True) == 1, f"{rule['id']}: {side} must use exactly one form"
            assert ("destinationPortRange" in p) != bool(p["destinationPortRanges"])


def test_nsg_rule_variety(estate: list[Resource]) -> None:
    rules = [
        r["properties"]
        for n in of_type(estate, "Network/networkSecurityGroups")
        for r in n["properties"]["securityRules"]
    ]
    prefixes = {p.get("sourceAddressPrefix") for p in rules} | {
        p.get("destinationAddressPrefix") for p in rules
    }
    assert {"VirtualNetwork", "Internet", "AzureLoadBalancer", "*"} <= prefixes
    assert any(str(x).startswith("Storage") for x in prefixes)
    assert any(p["sourceAddressPrefixes"] for p in rules)
    assert any(p["destinationPortRanges"] for p in rules)
    assert any("-" in p.get("destinationPortRange", "") for p in rules)
    assert {p["access"] for p in rules} == {"Allow", "Deny"}


def test_peerings_hub_and_spoke_both_ways(estate: list[Resource]) -> None:
    vnets = {v["id"].lower(): v for v in of_type(estate, "Network/virtualNetworks")}
    assert len(vnets) >= 2
    pairs = set()
    for vnet in vnets.values():
        for peering in vnet["properties"]["virtualNetworkPeerings"]:
            p = peering["properties"]
            assert (p["peeringState"], p["peeringSyncLevel"]) == ("Connected", "FullyInSync")
            remote = vnets[p["remoteVirtualNetwork"]["id"].lower()]
            assert p["remoteAddressSpace"] == remote["properties"]["addressSpace"]
            pairs.add((vnet["id"].lower(), remote["id"].lower()))
    assert pairs
    assert all((b, a) in pairs for a, b in pairs)
    spaces = [
        ipaddress.IPv4Network(v["properties"]["addressSpace"]["addressPrefixes"][0])
        for v in vnets.values()
    ]
    assert not any(a.overlaps(b) for i, a in enumerate(spaces) for b in spaces[i + 1 :])


def test_route_tables(estate: list[Resource]) -> None:
    forwarders = {
        c["properties"]["privateIPAddress"]
        for n in of_type(estate, "Network/networkInterfaces")
        if n["properties"]["enableIPForwarding"]
        for c in n["properties"]["ipConfigurations"]
    }
    hops: Counter[str] = Counter()
    for rt in of_type(estate, "Network/routeTables"):
        routes = rt["properties"]["routes"]
        assert 5 <= len(routes) <= 50
        assert len({r["properties"]["addressPrefix"] for r in routes}) == len(routes)
        for route in routes:
            p = route["properties"]
            ipaddress.IPv4Network(p["addressPrefix"])
            hops[p["nextHopType"]] += 1
            assert ("nextHopIpAddress" in p) == (p["nextHopType"] == "VirtualAppliance")
            if p["nextHopType"] == "VirtualAppliance":
                assert p["nextHopIpAddress"] in forwarders
    assert {"VirtualAppliance", "None", "Internet"} <= set(hops)


def test_realistic_mix(estate: list[Resource]) -> None:
    nics = of_type(estate, "Network/networkInterfaces")
    assert any(len(n["properties"]["ipConfigurations"]) == 2 for n in nics)
    assert any(
        "publicIPAddress" in c["properties"]
        for n in nics
        for c in n["properties"]["ipConfigurations"]
    )
    powers = Counter(
        s["code"]
        for vm in of_type(estate, "Compute/virtualMachines")
        for s in vm["properties"]["instanceView"]["statuses"]
        if s["code"].startswith("PowerState/")
    )
    assert powers["PowerState/running"] > N_VMS * 0.8
    assert powers["PowerState/deallocated"] >= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_vms=st.integers(min_value=0, max_value=260), seed=st.integers(min_value=0, max_value=2**32)
)
def test_structure_for_any_size_and_seed(n_vms: int, seed: int) -> None:
    check_structure(generate_estate(n_vms, seed=seed), n_vms)
