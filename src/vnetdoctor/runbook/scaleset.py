"""Step 1's words for scale-set instances: how to start one, and an instance behind its model.

An instance is a VM to every step (docs/semantics/scale-sets.md#vmss-1); only the commands that
act on it and the model it was built from differ.
"""

from __future__ import annotations

from vnetdoctor.model.compute import VirtualMachine
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.findings import Finding, finding


def start_command(vm: VirtualMachine) -> str:
    """``az vmss start`` for a Uniform instance (it has no VM of its own), ``az vm start``
    otherwise (Flexible members are managed as single VMs)."""
    group = vm.id.resource_group
    if vm.is_scale_set_instance and vm.scale_set is not None:
        return f"az vmss start -g {group} -n {vm.scale_set.name} --instance-ids {vm.instance_id}"
    return f"az vm start -g {group} -n {vm.name}"


def instance_findings(snapshot: Snapshot, role: str, vm: VirtualMachine) -> list[Finding]:
    """An instance whose ``latestModelApplied`` is false: its NIC may differ from the model;
    the NIC row decides (docs/semantics/scale-sets.md#vmss-3), the finding says how they differ
    where the snapshot holds both."""
    if not vm.is_scale_set_instance or vm.latest_model_applied is not False:
        return []
    assert vm.scale_set is not None
    group = vm.id.resource_group
    differences = _differences(snapshot, vm)
    said = f": {'; '.join(differences)}" if differences else ""
    return [
        finding(
            "VMSS_INSTANCE_MODEL_STALE",
            f"The {role} instance {vm.name} of scale set {vm.scale_set.name} is not on the "
            "latest model (latestModelApplied false), so changes to the model have not reached "
            f"it; its own NIC was used{said}",
            resource=vm.id,
            pointer="/properties/latestModelApplied",
            command=f"az vmss update-instances -g {group} -n {vm.scale_set.name} "
            f"--instance-ids {vm.instance_id}",
        )
    ]


def _name(rid: ResourceId | None) -> str:
    return "none" if rid is None else rid.name


def _differences(snapshot: Snapshot, vm: VirtualMachine) -> list[str]:
    """Where the instance's NICs differ from the set's NIC configurations of the same name."""
    model = snapshot.virtual_machine_scale_sets.get_ref(vm.scale_set)
    if model is None:
        return []
    configs = {c.name.casefold(): c for c in model.network_interface_configurations}
    out = []
    for nic_id, nic in snapshot.nics_of(vm):
        config = configs.get(nic_id.name.casefold())
        if nic is None or config is None:
            continue
        if nic.network_security_group != config.network_security_group:
            out.append(
                f"NIC {nic.name} has NSG {_name(nic.network_security_group)}, the model "
                f"{_name(config.network_security_group)}"
            )
        if nic.enable_ip_forwarding != config.enable_ip_forwarding:
            out.append(
                f"NIC {nic.name} has IP forwarding {'on' if nic.enable_ip_forwarding else 'off'}, "
                f"the model {'on' if config.enable_ip_forwarding else 'off'}"
            )
    return out


def missing_nic_hint(vm: VirtualMachine) -> str:
    """Where an instance's NIC is found, for the NIC_NOT_FOUND message."""
    if not vm.is_scale_set_instance:
        return ""
    return (
        "; a scale-set instance's NIC is in Resource Graph's computeresources table, or "
        "az vmss nic list-vm-nics"
    )
