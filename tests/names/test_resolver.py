"""The resolver: which server a VM asks, rulesets, linked zones, the privatelink CNAME chain,
public answers, and the bad layouts (loops, missing links) answered without a traceback."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from dns_builders import (
    a,
    aaaa,
    cname,
    link,
    private_endpoint,
    resolver,
    rule,
    ruleset,
    storage_id,
    zone,
)

from names.estate import ACCOUNT, INBOUND_IP, PE_IP, RG, snapshot
from vnetdoctor.codes import CODES, NAME_RESOLUTION, Status
from vnetdoctor.engine.dns import AnswerKind, Resolution, StepKind, resolve
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.docs import render_runbook_md

BLOB = f"{ACCOUNT}.blob.core.windows.net"
PRIVATE_BLOB = f"{ACCOUNT}.privatelink.blob.core.windows.net"
PL_ZONE = "privatelink.blob.core.windows.net"


def run(snap: Snapshot, name: str, vm: str = "vm-app", **kw: Any) -> Resolution:
    return resolve(snap, snap.virtual_machines.find(vm), name, **kw)


def codes(res: Resolution) -> list[tuple[str, Status]]:
    return [(i.code, i.status) for i in res.issues]


def steps(res: Resolution) -> list[StepKind]:
    return [s.step for s in res.chain]


def ips(*texts: str) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_address(t) for t in texts)


def test_every_code_the_resolver_raises_is_catalogued_at_step_0() -> None:
    raised = {"DNS_ZONE_NOT_LINKED", "DNS_RECORD_MISSING", "DNS_CUSTOM_SERVER_UNKNOWN",
              "DNS_RESOLVES_PUBLIC", "DNS_NAME_UNKNOWN", "PAAS_TARGET_UNKNOWN"}
    # DNS_RESOLVED is step 0's own (diagnose's report of the chain), not the resolver's
    assert NAME_RESOLUTION - raised == {"DNS_RESOLVED"}
    assert all(CODES[code].step == 0 for code in raised)
    assert "## 0. `name-resolution`" in render_runbook_md()


def test_a_linked_zone_answers_with_its_a_record() -> None:
    snap = snapshot(zone("corp.contoso.com", [a("db", "10.0.0.9")],
                         [link("l-spoke", "vnet-spoke")]))
    res = run(snap, "DB.corp.contoso.com.")
    assert res.name == "db.corp.contoso.com"
    assert res.answer.kind is AnswerKind.ADDRESS
    assert res.answer.addresses == ips("10.0.0.9")
    assert steps(res) == [StepKind.SERVER, StepKind.ZONE]
    assert res.server_source.value == "azure"
    assert res.resolved_by == "azure-dns"
    assert str(res.chain[1].link).endswith("/virtualNetworkLinks/l-spoke")
    assert str(res.chain[1].record).endswith("/A/db")
    assert res.issues == ()


def test_a_and_aaaa_together_and_the_apex() -> None:
    snap = snapshot(zone("corp.contoso.com", [a("@", "10.0.0.1"), aaaa("@", "fd00::1")],
                         [link("l-spoke", "vnet-spoke")]))
    res = run(snap, "corp.contoso.com")
    assert set(res.answer.addresses) == set(ips("10.0.0.1", "fd00::1"))


def test_a_linked_zone_without_the_record_is_nxdomain() -> None:
    snap = snapshot(zone("corp.contoso.com", [a("db", "10.0.0.9")],
                         [link("l-spoke", "vnet-spoke")]))
    res = run(snap, "web.corp.contoso.com")
    assert res.answer.kind is AnswerKind.NXDOMAIN
    assert codes(res) == [("DNS_RECORD_MISSING", Status.FAIL)]
    assert "'web'" in res.issues[0].message


def test_the_most_specific_linked_zone_is_authoritative() -> None:
    snap = snapshot(
        zone("contoso.com", [a("x.app", "10.0.0.1")], [link("l1", "vnet-spoke")]),
        zone("app.contoso.com", [a("y", "10.0.0.2")], [link("l2", "vnet-spoke")]),
    )
    assert run(snap, "y.app.contoso.com").answer.addresses == ips("10.0.0.2")
    # the longer zone holds the subtree: its missing record is NXDOMAIN, not the parent's answer
    assert run(snap, "x.app.contoso.com").answer.kind is AnswerKind.NXDOMAIN


def test_a_zone_linked_elsewhere_only_is_not_linked_here() -> None:
    snap = snapshot(zone("corp.contoso.com", [a("db", "10.0.0.9")], [link("l-hub", "vnet-hub")]))
    res = run(snap, "db.corp.contoso.com")
    assert res.answer.kind is AnswerKind.NXDOMAIN
    assert codes(res) == [("DNS_ZONE_NOT_LINKED", Status.FAIL)]
    assert run(snap, "db.corp.contoso.com", vm="vm-hub").answer.addresses == ips("10.0.0.9")


def test_a_link_in_progress_is_unknown() -> None:
    snap = snapshot(zone("corp.contoso.com", [a("db", "10.0.0.9")],
                         [link("l-spoke", "vnet-spoke", state="InProgress")]))
    res = run(snap, "db.corp.contoso.com")
    assert res.answer.kind is AnswerKind.UNKNOWN
    assert res.is_unknown


def test_the_privatelink_cname_chain_reaches_the_private_endpoint() -> None:
    snap = snapshot(zone(PL_ZONE, [a(ACCOUNT, PE_IP)], [link("l-spoke", "vnet-spoke")]))
    res = run(snap, BLOB)
    assert res.answer.kind is AnswerKind.ADDRESS
    assert res.answer.addresses == ips(PE_IP)
    assert str(res.answer.resource).endswith("/privateEndpoints/pe-blob")
    assert steps(res) == [StepKind.SERVER, StepKind.PUBLIC_CNAME, StepKind.ZONE]
    assert res.chain[1].detail.startswith(f"public DNS: CNAME {PRIVATE_BLOB}")
    assert res.issues == ()


def test_an_unlinked_privatelink_zone_resolves_public_with_warnings() -> None:
    snap = snapshot(zone(PL_ZONE, [a(ACCOUNT, PE_IP)], [link("l-hub", "vnet-hub")]))
    res = run(snap, BLOB)
    assert res.answer.kind is AnswerKind.PUBLIC_ENDPOINT
    assert res.answer.resource == storage_id(ACCOUNT)
    assert res.answer.addresses == ()
    assert codes(res) == [("DNS_RESOLVES_PUBLIC", Status.WARN),
                          ("DNS_ZONE_NOT_LINKED", Status.WARN)]


def test_nxdomain_redirect_falls_back_to_the_public_endpoint() -> None:
    snap = snapshot(zone(PL_ZONE, [], [link("l-spoke", "vnet-spoke", policy="NxDomainRedirect")]))
    res = run(snap, BLOB)
    assert res.answer.kind is AnswerKind.PUBLIC_ENDPOINT
    assert codes(res) == [("DNS_RESOLVES_PUBLIC", Status.WARN)]
    assert str(res.issues[0].resource).endswith("/virtualNetworkLinks/l-spoke")


def test_a_default_link_without_the_pe_record_blocks() -> None:
    snap = snapshot(zone(PL_ZONE, [], [link("l-spoke", "vnet-spoke")]))
    res = run(snap, BLOB)
    assert res.answer.kind is AnswerKind.NXDOMAIN
    assert codes(res) == [("DNS_RECORD_MISSING", Status.FAIL)]


def test_nxdomain_redirect_only_applies_to_privatelink_zones() -> None:
    snap = snapshot(zone("corp.contoso.com", [],
                         [link("l-spoke", "vnet-spoke", policy="NxDomainRedirect")]))
    assert run(snap, "db.corp.contoso.com").answer.kind is AnswerKind.NXDOMAIN


def test_a_storage_account_without_private_endpoint_is_an_unknown_public_target() -> None:
    res = run(snapshot(with_pe=False), BLOB)
    assert res.answer.kind is AnswerKind.PUBLIC_ENDPOINT
    assert res.answer.resource is None
    assert codes(res) == [("PAAS_TARGET_UNKNOWN", Status.UNKNOWN)]


def test_another_subresource_takes_its_own_zone() -> None:
    # the endpoint serves blob; the queue name has no CNAME of its own
    snap = snapshot(zone(PL_ZONE, [a(ACCOUNT, PE_IP)], [link("l-spoke", "vnet-spoke")]))
    res = run(snap, f"{ACCOUNT}.queue.core.windows.net")
    assert res.answer.kind is AnswerKind.PUBLIC_ENDPOINT
    assert codes(res) == [("PAAS_TARGET_UNKNOWN", Status.UNKNOWN)]


def test_a_pending_connection_is_flagged_as_an_assumption() -> None:
    snap = snapshot(zone(PL_ZONE, [a(ACCOUNT, PE_IP)], [link("l-spoke", "vnet-spoke")]),
                    pe_status="Pending")
    res = run(snap, BLOB)
    assert res.answer.addresses == ips(PE_IP)
    assert any("Pending" in text for text in res.assumptions)


def hub_resolver_estate(*rules: dict[str, Any], **options: Any) -> Snapshot:
    return snapshot(
        resolver("dnspr-hub", "vnet-hub", {"in-1": INBOUND_IP}),
        ruleset("rs-spokes", list(rules), ["vnet-spoke"]),
        zone(PL_ZONE, [a(ACCOUNT, PE_IP)], [link("l-hub", "vnet-hub")]),
        zone("corp.contoso.com", [a("db", "10.0.0.9")], [link("l-hub2", "vnet-hub")]),
        **options,
    )


def test_a_ruleset_forwards_to_the_hub_inbound_endpoint() -> None:
    snap = hub_resolver_estate(rule("blob", "blob.core.windows.net.", INBOUND_IP))
    res = run(snap, BLOB)
    assert res.answer.addresses == ips(PE_IP)
    # the rule matches the public name: the hub's Azure DNS then follows the CNAME itself
    assert steps(res) == [StepKind.SERVER, StepKind.RULESET, StepKind.INBOUND_ENDPOINT,
                          StepKind.PUBLIC_CNAME, StepKind.ZONE]
    assert str(res.chain[1].resource).endswith("/forwardingRules/blob")
    assert str(res.chain[4].vnet).endswith("/virtualNetworks/vnet-hub")


def test_the_longest_enabled_rule_wins() -> None:
    snap = hub_resolver_estate(
        rule("all", ".", "192.0.2.53"),
        rule("corp", "corp.contoso.com.", INBOUND_IP),
        rule("corp-db", "db.corp.contoso.com.", "192.0.2.99", state="Disabled"),
    )
    res = run(snap, "db.corp.contoso.com")
    assert res.answer.addresses == ips("10.0.0.9")
    assert str(res.chain[1].resource).endswith("/forwardingRules/corp")
    other = run(snap, "www.example.org")
    assert codes(other) == [("DNS_CUSTOM_SERVER_UNKNOWN", Status.UNKNOWN)]
    assert other.answer.kind is AnswerKind.UNKNOWN


def test_a_rule_and_a_linked_zone_for_the_same_name_is_an_assumption() -> None:
    res = run(both_rule_and_zone(), "db.corp.contoso.com")
    assert res.answer.addresses == ips("10.0.0.9")
    assert any("before the linked zone" in text for text in res.assumptions)


def both_rule_and_zone() -> Snapshot:
    return snapshot(
        resolver("dnspr-hub", "vnet-hub", {"in-1": INBOUND_IP}),
        ruleset("rs-spokes", [rule("corp", "corp.contoso.com.", INBOUND_IP)], ["vnet-spoke"]),
        zone("corp.contoso.com", [a("db", "10.0.0.9")],
             [link("l-hub2", "vnet-hub"), link("l-spoke2", "vnet-spoke")]),
    )


def test_a_forwarding_loop_through_inbound_endpoints_is_unknown() -> None:
    snap = snapshot(
        resolver("dnspr-hub", "vnet-hub", {"in-1": INBOUND_IP}),
        ruleset("rs-all", [rule("corp", "corp.contoso.com.", INBOUND_IP)],
                ["vnet-spoke", "vnet-hub"]),
    )
    res = run(snap, "db.corp.contoso.com")
    assert res.answer.kind is AnswerKind.UNKNOWN
    assert codes(res) == [("DNS_NAME_UNKNOWN", Status.UNKNOWN)]
    assert "loop" in res.issues[0].message


def test_a_custom_vnet_server_is_unknown_unless_it_is_an_inbound_endpoint() -> None:
    custom = snapshot(zone("corp.contoso.com", [a("db", "10.0.0.9")],
                           [link("l-spoke", "vnet-spoke")]), spoke_dns=["10.0.0.100"])
    res = run(custom, "db.corp.contoso.com")
    assert res.server_source.value == "vnet"
    assert res.dns_servers == ("10.0.0.100",)
    assert codes(res) == [("DNS_CUSTOM_SERVER_UNKNOWN", Status.UNKNOWN)]
    assert res.answer.kind is AnswerKind.UNKNOWN
    central = snapshot(resolver("dnspr-hub", "vnet-hub", {"in-1": INBOUND_IP}),
                       zone("corp.contoso.com", [a("db", "10.0.0.9")],
                            [link("l-hub", "vnet-hub")]), spoke_dns=[INBOUND_IP, "10.0.0.100"])
    res = run(central, "db.corp.contoso.com")
    assert res.resolved_by == "resolver-inbound"
    assert res.answer.addresses == ips("10.0.0.9")
    assert steps(res) == [StepKind.SERVER, StepKind.INBOUND_ENDPOINT, StepKind.ZONE]


def test_nic_servers_win_over_the_vnet_and_azure_provided_dns_is_a_keyword() -> None:
    common = zone("corp.contoso.com", [a("db", "10.0.0.9")], [link("l-spoke", "vnet-spoke")])
    res = run(snapshot(common, spoke_dns=["10.0.0.100"], nic_dns=["AzureProvidedDNS"]),
              "db.corp.contoso.com")
    assert res.server_source.value == "azure"
    assert res.answer.addresses == ips("10.0.0.9")
    res = run(snapshot(common, nic_dns=["10.9.9.9"]), "db.corp.contoso.com")
    assert res.server_source.value == "nic"
    assert codes(res) == [("DNS_CUSTOM_SERVER_UNKNOWN", Status.UNKNOWN)]
    res = run(snapshot(common, spoke_dns=["168.63.129.16"]), "db.corp.contoso.com")
    assert res.answer.addresses == ips("10.0.0.9")


def test_a_pin_answers_before_any_dns_logic() -> None:
    snap = snapshot(spoke_dns=["10.0.0.100"])
    res = run(snap, "DB.corp.contoso.com.", pins={"db.corp.contoso.com": ips("10.0.0.7")[0]})
    assert res.resolved_by == "pin"
    assert res.answer.addresses == ips("10.0.0.7")
    assert res.issues == ()
    assert steps(res) == [StepKind.PIN]


def test_cname_inside_zones_and_loops() -> None:
    snap = snapshot(zone("corp.contoso.com",
                         [cname("www", "web.corp.contoso.com"), a("web", "10.0.0.8"),
                          cname("x", "y.corp.contoso.com."), cname("y", "x.corp.contoso.com")],
                         [link("l-spoke", "vnet-spoke")]))
    res = run(snap, "www.corp.contoso.com")
    assert res.answer.addresses == ips("10.0.0.8")
    assert res.answer.canonical_name == "web.corp.contoso.com"
    assert steps(res) == [StepKind.SERVER, StepKind.CNAME, StepKind.ZONE]
    loop = run(snap, "x.corp.contoso.com")
    assert loop.answer.kind is AnswerKind.UNKNOWN
    assert "CNAME loop" in loop.issues[0].message


def test_a_long_cname_chain_stops() -> None:
    records = [cname(f"n{i}", f"n{i + 1}.corp.contoso.com") for i in range(20)]
    snap = snapshot(zone("corp.contoso.com", [*records, a("n20", "10.0.0.1")],
                         [link("l-spoke", "vnet-spoke")]))
    res = run(snap, "n0.corp.contoso.com")
    assert res.answer.kind is AnswerKind.UNKNOWN
    assert "more than 8 CNAMEs" in res.issues[0].message


def test_auto_registration_gives_vms_of_the_registering_vnet_a_record() -> None:
    snap = snapshot(zone("corp.contoso.com", [],
                         [link("l-hub", "vnet-hub", registration=True),
                          link("l-spoke", "vnet-spoke")]))
    res = run(snap, "vm-hub.corp.contoso.com")
    assert res.answer.addresses == ips("10.0.0.4")
    assert steps(res)[-1] is StepKind.AUTO_REGISTRATION
    # a VM of a VNet linked without registration has no record
    assert run(snap, "vm-app.corp.contoso.com").answer.kind is AnswerKind.NXDOMAIN


def test_a_public_name_nothing_private_answers_is_not_guessed() -> None:
    res = run(snapshot(), "www.example.org")
    assert res.answer.kind is AnswerKind.UNKNOWN
    assert res.answer.addresses == ()
    assert codes(res) == [("DNS_NAME_UNKNOWN", Status.UNKNOWN)]


def test_step_json_names_the_resources() -> None:
    snap = snapshot(zone(PL_ZONE, [a(ACCOUNT, PE_IP)], [link("l-spoke", "vnet-spoke")]))
    body = run(snap, BLOB).chain[-1].to_json()
    assert body["step"] == "zone"
    assert body["resource"] == f"{RG}/Microsoft.Network/privateDnsZones/{PL_ZONE}"
    assert str(body["record"]).endswith(f"/A/{ACCOUNT}")


@pytest.mark.parametrize(("rtype", "group", "host", "zone_name"), [
    ("Microsoft.KeyVault/vaults", "vault", "kv1.vault.azure.net",
     "privatelink.vaultcore.azure.net"),
    ("Microsoft.Sql/servers", "sqlServer", "sql1.database.windows.net",
     "privatelink.database.windows.net"),
    ("Microsoft.Storage/storageAccounts", "blob_secondary", "st9-secondary.blob.core.windows.net",
     "privatelink.blob.core.windows.net"),
    ("Microsoft.ServiceBus/namespaces", "namespace", "bus1.servicebus.windows.net",
     "privatelink.servicebus.windows.net"),
])
def test_each_service_takes_its_privatelink_zone(rtype: str, group: str, host: str,
                                                  zone_name: str) -> None:
    label = host.split(".", 1)[0]
    resource = label.removesuffix("-secondary")
    hub = f"{RG}/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-pe"
    pe = private_endpoint(f"pe-{resource}", f"{RG}/{rtype}/{resource}", group, subnet_id=hub,
                          nic_name="pe-blob.nic.1234")
    snap = snapshot(pe, zone(zone_name, [a(label, PE_IP)], [link("l-spoke", "vnet-spoke")]))
    res = run(snap, host)
    assert res.answer.addresses == ips(PE_IP)
    assert res.answer.canonical_name == f"{label}.{zone_name}"
    assert res.issues == ()
