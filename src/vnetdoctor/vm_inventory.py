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
    scale_set: str | None = None
    instance_id: str | None = None


class InventoryInstance(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    id: str
    instance_id: str | None
    computer_name: str | None
    power_state: str | None
    latest_model_applied: bool | None
    private_ip_addresses: tuple[str, ...] = ()


class InventoryScaleSet(msgspec.Struct, frozen=True, kw_only=True):
    """A scale set and its members as the snapshot has them (``found``: the set's own row)."""

    name: str
    id: str
    found: bool
    orchestration_mode: str | None
    capacity: int | None
    instances: tuple[InventoryInstance, ...]


class Inventory(msgspec.Struct, frozen=True, kw_only=True):
    vms: tuple[InventoryVm, ...]
    warnings: tuple[IngestWarning, ...]
    scale_sets: tuple[InventoryScaleSet, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (camelCase, as Azure tools print). Scale-set keys appear
        only for snapshots that hold scale sets, so other outputs keep their shape."""
        out = {
            "vms": [
                {
                    "name": vm.name,
                    "id": vm.id,
                    "kind": vm.kind,
                    "powerState": vm.power_state,
                    "osType": vm.os_type,
                    **_member_json(vm),
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
        if self.scale_sets:
            out["scaleSets"] = [_scale_set_json(s) for s in self.scale_sets]
        return out


def _member_json(vm: InventoryVm) -> dict[str, Any]:
    if vm.scale_set is None:
        return {}
    return {"scaleSet": vm.scale_set, "instanceId": vm.instance_id}


def _scale_set_json(s: InventoryScaleSet) -> dict[str, Any]:
    return {
        "name": s.name,
        "id": s.id,
        "found": s.found,
        "orchestrationMode": s.orchestration_mode,
        "capacity": s.capacity,
        "instances": [
            {
                "name": i.name,
                "id": i.id,
                "instanceId": i.instance_id,
                "computerName": i.computer_name,
                "powerState": i.power_state,
                "latestModelApplied": i.latest_model_applied,
                "privateIPAddresses": list(i.private_ip_addresses),
            }
            for i in s.instances
        ],
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
                scale_set=_id(vm.scale_set),
                instance_id=vm.instance_id,
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
    return Inventory(vms=tuple(vms), warnings=snapshot.warnings, scale_sets=_scale_sets(snapshot))


def _scale_sets(snapshot: Snapshot) -> tuple[InventoryScaleSet, ...]:
    """Each scale set with its instances (Uniform) or VMs (Flexible), by instance ID; a set
    whose members are in the snapshot but whose own row is not is listed too."""
    ids = dict.fromkeys(snapshot.virtual_machine_scale_sets)
    listed = (vm.scale_set for vm in snapshot.virtual_machines.values() if vm.scale_set)
    ids.update(dict.fromkeys(listed))
    out = []
    for set_id in sorted(ids, key=lambda i: (i.name.casefold(), i)):
        vmss = snapshot.virtual_machine_scale_sets.get_ref(set_id)
        members = []
        for vm in snapshot.instances_of(set_id):
            nic = snapshot.primary_nic(vm)
            members.append(
                InventoryInstance(
                    name=vm.name,
                    id=str(vm.id),
                    instance_id=vm.instance_id,
                    computer_name=vm.computer_name,
                    power_state=vm.power_state,
                    latest_model_applied=vm.latest_model_applied,
                    private_ip_addresses=tuple(str(a) for a in nic.private_ip_addresses)
                    if nic is not None
                    else (),
                )
            )
        out.append(
            InventoryScaleSet(
                name=vmss.name if vmss is not None else set_id.name,
                id=str(set_id),
                found=vmss is not None,
                orchestration_mode=vmss.orchestration_mode if vmss is not None else None,
                capacity=vmss.capacity if vmss is not None else None,
                instances=tuple(members),
            )
        )
    return tuple(out)
