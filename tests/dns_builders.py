"""ARM JSON builders for names: private DNS zones, links, record sets, DNS resolvers, forwarding
rulesets and private endpoints (the shapes of privatedns 2024-06-01 and dnsresolver 2022-07-01)."""

from __future__ import annotations

from typing import Any

from builders import RG

VNETS = f"{RG}/Microsoft.Network/virtualNetworks"


def vnet_id(name: str) -> str:
    return f"{VNETS}/{name}"


def zone(name: str, records: list[dict[str, Any]] | None = None,
         links: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    zid = f"{RG}/Microsoft.Network/privateDnsZones/{name}"
    return {
        "id": zid, "name": name, "type": "Microsoft.Network/privateDnsZones",
        "location": "global",
        "properties": {
            "provisioningState": "Succeeded",
            "recordSets": [dict(r, id=f"{zid}/{r['type'].rsplit('/', 1)[-1]}/{r['name']}")
                           for r in records or []],
            "virtualNetworkLinks": [dict(lk, id=f"{zid}/virtualNetworkLinks/{lk['name']}")
                                    for lk in links or []],
        },
    }


def a(name: str, *ips: str) -> dict[str, Any]:
    return {"name": name, "type": "Microsoft.Network/privateDnsZones/A",
            "properties": {"ttl": 10, "aRecords": [{"ipv4Address": ip} for ip in ips]}}


def aaaa(name: str, *ips: str) -> dict[str, Any]:
    return {"name": name, "type": "Microsoft.Network/privateDnsZones/AAAA",
            "properties": {"ttl": 10, "aaaaRecords": [{"ipv6Address": ip} for ip in ips]}}


def cname(name: str, target: str) -> dict[str, Any]:
    return {"name": name, "type": "Microsoft.Network/privateDnsZones/CNAME",
            "properties": {"ttl": 10, "cnameRecord": {"cname": target}}}


def link(name: str, vnet: str, *, registration: bool = False, policy: str | None = None,
         state: str = "Completed") -> dict[str, Any]:
    props: dict[str, Any] = {"virtualNetwork": {"id": vnet_id(vnet)},
                             "registrationEnabled": registration,
                             "virtualNetworkLinkState": state,
                             "provisioningState": "Succeeded"}
    if policy is not None:
        props["resolutionPolicy"] = policy
    return {"name": name, "type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
            "location": "global", "properties": props}


def resolver(name: str, vnet: str, inbound: dict[str, str]) -> dict[str, Any]:
    """``inbound``: endpoint name -> its IP (in the VNet's subnet ``snet-inbound``)."""
    rid = f"{RG}/Microsoft.Network/dnsResolvers/{name}"
    return {
        "id": rid, "name": name, "type": "Microsoft.Network/dnsResolvers",
        "location": "westeurope",
        "properties": {
            "virtualNetwork": {"id": vnet_id(vnet)},
            "dnsResolverState": "Connected",
            "inboundEndpoints": [
                {"id": f"{rid}/inboundEndpoints/{ep}", "name": ep, "properties": {
                    "ipConfigurations": [{
                        "subnet": {"id": f"{vnet_id(vnet)}/subnets/snet-inbound"},
                        "privateIpAddress": ip, "privateIpAllocationMethod": "Static"}]}}
                for ep, ip in inbound.items()
            ],
            "outboundEndpoints": [
                {"id": f"{rid}/outboundEndpoints/out", "name": "out",
                 "properties": {"subnet": {"id": f"{vnet_id(vnet)}/subnets/snet-outbound"}}}
            ],
        },
    }


def rule(name: str, domain: str, *targets: str, state: str = "Enabled") -> dict[str, Any]:
    return {"name": name, "properties": {
        "domainName": domain, "forwardingRuleState": state,
        "targetDnsServers": [{"ipAddress": t, "port": 53} for t in targets]}}


def ruleset(name: str, rules: list[dict[str, Any]], vnets: list[str]) -> dict[str, Any]:
    rid = f"{RG}/Microsoft.Network/dnsForwardingRulesets/{name}"
    return {
        "id": rid, "name": name, "type": "Microsoft.Network/dnsForwardingRulesets",
        "location": "westeurope",
        "properties": {
            "dnsResolverOutboundEndpoints": [
                {"id": f"{RG}/Microsoft.Network/dnsResolvers/r/outboundEndpoints/out"}],
            "forwardingRules": [dict(r, id=f"{rid}/forwardingRules/{r['name']}") for r in rules],
            "virtualNetworkLinks": [
                {"id": f"{rid}/virtualNetworkLinks/l-{v}", "name": f"l-{v}",
                 "properties": {"virtualNetwork": {"id": vnet_id(v)}}} for v in vnets],
        },
    }


def storage_id(account: str) -> str:
    return f"{RG}/Microsoft.Storage/storageAccounts/{account}"


def private_endpoint(name: str, target: str, group: str, *, subnet_id: str,
                     nic_name: str, status: str = "Approved",
                     manual: bool = False) -> dict[str, Any]:
    connection = {"name": f"{name}-conn", "properties": {
        "privateLinkServiceId": target, "groupIds": [group],
        "privateLinkServiceConnectionState": {"status": status, "description": "",
                                              "actionsRequired": "None"}}}
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    other = ("privateLinkServiceConnections" if manual
             else "manualPrivateLinkServiceConnections")
    return {
        "id": f"{RG}/Microsoft.Network/privateEndpoints/{name}", "name": name,
        "type": "Microsoft.Network/privateEndpoints", "location": "westeurope",
        "properties": {
            "subnet": {"id": subnet_id},
            "networkInterfaces": [{"id": f"{RG}/Microsoft.Network/networkInterfaces/{nic_name}"}],
            key: [connection], other: [], "customDnsConfigs": [],
        },
    }
