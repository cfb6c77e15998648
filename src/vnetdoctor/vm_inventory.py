"""What is in a snapshot, per VM: the first thing a person checks before asking why a path fails."""

from __future__ import annotations

from typing import Any

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.model.warnings import IngestWarning


class InventoryNic(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    id: str
    found: bool
    private_ip_addresses: tuple[str, ...] = ()
    public_ip_addresses: tuple[str, ...] = ()
    subnet: str | None = None
    vnet: str | None = None
    nsg: str | None = None
    subnet_nsg: str | None = None
    route_table: str | None = None
    enable_ip_forwarding: bool = False
    provisioning_state: str | None = None


class InventoryVm(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    id: str
    kind: str
    power_state: str | None
    os_type: str | None
    nics: tuple[InventoryNic, ...]


class Inventory(msgspec.Struct, frozen=True, kw_only=True):
    vms: tuple[InventoryVm, ...]
    warnings: tuple[IngestWarning, ...]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (camelCase, as Azure tools print)."""
        return {
            "vms": [
                {
                    "name": vm.name,
                    "id": vm.id,
                    "kind": vm.kind,
                    "powerState": vm.power_state,
                    "osType": vm.os_type,
                    "nics": [
                        {
                            "name": nic.name,
                            "id": nic.id,
                            "found": nic.found,
                            "privateIPAddresses": list(nic.private_ip_addresses),
                            "publicIPAddresses": list(nic.public_ip_addresses),
                            "subnet": nic.subnet,
                            "vnet": nic.vnet,
                            "nsg": nic.nsg,
                            "subnetNsg": nic.subnet_nsg,
                            "routeTable": nic.route_table,
                            "enableIPForwarding": nic.enable_ip_forwarding,
                            "provisioningState": nic.provisioning_state,
                        }
                        for nic in vm.nics
                    ],
                }
                for vm in self.vms
            ],
            "warnings": [warning_json(w) for w in self.warnings],
        }


def warning_json(w: IngestWarning) -> dict[str, Any]:
    return {
        "code": w.code,
        "kind": w.kind.value,
        "message": w.message,
        "resource": w.resource,
        "field": w.field,
        "value": w.value,
        "path": w.path,
    }


def _id(rid: ResourceId | None) -> str | None:
    return None if rid is None else str(rid)


def inventory(snapshot: Snapshot) -> Inventory:
    """Every VM (ARM and classic) with its NICs, addresses, subnet, VNet, NSGs and route table."""
    vms = []
    for vm in sorted(snapshot.virtual_machines.values(), key=lambda v: (v.name.casefold(), v.id)):
        nics = []
        for nic_id, nic in snapshot.nics_of(vm):
            if nic is None:
                nics.append(InventoryNic(name=nic_id.name, id=str(nic_id), found=False))
                continue
            ipc = nic.primary_ip_configuration
            subnet_id = ipc.subnet if ipc else None
            subnet = snapshot.subnet(subnet_id)
            public = []
            for c in nic.ip_configurations:
                pip = snapshot.public_ip_addresses.get_ref(c.public_ip_address)
                if pip is not None and pip.ip_address is not None:
                    public.append(str(pip.ip_address))
                elif c.public_ip_address is not None:
                    public.append(str(c.public_ip_address))
            nics.append(
                InventoryNic(
                    name=nic.name,
                    id=str(nic.id),
                    found=True,
                    private_ip_addresses=tuple(str(a) for a in nic.private_ip_addresses),
                    public_ip_addresses=tuple(public),
                    subnet=_id(subnet_id),
                    vnet=_id(subnet_id.parent if subnet_id else None),
                    nsg=_id(nic.network_security_group),
                    subnet_nsg=_id(subnet.network_security_group if subnet else None),
                    route_table=_id(subnet.route_table if subnet else None),
                    enable_ip_forwarding=nic.enable_ip_forwarding,
                    provisioning_state=nic.provisioning_state,
                )
            )
        vms.append(
            InventoryVm(
                name=vm.name,
                id=str(vm.id),
                kind="arm",
                power_state=vm.power_state,
                os_type=vm.os_type,
                nics=tuple(nics),
            )
        )
    for cvm in sorted(
        snapshot.classic_virtual_machines.values(), key=lambda v: (v.name.casefold(), v.id)
    ):
        vnet = cvm.virtual_network_name
        classic_nic = InventoryNic(
            name=cvm.name,
            id=str(cvm.id),
            found=True,
            private_ip_addresses=tuple(str(a) for a in (cvm.private_ip_address,) if a is not None),
            public_ip_addresses=tuple(
                str(a) for a in (*cvm.instance_public_ip_addresses, *cvm.virtual_ip_addresses)
            ),
            subnet=", ".join(cvm.subnet_names) or None,
            vnet=vnet,
        )
        vms.append(
            InventoryVm(
                name=cvm.name,
                id=str(cvm.id),
                kind="classic",
                power_state=cvm.instance_status or cvm.power_state,
                os_type=None,
                nics=(classic_nic,),
            )
        )
    return Inventory(vms=tuple(vms), warnings=snapshot.warnings)
