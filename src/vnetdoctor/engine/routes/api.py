"""The routing library functions: a NIC's effective routes and Network Watcher's next hop."""

from __future__ import annotations

from dataclasses import replace

from vnetdoctor.engine.routes.build import build_table
from vnetdoctor.engine.routes.table import EffectiveRouteTable, NextHop, as_ip
from vnetdoctor.engine.routes.vocabulary import DEFAULT_PROFILE, RouteProfile, ServiceTagLookup
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.snapshot import Snapshot


def effective_routes(
    snapshot: Snapshot,
    nic: NetworkInterface,
    profile: RouteProfile = DEFAULT_PROFILE,
    *,
    service_tags: ServiceTagLookup | None = None,
    ip_configuration: IpConfiguration | None = None,
) -> EffectiveRouteTable:
    """The effective routes of ``nic`` (of ``ip_configuration``'s subnet, else the primary one's).

    Never raises on odd configuration: what the snapshot cannot tell becomes ``problems`` on the
    table or on the routes it affects.
    """
    return build_table(snapshot, nic, profile, service_tags, ip_configuration)


TableKey = tuple[ResourceId | None, ...]


def table_key(nic: NetworkInterface, ipc: IpConfiguration | None) -> TableKey:
    """What an effective route table depends on besides the snapshot: the subnet.

    The builder (:func:`~.build.build_table`) reads the NIC only for its id and, when the NIC has
    no subnet or spans several subnets, for the name in a problem or note; those NICs get a
    table of their own.
    """
    chosen = ipc or nic.primary_ip_configuration
    if chosen is not None and chosen.subnet is not None and all(
        c.subnet == chosen.subnet for c in nic.ip_configurations
    ):
        return (chosen.subnet,)
    return (nic.id, None if ipc is None else ipc.id)


def next_hop(
    snapshot: Snapshot,
    nic: NetworkInterface,
    source_ip: IPAddress | str,
    destination_ip: IPAddress | str,
    profile: RouteProfile = DEFAULT_PROFILE,
    *,
    service_tags: ServiceTagLookup | None = None,
) -> NextHop:
    """Network Watcher's next hop for a packet leaving ``nic`` from ``source_ip``.

    Like Azure, the source IP need not be one of the NIC's (the answer then says so in
    ``notes``); when it is, the routes of that IP configuration's subnet are used. Raises
    :class:`~vnetdoctor.errors.UsageError` for an invalid IP or mixed IP versions.
    """
    src = as_ip(source_ip, "source IP address")
    dest = as_ip(destination_ip, "destination IP address")
    ipc = next((c for c in nic.ip_configurations if c.private_ip_address == src), None)
    table = effective_routes(snapshot, nic, profile, service_tags=service_tags,
                             ip_configuration=ipc)
    hop = table.next_hop(dest, src)
    if ipc is None and nic.ip_configurations:
        owned = ", ".join(str(ip) for ip in nic.private_ip_addresses) or "none"
        note = (f"source IP {src} is not an address of NIC {nic.name} ({owned}); Azure answers "
                "such a request too, with the routes of the NIC's primary IP configuration")
        hop = replace(hop, notes=(*hop.notes, note))
    return hop
