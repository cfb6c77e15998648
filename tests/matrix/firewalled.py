"""A synthetic estate whose hub routes through Azure Firewall instead of the appliance VM.

``with_firewall(resources, seed)`` takes ``benchmarks/synthetic.generate_estate`` output and adds
AzureFirewallSubnet to the hub, an Azure Firewall whose private address every route to the
appliance now names, a firewall policy (with a parent policy) of network rules drawn from the
estate's own spaces and ports (Allow and Deny, CIDRs and IP groups), and, for some seeds, SNAT
private ranges narrow enough that traffic to the spokes is SNATed.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from typing import Any

SUBNET = "10.0.15.192/26"
FIREWALL_IP = "10.0.15.196"
_PORTS = ("22", "80", "443", "1433", "3389", "5432", "8080", "8000-8100", "*")


def with_firewall(resources: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = copy.deepcopy(resources)
    vnets = [r for r in out if r["type"] == "Microsoft.Network/virtualNetworks"]
    hub = next(r for r in vnets if "hub" in r["name"])
    sub = hub["id"].split("/")[2]
    rg = hub["id"].split("/")[4]
    base = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
    subnet_id = f"{hub['id']}/subnets/AzureFirewallSubnet"
    hub["properties"]["subnets"].append(
        {
            "name": "AzureFirewallSubnet",
            "id": subnet_id,
            "properties": {"provisioningState": "Succeeded", "addressPrefix": SUBNET},
            "type": "Microsoft.Network/virtualNetworks/subnets",
        }
    )
    appliance = None
    for table in (r for r in out if r["type"] == "Microsoft.Network/routeTables"):
        for route in table["properties"]["routes"]:
            props = route["properties"]
            if props.get("nextHopType") == "VirtualAppliance":
                appliance = appliance or props.get("nextHopIpAddress")
                props["nextHopIpAddress"] = FIREWALL_IP
    assert appliance is not None, "the estate has no route through the appliance"
    spaces = [
        r["properties"]["addressSpace"]["addressPrefixes"][0]
        for r in out
        if r["type"] == "Microsoft.Network/virtualNetworks"
    ]
    subnets = [
        s["properties"]["addressPrefix"]
        for r in out
        if r["type"] == "Microsoft.Network/virtualNetworks"
        for s in r["properties"]["subnets"]
    ]

    def pick() -> list[str]:
        pool = rng.choice((spaces, subnets, ["10.0.0.0/8"], ["*"]))
        return rng.sample(pool, min(len(pool), rng.randint(1, 3)))

    groups = []
    for k in range(3):
        groups.append(
            {
                "name": f"ipg-{k}",
                "id": f"{base}/ipGroups/ipg-{k}",
                "type": "Microsoft.Network/ipGroups",
                "location": "westeurope",
                "properties": {"provisioningState": "Succeeded", "ipAddresses": pick()},
            }
        )

    def rule(name: str, ports: tuple[str, ...]) -> dict[str, Any]:
        use_group = rng.random() < 0.3
        return {
            "ruleType": "NetworkRule",
            "name": name,
            "ipProtocols": rng.choice((["TCP"], ["TCP", "UDP"], ["Any"], ["UDP"])),
            "sourceAddresses": [] if use_group else pick(),
            "sourceIpGroups": [rng.choice(groups)["id"]] if use_group else [],
            "destinationAddresses": pick(),
            "destinationIpGroups": [],
            "destinationFqdns": [],
            "destinationPorts": rng.sample(ports, rng.randint(1, 3)),
        }

    def collection(name: str, priority: int, action: str, n: int) -> dict[str, Any]:
        return {
            "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
            "name": name,
            "priority": priority,
            "action": {"type": action},
            # Deny rules name ports; an allow may take any port.
            "rules": [rule(f"{name}-{i}", _PORTS if action == "Allow" else _PORTS[:-1])
                      for i in range(n)],
        }

    def policy(
        name: str, parent: str | None, collections: list[dict[str, Any]], snat: bool
    ) -> list[Any]:
        pid = f"{base}/firewallPolicies/{name}"
        group = {
            "name": "rcg",
            "id": f"{pid}/ruleCollectionGroups/rcg",
            "type": "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
            "properties": {
                "provisioningState": "Succeeded",
                "priority": 200,
                "ruleCollections": collections,
            },
        }
        # Narrow private ranges: traffic to the spokes (outside the hub's 10.0.0.0/20) is SNATed.
        ranges = ["10.0.0.0/20", "192.168.0.0/16"] if snat else ["IANAPrivateRanges"]
        body: dict[str, Any] = {
            "name": name,
            "id": pid,
            "type": "Microsoft.Network/firewallPolicies",
            "location": "westeurope",
            "properties": {
                "provisioningState": "Succeeded",
                "sku": {"tier": "Standard"},
                "threatIntelMode": "Alert",
                "snat": {"privateRanges": ranges},
                "ruleCollectionGroups": [{"id": group["id"]}],
            },
        }
        if parent is not None:
            body["properties"]["basePolicy"] = {"id": f"{base}/firewallPolicies/{parent}"}
        return [body, group]

    parent = policy(
        "fwp-base", None, [collection("base-deny", 100, "Deny", rng.randint(1, 2))], False
    )
    child = policy(
        "fwp-hub",
        "fwp-base",
        [
            collection("hub-deny", 100, "Deny", rng.randint(0, 3)),
            collection("hub-allow", 200, "Allow", rng.randint(2, 6)),
        ],
        seed % 2 == 1,
    )
    firewall = {
        "name": "azfw-hub",
        "id": f"{base}/azureFirewalls/azfw-hub",
        "type": "Microsoft.Network/azureFirewalls",
        "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded",
            "sku": {"name": "AZFW_VNet", "tier": "Standard"},
            "threatIntelMode": "Alert",
            "additionalProperties": {},
            "ipConfigurations": [
                {
                    "name": "azfw-ipconfig",
                    "id": f"{base}/azureFirewalls/azfw-hub/azureFirewallIpConfigurations/cfg",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "privateIPAddress": FIREWALL_IP,
                        "subnet": {"id": subnet_id},
                    },
                }
            ],
            "networkRuleCollections": [],
            "applicationRuleCollections": [],
            "natRuleCollections": [],
            "firewallPolicy": {"id": f"{base}/firewallPolicies/fwp-hub"},
        },
    }
    assert ipaddress.ip_address(FIREWALL_IP) in ipaddress.ip_network(SUBNET)
    return [*out, *groups, *parent, *child, firewall]
