"""Turn half the VMs of a synthetic estate into Uniform scale-set instances.

``with_scale_sets(resources)`` keeps every other spoke VM as it is and rewrites the rest as
``Microsoft.Compute/virtualMachineScaleSets/virtualMachines`` instances, one scale set per
resource group and subnet, with their NICs under the instances' Compute ids (as Azure serves
them) and every reference to the old ids (subnet and NSG back-references, in Azure's upper-cased
spelling too) rewritten. The addresses, NSGs and routes stay, so each pair keeps its answer;
only the shapes and the names change.
"""

from __future__ import annotations

import json
import re
from typing import Any

_ID = re.compile(r'"(/subscriptions/[^"]+)"')
_VM = "microsoft.compute/virtualmachines"


def with_scale_sets(resources: list[dict[str, Any]], every: int = 2) -> list[dict[str, Any]]:
    nics = {
        r["id"].casefold(): r
        for r in resources
        if r["type"].casefold().endswith("/networkinterfaces")
    }
    renamed: dict[str, str] = {}
    sets: dict[tuple[str, str], dict[str, Any]] = {}
    converted = 0
    out: list[dict[str, Any]] = []
    for item in resources:
        if item["type"].casefold() != _VM or item["name"].startswith("vm-hub"):
            out.append(item)
            continue
        converted += 1
        if converted % every:
            out.append(item)
            continue
        refs = item["properties"]["networkProfile"]["networkInterfaces"]
        nic = nics[refs[0]["id"].casefold()]
        subnet = nic["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"]
        group_prefix = item["id"].split("/providers/")[0]
        key = (group_prefix.casefold(), subnet.casefold())
        vmss = sets.get(key)
        if vmss is None:
            name = f"vmss-{len(sets):04d}"
            vmss = sets[key] = {
                "id": f"{group_prefix}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
                "name": name,
                "type": "Microsoft.Compute/virtualMachineScaleSets",
                "location": item.get("location"),
                "sku": {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": 0},
                "properties": {
                    "orchestrationMode": "Uniform",
                    "upgradePolicy": {"mode": "Manual"},
                    "virtualMachineProfile": {
                        "osProfile": {"computerNamePrefix": name},
                        "networkProfile": {
                            "networkInterfaceConfigurations": [
                                {"name": f"{name}-nic", "properties": {"primary": True}}
                            ]
                        },
                    },
                },
            }
            out.append(vmss)
        n = vmss["sku"]["capacity"]
        vmss["sku"]["capacity"] = n + 1
        instance = f"{vmss['id']}/virtualMachines/{n}"
        renamed[item["id"].casefold()] = instance
        renamed[nic["id"].casefold()] = f"{instance}/networkInterfaces/{vmss['name']}-nic"
        nic["name"] = f"{vmss['name']}-nic"
        item["type"] = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
        item["name"] = f"{vmss['name']}_{n}"
        item["instanceId"] = str(n)
        item["properties"]["latestModelApplied"] = True
        out.append(item)

    def rename(match: re.Match[str]) -> str:
        text = match.group(1)
        folded = text.casefold()
        head, sep, _ = folded.partition("/ipconfigurations/")
        new = renamed.get(head)
        if new is None:
            return match.group(0)
        return f'"{new}{text[len(head):] if sep else ""}"'

    return list(json.loads(_ID.sub(rename, json.dumps(out))))
