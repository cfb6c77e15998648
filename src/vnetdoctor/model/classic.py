"""Classic (Azure Service Management) virtual machines, their input endpoints and endpoint ACLs.

Endpoint ACLs are only ever returned by the Service Management XML API; an ARM body of a classic VM
never carries them. ``ClassicEndpoint.acl`` is therefore ``None`` when the input could not say
(unknown), ``()`` when the input says there is no ACL, and the rules otherwise.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, IPNetwork


class AclAction(StrEnum):
    PERMIT = "permit"
    DENY = "deny"


class EndpointAclRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    order: int
    action: AclAction
    remote_subnet: IPNetwork
    description: str | None = None


class ClassicEndpoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    name: str
    protocol: str
    public_port: int | None = None
    local_port: int | None = None
    vip: IPAddress | None = None
    load_balanced_endpoint_set_name: str | None = None
    enable_direct_server_return: bool = False
    acl: tuple[EndpointAclRule, ...] | None = None
    index: int = 0


class ClassicVirtualMachine(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A classic VM (role). ``source`` says where it came from: ``arm`` or ``asm-xml``.

    ``id`` is the ARM id when the VM came through ARM, else a synthetic id
    ``/classic/hostedservices/{service}/deployments/{deployment}/roles/{role}`` so that it can be
    named and indexed like any other resource.

    Public addresses come in two kinds that must not be mixed: an *instance-level* public IP
    reaches the VM on every port, while a deployment *virtual IP* reaches it only through an input
    endpoint. ``endpoints_complete`` is false when an endpoint could not be read, so that "no
    endpoint for this port" is never claimed with false certainty.
    """

    id: ResourceId
    name: str
    source: str
    cloud_service: str | None = None
    deployment_name: str | None = None
    location: str | None = None
    instance_status: str | None = None
    power_state: str | None = None
    private_ip_address: IPAddress | None = None
    instance_public_ip_addresses: tuple[IPAddress, ...] = ()
    virtual_ip_addresses: tuple[IPAddress, ...] = ()
    virtual_network_name: str | None = None
    subnet_names: tuple[str, ...] = ()
    endpoints: tuple[ClassicEndpoint, ...] = ()
    endpoints_complete: bool = True
    path: str | None = None

    @property
    def is_running(self) -> bool | None:
        status = (self.instance_status or self.power_state or "").casefold()
        if not status:
            return None
        return status in {"readyrole", "started", "running"}
