"""Ingest of names: zones, record sets, links, resolvers, rulesets and private endpoints, in ARM
form, as Resource Graph rows, and as child resources of their own; bad input as warnings."""

from __future__ import annotations

import ipaddress
from typing import Any

from builders import RG
from dns_builders import a, cname, link, private_endpoint, resolver, rule, ruleset, storage_id, zone

from names.estate import base
from vnetdoctor.engine.dns import AnswerKind, resolve
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.dns import RecordType, ResolutionPolicy
from vnetdoctor.model.warnings import WarningKind

ZONE_ID = f"{RG}/Microsoft.Network/privateDnsZones/corp.contoso.com"


def kinds(snap: Any) -> list[tuple[WarningKind, str | None, str | None]]:
    return [(w.kind, w.resource, w.field) for w in snap.warnings]


def test_zone_with_inline_children() -> None:
    snap = snapshot_from_json([*base(), zone(
        "corp.contoso.com",
        [a("db", "10.0.0.9", "10.0.0.10"), cname("www", "db.corp.contoso.com.")],
        [link("l-spoke", "vnet-spoke", registration=True, policy="NxDomainRedirect")])])
    found = snap.private_dns_zones.find("corp.contoso.com")
    assert [(r.name, r.type) for r in found.record_sets] == [("db", RecordType.A),
                                                            ("www", RecordType.CNAME)]
    assert found.record_sets[0].addresses == (ipaddress.ip_address("10.0.0.9"),
                                              ipaddress.ip_address("10.0.0.10"))
    assert found.record_sets[1].cname == "db.corp.contoso.com."
    lk = found.virtual_network_links[0]
    assert lk.registration_enabled
    assert lk.resolution_policy is ResolutionPolicy.NX_DOMAIN_REDIRECT
    assert lk.is_in_force is True
    assert not any(w.kind is WarningKind.UNSUPPORTED_TYPE for w in snap.warnings)
    assert snap.other_resources == {}


def test_record_sets_and_links_as_resources_of_their_own_in_resource_graph_form() -> None:
    """``az network private-dns record-set list`` rows and Resource Graph's lower-cased types."""
    bare = zone("corp.contoso.com")
    bare["type"] = "microsoft.network/privatednszones"
    del bare["properties"]["recordSets"], bare["properties"]["virtualNetworkLinks"]
    record = dict(a("db", "10.0.0.9"), id=f"{ZONE_ID}/A/db")
    soa = {"id": f"{ZONE_ID}/SOA/@", "name": "@", "type": "Microsoft.Network/privateDnsZones/SOA",
           "properties": {"ttl": 3600, "soaRecord": {"host": "azureprivatedns.net"}}}
    row = dict(link("l-spoke", "vnet-spoke"), id=f"{ZONE_ID}/virtualNetworkLinks/l-spoke",
               type="microsoft.network/privatednszones/virtualnetworklinks")
    snap = snapshot_from_json([*base(), bare, record, soa, row])
    found = snap.private_dns_zones.find("corp.contoso.com")
    assert [r.name for r in found.record_sets] == ["db"]  # SOA read and set aside
    assert [lk.name for lk in found.virtual_network_links] == ["l-spoke"]
    assert kinds(snap) == []
    res = resolve(snap, snap.virtual_machines.find("vm-app"), "db.corp.contoso.com")
    assert res.answer.addresses == (ipaddress.ip_address("10.0.0.9"),)


def test_resolver_and_ruleset_children_given_alone() -> None:
    res_body = resolver("dnspr-hub", "vnet-hub", {"in-1": "10.0.2.4"})
    inbound = res_body["properties"].pop("inboundEndpoints")[0]
    inbound["type"] = "Microsoft.Network/dnsResolvers/inboundEndpoints"
    rs = ruleset("rs", [], ["vnet-spoke"])
    rule_body = dict(rule("corp", "corp.contoso.com.", "10.0.2.4"),
                     id=f"{rs['id']}/forwardingRules/corp",
                     type="Microsoft.Network/dnsForwardingRulesets/forwardingRules")
    snap = snapshot_from_json([*base(), res_body, inbound, rs, rule_body])
    assert snap.inbound_endpoint_at(ipaddress.ip_address("10.0.2.4")) is not None
    (found, _link), = snap.ruleset_links_of(snap.virtual_networks.find("vnet-spoke").id)
    assert [r.domain_name for r in found.forwarding_rules] == ["corp.contoso.com."]
    assert found.forwarding_rules[0].is_enabled


