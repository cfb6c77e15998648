"""Bastion hosts load from ARM bodies and Resource Graph rows: SKU, subnet, features."""

from __future__ import annotations

import copy

from bastion.estate import BASTION, HUB, PIP, estate
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.bastion import BastionSku


def test_arm_body() -> None:
    snap = snapshot_from_json(estate("Premium", enableTunneling=True, enableIpConnect=True,
                                     enableShareableLink=True, scaleUnits=4))
    host = snap.bastion_hosts.find("bas-hub")
    assert str(host.id) == BASTION
    assert host.sku is BastionSku.PREMIUM
    assert str(host.subnet) == f"{HUB}/subnets/AzureBastionSubnet"
    assert str(host.ip_configurations[0].public_ip_address) == PIP
    assert (host.enable_tunneling, host.enable_ip_connect, host.enable_shareable_link) == (
        True, True, True)
    assert host.scale_units == 4
    assert host.custom_ports
    assert host.reaches_peered_vnets
    assert not [w for w in snap.warnings if "bastion" in w.message.casefold()]
    assert "Microsoft.Network/bastionHosts".casefold() not in {
        k.casefold() for k in snap.other_resources}


def test_resource_graph_row() -> None:
    """Resource Graph's resources table: lower-case type, the same sku and properties."""
    rows = []
    for body in estate("Basic"):
        row = copy.deepcopy(body)
        row["type"] = row["type"].lower()
        row["resourceGroup"] = "rg-test"
        row["subscriptionId"] = "11111111-2222-3333-4444-555555555555"
        rows.append(row)
    snap = snapshot_from_json({"count": len(rows), "data": rows, "skip_token": None,
                               "total_records": len(rows)})
    host = snap.bastion_hosts.find(BASTION)
    assert host.sku is BastionSku.BASIC
    assert not host.custom_ports


def test_developer_and_unknown_skus() -> None:
    dev = estate("Developer")
    dev[-1]["properties"]["virtualNetwork"] = {"id": HUB}
    host = snapshot_from_json(dev).bastion_hosts.find("bas-hub")
    assert host.sku is BastionSku.DEVELOPER
    assert host.reaches_peered_vnets is False
    assert str(host.virtual_network) == HUB
    snap = snapshot_from_json(estate("Gold"))
    assert snap.bastion_hosts.find("bas-hub").sku is None
    assert [w.field for w in snap.warnings if w.resource == BASTION] == ["sku.name"]


def test_subnet_not_azure_bastion_subnet_is_a_warning() -> None:
    snap = snapshot_from_json(estate(subnet_name="bastion"))
    found = [w for w in snap.warnings if w.resource == BASTION]
    assert len(found) == 1
    assert "'bastion', not AzureBastionSubnet" in found[0].message
    assert found[0].field == "properties.ipConfigurations[0].properties.subnet"
