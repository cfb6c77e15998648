"""VPN / ExpressRoute gateways, their connections, and local network gateways (on-premises)."""

from __future__ import annotations

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, IPNetwork


class BgpSettings(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    asn: int | None = None
    bgp_peering_address: str | None = None


class VirtualNetworkGatewayIpConfiguration(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    subnet: ResourceId | None = None
    public_ip_address: ResourceId | None = None
    private_ip_address: IPAddress | None = None


class VirtualNetworkGateway(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    gateway_type: str | None = None
    vpn_type: str | None = None
    sku: str | None = None
    ip_configurations: tuple[VirtualNetworkGatewayIpConfiguration, ...] = ()
    enable_bgp: bool = False
    active_active: bool = False
    bgp_settings: BgpSettings | None = None
    provisioning_state: str | None = None

    @property
    def virtual_network_id(self) -> ResourceId | None:
        """The VNet the gateway sits in (the parent of its ``GatewaySubnet``)."""
        for ipc in self.ip_configurations:
            if ipc.subnet is not None:
                return ipc.subnet.parent
        return None


class LocalNetworkGateway(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    gateway_ip_address: str | None = None
    fqdn: str | None = None
    address_prefixes: tuple[IPNetwork, ...] = ()
    bgp_settings: BgpSettings | None = None
    provisioning_state: str | None = None
    problems: tuple[str, ...] = ()


class Connection(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A ``Microsoft.Network/connections`` resource (IPsec, Vnet2Vnet, ExpressRoute)."""

    id: ResourceId
    name: str
    location: str | None = None
    connection_type: str | None = None
    connection_status: str | None = None
    virtual_network_gateway1: ResourceId | None = None
    virtual_network_gateway2: ResourceId | None = None
    local_network_gateway2: ResourceId | None = None
    enable_bgp: bool = False
    provisioning_state: str | None = None

    @property
    def is_connected(self) -> bool:
        return (self.connection_status or "").casefold() == "connected"
