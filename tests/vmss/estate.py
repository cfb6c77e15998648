"""A small estate with a Uniform scale set, in the shapes Azure returns (trimmed).

``vmss-web`` (Uniform, NIC configuration ``vmss-web-nic`` with NSG ``nsg-open``) has four
instances in subnet ``web``: 0 and 1 running, 2 running but behind its model with NSG
``nsg-deny22`` on its own NIC, 3 deallocated. ``vm-jump`` is an ordinary VM in subnet ``app``.
An internal load balancer's pool lists the instances' ipconfigs, as Azure records them; the
instance NIC rows do not list the pool back.
"""

from __future__ import annotations

import copy
from typing import Any

from builders import RG, nic, nsg, rule, vm, vnet

VNET = f"{RG}/Microsoft.Network/virtualNetworks/vnet1"
WEB = f"{VNET}/subnets/web"
APP = f"{VNET}/subnets/app"
VMSS = f"{RG}/Microsoft.Compute/virtualMachineScaleSets/vmss-web"
NIC_CONFIG = "vmss-web-nic"
NSG_OPEN = f"{RG}/Microsoft.Network/networkSecurityGroups/nsg-open"
NSG_DENY = f"{RG}/Microsoft.Network/networkSecurityGroups/nsg-deny22"
LB = f"{RG}/Microsoft.Network/loadBalancers/ilb-web"
POOL = f"{LB}/backendAddressPools/pool-web"


def instance_id(n: int) -> str:
    return f"{VMSS}/virtualMachines/{n}"


def instance_nic_id(n: int) -> str:
    return f"{instance_id(n)}/networkInterfaces/{NIC_CONFIG}"


def computer_name(n: int) -> str:
    """Azure's default: the prefix and the instance ID in base 36, six digits."""
    digits = ""
    while True:
        n, r = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[r] + digits
        if n == 0:
            break
    return "web" + digits.rjust(6, "0")


def scale_set(capacity: int = 4, mode: str | None = "Uniform") -> dict[str, Any]:
    props: dict[str, Any] = {
        "upgradePolicy": {"mode": "Manual"},
        "virtualMachineProfile": {
            "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser"},
            "storageProfile": {"osDisk": {"osType": "Linux", "createOption": "FromImage"}},
            "networkProfile": {
                "networkInterfaceConfigurations": [
                    {
                        "name": NIC_CONFIG,
                        "properties": {
                            "primary": True,
                            "enableAcceleratedNetworking": False,
                            "networkSecurityGroup": {"id": NSG_OPEN},
                            "enableIPForwarding": False,
                            "ipConfigurations": [
                                {
                                    "name": "ipconfig1",
                                    "properties": {
                                        "subnet": {"id": WEB},
                                        "privateIPAddressVersion": "IPv4",
                                        "loadBalancerBackendAddressPools": [{"id": POOL}],
                                    },
                                }
                            ],
                        },
                    }
                ]
            },
        },
        "provisioningState": "Succeeded",
        "overprovision": True,
        "uniqueId": "5b6f7e0a-0000-0000-0000-000000000000",
    }
    if mode is not None:
        props["orchestrationMode"] = mode
    return {
        "id": VMSS,
        "name": "vmss-web",
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": "westeurope",
        "sku": {"name": "Standard_D2s_v3", "tier": "Standard", "capacity": capacity},
        "properties": props,
    }


def instance(
    n: int, power: str | None = "running", *, latest: bool = True, nic_refs: bool = True
) -> dict[str, Any]:
    """``GET .../virtualMachineScaleSets/vmss-web/virtualMachines/{n}?$expand=instanceView``."""
    props: dict[str, Any] = {
        "latestModelApplied": latest,
        "vmId": f"0000000{n}-aaaa-bbbb-cccc-000000000000",
        "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
        "storageProfile": {"osDisk": {"osType": "Linux", "name": f"vmss-web_{n}_OsDisk"}},
        "osProfile": {"computerName": computer_name(n), "adminUsername": "azureuser"},
        "networkProfileConfiguration": {"networkInterfaceConfigurations": []},
        "provisioningState": "Succeeded",
    }
    if nic_refs:
        props["networkProfile"] = {"networkInterfaces": [{"id": instance_nic_id(n)}]}
    if power is not None:
        props["instanceView"] = {
            "computerName": computer_name(n),
            "osName": "ubuntu",
            "statuses": [
                {"code": "ProvisioningState/succeeded", "level": "Info"},
                {"code": f"PowerState/{power}", "level": "Info"},
            ],
        }
    return {
        "name": f"vmss-web_{n}",
        "id": instance_id(n),
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "location": "westeurope",
        "instanceId": str(n),
        "sku": {"name": "Standard_D2s_v3", "tier": "Standard"},
        "properties": props,
    }


