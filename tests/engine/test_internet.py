"""Flows from the Internet: they enter only through a public address the snapshot holds."""

from __future__ import annotations

from typing import Any

import pytest

from vnetdoctor.api import diagnose
from vnetdoctor.codes import Status
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.runner import Diagnosis, Verdict
from vnetdoctor.samples import load_sample

NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample()


def codes(d: Diagnosis) -> dict[str, Status]:
    return {f.code: f.status for s in d.steps for f in s.findings}


def kinds(d: Diagnosis) -> list[str]:
    return [h.kind for h in d.path]


def test_a_vm_with_no_public_path_is_blocked_firmly(sample: Snapshot) -> None:
    d = diagnose(sample, "Internet", "vm-db-01", 5432)
    assert d.verdict is Verdict.BLOCKED
    assert [f.code for f in d.blockers] == ["NO_PUBLIC_PATH"]
    assert "no instance-level public IP" in d.blockers[0].message


def test_an_internet_address_reaches_the_nsg_of_the_public_ip(sample: Snapshot) -> None:
    """vm-jump-01 has an instance-level public IP; its NSGs judge 8.8.8.8 (tag Internet)."""
    d = diagnose(sample, "8.8.8.8", "vm-jump-01", 3389)
    assert "NO_PUBLIC_PATH" not in codes(d)
    assert kinds(d)[:3] == ["source", "internet", "nsg-inbound"]
    enter = d.path[1]
    assert "pip-vm-jump-01" in enter.detail
    assert d.verdict is Verdict.BLOCKED
    assert [f.code for f in d.blockers] == ["NSG_DENY"]
    assert "8.8.8.8 -> 10.0.2.4:3389" in d.blockers[0].message


def test_a_public_frontend_leads_to_its_backends(sample: Snapshot) -> None:
    d = diagnose(sample, "203.0.113.7", "vm-web-01", 443)
    assert d.verdict is not Verdict.BLOCKED
    assert "through lb-web-public public frontend fe-web-https" in d.path[1].detail
    assert "load-balancer" in kinds(d)


def test_to_a_public_ip_of_the_snapshot_goes_through_it(sample: Snapshot) -> None:
    ip = str(sample.public_ip_addresses.find("pip-lb-web-frontend").ip_address)
    d = diagnose(sample, "Internet", ip, 443)
    assert "NO_PUBLIC_PATH" not in codes(d)
    assert "fe-web-https" in d.path[1].detail
    stranger = diagnose(sample, "Internet", "8.8.4.4", 443)
    assert [f.code for f in stranger.blockers] == ["NO_PUBLIC_PATH"]


def test_no_rule_for_the_port_is_no_public_path(sample: Snapshot) -> None:
    d = diagnose(sample, "Internet", "vm-web-01", 22)
    assert [f.code for f in d.blockers] == ["NO_PUBLIC_PATH"]


