"""Scale sets, their Uniform instances and the instances' NICs -> the domain model.

A Uniform instance (``Microsoft.Compute/virtualMachineScaleSets/virtualMachines``, as ``GET
.../virtualMachines`` and Resource Graph's ``computeresources`` table give it) becomes a
:class:`VirtualMachine` with its set and instance ID, and its NIC, whose id lies under the
Compute path (``.../virtualMachines/3/networkInterfaces/nic``) whichever API served it, an
ordinary :class:`NetworkInterface`: every step of the runbook then applies to it unchanged
(docs/semantics/scale-sets.md). Flexible members are ordinary VM rows (``ingest/arm.py`` keeps
their ``virtualMachineScaleSet`` reference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import msgspec

from vnetdoctor.ingest import arm
from vnetdoctor.ingest.fields import Json, Reader, props
from vnetdoctor.model.compute import NetworkInterface, NetworkInterfaceReference, VirtualMachine
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.scaleset import (
    UNIFORM,
    ScaleSetIpConfiguration,
    ScaleSetNicConfiguration,
    VirtualMachineScaleSet,
)
from vnetdoctor.model.warnings import IngestWarning, WarningKind

SCALE_SETS: Final = "microsoft.compute/virtualmachinescalesets"
INSTANCES: Final = "microsoft.compute/virtualmachinescalesets/virtualmachines"
INSTANCE_NICS: Final = "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces"
INSTANCE_PUBLIC_IPS: Final = f"{INSTANCE_NICS}/ipconfigurations/publicipaddresses"


def _ip_configuration(r: Reader, obj: Json, owner: ResourceId) -> ScaleSetIpConfiguration:
    p = props(obj)
    name = obj.get("name")
    return ScaleSetIpConfiguration(
        name=name if isinstance(name, str) else "",
        subnet=r.ref(p, "subnet", owner),
        primary=r.bool_(p, "primary", owner),
        application_security_groups=r.refs(p, "applicationSecurityGroups", owner),
        load_balancer_backend_address_pools=r.refs(p, "loadBalancerBackendAddressPools", owner),
    )


def _nic_configuration(r: Reader, obj: Json, owner: ResourceId) -> ScaleSetNicConfiguration:
    p = props(obj)
    name = obj.get("name")
    return ScaleSetNicConfiguration(
        name=name if isinstance(name, str) else "",
        primary=r.bool_(p, "primary", owner),
        network_security_group=r.ref(p, "networkSecurityGroup", owner),
        enable_ip_forwarding=r.bool_(p, "enableIPForwarding", owner),
        ip_configurations=tuple(
            _ip_configuration(r, c, owner) for _, c in _objects(r, p, "ipConfigurations", owner)
        ),
    )


def _objects(r: Reader, obj: Json, key: str, owner: object) -> list[tuple[int, Json]]:
    out: list[tuple[int, Json]] = []
    for i, item in enumerate(r.list_(obj, key, owner)):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            r.bad(owner, f"{key}[{i}]", item, "expected an object")
    return out


def scale_set_from_arm(r: Reader, obj: Json, rid: ResourceId) -> VirtualMachineScaleSet:
    p = props(obj)
    profile = r.dict_(p, "virtualMachineProfile", rid)
    network = r.dict_(profile, "networkProfile", rid)
    os_profile = r.dict_(profile, "osProfile", rid)
    sku = r.dict_(obj, "sku", rid)
    name = obj.get("name")
    return VirtualMachineScaleSet(
        id=rid,
        name=name if isinstance(name, str) and name else rid.name,
        location=r.str_(obj, "location", rid),
        orchestration_mode=r.str_(p, "orchestrationMode", rid) or UNIFORM,
        sku=r.str_(sku, "name", rid),
        capacity=r.int_(sku, "capacity", rid),
        upgrade_mode=r.str_(r.dict_(p, "upgradePolicy", rid), "mode", rid),
        computer_name_prefix=r.str_(os_profile, "computerNamePrefix", rid),
        network_interface_configurations=tuple(
            _nic_configuration(r, c, rid)
            for _, c in _objects(r, network, "networkInterfaceConfigurations", rid)
        ),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


def instance_from_arm(r: Reader, obj: Json, rid: ResourceId) -> VirtualMachine:
    """A Uniform instance: a VM body plus ``instanceId`` and ``latestModelApplied``.

    The instance's name is ``{set}_{instanceId}`` (the id ends in the bare instance ID); the
    computer name is the row's ``osProfile.computerName`` or ``instanceView.computerName``.
    """
    vm = arm.vm_from_arm(r, obj, rid)
    p = props(obj)
    scale_set = rid.parent
    raw_instance = obj.get("instanceId", p.get("instanceId"))
    instance_id = raw_instance if isinstance(raw_instance, str) and raw_instance else rid.name
    name = obj.get("name")
    if not isinstance(name, str) or not name or name == rid.name:
        name = f"{scale_set.name}_{instance_id}" if scale_set is not None else rid.name
    computer = vm.computer_name
    if computer is None:
        view = p.get("instanceView")
        if isinstance(view, dict):
            computer = r.str_(view, "computerName", rid)
    return msgspec.structs.replace(
        vm,
        name=name,
        computer_name=computer,
        scale_set=scale_set,
        instance_id=instance_id,
        latest_model_applied=r.opt_bool(p, "latestModelApplied", rid),
    )


# Type -> (Snapshot attribute, converter); the loader adds these to arm.CONVERTERS. An instance
# NIC (or its public IP) served by the Network API has the Network type and needs nothing; the
# Compute spellings are Resource Graph's computeresources table's.
CONVERTERS: Final[Mapping[str, tuple[str, Callable[[Reader, Json, ResourceId], Any]]]] = {
    SCALE_SETS: ("virtual_machine_scale_sets", scale_set_from_arm),
    INSTANCES: ("virtual_machines", instance_from_arm),
    INSTANCE_NICS: ("network_interfaces", arm.nic_from_arm),
    INSTANCE_PUBLIC_IPS: ("public_ip_addresses", arm.public_ip_from_arm),
}


def complete(tables: dict[str, dict[ResourceId, Any]], warnings: list[IngestWarning]) -> None:
    """What needs more than one row: an instance row without ``networkProfile`` gets the NICs
    whose ids lie under it (else the ones its set's model names, so that a missing NIC is a
    dangling reference and the instance unknown, not NIC-less); a Uniform set without instance
    rows is said to be incomplete (Resource Graph's ``resources`` table does not hold them)."""
    vms: dict[ResourceId, VirtualMachine] = tables.get("virtual_machines", {})
    nics: dict[ResourceId, NetworkInterface] = tables.get("network_interfaces", {})
    sets: dict[ResourceId, VirtualMachineScaleSet] = tables.get("virtual_machine_scale_sets", {})
    bare = [vm for vm in vms.values() if vm.instance_id is not None and not vm.network_interfaces]
    if bare:
        under: dict[ResourceId, list[NetworkInterface]] = {}
        for nic in nics.values():
            parent = nic.id.parent
            if parent is not None:
                under.setdefault(parent, []).append(nic)
        for vm in bare:
            refs = [
                NetworkInterfaceReference(id=nic.id, primary=nic.primary)
                for nic in sorted(under.get(vm.id, ()), key=lambda n: n.id)
            ]
            model = sets.get(vm.scale_set) if vm.scale_set is not None else None
            if not refs and model is not None:
                refs = [
                    NetworkInterfaceReference(
                        id=vm.id.child("networkInterfaces", c.name), primary=c.primary
                    )
                    for c in model.network_interface_configurations
                    if c.name
                ]
            if refs:
                vms[vm.id] = msgspec.structs.replace(vm, network_interfaces=tuple(refs))
    members = {vm.scale_set for vm in vms.values() if vm.scale_set is not None}
    for vmss in sets.values():
        if vmss.is_uniform and vmss.id not in members and (vmss.capacity or 0) > 0:
            warnings.append(
                IngestWarning.of(
                    WarningKind.MISSING_FIELD,
                    f"scale set {vmss.name!r} has capacity {vmss.capacity} but none of its "
                    "instances is in the snapshot (Resource Graph keeps Uniform instances and "
                    "their NICs in the computeresources table, not resources; or use az vmss "
                    "list-instances and az vmss nic list): its instances are unknown",
                    resource=str(vmss.id),
                )
            )
