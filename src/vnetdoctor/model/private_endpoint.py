"""Private endpoints (``Microsoft.Network/privateEndpoints``, 2024-05-01): the NIC Azure creates in
a subnet for one Private Link connection to a PaaS resource or a Private Link service."""

from __future__ import annotations

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress


class PrivateLinkServiceConnection(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One entry of ``privateLinkServiceConnections`` (``manual`` False) or of
    ``manualPrivateLinkServiceConnections`` (``manual`` True)."""

    id: ResourceId | None = None
    name: str = ""
    private_link_service_id: ResourceId | None = None
    group_ids: tuple[str, ...] = ()
    status: str | None = None  # privateLinkServiceConnectionState.status
    description: str | None = None
    manual: bool = False
    index: int = 0

    @property
    def is_approved(self) -> bool:
        return (self.status or "").casefold() == "approved"


class CustomDnsConfig(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What DNS should answer for the endpoint (informative: Azure does not publish it)."""

    fqdn: str | None = None
    ip_addresses: tuple[IPAddress, ...] = ()


class PrivateEndpointIpConfiguration(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    name: str = ""
    group_id: str | None = None
    member_name: str | None = None
    private_ip_address: IPAddress | None = None


class PrivateEndpoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    subnet: ResourceId | None = None
    network_interfaces: tuple[ResourceId, ...] = ()
    connections: tuple[PrivateLinkServiceConnection, ...] = ()
    custom_dns_configs: tuple[CustomDnsConfig, ...] = ()
    ip_configurations: tuple[PrivateEndpointIpConfiguration, ...] = ()
    provisioning_state: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def connection(self) -> PrivateLinkServiceConnection | None:
        """The connection of record: the first automatic one, else the first manual one."""
        auto = next((c for c in self.connections if not c.manual), None)
        return auto or next((c for c in self.connections if c.manual), None)
