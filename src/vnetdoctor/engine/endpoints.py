"""The two ends of a question: a VM, a NIC, a classic VM, or a bare IP address.

An IP that belongs to the estate resolves to its NIC (or classic VM); any other IP is outside:
on-premises when a local network gateway's prefixes cover it, the Internet when it is public,
and unknown otherwise (a private address nobody in the snapshot holds).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum

import msgspec

from vnetdoctor.errors import ResourceNotFound
from vnetdoctor.model.classic import ClassicVirtualMachine
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface, VirtualMachine
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.private_endpoint import PrivateEndpoint
from vnetdoctor.model.snapshot import Snapshot


class EndpointKind(StrEnum):
    VM = "vm"
    NIC = "nic"
    CLASSIC_VM = "classic-vm"
    ADDRESS = "address"
    BASTION = "bastion"  # an Azure Bastion session's source (engine/bastion.py)


class Location(StrEnum):
    ESTATE = "estate"
    INTERNET = "internet"
    ON_PREMISES = "on-premises"
    UNKNOWN = "unknown"


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved end. ``nic``/``ip_configuration`` are ``None`` when the VM's NIC is missing."""

    text: str
    kind: EndpointKind
    location: Location
    ip: IPAddress | None = None
    vm: VirtualMachine | None = None
    nic: NetworkInterface | None = None
    ip_configuration: IpConfiguration | None = None
    classic_vm: ClassicVirtualMachine | None = None
    missing_nic: ResourceId | None = None
    # Set when ``nic`` is a private endpoint's NIC (no guest; engine/private_endpoints.py).
    private_endpoint: PrivateEndpoint | None = None

    @property
    def name(self) -> str:
        if self.private_endpoint is not None:
            return self.private_endpoint.name
        if self.vm is not None:
            return self.vm.name
        if self.classic_vm is not None:
            return self.classic_vm.name
        if self.nic is not None:
            return self.nic.name
        return self.text

    @property
    def is_outside(self) -> bool:
        return self.location in (Location.INTERNET, Location.ON_PREMISES)

    def describe(self) -> str:
        where = f" ({self.ip})" if self.ip is not None and str(self.ip) != self.name else ""
        return f"{self.name}{where}"


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def vnet_of(snapshot: Snapshot, ipc: IpConfiguration | None) -> VirtualNetwork | None:
    return None if ipc is None else snapshot.subnet_vnet(ipc.subnet)


def _on_premises(snapshot: Snapshot, ip: IPAddress) -> bool:
    return any(
        ip in p
        for lng in snapshot.local_network_gateways.values()
        for p in lng.address_prefixes
        if p.version == ip.version
    )


def _from_nic(
    text: str,
    kind: EndpointKind,
    vm: VirtualMachine | None,
    nic: NetworkInterface,
    ip: IPAddress | None = None,
) -> Endpoint:
    ipc = (
        next((c for c in nic.ip_configurations if c.private_ip_address == ip), None)
        if ip is not None
        else nic.primary_ip_configuration
    )
    address = ip if ip is not None else (ipc.private_ip_address if ipc else None)
    return Endpoint(
        text=text,
        kind=kind,
        location=Location.ESTATE,
        ip=address,
        vm=vm,
        nic=nic,
        ip_configuration=ipc,
    )


def resolve_endpoint(snapshot: Snapshot, text: str) -> Endpoint:
    """Resolve what a person typed: an IP, a VM name or id, a classic VM, or a NIC."""
    ip = _parse_ip(text)
    if ip is not None:
        return _resolve_ip(snapshot, text, ip)
    try:
        vm = snapshot.virtual_machines.find(text)
    except ResourceNotFound as exc:
        if exc.candidates:
            raise
    else:
        nic = snapshot.primary_nic(vm)
        if nic is None:
            refs = vm.network_interfaces
            chosen = next((r for r in refs if r.primary), refs[0] if refs else None)
            return Endpoint(
                text=text,
                kind=EndpointKind.VM,
                location=Location.ESTATE,
                vm=vm,
                missing_nic=None if chosen is None else chosen.id,
            )
        return _from_nic(text, EndpointKind.VM, vm, nic)
    try:
        classic = snapshot.classic_virtual_machines.find(text)
    except ResourceNotFound as exc:
        if exc.candidates:
            raise
    else:
        return Endpoint(
            text=text,
            kind=EndpointKind.CLASSIC_VM,
            location=Location.ESTATE,
            ip=classic.virtual_ip_addresses[0]
            if classic.virtual_ip_addresses
            else classic.private_ip_address,
            classic_vm=classic,
        )
    try:
        nic = snapshot.network_interfaces.find(text)
    except ResourceNotFound as exc:
        if exc.candidates:
            raise
        if text.strip().casefold() == "internet":
            return Endpoint(text="Internet", kind=EndpointKind.ADDRESS, location=Location.INTERNET)
        raise ResourceNotFound("VM, classic VM or network interface", text) from None
    return _from_nic(text, EndpointKind.NIC, snapshot.vm_of_nic(nic), nic)


def _resolve_ip(snapshot: Snapshot, text: str, ip: IPAddress) -> Endpoint:
    holders = snapshot.nics_with_ip(ip)
    if len(holders) == 1:
        nic, _ = holders[0]
        return _from_nic(text, EndpointKind.NIC, snapshot.vm_of_nic(nic), nic, ip)
    if len(holders) > 1:
        # Several NICs hold the address (overlapping VNets); the route decides which one the
        # packet meets, so the trace picks among them. Report the first as the named end.
        nic, _ = holders[0]
        return _from_nic(text, EndpointKind.NIC, snapshot.vm_of_nic(nic), nic, ip)
    for classic in snapshot.classic_virtual_machines.values():
        if (
            ip == classic.private_ip_address
            or ip in classic.virtual_ip_addresses
            or ip in classic.instance_public_ip_addresses
        ):
            return Endpoint(
                text=text,
                kind=EndpointKind.CLASSIC_VM,
                location=Location.ESTATE,
                ip=ip,
                classic_vm=classic,
            )
    if _on_premises(snapshot, ip):
        location = Location.ON_PREMISES
    elif ip.is_global:
        location = Location.INTERNET
    else:
        location = Location.UNKNOWN
    return Endpoint(text=text, kind=EndpointKind.ADDRESS, location=location, ip=ip)
