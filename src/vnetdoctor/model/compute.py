"""Virtual machines, network interfaces and public IP addresses."""

from __future__ import annotations

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress


class IpConfiguration(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    private_ip_address: IPAddress | None = None
    private_ip_allocation_method: str | None = None
    private_ip_address_version: str | None = None
    subnet: ResourceId | None = None
    public_ip_address: ResourceId | None = None
    primary: bool = False
    application_security_groups: tuple[ResourceId, ...] = ()
    load_balancer_backend_address_pools: tuple[ResourceId, ...] = ()
    load_balancer_inbound_nat_rules: tuple[ResourceId, ...] = ()
    provisioning_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()


class NetworkInterface(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    ip_configurations: tuple[IpConfiguration, ...] = ()
    network_security_group: ResourceId | None = None
    enable_ip_forwarding: bool = False
    enable_accelerated_networking: bool = False
    virtual_machine: ResourceId | None = None
    primary: bool | None = None
    mac_address: str | None = None
    dns_servers: tuple[str, ...] = ()
    provisioning_state: str | None = None
    # dnsSettings.appliedDnsServers: what the VM is given (an availability set's union).
    applied_dns_servers: tuple[str, ...] = ()

    @property
    def primary_ip_configuration(self) -> IpConfiguration | None:
        for ipc in self.ip_configurations:
            if ipc.primary:
                return ipc
        return self.ip_configurations[0] if self.ip_configurations else None

    @property
    def private_ip_addresses(self) -> tuple[IPAddress, ...]:
        return tuple(
            c.private_ip_address for c in self.ip_configurations if c.private_ip_address is not None
        )


class NetworkInterfaceReference(msgspec.Struct, frozen=True, gc=False):
    id: ResourceId
    primary: bool | None = None


class VirtualMachine(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An ARM VM. ``power_state`` is the part after ``PowerState/`` (``running``, ``deallocated``),
    or ``None`` when the snapshot carries no instance view: then it is unknown, not running.

    A scale-set instance is a VM too (docs/semantics/scale-sets.md#vmss-1): ``scale_set`` names
    its set (Uniform and Flexible), ``instance_id`` is set for a Uniform instance only, and
    ``latest_model_applied`` is the instance's own flag (``None`` when not said).
    """

    id: ResourceId
    name: str
    location: str | None = None
    network_interfaces: tuple[NetworkInterfaceReference, ...] = ()
    power_state: str | None = None
    os_type: str | None = None
    computer_name: str | None = None
    vm_size: str | None = None
    provisioning_state: str | None = None
    scale_set: ResourceId | None = None
    instance_id: str | None = None
    latest_model_applied: bool | None = None

    @property
    def is_scale_set_instance(self) -> bool:
        """A Uniform instance (``virtualMachineScaleSets/virtualMachines``), not a Flexible VM."""
        return self.instance_id is not None

    @property
    def is_running(self) -> bool | None:
        if self.power_state is None:
            return None
        return self.power_state.casefold() == "running"


class PublicIpAddress(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    ip_address: IPAddress | None = None
    public_ip_allocation_method: str | None = None
    public_ip_address_version: str | None = None
    sku: str | None = None
    ip_configuration: ResourceId | None = None
    nat_gateway: ResourceId | None = None
    provisioning_state: str | None = None