def test_a_record_set_without_records_is_a_warning_and_no_address() -> None:
    snap = snapshot_from_json([*base(), zone("corp.contoso.com", [a("db")],
                                             [link("l-spoke", "vnet-spoke")])])
    assert kinds(snap) == [(WarningKind.MISSING_FIELD, f"{ZONE_ID}/A/db", "properties.aRecords")]
    res = resolve(snap, snap.virtual_machines.find("vm-app"), "db.corp.contoso.com")
    assert res.answer.kind is AnswerKind.NXDOMAIN
    assert [i.code for i in res.issues] == ["DNS_RECORD_MISSING"]


def test_a_malformed_address_is_a_warning_naming_the_field() -> None:
    snap = snapshot_from_json([*base(), zone("corp.contoso.com", [a("db", "10.0.0.999", "fd00::1")],
                                             [link("l-spoke", "vnet-spoke")])])
    assert kinds(snap) == [
        (WarningKind.UNPARSED_VALUE, f"{ZONE_ID}/A/db", "properties.aRecords[0].ipv4Address"),
        (WarningKind.UNPARSED_VALUE, f"{ZONE_ID}/A/db", "properties.aRecords[1].ipv4Address"),
    ]


def test_a_link_to_a_vnet_the_snapshot_lacks_is_a_dangling_reference() -> None:
    snap = snapshot_from_json([*base(), zone("corp.contoso.com", [a("db", "10.0.0.9")],
                                             [link("l-gone", "vnet-gone")])])
    assert kinds(snap) == [(WarningKind.DANGLING_REFERENCE,
                            f"{ZONE_ID}/virtualNetworkLinks/l-gone", "properties.virtualNetwork")]


def test_a_record_set_without_its_zone_is_an_orphan() -> None:
    record = dict(a("db", "10.0.0.9"), id=f"{ZONE_ID}/A/db")
    snap = snapshot_from_json([*base(), record])
    assert kinds(snap) == [(WarningKind.ORPHAN_CHILD, f"{ZONE_ID}/A/db", None)]


def test_a_bad_resolution_policy_is_a_warning_and_default() -> None:
    snap = snapshot_from_json([*base(), zone("corp.contoso.com", [],
                                             [link("l", "vnet-spoke", policy="Sometimes")])])
    found = snap.private_dns_zones.find("corp.contoso.com").virtual_network_links[0]
    assert found.resolution_policy is ResolutionPolicy.DEFAULT
    assert kinds(snap) == [(WarningKind.UNPARSED_VALUE, f"{ZONE_ID}/virtualNetworkLinks/l",
                            "properties.resolutionPolicy")]


def test_private_endpoint_connections_manual_and_automatic() -> None:
    hub = f"{RG}/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-pe"
    pe = private_endpoint("pe-manual", storage_id("st2"), "file", subnet_id=hub,
                          nic_name="pe-manual.nic", status="Pending", manual=True)
    pe["properties"]["customDnsConfigs"] = [{"fqdn": "st2.file.core.windows.net",
                                             "ipAddresses": ["10.0.1.6"]}]
    snap = snapshot_from_json([*base(with_pe=False), pe])
    found = snap.private_endpoints.find("pe-manual")
    conn = found.connection
    assert conn is not None
    assert conn.manual
    assert conn.status == "Pending"
    assert not conn.is_approved
    assert conn.group_ids == ("file",)
    assert conn.private_link_service_id == storage_id("st2")
    assert found.custom_dns_configs[0].ip_addresses == (ipaddress.ip_address("10.0.1.6"),)
    assert snap.private_endpoints_to(snap.private_endpoints.find("pe-manual").id) == ()
    assert snap.private_endpoints_to(conn.private_link_service_id) == (found,)
    assert kinds(snap) == []  # its NIC is absent, which nothing here needs


def test_nic_applied_dns_servers_are_of_record() -> None:
    from builders import nic

    body = [*base()]
    body[2] = nic("nic-app", "10.1.0.4",
                  f"{RG}/Microsoft.Network/virtualNetworks/vnet-spoke/subnets/default",
                  dnsSettings={"dnsServers": [], "appliedDnsServers": ["10.0.0.53"]})
    snap = snapshot_from_json(body)
    res = resolve(snap, snap.virtual_machines.find("vm-app"), "x.contoso.com")
    assert res.dns_servers == ("10.0.0.53",)
    assert res.server_source.value == "nic"
