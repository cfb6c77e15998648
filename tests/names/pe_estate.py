"""A private endpoint in the real shapes Azure returns: the endpoint, the read-only NIC Azure
creates for it (``privateEndpoint`` instead of ``virtualMachine``,
``privateLinkConnectionProperties``), the privatelink zone with its A record and its links, and
a VM in a peered spoke."""

from __future__ import annotations

from typing import Any

from builders import RG, nic, nsg, rule, subnet, vm, vnet
from dns_builders import a, link, storage_id, vnet_id, zone

ACCOUNT = "stcontoso"
BLOB = f"{ACCOUNT}.blob.core.windows.net"
PE_IP = "10.0.1.5"
PE_NIC = "pe-blob.nic.6f1c2a4e-0d7b-4a8e-9c1e-2b3f4a5d6e7f"


def pe_nic(subnet_id: str) -> dict[str, Any]:
    nid = f"{RG}/Microsoft.Network/networkInterfaces/{PE_NIC}"
    return {
        "id": nid, "name": PE_NIC, "type": "Microsoft.Network/networkInterfaces",
        "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded",
            "ipConfigurations": [{
                "id": f"{nid}/ipConfigurations/privateEndpointIpConfig.1b2c3d4e",
                "name": "privateEndpointIpConfig.1b2c3d4e",
                "properties": {
                    "privateIPAddress": PE_IP, "privateIPAllocationMethod": "Dynamic",
                    "subnet": {"id": subnet_id}, "primary": True,
                    "privateLinkConnectionProperties": {
                        "groupId": "blob", "requiredMemberName": "blob", "fqdns": [BLOB]},
                }}],
            "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
            "enableAcceleratedNetworking": False, "enableIPForwarding": False,
            "privateEndpoint": {"id": f"{RG}/Microsoft.Network/privateEndpoints/pe-blob"},
            "nicType": "Standard",
        },
    }


def private_endpoint(subnet_id: str, status: str, manual: bool) -> dict[str, Any]:
    connection = {
        "id": f"{RG}/Microsoft.Network/privateEndpoints/pe-blob/"
              "privateLinkServiceConnections/pe-blob-conn",
        "name": "pe-blob-conn",
        "type": "Microsoft.Network/privateEndpoints/privateLinkServiceConnections",
        "properties": {
            "provisioningState": "Succeeded", "privateLinkServiceId": storage_id(ACCOUNT),
            "groupIds": ["blob"],
            "privateLinkServiceConnectionState": {
                "status": status, "description": "Auto-Approved" if status == "Approved" else "",
                "actionsRequired": "None"}}}
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    other = ("privateLinkServiceConnections" if manual
             else "manualPrivateLinkServiceConnections")
    return {
        "id": f"{RG}/Microsoft.Network/privateEndpoints/pe-blob", "name": "pe-blob",
        "type": "Microsoft.Network/privateEndpoints", "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded", "subnet": {"id": subnet_id},
            "networkInterfaces": [{"id": f"{RG}/Microsoft.Network/networkInterfaces/{PE_NIC}"}],
            key: [connection], other: [],
            "customDnsConfigs": [{"fqdn": BLOB, "ipAddresses": [PE_IP]}],
            "ipConfigurations": [], "applicationSecurityGroups": [],
        },
    }


def _peering(name: str, local: str, remote: str) -> dict[str, Any]:
    return {"id": f"{vnet_id(local)}/virtualNetworkPeerings/{name}", "name": name,
            "properties": {"remoteVirtualNetwork": {"id": vnet_id(remote)},
                           "peeringState": "Connected", "peeringSyncLevel": "FullyInSync",
                           "allowVirtualNetworkAccess": True, "allowForwardedTraffic": False,
                           "allowGatewayTransit": False, "useRemoteGateways": False,
                           "remoteAddressSpace": {"addressPrefixes": [
                               "10.0.0.0/16" if remote == "vnet-hub" else "10.1.0.0/16"]}}}


def estate(*, policies: str | None = None, deny_443: bool = False, status: str = "Approved",
           manual: bool = False, record: bool = True) -> list[dict[str, Any]]:
    """The hub holds the endpoint (subnet ``snet-pe``, with an NSG that denies 443 from the
    spoke when ``deny_443``); the spoke, peered with the hub, holds vm-app; the privatelink
    zone is linked to both VNets."""
    hub, spoke = vnet_id("vnet-hub"), vnet_id("vnet-spoke")
    pe_subnet = f"{hub}/subnets/snet-pe"
    guard = nsg("nsg-pe", [rule("deny-443-from-spoke", 100, destinationPortRange="443",
                                sourceAddressPrefix="10.1.0.0/16", access="Deny")]
                if deny_443 else [])
    props: dict[str, Any] = {"networkSecurityGroup": {"id": guard["id"]}}
    if policies is not None:
        props["privateEndpointNetworkPolicies"] = policies
    return [
        vnet("vnet-hub", "10.0.0.0/16", [subnet(hub, "default", "10.0.0.0/24"),
                                          subnet(hub, "snet-pe", "10.0.1.0/24", **props)],
             virtualNetworkPeerings=[_peering("hub-to-spoke", "vnet-hub", "vnet-spoke")]),
        vnet("vnet-spoke", "10.1.0.0/16", [subnet(spoke, "default", "10.1.0.0/24")],
             virtualNetworkPeerings=[_peering("spoke-to-hub", "vnet-spoke", "vnet-hub")]),
        guard,
        nic("nic-app", "10.1.0.4", f"{spoke}/subnets/default"),
        vm("vm-app", ["nic-app"]),
        pe_nic(pe_subnet),
        private_endpoint(pe_subnet, status, manual),
        zone("privatelink.blob.core.windows.net", [a(ACCOUNT, PE_IP)] if record else [],
             [link("l-hub", "vnet-hub"), link("l-spoke", "vnet-spoke")]),
        zone("corp.contoso.com", [a("db", "10.0.0.9")], [link("corp-spoke", "vnet-spoke")]),
    ]
