"""Step 9 of the guide: can the two VNets (or the VNet and on-premises) talk at all?

Judged from the peering objects and gateway connections, independently of the route the trace
took, because a missing peering shows in the routes only as an absent route: here it gets its
name. Azure's rules (``docs/semantics/peering.md#rules``): both peering objects must exist and
be ``Connected``; ``allowVirtualNetworkAccess`` false on either side cuts the link; peering is not
transitive; peered address spaces must not overlap; a spoke reaches on-premises through the hub's
gateway only with ``useRemoteGateways`` on its side and ``allowGatewayTransit`` on the hub's.
"""

from __future__ import annotations

from vnetdoctor.engine.path import Issue, Outcome, Trace
from vnetdoctor.engine.topology import (
    ConnectionState,
    PeeringLink,
    PeeringStatus,
    connection_state,
    gateway_connections,
    gateways_in,
    peering_links,
)
from vnetdoctor.model.gateway import Connection
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.network import VirtualNetwork, VirtualNetworkPeering
from vnetdoctor.model.snapshot import Snapshot


def _pointer(side: VirtualNetworkPeering, field: str | None = None) -> str:
    base = "/properties"
    return f"{base}/{field}" if field else base


def _overlaps(a: VirtualNetwork, b: VirtualNetwork) -> list[tuple[int, str]]:
    out = []
    for i, prefix in enumerate(b.address_prefixes):
        if any(prefix.version == p.version and prefix.overlaps(p) for p in a.address_prefixes):
            out.append((i, str(prefix)))
    return out


def _link_issue(link: PeeringLink, src: VirtualNetwork, dst: VirtualNetwork) -> Issue | None:
    side, back = link.local_side, link.remote_side
    if link.status is PeeringStatus.USABLE:
        return None
    if link.status is PeeringStatus.REMOTE_VNET_UNKNOWN:
        return Issue(
            code="PEERING_UNKNOWN",
            message=f"Peering {side.name!r} of {link.local.name} points at a VNet that "
            "is not in the snapshot",
            resource=str(side.id),
            pointer=_pointer(side, "remoteVirtualNetwork"),
        )
    if link.status in (PeeringStatus.NOT_CONNECTED, PeeringStatus.MISSING_REMOTE_LINK):
        broken = side if not side.is_connected else back
        if broken is not None and not broken.is_connected:
            owner = link.local if broken is side else link.remote
            extra = (
                ""
                if back is not None
                else (
                    f"; {link.remote.name if link.remote else 'the remote VNet'} has no peering "
                    f"back to {link.local.name}"
                )
            )
            state = broken.peering_state or "no state"
            return Issue(
                code="PEERING_NOT_CONNECTED",
                message=f"Peering {broken.name!r} of {owner.name if owner else '?'} is {state} "
                f"(peeringSyncLevel {broken.peering_sync_level or 'unknown'}), not "
                f"Connected{extra}",
                resource=str(broken.id),
                pointer=_pointer(broken, "peeringState"),
                command=f"az network vnet peering delete -g {broken.id.resource_group} "
                f"--vnet-name {owner.name if owner else '?'} -n {broken.name}  "
                "# then re-create both sides",
            )
        remote_name = link.remote.name if link.remote else "the remote VNet"
        return Issue(
            code="PEERING_MISSING",
            message=f"{remote_name} has no peering back to {link.local.name} (only "
            f"{side.name!r} exists)",
            resource=str(side.id),
        )
    # access disabled
    blocked = side if not side.allow_virtual_network_access else back
    assert blocked is not None
    owner = link.local if blocked is side else link.remote
    owner_name = owner.name if owner else "?"
    return Issue(
        code="PEERING_ACCESS_DISABLED",
        message=f"Peering {blocked.name!r} of {owner_name} has allowVirtualNetworkAccess false: "
        f"no traffic crosses between {src.name} and {dst.name}",
        resource=str(blocked.id),
        pointer=_pointer(blocked, "allowVirtualNetworkAccess"),
        command=f"az network vnet peering update -g {blocked.id.resource_group} --vnet-name "
        f"{owner_name} -n {blocked.name} --set allowVirtualNetworkAccess=true",
    )


