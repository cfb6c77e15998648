"""Small ARM JSON builders for ingest tests (the shapes Azure returns, trimmed)."""

from __future__ import annotations

from collections.abc import Iterable
from random import Random
from typing import Any

SUB = "/subscriptions/11111111-2222-3333-4444-555555555555"
RG = f"{SUB}/resourceGroups/rg-test/providers"


def vnet(
    name: str = "vnet1",
    prefix: str = "10.0.0.0/16",
    subnets: list[dict[str, Any]] | None = None,
    **props: Any,
) -> dict[str, Any]:
    vid = f"{RG}/Microsoft.Network/virtualNetworks/{name}"
    return {
        "id": vid,
        "name": name,
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": [prefix]},
            "subnets": subnets if subnets is not None else [subnet(vid, "default", "10.0.0.0/24")],
            "virtualNetworkPeerings": [],
            **props,
        },
    }


def subnet(vnet_id: str, name: str, prefix: str, **props: Any) -> dict[str, Any]:
    return {
        "id": f"{vnet_id}/subnets/{name}",
        "name": name,
        "properties": {"addressPrefix": prefix, **props},
    }


_DEFAULTS = [
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
]


def default_rules(nsg_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{nsg_id}/defaultSecurityRules/{n}",
            "name": n,
            "properties": {
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "sourceAddressPrefix": src,
                "destinationAddressPrefix": dst,
                "access": access,
                "priority": prio,
                "direction": direction,
            },
        }
        for n, prio, direction, access, src, dst in _DEFAULTS
    ]


def nsg(
    name: str = "nsg1", rules: list[dict[str, Any]] | None = None, *, defaults: bool = True
) -> dict[str, Any]:
    nid = f"{RG}/Microsoft.Network/networkSecurityGroups/{name}"
    props: dict[str, Any] = {"securityRules": rules or []}
    if defaults:
        props["defaultSecurityRules"] = default_rules(nid)
    return {
        "id": nid,
        "name": name,
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westeurope",
        "properties": props,
    }


def rule(name: str, priority: int = 100, **props: Any) -> dict[str, Any]:
    base = {
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationPortRange": "22",
        "sourceAddressPrefix": "*",
        "destinationAddressPrefix": "*",
        "access": "Allow",
        "priority": priority,
        "direction": "Inbound",
    }
    base.update(props)
    return {"name": name, "properties": base}


def nic(
    name: str = "nic1", ip: str = "10.0.0.4", subnet_id: str | None = None, **props: Any
) -> dict[str, Any]:
    subnet_id = subnet_id or f"{RG}/Microsoft.Network/virtualNetworks/vnet1/subnets/default"
    nid = f"{RG}/Microsoft.Network/networkInterfaces/{name}"
    return {
        "id": nid,
        "name": name,
        "type": "Microsoft.Network/networkInterfaces",
        "location": "westeurope",
        "properties": {
            "ipConfigurations": [
                {
                    "id": f"{nid}/ipConfigurations/ipconfig1",
                    "name": "ipconfig1",
                    "properties": {
                        "privateIPAddress": ip,
                        "subnet": {"id": subnet_id},
                        "primary": True,
                    },
                }
            ],
            **props,
        },
    }


def vm(
    name: str = "vm1", nics: list[str] | None = None, power: str | None = "running"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{RG}/Microsoft.Compute/virtualMachines/{name}",
        "name": name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": "westeurope",
        "properties": {
            "networkProfile": {
                "networkInterfaces": [
                    {"id": f"{RG}/Microsoft.Network/networkInterfaces/{n}"}
                    for n in (nics or ["nic1"])
                ]
            },
            "storageProfile": {"osDisk": {"osType": "Linux"}},
        },
    }
    if power is not None:
        body["properties"]["instanceView"] = {
            "statuses": [{"code": "ProvisioningState/succeeded"}, {"code": f"PowerState/{power}"}]
        }
    return body


