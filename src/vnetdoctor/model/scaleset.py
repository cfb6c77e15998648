"""Virtual machine scale sets: the set and its network model.

The instances themselves are :class:`~vnetdoctor.model.compute.VirtualMachine` objects and their
NICs ordinary :class:`~vnetdoctor.model.compute.NetworkInterface` objects, so that every step of
the runbook applies to them unchanged. The model kept here is what the set *would* give a new
instance; an existing instance is judged by its own NIC (docs/semantics/scale-sets.md#vmss-3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from vnetdoctor.errors import ResourceNotFound, UsageError
from vnetdoctor.model.compute import VirtualMachine
from vnetdoctor.model.ids import ResourceId

UNIFORM = "Uniform"
FLEXIBLE = "Flexible"
_INSTANCE_NIC_TYPE = "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces"


def is_instance_ip_configuration(rid: ResourceId) -> bool:
    """An ipconfig of a Uniform instance's NIC
    (``.../virtualMachineScaleSets/s/virtualMachines/3/networkInterfaces/n/ipConfigurations/c``):
    its NIC id lies under the Compute provider, not ``Microsoft.Network/networkInterfaces``."""
    nic = rid.parent
    return nic is not None and (nic.type or "").casefold() == _INSTANCE_NIC_TYPE


class ScaleSetIpConfiguration(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    name: str
    subnet: ResourceId | None = None
    primary: bool = False
    application_security_groups: tuple[ResourceId, ...] = ()
    load_balancer_backend_address_pools: tuple[ResourceId, ...] = ()


class ScaleSetNicConfiguration(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One ``networkInterfaceConfigurations[]`` entry: the NIC every instance gets, by name."""

    name: str
    primary: bool = False
    network_security_group: ResourceId | None = None
    enable_ip_forwarding: bool = False
    ip_configurations: tuple[ScaleSetIpConfiguration, ...] = ()


class VirtualMachineScaleSet(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """``Microsoft.Compute/virtualMachineScaleSets``. ``orchestration_mode`` is ``Uniform`` when
    the body does not say (sets made before Flexible existed are Uniform)."""

    id: ResourceId
    name: str
    location: str | None = None
    orchestration_mode: str = UNIFORM
    sku: str | None = None
    capacity: int | None = None
    upgrade_mode: str | None = None
    computer_name_prefix: str | None = None
    network_interface_configurations: tuple[ScaleSetNicConfiguration, ...] = ()
    provisioning_state: str | None = None

    @property
    def is_uniform(self) -> bool:
        return self.orchestration_mode.casefold() != FLEXIBLE.casefold()


def instance_forms(vm: VirtualMachine) -> tuple[str, ...]:
    """The ``{scale set}/{instance}`` spellings of a scale-set member (``az vmss ...
    --instance-id``): the instance ID of a Uniform instance; for a Flexible VM named
    ``{set}_{suffix}``, the suffix and the VM name."""
    if vm.scale_set is None:
        return ()
    prefix = vm.scale_set.name
    if vm.instance_id is not None:
        return (f"{prefix}/{vm.instance_id}",)
    forms = [f"{prefix}/{vm.name}"]
    head, sep, tail = vm.name.rpartition("_")
    if sep and head.casefold() == prefix.casefold():
        forms.append(f"{prefix}/{tail}")
    return tuple(forms)


def _instance_sort_key(vm: VirtualMachine) -> tuple[int, str]:
    text = vm.instance_id or vm.name
    return (int(text), "") if text.isdigit() else (1 << 62, text.casefold())


def instances_by_set(vms: Iterable[VirtualMachine]) -> dict[ResourceId, list[VirtualMachine]]:
    """The VMs of each scale set, ordered by instance ID (numerically) or name."""
    out: dict[ResourceId, list[VirtualMachine]] = {}
    for vm in vms:
        if vm.scale_set is not None:
            out.setdefault(vm.scale_set, []).append(vm)
    for members in out.values():
        members.sort(key=_instance_sort_key)
    return out


class InstanceNames:
    """The names a VM answers to beyond its own (docs/semantics/scale-sets.md#vmss-5):
    ``{set}/{instance}``, the computer name, and a bare scale-set name when the set has one
    instance. Built once per VM table, on first use."""

    __slots__ = ("_by_computer", "_by_pair", "_by_set")

    def __init__(self, vms: Mapping[ResourceId, VirtualMachine]) -> None:
        self._by_pair: dict[str, list[ResourceId]] = {}
        self._by_computer: dict[str, list[ResourceId]] = {}
        for rid, vm in vms.items():
            for form in instance_forms(vm):
                self._by_pair.setdefault(form.casefold(), []).append(rid)
            if vm.computer_name:
                self._by_computer.setdefault(vm.computer_name.casefold(), []).append(rid)
        self._by_set: dict[str, list[list[VirtualMachine]]] = {}
        for set_id, members in instances_by_set(vms.values()).items():
            self._by_set.setdefault(set_id.name.casefold(), []).append(members)

    def lookup(self, text: str) -> list[ResourceId]:
        """The VMs ``text`` names in the first form that matches any; ``[]`` when none does.
        A bare scale-set name with several instances is a :class:`UsageError` listing them."""
        key = text.casefold()
        for index in (self._by_pair, self._by_computer):
            found = index.get(key)
            if found:
                return list(dict.fromkeys(found))
        sets = self._by_set.get(key)
        if not sets:
            return []
        if len(sets) > 1:
            raise ResourceNotFound(
                "scale set", text, sorted(str(m[0].scale_set) for m in sets if m[0].scale_set)
            )
        members = sets[0]
        if len(members) == 1:
            return [members[0].id]
        listed = ", ".join(m.name for m in members[:10])
        more = f" and {len(members) - 10} more" if len(members) > 10 else ""
        raise UsageError(
            f"{text!r} is a scale set with {len(members)} instances; name one of: {listed}{more} "
            f"(or {text}/<instance id>)"
        )
