"""Turn what a person types (a VM name, a NIC name, an IP) into resources of the snapshot."""

from __future__ import annotations

from vnetdoctor.errors import ResourceNotFound, UsageError
from vnetdoctor.model.compute import NetworkInterface, VirtualMachine
from vnetdoctor.model.snapshot import Snapshot


def resolve_vm(snapshot: Snapshot, name_or_id: str) -> VirtualMachine:
    """A VM by name (case-insensitive) or full id; ambiguity lists the candidate ids."""
    return snapshot.virtual_machines.find(name_or_id)


def resolve_nic(
    snapshot: Snapshot, *, vm: str | None = None, nic: str | None = None
) -> NetworkInterface:
    """The NIC named by ``--nic``, or the primary NIC of ``--vm`` (as Network Watcher picks it).

    With both, the NIC must belong to the VM. A VM whose NIC is absent from the snapshot is an
    error naming the missing NIC, because nothing can be said about it.
    """
    if nic is None and vm is None:
        raise UsageError("name a VM (--vm) or a network interface (--nic)")
    machine = resolve_vm(snapshot, vm) if vm is not None else None
    if nic is not None:
        found = snapshot.network_interfaces.find(nic)
        if machine is not None and all(ref.id != found.id for ref in machine.network_interfaces):
            raise UsageError(
                f"network interface {found.name!r} is not attached to VM {machine.name!r}"
            )
        return found
    assert machine is not None
    if not machine.network_interfaces:
        raise UsageError(f"VM {machine.name!r} has no network interfaces in the snapshot")
    primary = snapshot.primary_nic(machine)
    if primary is None:
        refs = machine.network_interfaces
        chosen = next((r for r in refs if r.primary), refs[0])
        raise ResourceNotFound("network interface", str(chosen.id))
    return primary
