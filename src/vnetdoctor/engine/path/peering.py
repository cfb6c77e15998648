"""VNets on the path: which VNet an interface is in, which peer holds an address, and whether the
receiving side of a peering accepts a forwarded packet (decision 3)."""

from __future__ import annotations

from vnetdoctor.engine.path.records import Recorder
from vnetdoctor.engine.topology import peering_links
from vnetdoctor.model.compute import IpConfiguration
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.snapshot import Snapshot


def vnet_of(snapshot: Snapshot, ipc: IpConfiguration | None) -> VirtualNetwork | None:
    return None if ipc is None else snapshot.subnet_vnet(ipc.subnet)


def in_vnet(vnet: VirtualNetwork | None, ip: IPAddress) -> bool:
    return vnet is not None and any(
        ip in p for p in vnet.address_prefixes if p.version == ip.version
    )


def peer_holding(snapshot: Snapshot, vnet: VirtualNetwork, ip: IPAddress) -> VirtualNetwork | None:
    for link in peering_links(snapshot, vnet):
        if link.remote is not None and in_vnet(link.remote, ip):
            return link.remote
    return None


def forwarded_check(
    b: Recorder,
    sender: VirtualNetwork,
    receiver: VirtualNetwork,
    packet_source: IPAddress,
) -> None:
    """A packet whose source is outside the sending VNet is *forwarded*: the receiving side's
    peering must allow forwarded traffic (decision 3)."""
    if in_vnet(sender, packet_source):
        return
    side = next(
        (p for p in receiver.virtual_network_peerings if p.remote_virtual_network == sender.id),
        None,
    )
    if side is not None and not side.allow_forwarded_traffic:
        b.hop(
            kind="peering",
            name=side.name,
            decision="drop forwarded",
            status="fail",
            detail=f"{receiver.name} does not accept traffic forwarded from {sender.name}",
            resource=str(side.id),
            pointer="/properties/allowForwardedTraffic",
        )
        b.issue(
            code="PEERING_FORWARDED_TRAFFIC_DISABLED",
            message=f"Peering {side.name!r} of {receiver.name} has allowForwardedTraffic "
            f"false: packets from {packet_source} arriving from {sender.name} "
            f"(outside its address space) are dropped",
            resource=str(side.id),
            pointer="/properties/allowForwardedTraffic",
            command=f"az network vnet peering update -g {side.id.resource_group} "
            f"--vnet-name {receiver.name} -n {side.name} "
            f"--set allowForwardedTraffic=true",
        )
    elif side is not None:
        b.hop(
            kind="peering",
            name=side.name,
            decision="accept forwarded",
            detail=f"{receiver.name} accepts traffic forwarded from {sender.name}",
            resource=str(side.id),
        )