def instance_nic(n: int, ip: str, nsg_id: str = NSG_OPEN, *, pools: bool = False) -> dict[str, Any]:
    """The instance's NIC as the Network API serves it (``VirtualMachineScaleSets_
    GetNetworkInterface``): an ordinary NIC body under the instance's Compute id."""
    nid = instance_nic_id(n)
    ipc: dict[str, Any] = {
        "privateIPAddress": ip,
        "privateIPAllocationMethod": "Dynamic",
        "privateIPAddressVersion": "IPv4",
        "subnet": {"id": WEB},
        "primary": True,
        "provisioningState": "Succeeded",
    }
    if pools:
        ipc["loadBalancerBackendAddressPools"] = [{"id": POOL}]
    return {
        "name": NIC_CONFIG,
        "id": nid,
        "type": "Microsoft.Network/networkInterfaces",
        "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded",
            "ipConfigurations": [
                {"name": "ipconfig1", "id": f"{nid}/ipConfigurations/ipconfig1", "properties": ipc}
            ],
            "networkSecurityGroup": {"id": nsg_id},
            "primary": True,
            "enableIPForwarding": False,
            "virtualMachine": {"id": instance_id(n)},
        },
    }


def load_balancer() -> dict[str, Any]:
    fe = f"{LB}/frontendIPConfigurations/fe"
    probe = f"{LB}/probes/http"
    return {
        "id": LB,
        "name": "ilb-web",
        "type": "Microsoft.Network/loadBalancers",
        "location": "westeurope",
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {
            "frontendIPConfigurations": [
                {
                    "id": fe,
                    "name": "fe",
                    "properties": {
                        "privateIPAddress": "10.0.2.100",
                        "privateIPAllocationMethod": "Static",
                        "subnet": {"id": APP},
                    },
                }
            ],
            "backendAddressPools": [
                {
                    "id": POOL,
                    "name": "pool-web",
                    "properties": {
                        "backendIPConfigurations": [
                            {"id": f"{instance_nic_id(n)}/ipConfigurations/ipconfig1"}
                            for n in range(4)
                        ]
                    },
                }
            ],
            "probes": [
                {
                    "id": probe,
                    "name": "http",
                    "properties": {"protocol": "Tcp", "port": 80, "intervalInSeconds": 5},
                }
            ],
            "loadBalancingRules": [
                {
                    "id": f"{LB}/loadBalancingRules/http",
                    "name": "http",
                    "properties": {
                        "frontendIPConfiguration": {"id": fe},
                        "backendAddressPool": {"id": POOL},
                        "probe": {"id": probe},
                        "protocol": "Tcp",
                        "frontendPort": 80,
                        "backendPort": 80,
                    },
                }
            ],
        },
    }


IPS = {0: "10.0.1.4", 1: "10.0.1.5", 2: "10.0.1.6", 3: "10.0.1.7"}


def estate() -> list[dict[str, Any]]:
    """The whole estate as ARM GET bodies."""
    deny = nsg("nsg-deny22", [rule("deny-ssh", 100, access="Deny")])
    return [
        vnet(
            "vnet1",
            "10.0.0.0/16",
            [
                {"id": WEB, "name": "web", "properties": {"addressPrefix": "10.0.1.0/24"}},
                {"id": APP, "name": "app", "properties": {"addressPrefix": "10.0.2.0/24"}},
            ],
        ),
        nsg("nsg-open"),
        deny,
        nic("nic-jump", "10.0.2.4", APP),
        vm("vm-jump", ["nic-jump"]),
        scale_set(),
        instance(0),
        instance(1),
        instance(2, latest=False),
        instance(3, "deallocated"),
        instance_nic(0, IPS[0]),
        instance_nic(1, IPS[1]),
        instance_nic(2, IPS[2], NSG_DENY),
        instance_nic(3, IPS[3]),
        load_balancer(),
    ]


def graph_rows(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The resources as ``az graph query`` returns them: lower-case types, ``resourceGroup``
    and ``subscriptionId`` columns; Uniform instances and their NICs as the
    ``computeresources`` table spells them, without the top-level ``instanceId``."""
    rows = []
    for item in copy.deepcopy(resources):
        rtype = item["type"]
        if "/virtualMachineScaleSets/" in item["id"] and rtype.endswith("/networkInterfaces"):
            rtype = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces"
        item["type"] = rtype.casefold()
        item.pop("instanceId", None)
        item["resourceGroup"] = "rg-test"
        item["subscriptionId"] = "11111111-2222-3333-4444-555555555555"
        rows.append(item)
    return {"totalRecords": len(rows), "count": len(rows), "data": rows, "facets": [],
            "resultTruncated": "false"}
