"""Virtual networks, subnets, peerings and route tables, named and shaped as ARM names them."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import AddressPrefix, IPAddress, IPNetwork


class PeeringState(StrEnum):
    INITIATED = "Initiated"
    CONNECTED = "Connected"
    DISCONNECTED = "Disconnected"


class NextHopType(StrEnum):
    """Next hop types of a user-defined route (ARM ``RouteNextHopType``)."""

    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"
    VNET_LOCAL = "VnetLocal"
    INTERNET = "Internet"
    VIRTUAL_APPLIANCE = "VirtualAppliance"
    NONE = "None"

    @classmethod
    def parse(cls, text: str) -> NextHopType:
        folded = text.strip().casefold()
        for member in cls:
            if member.value.casefold() == folded:
                return member
        raise ValueError(f"unknown next hop type {text!r}")


class ServiceEndpoint(msgspec.Struct, frozen=True, gc=False):
    service: str
    locations: tuple[str, ...] = ()
    provisioning_state: str | None = None


class Subnet(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A subnet. ``index`` is its position in the VNet's ``subnets`` array (for JSON pointers)."""

    id: ResourceId
    name: str
    address_prefixes: tuple[IPNetwork, ...] = ()
    network_security_group: ResourceId | None = None
    route_table: ResourceId | None = None
    nat_gateway: ResourceId | None = None
    service_endpoints: tuple[ServiceEndpoint, ...] = ()
    default_outbound_access: bool | None = None
    delegations: tuple[str, ...] = ()
    private_endpoint_network_policies: str | None = None
    provisioning_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()

    @property
    def virtual_network_id(self) -> ResourceId | None:
        return self.id.parent


class VirtualNetworkPeering(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One direction of a peering; Azure needs both link objects ``Connected`` for traffic."""

    id: ResourceId
    name: str
    remote_virtual_network: ResourceId | None = None
    remote_address_prefixes: tuple[IPNetwork, ...] = ()
    peering_state: str | None = None
    peering_sync_level: str | None = None
    allow_virtual_network_access: bool = True
    allow_forwarded_traffic: bool = False
    allow_gateway_transit: bool = False
    use_remote_gateways: bool = False
    provisioning_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()

    @property
    def is_connected(self) -> bool:
        return (self.peering_state or "").casefold() == "connected"


class VirtualNetwork(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    address_prefixes: tuple[IPNetwork, ...] = ()
    subnets: tuple[Subnet, ...] = ()
    virtual_network_peerings: tuple[VirtualNetworkPeering, ...] = ()
    dns_servers: tuple[str, ...] = ()
    provisioning_state: str | None = None
    problems: tuple[str, ...] = ()


class Route(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A user-defined route. ``address_prefix`` may be a CIDR or a service tag."""

    id: ResourceId
    name: str
    address_prefix: AddressPrefix | None
    next_hop_type: NextHopType | None
    next_hop_ip_address: IPAddress | None = None
    provisioning_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()


class RouteTable(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    routes: tuple[Route, ...] = ()
    disable_bgp_route_propagation: bool = False
    provisioning_state: str | None = None
