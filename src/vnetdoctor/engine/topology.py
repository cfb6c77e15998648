"""Which address spaces a VNet can reach, and how: peerings and gateways.

Pure functions over a :class:`Snapshot`, shared by the NSG engine (the ``VirtualNetwork`` tag) and
the routing engine (peering and gateway routes). Azure's rules (docs/semantics/peering.md#rules):
a peering carries traffic only when **both** link objects exist and are
``Connected``; ``allowVirtualNetworkAccess`` false on either side cuts it; peering is not
transitive; a gateway's remote prefixes reach a VNet through its own gateway, or through a peered
hub's gateway when the spoke sets ``useRemoteGateways`` and the hub ``allowGatewayTransit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

import msgspec

from vnetdoctor.model.gateway import Connection, VirtualNetworkGateway
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPNetwork
from vnetdoctor.model.network import VirtualNetwork, VirtualNetworkPeering
from vnetdoctor.model.snapshot import Snapshot


class PeeringStatus(StrEnum):
    """Why a peering link does or does not carry traffic."""

    USABLE = "usable"
    MISSING_REMOTE_LINK = "missing_remote_link"  # the remote VNet has no peering back
    REMOTE_VNET_UNKNOWN = "remote_vnet_unknown"  # the remote VNet is not in the snapshot
    NOT_CONNECTED = "not_connected"  # a link is Initiated or Disconnected
    ACCESS_DISABLED = "access_disabled"  # allowVirtualNetworkAccess false on a side


class PeeringLink(msgspec.Struct, frozen=True, kw_only=True):
    """A peering seen from ``local``: both link objects (``remote_side`` may be absent)."""

    local: VirtualNetwork
    local_side: VirtualNetworkPeering
    remote: VirtualNetwork | None
    remote_side: VirtualNetworkPeering | None
    status: PeeringStatus

    @property
    def is_usable(self) -> bool:
        return self.status is PeeringStatus.USABLE

    @property
    def remote_prefixes(self) -> tuple[IPNetwork, ...]:
        """The remote address space: from the remote VNet when known, else from the link."""
        if self.remote is not None:
            return self.remote.address_prefixes
        return self.local_side.remote_address_prefixes


def peering_links(snapshot: Snapshot, vnet: VirtualNetwork) -> Iterator[PeeringLink]:
    """Every peering of ``vnet`` with the remote side resolved and judged."""
    for side in vnet.virtual_network_peerings:
        remote = snapshot.virtual_networks.get_ref(side.remote_virtual_network)
        back = None
        if remote is not None:
            back = next(
                (p for p in remote.virtual_network_peerings if p.remote_virtual_network == vnet.id),
                None,
            )
        if remote is None:
            status = PeeringStatus.REMOTE_VNET_UNKNOWN
        elif back is None:
            status = PeeringStatus.MISSING_REMOTE_LINK
        elif not (side.is_connected and back.is_connected):
            status = PeeringStatus.NOT_CONNECTED
        elif not (side.allow_virtual_network_access and back.allow_virtual_network_access):
            status = PeeringStatus.ACCESS_DISABLED
        else:
            status = PeeringStatus.USABLE
        yield PeeringLink(
            local=vnet, local_side=side, remote=remote, remote_side=back, status=status
        )


def gateways_in(snapshot: Snapshot, vnet_id: ResourceId) -> list[VirtualNetworkGateway]:
    return [
        g for g in snapshot.virtual_network_gateways.values() if g.virtual_network_id == vnet_id
    ]


class ConnectionState(StrEnum):
    """What a gateway connection's ``connectionStatus`` says about its tunnel."""

    UP = "up"  # Connected
    DOWN = "down"  # NotConnected: the only status that blocks
    UNKNOWN = "unknown"  # Unknown, Connecting, or absent (a template or plan holds none)


def connection_state(connection: Connection) -> ConnectionState:
    """Only ``NotConnected`` is down. Azure answered Reachable across a Vnet2Vnet pair recorded as
    ``Unknown`` and absent, so a status other than ``Connected`` proves nothing either way."""
    status = (connection.connection_status or "").casefold()
    if status == "connected":
        return ConnectionState.UP
    if status == "notconnected":
        return ConnectionState.DOWN
    return ConnectionState.UNKNOWN


def gateway_connections(snapshot: Snapshot, gateway: VirtualNetworkGateway) -> list[Connection]:
    return [
        c
        for c in snapshot.connections.values()
        if gateway.id in (c.virtual_network_gateway1, c.virtual_network_gateway2)
    ]


class GatewayPrefixes(msgspec.Struct, frozen=True, kw_only=True):
    """Prefixes reachable through a gateway, with the connection that carries them."""

    connection: Connection
    gateway: VirtualNetworkGateway
    prefixes: tuple[IPNetwork, ...]


def connection_prefixes(
    snapshot: Snapshot, gateway: VirtualNetworkGateway, connection: Connection
) -> tuple[IPNetwork, ...]:
    """The remote prefixes a connection carries for ``gateway``: the local network gateway's
    address space (IPsec), or the other VNet's address space (Vnet2Vnet). BGP-learned prefixes are
    not in a snapshot and are not invented here."""
    if connection.local_network_gateway2 is not None:
        lng = snapshot.local_network_gateways.get_ref(connection.local_network_gateway2)
        return lng.address_prefixes if lng is not None else ()
    other_id = (
        connection.virtual_network_gateway2
        if connection.virtual_network_gateway1 == gateway.id
        else connection.virtual_network_gateway1
    )
    other = snapshot.virtual_network_gateways.get_ref(other_id)
    other_vnet = snapshot.virtual_networks.get_ref(other.virtual_network_id) if other else None
    return other_vnet.address_prefixes if other_vnet is not None else ()


def own_gateway_prefixes(snapshot: Snapshot, vnet_id: ResourceId) -> list[GatewayPrefixes]:
    """Remote prefixes behind the VNet's own gateways, per connection (all statuses)."""
    out = []
    for gateway in gateways_in(snapshot, vnet_id):
        for connection in gateway_connections(snapshot, gateway):
            out.append(
                GatewayPrefixes(
                    connection=connection,
                    gateway=gateway,
                    prefixes=connection_prefixes(snapshot, gateway, connection),
                )
            )
    return out


def transit_hub(snapshot: Snapshot, vnet: VirtualNetwork) -> PeeringLink | None:
    """The usable peering through which ``vnet`` uses a remote gateway, if any.

    Needs ``useRemoteGateways`` on this side, ``allowGatewayTransit`` on the hub's side, and a
    gateway in the hub.
    """
    for link in peering_links(snapshot, vnet):
        if (
            link.is_usable
            and link.local_side.use_remote_gateways
            and link.remote_side is not None
            and link.remote_side.allow_gateway_transit
            and link.remote is not None
            and gateways_in(snapshot, link.remote.id)
        ):
            return link
    return None


def reachable_gateway_prefixes(snapshot: Snapshot, vnet: VirtualNetwork) -> list[GatewayPrefixes]:
    """Prefixes reachable through gateways, own or by transit, over connections that are not
    ``NotConnected`` (an unknown status keeps its routes; step 9 says it is unknown)."""
    found = [
        g
        for g in own_gateway_prefixes(snapshot, vnet.id)
        if connection_state(g.connection) is not ConnectionState.DOWN
    ]
    hub = transit_hub(snapshot, vnet)
    if hub is not None and hub.remote is not None:
        found.extend(
            g
            for g in own_gateway_prefixes(snapshot, hub.remote.id)
            if connection_state(g.connection) is not ConnectionState.DOWN
        )
    return found