_NETWORK_MANAGER = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers"
    "/Microsoft.Network/networkManagers/testNetworkManager"
)
_NETWORK_GROUP = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroup/myResourceGroup/providers"
    "/Microsoft.Network/networkManagers/testNetworkManager/networkGroups/group1"
)


def admin_rule_example() -> dict[str, Any]:
    """The ``value`` item of Azure's REST spec example NetworkManagerEffectiveSecurityAdminRules
    List.json (2023-09-01): an admin rule denying TCP 22 inbound from anywhere (a fresh copy)."""
    return {
        "id": f"{_NETWORK_MANAGER}/securityAdminConfigurations/myTestSecurityConfig"
        "/ruleCollections/testRuleCollection/rules/SampleAdminRule",
        "configurationDescription": "SampleDescription",
        "ruleCollectionDescription": "SampleRuleCollectionDescription",
        "ruleCollectionAppliesToGroups": [{"networkGroupId": _NETWORK_GROUP}],
        "kind": "Default",
        "properties": {
            "description": "Sample Admin Rule",
            "flag": "AllowVnetInbound",
            "protocol": "Tcp",
            "sources": [{"addressPrefixType": "IPPrefix", "addressPrefix": "*"}],
            "destinations": [{"addressPrefixType": "IPPrefix", "addressPrefix": "*"}],
            "sourcePortRanges": ["0-65535"],
            "destinationPortRanges": ["22"],
            "direction": "Inbound",
            "access": "Deny",
            "priority": 1,
            "provisioningState": "Succeeded",
        },
        "ruleGroups": [
            {
                "id": _NETWORK_GROUP,
                "properties": {
                    "description": "A group for all test Virtual Networks",
                    "provisioningState": "Succeeded",
                },
            }
        ],
    }


def locations(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (the keys and indexes leading to it), the value itself first:
    where a test can spoil a real document."""
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += locations(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += locations(item, (*at, index))
    return found


def put(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    """``value`` with ``new`` at the place ``at`` (in place; the whole value when ``at`` is
    empty)."""
    if not at:
        return new
    value[at[0]] = put(value[at[0]], at[1:], new)
    return value


# Values and lines that spoil a real document or guest artefact where it is deep (the mutation
# tests and the fuzz campaign share them).
ODD_VALUES = ["", "10.0.0.0/33", "*", "Internet", "not-an-ip", "0-70000", "/subscriptions/x",
              "<script>alert(1)</script>", "\x1b[31m", "VirtualAppliance", "65536"]
ODD_LINES = ["", "\x00\xff", "-A INPUT -p tcp --dport 99999 -j ACCEPT",
             "-A INPUT -s 10.0.0.0/99 -j DROP", "tcp LISTEN 0 128 *:-1 *:*", "{", "}", "COMMIT",
             "*filter", ":INPUT DROP [0:0]", "  TCP    0.0.0.0:5432   0.0.0.0:0   LISTENING   4",
             "Rule Name: x", "LocalPort: 1-99999", "\u202e",
             "-A INPUT -m multiport --dports 1:2:3 -j ACCEPT"]
LINE_EDITS = ("delete", "repeat", "cut", "insert", "garble")


def spoil_lines(lines: list[str], rng: Random, edits: Iterable[tuple[str, str]]) -> list[str]:
    """``lines`` after each edit (one of :data:`LINE_EDITS`, with the text an insert puts in)
    at a place ``rng`` picks."""
    lines = list(lines)
    for edit, text in edits:
        at = rng.randrange(len(lines) + 1)
        near = min(at, len(lines) - 1)
        if edit == "insert" or not lines:
            lines.insert(at, text)
        elif edit == "delete":
            del lines[near]
        elif edit == "repeat":
            lines.insert(at, lines[near])
        elif edit == "cut":
            lines = lines[:at]
        elif lines[near]:
            column = rng.randrange(len(lines[near]))
            lines[near] = (lines[near][:column] + rng.choice('x9:/.-,{}"')
                           + lines[near][column + 1:])
    return lines
