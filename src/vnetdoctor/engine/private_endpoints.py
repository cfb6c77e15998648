"""Private endpoints on the path: which NIC is one, its approval, and whether its subnet's NSG
applies (docs/semantics/private-endpoints.md).

A private endpoint's NIC is created and owned by Azure: it has no guest, carries traffic only
when its connection is Approved, and the NSG of its subnet filters traffic to it only when the
subnet's ``privateEndpointNetworkPolicies`` enables NSGs.
"""

from __future__ import annotations

from typing import Final

from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.private_endpoint import PrivateEndpoint
from vnetdoctor.model.snapshot import Snapshot

# privateEndpointNetworkPolicies values that make the subnet's NSG apply to private endpoints
# (docs/semantics/private-endpoints.md#pe-nsg). Disabled (the default) and RouteTableEnabled
# bypass it; an unset value is the default.
NSG_POLICIES: Final = frozenset({"enabled", "networksecuritygroupenabled"})


def endpoint_of_nic(snapshot: Snapshot, nic: NetworkInterface) -> PrivateEndpoint | None:
    """The private endpoint whose NIC this is, or ``None`` for any other NIC."""
    if nic.virtual_machine is not None:
        return None
    for pe in sorted(snapshot.private_endpoints.values(), key=lambda p: p.id):
        if nic.id in pe.network_interfaces:
            return pe
    return None


def nsg_applies(snapshot: Snapshot, ipc: IpConfiguration | None) -> bool:
    """True when the subnet's network policies make its NSG filter traffic to its private
    endpoints (``Enabled`` or ``NetworkSecurityGroupEnabled``)."""
    subnet = None if ipc is None else snapshot.subnet(ipc.subnet)
    policy = None if subnet is None else subnet.private_endpoint_network_policies
    return (policy or "disabled").strip().casefold() in NSG_POLICIES


def policy_text(snapshot: Snapshot, ipc: IpConfiguration | None) -> str:
    subnet = None if ipc is None else snapshot.subnet(ipc.subnet)
    policy = None if subnet is None else subnet.private_endpoint_network_policies
    return policy or "Disabled (not set: the default)"


def find_endpoint(snapshot: Snapshot, text: str) -> PrivateEndpoint | None:
    """A private endpoint named (or identified) by ``text``; an ambiguous name raises with its
    candidates, an unknown one is ``None``."""
    from vnetdoctor.errors import ResourceNotFound

    try:
        return snapshot.private_endpoints.find(text)
    except ResourceNotFound as exc:
        if exc.candidates:
            raise
        return None