def between_vnets(
    snapshot: Snapshot, src: VirtualNetwork, dst: VirtualNetwork, trace: Trace
) -> list[Issue]:
    """Why two different VNets of the estate can or cannot exchange packets."""
    if src.id == dst.id:
        return []
    issues: list[Issue] = []
    overlap = _overlaps(src, dst)
    if overlap:
        index, prefix = overlap[0]
        issues.append(
            Issue(
                code="ADDRESS_SPACE_OVERLAP",
                message=f"{dst.name} ({prefix}) overlaps {src.name} "
                f"({', '.join(str(p) for p in src.address_prefixes)}): the VNets cannot be "
                f"peered, and {src.name} keeps the overlapping addresses for itself",
                resource=str(dst.id),
                pointer=f"/properties/addressSpace/addressPrefixes/{index}",
            )
        )
        return issues
    forward = next(
        (
            lk
            for lk in peering_links(snapshot, src)
            if lk.remote is not None and lk.remote.id == dst.id
        ),
        None,
    )
    if forward is not None:
        found = _link_issue(forward, src, dst)
        return [found] if found else []
    backward = next(
        (
            lk
            for lk in peering_links(snapshot, dst)
            if lk.remote is not None and lk.remote.id == src.id
        ),
        None,
    )
    if backward is not None:
        found = _link_issue(backward, dst, src)
        return [found] if found else []
    if (trace.appliances or trace.firewalls) and trace.outcome is not Outcome.NO_ROUTE:
        return []  # no direct peering, but routed through an appliance: judged by the trace
    connections = _vnet_to_vnet(snapshot, src, dst)
    if connections:
        return _pair_issues(connections)
    hubs = _common_hubs(snapshot, src, dst)
    if hubs:
        return [
            Issue(
                code="PEERING_NOT_TRANSITIVE",
                message=f"{src.name} and {dst.name} are each peered with {hubs[0].name} but not "
                f"with each other; peering is not transitive, and no route sends "
                f"{dst.name}'s prefixes through an appliance in the hub",
                resource=str(src.id),
                pointer="/properties/virtualNetworkPeerings",
            )
        ]
    return [
        Issue(
            code="PEERING_MISSING",
            message=f"{src.name} and {dst.name} are not peered (neither VNet has a peering "
            "to the other) and no gateway connects them",
            resource=str(src.id),
            pointer="/properties/virtualNetworkPeerings",
            command=f"az network vnet peering create -g {src.id.resource_group} "
            f"--vnet-name {src.name} -n {src.name}-to-{dst.name} --remote-vnet "
            f"{dst.id} --allow-vnet-access  # and the same from {dst.name}",
        )
    ]


def _common_hubs(snapshot: Snapshot, a: VirtualNetwork, b: VirtualNetwork) -> list[VirtualNetwork]:
    mine = {
        lk.remote.id: lk.remote
        for lk in peering_links(snapshot, a)
        if lk.remote is not None and lk.is_usable
    }
    return [
        lk.remote
        for lk in peering_links(snapshot, b)
        if lk.remote is not None and lk.is_usable and lk.remote.id in mine
    ]


def _vnet_to_vnet(snapshot: Snapshot, a: VirtualNetwork, b: VirtualNetwork) -> list[Connection]:
    """Every connection between the two VNets' gateways (a Vnet2Vnet pair has one each way)."""
    mine = {g.id for g in gateways_in(snapshot, a.id)}
    theirs = {g.id for g in gateways_in(snapshot, b.id)}
    out = []
    for conn in snapshot.connections.values():
        ends = {conn.virtual_network_gateway1, conn.virtual_network_gateway2}
        if ends & mine and ends & theirs:
            out.append(conn)
    return out