# -- a small estate: a public IP whose subnet sends 0.0.0.0/0 to an appliance -------------------
def _estate(*, sku: str = "Basic", default_to_nva: bool = False,
            allow_from: str | None = None) -> Snapshot:
    vid = f"{NET}/virtualNetworks/v"
    subnet: dict[str, Any] = {"id": f"{vid}/subnets/app", "name": "app",
                              "properties": {"addressPrefix": "10.0.0.0/24"}}
    resources: list[dict[str, Any]] = []
    if default_to_nva:
        subnet["properties"]["routeTable"] = {"id": f"{NET}/routeTables/rt"}
        resources.append({"id": f"{NET}/routeTables/rt", "name": "rt",
                          "type": "Microsoft.Network/routeTables", "location": "westeurope",
                          "properties": {"routes": [{
                              "id": f"{NET}/routeTables/rt/routes/default", "name": "default",
                              "properties": {"addressPrefix": "0.0.0.0/0",
                                             "nextHopType": "VirtualAppliance",
                                             "nextHopIpAddress": "10.0.1.4"}}]}})
    resources += [
        {"id": vid, "name": "v", "type": "Microsoft.Network/virtualNetworks",
         "location": "westeurope", "properties": {
             "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
             "subnets": [subnet, {"id": f"{vid}/subnets/nva", "name": "nva",
                                  "properties": {"addressPrefix": "10.0.1.0/24"}}]}},
        {"id": f"{NET}/publicIPAddresses/pip-app", "name": "pip-app",
         "type": "Microsoft.Network/publicIPAddresses", "location": "westeurope",
         "sku": {"name": sku}, "properties": {"ipAddress": "20.1.2.3",
                                             "publicIPAllocationMethod": "Static"}},
        {"id": f"{NET}/networkInterfaces/nic-app", "name": "nic-app",
         "type": "Microsoft.Network/networkInterfaces", "location": "westeurope",
         "properties": {"ipConfigurations": [{
             "id": f"{NET}/networkInterfaces/nic-app/ipConfigurations/ipc", "name": "ipc",
             "properties": {"privateIPAddress": "10.0.0.4", "primary": True,
                            "subnet": {"id": f"{vid}/subnets/app"},
                            "publicIPAddress": {"id": f"{NET}/publicIPAddresses/pip-app"}}}]}},
        {"id": f"{NET}/networkInterfaces/nic-nva", "name": "nic-nva",
         "type": "Microsoft.Network/networkInterfaces", "location": "westeurope",
         "properties": {"enableIPForwarding": True, "ipConfigurations": [{
             "id": f"{NET}/networkInterfaces/nic-nva/ipConfigurations/ipc", "name": "ipc",
             "properties": {"privateIPAddress": "10.0.1.4", "primary": True,
                            "subnet": {"id": f"{vid}/subnets/nva"}}}]}},
    ]
    if allow_from is not None:  # an NSG on the subnet that lets in RDP from one prefix only
        nsg = f"{NET}/networkSecurityGroups/nsg-app"
        subnet["properties"]["networkSecurityGroup"] = {"id": nsg}
        resources.append({"id": nsg, "name": "nsg-app",
                          "type": "Microsoft.Network/networkSecurityGroups",
                          "location": "westeurope", "properties": {"securityRules": [{
                              "id": f"{nsg}/securityRules/rdp-partner", "name": "rdp-partner",
                              "properties": {"priority": 100, "direction": "Inbound",
                                             "access": "Allow", "protocol": "Tcp",
                                             "sourceAddressPrefix": allow_from,
                                             "sourcePortRange": "*",
                                             "destinationAddressPrefix": "*",
                                             "destinationPortRange": "3389"}}]}})
    return snapshot_from_json(resources)


@pytest.mark.parametrize("prefix", ["20.50.0.0/16", "20.50.7.9", "2.16.0.0/13"])
def test_internet_is_any_internet_address_not_one(prefix: str) -> None:
    """--from Internet asks for any Internet address: an NSG that lets in one public prefix only
    is open to the Internet, although the stand-in address is denied (regression: blocked, so a
    'must not reach' gate passed while that prefix could reach the VM)."""
    d = diagnose(_estate(allow_from=prefix), "Internet", "nic-app", 3389)
    assert d.verdict is not Verdict.BLOCKED, [f.code for f in d.blockers]
    assert not d.blockers
    assert "were asked" in d.path[0].detail
    # one address outside the prefix is still denied, and says by which rule
    outside = diagnose(_estate(allow_from=prefix), "8.8.8.8", "nic-app", 3389)
    assert [f.code for f in outside.blockers] == ["NSG_DENY"]


def test_internet_closed_to_every_address_stays_blocked() -> None:
    d = diagnose(_estate(allow_from="10.8.0.0/16"), "Internet", "nic-app", 3389)
    assert [f.code for f in d.blockers] == ["NSG_DENY"]


def test_a_basic_public_ip_without_nsg_is_open() -> None:
    d = diagnose(_estate(), "198.51.100.9", "nic-app", 22)
    assert not d.blockers
    assert d.path[-1].kind == "destination"


def test_a_standard_public_ip_without_nsg_is_closed() -> None:
    d = diagnose(_estate(sku="Standard"), "198.51.100.9", "nic-app", 22)
    assert [f.code for f in d.blockers] == ["NO_PUBLIC_PATH"]
    assert "secure by default" in d.blockers[0].message


def test_a_default_route_to_an_appliance_breaks_the_reply() -> None:
    d = diagnose(_estate(default_to_nva=True), "Internet", "nic-app", 22)
    assert [f.code for f in d.blockers] == ["ROUTE_ASYMMETRIC"]
    message = d.blockers[0].message
    assert "reply to the Internet client" in message
    assert "appliance 10.0.1.4" in message


def test_a_private_source_unknown_to_the_estate_is_not_the_internet(sample: Snapshot) -> None:
    d = diagnose(sample, "10.99.0.7", "vm-jump-01", 3389)
    assert "internet" not in kinds(d)
