"""A hub with an Azure Bastion, a peered spoke and a VNet two peerings away, as ARM GET bodies.

``vnet-hub`` (10.0.0.0/16) holds ``AzureBastionSubnet`` (10.0.254.0/26) and ``app`` with
``vm-app``; ``vnet-spoke`` (10.1.0.0/16, peered with the hub) holds ``vm-spoke``; ``vnet-far``
(10.2.0.0/16, peered with the spoke only) holds ``vm-far``. The Bastion ``bas-hub`` has the SKU,
subnet name, NSG and route table each test asks for.
"""

from __future__ import annotations

from typing import Any

from builders import RG, nic, nsg, rule, subnet, vm, vnet

HUB = f"{RG}/Microsoft.Network/virtualNetworks/vnet-hub"
SPOKE = f"{RG}/Microsoft.Network/virtualNetworks/vnet-spoke"
FAR = f"{RG}/Microsoft.Network/virtualNetworks/vnet-far"
BASTION = f"{RG}/Microsoft.Network/bastionHosts/bas-hub"
BASTION_NSG = f"{RG}/Microsoft.Network/networkSecurityGroups/nsg-bastion"
TARGET_NSG = f"{RG}/Microsoft.Network/networkSecurityGroups/nsg-app"
UDR = f"{RG}/Microsoft.Network/routeTables/rt-bastion"
PIP = f"{RG}/Microsoft.Network/publicIPAddresses/pip-bastion"


def required_rules(skip: str | None = None) -> list[dict[str, Any]]:
    """The rules Microsoft's table lists for an NSG on AzureBastionSubnet (2026), less ``skip``."""
    def r(name: str, prio: int, direction: str, src: str, dst: str, ports: list[str],
          proto: str = "Tcp") -> dict[str, Any]:
        return rule(name, prio, direction=direction, protocol=proto, sourceAddressPrefix=src,
                    destinationAddressPrefix=dst, destinationPortRange=None,
                    destinationPortRanges=ports)

    rules = [
        r("AllowHttpsInbound", 120, "Inbound", "Internet", "*", ["443"]),
        r("AllowGatewayManagerInbound", 130, "Inbound", "GatewayManager", "*", ["443"]),
        r("AllowAzureLoadBalancerInbound", 140, "Inbound", "AzureLoadBalancer", "*", ["443"]),
        r("AllowBastionHostCommunication", 150, "Inbound", "VirtualNetwork", "VirtualNetwork",
          ["8080", "5701"], "*"),
        r("AllowSshRdpOutbound", 100, "Outbound", "*", "VirtualNetwork", ["22", "3389"], "*"),
        r("AllowAzureCloudOutbound", 110, "Outbound", "*", "AzureCloud", ["443"]),
        r("AllowBastionCommunication", 120, "Outbound", "VirtualNetwork", "VirtualNetwork",
          ["8080", "5701"], "*"),
        r("AllowHttpOutbound", 130, "Outbound", "*", "Internet", ["80"], "*"),
    ]
    for item in rules:
        del item["properties"]["destinationPortRange"]
    return [x for x in rules if x["name"] != skip]


def deny_all(direction: str, priority: int = 4000) -> dict[str, Any]:
    return rule(f"DenyAll{direction}", priority, direction=direction, access="Deny",
                protocol="*", destinationPortRange="*")


def _peering(name: str, remote: str) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            "remoteVirtualNetwork": {"id": remote},
            "peeringState": "Connected",
            "allowVirtualNetworkAccess": True,
            "allowForwardedTraffic": False,
        },
    }


def bastion_host(sku: str = "Standard", subnet_name: str = "AzureBastionSubnet",
                 **features: Any) -> dict[str, Any]:
    """A bastionHosts GET body (2024-05-01 shape)."""
    return {
        "id": BASTION,
        "name": "bas-hub",
        "type": "Microsoft.Network/bastionHosts",
        "location": "westeurope",
        "sku": {"name": sku},
        "properties": {
            "provisioningState": "Succeeded",
            "dnsName": "bst-0000.bastion.azure.com",
            "scaleUnits": 2,
            "ipConfigurations": [
                {
                    "id": f"{BASTION}/bastionHostIpConfigurations/IpConf",
                    "name": "IpConf",
                    "type": "Microsoft.Network/bastionHosts/bastionHostIpConfigurations",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "privateIPAllocationMethod": "Dynamic",
                        "publicIPAddress": {"id": PIP},
                        "subnet": {"id": f"{HUB}/subnets/{subnet_name}"},
                    },
                }
            ],
            "disableCopyPaste": False,
            "enableFileCopy": False,
            "enableIpConnect": False,
            "enableShareableLink": False,
            "enableTunneling": False,
            "enableKerberos": False,
            **features,
        },
    }


def estate(
    sku: str = "Standard",
    *,
    subnet_name: str = "AzureBastionSubnet",
    bastion_rules: list[dict[str, Any]] | None = None,
    target_rules: list[dict[str, Any]] | None = None,
    udr: bool = False,
    **features: Any,
) -> list[dict[str, Any]]:
    """The estate; ``bastion_rules``/``target_rules`` put an NSG with those rules on the Bastion
    subnet / the ``app`` subnet (none when ``None``); ``udr`` a route table on the Bastion's."""
    bastion_subnet: dict[str, Any] = {}
    if bastion_rules is not None:
        bastion_subnet["networkSecurityGroup"] = {"id": BASTION_NSG}
    if udr:
        bastion_subnet["routeTable"] = {"id": UDR}
    app: dict[str, Any] = {}
    if target_rules is not None:
        app["networkSecurityGroup"] = {"id": TARGET_NSG}
    resources = [
        vnet("vnet-hub", "10.0.0.0/16", [
            subnet(HUB, subnet_name, "10.0.254.0/26", **bastion_subnet),
            subnet(HUB, "app", "10.0.1.0/24", **app),
        ], virtualNetworkPeerings=[_peering("hub-to-spoke", SPOKE)]),
        vnet("vnet-spoke", "10.1.0.0/16", [subnet(SPOKE, "web", "10.1.1.0/24")],
             virtualNetworkPeerings=[_peering("spoke-to-hub", HUB), _peering("spoke-to-far", FAR)]),
        vnet("vnet-far", "10.2.0.0/16", [subnet(FAR, "db", "10.2.1.0/24")],
             virtualNetworkPeerings=[_peering("far-to-spoke", SPOKE)]),
        nic("nic-app", "10.0.1.4", f"{HUB}/subnets/app"),
        vm("vm-app", ["nic-app"]),
        nic("nic-spoke", "10.1.1.4", f"{SPOKE}/subnets/web"),
        vm("vm-spoke", ["nic-spoke"]),
        nic("nic-far", "10.2.1.4", f"{FAR}/subnets/db"),
        vm("vm-far", ["nic-far"]),
        bastion_host(sku, subnet_name, **features),
    ]
    if bastion_rules is not None:
        resources.append(nsg("nsg-bastion", bastion_rules))
    if target_rules is not None:
        resources.append(nsg("nsg-app", target_rules))
    if udr:
        resources.append({
            "id": UDR, "name": "rt-bastion", "type": "Microsoft.Network/routeTables",
            "location": "westeurope",
            "properties": {"routes": [], "disableBgpRoutePropagation": False},
        })
    return resources
