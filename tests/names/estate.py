"""A small estate for name resolution: a hub with a DNS Private Resolver and a private endpoint
to a storage account, a spoke with one VM, and whatever zones and rulesets a test adds."""

from __future__ import annotations

from typing import Any

from builders import RG, nic, subnet, vm, vnet
from dns_builders import private_endpoint, storage_id, vnet_id

from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.snapshot import Snapshot

INBOUND_IP = "10.0.2.4"
PE_IP = "10.0.1.5"
ACCOUNT = "stcontoso"


def base(*, spoke_dns: list[str] | None = None, nic_dns: list[str] | None = None,
         pe_status: str = "Approved", with_pe: bool = True) -> list[dict[str, Any]]:
    hub, spoke = vnet_id("vnet-hub"), vnet_id("vnet-spoke")
    spoke_props: dict[str, Any] = {}
    if spoke_dns is not None:
        spoke_props["dhcpOptions"] = {"dnsServers": spoke_dns}
    nic_props: dict[str, Any] = {}
    if nic_dns is not None:
        nic_props["dnsSettings"] = {"dnsServers": nic_dns}
    out = [
        vnet("vnet-hub", "10.0.0.0/16", [
            subnet(hub, "default", "10.0.0.0/24"),
            subnet(hub, "snet-pe", "10.0.1.0/24"),
            subnet(hub, "snet-inbound", "10.0.2.0/28"),
            subnet(hub, "snet-outbound", "10.0.2.16/28"),
        ]),
        vnet("vnet-spoke", "10.1.0.0/16", [subnet(spoke, "default", "10.1.0.0/24")],
             **spoke_props),
        nic("nic-app", "10.1.0.4", f"{spoke}/subnets/default", **nic_props),
        vm("vm-app", ["nic-app"]),
        nic("nic-hub", "10.0.0.4", f"{hub}/subnets/default"),
        vm("vm-hub", ["nic-hub"]),
    ]
    if with_pe:
        out.append(nic("pe-blob.nic.1234", PE_IP, f"{hub}/subnets/snet-pe"))
        out.append(private_endpoint("pe-blob", storage_id(ACCOUNT), "blob",
                                    subnet_id=f"{hub}/subnets/snet-pe",
                                    nic_name="pe-blob.nic.1234", status=pe_status))
    return out


def snapshot(*extra: dict[str, Any], **options: Any) -> Snapshot:
    return snapshot_from_json([*base(**options), *extra])


__all__ = ["ACCOUNT", "INBOUND_IP", "PE_IP", "RG", "base", "snapshot"]