def _pair_issues(connections: list[Connection]) -> list[Issue]:
    """A ``NotConnected`` side blocks; else one ``Connected`` side shows the tunnel up; else its
    state is unknown (both sides of one tunnel, so any one side's answer stands for it)."""
    states = [(connection_state(c), c) for c in connections]
    down = next((c for s, c in states if s is ConnectionState.DOWN), None)
    if down is not None:
        return [_connection_down(down)]
    if any(s is ConnectionState.UP for s, _ in states):
        return []
    return [_connection_unknown(connections[0])]


def _connection_down(conn: Connection) -> Issue:
    return Issue(
        code="GATEWAY_CONNECTION_DOWN",
        message=f"Connection {conn.name!r} ({conn.connection_type or 'unknown type'}) is "
        f"{conn.connection_status or 'of unknown status'}, not Connected",
        resource=str(conn.id),
        pointer="/properties/connectionStatus",
    )


def _connection_unknown(conn: Connection) -> Issue:
    return Issue(
        code="GATEWAY_CONNECTION_UNKNOWN",
        message=f"Connection {conn.name!r} ({conn.connection_type or 'unknown type'}) has "
        f"status {conn.connection_status or 'absent'}: whether its tunnel is up is unknown "
        "(only NotConnected blocks)",
        resource=str(conn.id),
        pointer="/properties/connectionStatus",
        command=f"az network vpn-connection show -g {conn.id.resource_group} -n {conn.name} "
        "--query connectionStatus",
    )


def to_on_premises(snapshot: Snapshot, src: VirtualNetwork, destination: IPAddress) -> list[Issue]:
    """Why a VNet can or cannot reach an on-premises address through a VPN gateway."""
    carriers: list[tuple[Connection, VirtualNetwork | None]] = []
    for conn in snapshot.connections.values():
        lng = snapshot.local_network_gateways.get_ref(conn.local_network_gateway2)
        if lng is None or not any(
            destination in p for p in lng.address_prefixes if p.version == destination.version
        ):
            continue
        gateway = snapshot.virtual_network_gateways.get_ref(conn.virtual_network_gateway1)
        vnet = (
            snapshot.virtual_networks.get_ref(gateway.virtual_network_id)
            if gateway is not None
            else None
        )
        carriers.append((conn, vnet))
    if not carriers:
        return []
    issues: list[Issue] = []
    for conn, gateway_vnet in carriers:
        if gateway_vnet is not None and gateway_vnet.id != src.id:
            link = next(
                (
                    lk
                    for lk in peering_links(snapshot, src)
                    if lk.remote is not None and lk.remote.id == gateway_vnet.id
                ),
                None,
            )
            if link is None:
                continue  # this gateway is not reachable from here at all
            if not link.is_usable:
                found = _link_issue(link, src, gateway_vnet)
                if found:
                    issues.append(found)
                continue
            back = link.remote_side
            if (
                not link.local_side.use_remote_gateways
                or back is None
                or not back.allow_gateway_transit
            ):
                missing = (
                    (link.local_side, "useRemoteGateways", src)
                    if not link.local_side.use_remote_gateways
                    else (back, "allowGatewayTransit", gateway_vnet)
                )
                side, flag, owner = missing
                assert side is not None
                issues.append(
                    Issue(
                        code="GATEWAY_TRANSIT_MISSING",
                        message=f"Peering {side.name!r} of {owner.name} has {flag} false, so "
                        f"{src.name} does not learn the on-premises prefixes of "
                        f"{gateway_vnet.name}'s gateway (connection {conn.name!r})",
                        resource=str(side.id),
                        pointer=_pointer(side, flag),
                        command=f"az network vnet peering update -g {side.id.resource_group} "
                        f"--vnet-name {owner.name} -n {side.name} --set {flag}=true",
                    )
                )
                continue
        state = connection_state(conn)
        if state is ConnectionState.DOWN:
            issues.append(_connection_down(conn))
        elif state is ConnectionState.UNKNOWN:
            issues.append(_connection_unknown(conn))
    return issues


def gateway_connections_of(snapshot: Snapshot, vnet: VirtualNetwork) -> list[Connection]:
    return [c for g in gateways_in(snapshot, vnet.id) for c in gateway_connections(snapshot, g)]
