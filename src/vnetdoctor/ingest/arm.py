"""ARM resource JSON -> the domain model.

This module and :mod:`vnetdoctor.ingest.fields` are the only places that know ARM's camelCase
keys. One ``<thing>_from_arm`` function per resource type, each forgiving: a bad value becomes an
ingest warning plus a ``problems`` entry on the object, so that engines answer ``unknown`` where it
matters instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import msgspec

from vnetdoctor.ingest import dns
from vnetdoctor.ingest.fields import Json, Reader, props
from vnetdoctor.model.compute import (
    IpConfiguration,
    NetworkInterface,
    NetworkInterfaceReference,
    PublicIpAddress,
    VirtualMachine,
)
from vnetdoctor.model.firewall import (
    ApplicationProtocol,
    AzureFirewall,
    FirewallAction,
    FirewallPolicy,
    FirewallRule,
    FirewallRuleCollection,
    FirewallRuleKind,
    IpGroup,
    RuleCollectionGroup,
)
from vnetdoctor.model.gateway import (
    BgpSettings,
    Connection,
    LocalNetworkGateway,
    VirtualNetworkGateway,
    VirtualNetworkGatewayIpConfiguration,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import (
    BackendAddressPool,
    FrontendIpConfiguration,
    InboundNatRule,
    LoadBalancer,
    LoadBalancerBackendAddress,
    LoadBalancingRule,
    NatGateway,
    NatRulePortMapping,
    OutboundRule,
    Probe,
)
from vnetdoctor.model.net import (
    AddressPrefix,
    IPAddress,
    IPNetwork,
    PortRange,
    Protocol,
    parse_ip,
    parse_network,
)
from vnetdoctor.model.network import (
    NextHopType,
    Route,
    RouteTable,
    ServiceEndpoint,
    Subnet,
    VirtualNetwork,
    VirtualNetworkPeering,
)
from vnetdoctor.model.network_manager import (
    ENVELOPE_TYPE,
    AdminAccess,
    EffectiveSecurityAdminRules,
    SecurityAdminRule,
    unknown_admin_rules,
)
from vnetdoctor.model.security import (
    Access,
    ApplicationSecurityGroup,
    Direction,
    NetworkSecurityGroup,
    SecurityRule,
)
from vnetdoctor.model.warnings import WarningKind

# Resource types, lower-cased (Resource Graph lower-cases them; ARM compares case-insensitively).
VIRTUAL_NETWORKS: Final = "microsoft.network/virtualnetworks"
SUBNETS: Final = "microsoft.network/virtualnetworks/subnets"
PEERINGS: Final = "microsoft.network/virtualnetworks/virtualnetworkpeerings"
NSGS: Final = "microsoft.network/networksecuritygroups"
SECURITY_RULES: Final = "microsoft.network/networksecuritygroups/securityrules"
DEFAULT_SECURITY_RULES: Final = "microsoft.network/networksecuritygroups/defaultsecurityrules"
ROUTE_TABLES: Final = "microsoft.network/routetables"
ROUTES: Final = "microsoft.network/routetables/routes"
NICS: Final = "microsoft.network/networkinterfaces"
NIC_IP_CONFIGURATIONS: Final = "microsoft.network/networkinterfaces/ipconfigurations"
ASGS: Final = "microsoft.network/applicationsecuritygroups"
PUBLIC_IPS: Final = "microsoft.network/publicipaddresses"
LOAD_BALANCERS: Final = "microsoft.network/loadbalancers"
NAT_GATEWAYS: Final = "microsoft.network/natgateways"
VNET_GATEWAYS: Final = "microsoft.network/virtualnetworkgateways"
CONNECTIONS: Final = "microsoft.network/connections"
LOCAL_NETWORK_GATEWAYS: Final = "microsoft.network/localnetworkgateways"
VIRTUAL_MACHINES: Final = "microsoft.compute/virtualmachines"
CLASSIC_VIRTUAL_MACHINES: Final = "microsoft.classiccompute/virtualmachines"
AZURE_FIREWALLS: Final = "microsoft.network/azurefirewalls"
FIREWALL_POLICIES: Final = "microsoft.network/firewallpolicies"
RULE_COLLECTION_GROUPS: Final = "microsoft.network/firewallpolicies/rulecollectiongroups"
IP_GROUPS: Final = "microsoft.network/ipgroups"
EFFECTIVE_ADMIN_RULES: Final = (  # the older envelope (model/network_manager.py)
    "microsoft.network/virtualnetworks/networkmanagereffectivesecurityadminrules"
)
ADMIN_RULES_ENVELOPE: Final = ENVELOPE_TYPE.casefold()  # vnetdoctor's own envelope

# Child type -> (parent type, array key inside the parent's properties).
CHILD_ARRAYS: Final[Mapping[str, tuple[str, str]]] = {
    SUBNETS: (VIRTUAL_NETWORKS, "subnets"),
    PEERINGS: (VIRTUAL_NETWORKS, "virtualNetworkPeerings"),
    SECURITY_RULES: (NSGS, "securityRules"),
    DEFAULT_SECURITY_RULES: (NSGS, "defaultSecurityRules"),
    ROUTES: (ROUTE_TABLES, "routes"),
    NIC_IP_CONFIGURATIONS: (NICS, "ipConfigurations"),
    "microsoft.network/loadbalancers/frontendipconfigurations": (
        LOAD_BALANCERS,
        "frontendIPConfigurations",
    ),
    "microsoft.network/loadbalancers/backendaddresspools": (LOAD_BALANCERS, "backendAddressPools"),
    "microsoft.network/loadbalancers/loadbalancingrules": (LOAD_BALANCERS, "loadBalancingRules"),
    "microsoft.network/loadbalancers/probes": (LOAD_BALANCERS, "probes"),
    "microsoft.network/loadbalancers/inboundnatrules": (LOAD_BALANCERS, "inboundNatRules"),
    "microsoft.network/loadbalancers/outboundrules": (LOAD_BALANCERS, "outboundRules"),
    RULE_COLLECTION_GROUPS: (FIREWALL_POLICIES, "ruleCollectionGroups"),
    **dns.CHILD_ARRAYS,  # record sets, zone and ruleset links, resolver endpoints, rules
}


def _name(r: Reader, obj: Json, rid: ResourceId | None) -> str:
    name = obj.get("name")
    if isinstance(name, str) and name:
        return name
    return rid.name if rid is not None else ""


def _child_id(r: Reader, obj: Json, parent: ResourceId, child_type: str, index: int) -> ResourceId:
    """The id of an inline child; old API versions and templates sometimes omit it."""
    raw = obj.get("id")
    if isinstance(raw, str) and raw.strip():
        return r.rid(raw)
    name = obj.get("name")
    return r.rid(f"{parent}/{child_type}/{name if isinstance(name, str) and name else index}")


def _objects(r: Reader, obj: Json, key: str, owner: object) -> list[tuple[int, Json]]:
    out: list[tuple[int, Json]] = []
    for i, item in enumerate(r.list_(obj, key, owner)):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            r.bad(owner, f"{key}[{i}]", item, "expected an object")
    return out


def _networks(
    r: Reader, values: list[Any] | tuple[Any, ...], owner: object, field: str, problems: list[str]
) -> tuple[IPNetwork, ...]:
    out = []
    for i, value in enumerate(values):
        net = r.parsed(value, parse_network, owner, f"{field}[{i}]", problems)
        if net is not None:
            out.append(net)
    return tuple(out)


def _ip(r: Reader, obj: Json, key: str, owner: object, problems: list[str]) -> IPAddress | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    return r.parsed(value, parse_ip, owner, key, problems)


def _prefixes_of(obj: Json, single: str, plural: str) -> list[Any]:
    values: list[Any] = []
    one = obj.get(single)
    if one is not None and one != "":
        values.append(one)
    many = obj.get(plural)
    if isinstance(many, list):
        values.extend(many)
    elif many is not None:
        values.append(many)
    return values


# ---------------------------------------------------------------------------------------------
# Virtual networks
# ---------------------------------------------------------------------------------------------
def _address_prefixes(
    r: Reader, p: Json, owner: object, problems: list[str]
) -> tuple[IPNetwork, ...]:
    space = r.dict_(p, "addressSpace", owner)
    return _networks(
        r, r.list_(space, "addressPrefixes", owner), owner, "addressSpace.addressPrefixes", problems
    )


def subnet_from_arm(r: Reader, obj: Json, vnet_id: ResourceId, index: int) -> Subnet:
    rid = _child_id(r, obj, vnet_id, "subnets", index)
    p = props(obj)
    problems: list[str] = []
    raw_prefixes = _prefixes_of(p, "addressPrefix", "addressPrefixes")
    prefixes = _networks(r, raw_prefixes, rid, "addressPrefix", problems)
    if not raw_prefixes:
        r.warn(
            WarningKind.MISSING_FIELD,
            "subnet has no address prefix",
            resource=rid,
            field="addressPrefix",
        )
        problems.append("addressPrefix")
    endpoints = tuple(
        ServiceEndpoint(
            service=r.str_(props(se), "service", rid) or "",
            locations=r.strs(props(se), "locations", rid),
            provisioning_state=r.str_(props(se), "provisioningState", rid),
        )
        for _, se in _objects(r, p, "serviceEndpoints", rid)
    )
    delegations = tuple(
        r.str_(props(d), "serviceName", rid) or r.str_(d, "name", rid) or ""
        for _, d in _objects(r, p, "delegations", rid)
    )
    return Subnet(
        id=rid,
        name=_name(r, obj, rid),
        address_prefixes=prefixes,
        network_security_group=r.ref(p, "networkSecurityGroup", rid),
        route_table=r.ref(p, "routeTable", rid),
        nat_gateway=r.ref(p, "natGateway", rid),
        service_endpoints=endpoints,
        default_outbound_access=r.opt_bool(p, "defaultOutboundAccess", rid),
        delegations=delegations,
        private_endpoint_network_policies=r.str_(p, "privateEndpointNetworkPolicies", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        index=index,
        problems=tuple(problems),
    )


def peering_from_arm(
    r: Reader, obj: Json, vnet_id: ResourceId, index: int
) -> VirtualNetworkPeering:
    rid = _child_id(r, obj, vnet_id, "virtualNetworkPeerings", index)
    p = props(obj)
    problems: list[str] = []
    remote_space = p.get("remoteAddressSpace") or p.get("remoteVirtualNetworkAddressSpace")
    remote_prefixes: tuple[IPNetwork, ...] = ()
    if isinstance(remote_space, dict):
        remote_prefixes = _networks(
            r,
            r.list_(remote_space, "addressPrefixes", rid),
            rid,
            "remoteAddressSpace.addressPrefixes",
            problems,
        )
    return VirtualNetworkPeering(
        id=rid,
        name=_name(r, obj, rid),
        remote_virtual_network=r.ref(p, "remoteVirtualNetwork", rid),
        remote_address_prefixes=remote_prefixes,
        peering_state=r.str_(p, "peeringState", rid),
        peering_sync_level=r.str_(p, "peeringSyncLevel", rid),
        allow_virtual_network_access=r.bool_(p, "allowVirtualNetworkAccess", rid, default=True),
        allow_forwarded_traffic=r.bool_(p, "allowForwardedTraffic", rid),
        allow_gateway_transit=r.bool_(p, "allowGatewayTransit", rid),
        use_remote_gateways=r.bool_(p, "useRemoteGateways", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        index=index,
        problems=tuple(problems),
    )


def virtual_network_from_arm(r: Reader, obj: Json, rid: ResourceId) -> VirtualNetwork:
    p = props(obj)
    problems: list[str] = []
    dhcp = r.dict_(p, "dhcpOptions", rid)
    return VirtualNetwork(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        address_prefixes=_address_prefixes(r, p, rid, problems),
        subnets=tuple(subnet_from_arm(r, s, rid, i) for i, s in _objects(r, p, "subnets", rid)),
        virtual_network_peerings=tuple(
            peering_from_arm(r, s, rid, i) for i, s in _objects(r, p, "virtualNetworkPeerings", rid)
        ),
        dns_servers=r.strs(dhcp, "dnsServers", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        problems=tuple(problems),
    )


# ---------------------------------------------------------------------------------------------
# Network security groups
# ---------------------------------------------------------------------------------------------
def _enum(
    r: Reader, p: Json, key: str, parse: Callable[[str], Any], owner: object, problems: list[str]
) -> Any:
    value = p.get(key)
    if value is None:
        r.warn(
            WarningKind.MISSING_FIELD, f"required field {key} is absent", resource=owner, field=key
        )
        problems.append(key)
        return None
    return r.parsed(value, parse, owner, key, problems)


def _parse_direction(text: str) -> Direction:
    for d in Direction:
        if d.value.casefold() == text.strip().casefold():
            return d
    raise ValueError(f"unknown direction {text!r} (expected Inbound or Outbound)")


def _parse_access(text: str) -> Access:
    for a in Access:
        if a.value.casefold() == text.strip().casefold():
            return a
    raise ValueError(f"unknown access {text!r} (expected Allow or Deny)")


def _parse_priority(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"priority {text!r} is not an integer") from None
    # 100-4096 for user rules; 65000-65500 for the defaults.
    if not (100 <= value <= 4096 or 65000 <= value <= 65500):
        raise ValueError(f"priority {value} is outside 100-4096")
    return value


def security_rule_from_arm(
    r: Reader, obj: Json, nsg_id: ResourceId, index: int, *, is_default: bool
) -> SecurityRule:
    kind = "defaultSecurityRules" if is_default else "securityRules"
    rid = _child_id(r, obj, nsg_id, kind, index)
    p = props(obj)
    problems: list[str] = []

    def prefixes(single: str, plural: str) -> tuple[AddressPrefix, ...]:
        out = []
        for i, value in enumerate(_prefixes_of(p, single, plural)):
            parsed = r.parsed(
                value, AddressPrefix.parse, rid, f"{plural}[{i}]" if i else single, problems
            )
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    def ports(single: str, plural: str) -> tuple[PortRange, ...]:
        out = []
        for i, value in enumerate(_prefixes_of(p, single, plural)):
            parsed = r.parsed(
                value, PortRange.parse, rid, f"{plural}[{i}]" if i else single, problems
            )
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    priority_raw = p.get("priority")
    priority = None
    if priority_raw is None:
        r.warn(
            WarningKind.MISSING_FIELD,
            "required field priority is absent",
            resource=rid,
            field="priority",
        )
        problems.append("priority")
    else:
        priority = r.parsed(priority_raw, _parse_priority, rid, "priority", problems)
    return SecurityRule(
        id=rid,
        name=_name(r, obj, rid),
        priority=priority,
        direction=_enum(r, p, "direction", _parse_direction, rid, problems),
        access=_enum(r, p, "access", _parse_access, rid, problems),
        protocol=_enum(r, p, "protocol", Protocol.parse, rid, problems),
        source_address_prefixes=prefixes("sourceAddressPrefix", "sourceAddressPrefixes"),
        destination_address_prefixes=prefixes(
            "destinationAddressPrefix", "destinationAddressPrefixes"
        ),
        source_application_security_groups=r.refs(p, "sourceApplicationSecurityGroups", rid),
        destination_application_security_groups=r.refs(
            p, "destinationApplicationSecurityGroups", rid
        ),
        source_port_ranges=ports("sourcePortRange", "sourcePortRanges"),
        destination_port_ranges=ports("destinationPortRange", "destinationPortRanges"),
        description=r.str_(p, "description", rid),
        is_default=is_default,
        provisioning_state=r.str_(p, "provisioningState", rid),
        index=index,
        problems=tuple(problems),
    )


def _default_rule(
    nsg_id: ResourceId,
    index: int,
    name: str,
    priority: int,
    direction: Direction,
    access: Access,
    source: str,
    destination: str,
    description: str,
) -> SecurityRule:
    return SecurityRule(
        id=nsg_id.child("defaultSecurityRules", name),
        name=name,
        priority=priority,
        direction=direction,
        access=access,
        protocol=Protocol.ANY,
        source_address_prefixes=(AddressPrefix.parse(source),),
        destination_address_prefixes=(AddressPrefix.parse(destination),),
        source_port_ranges=(PortRange.parse("*"),),
        destination_port_ranges=(PortRange.parse("*"),),
        description=description,
        is_default=True,
        index=index,
    )


def default_security_rules(nsg_id: ResourceId) -> tuple[SecurityRule, ...]:
    """Azure's six default rules, with the API's names, order and fields (semantics §1.2)."""
    inbound, outbound = Direction.INBOUND, Direction.OUTBOUND
    allow, deny = Access.ALLOW, Access.DENY
    return (
        _default_rule(
            nsg_id,
            0,
            "AllowVnetInBound",
            65000,
            inbound,
            allow,
            "VirtualNetwork",
            "VirtualNetwork",
            "Allow inbound traffic from all VMs in VNET",
        ),
        _default_rule(
            nsg_id,
            1,
            "AllowAzureLoadBalancerInBound",
            65001,
            inbound,
            allow,
            "AzureLoadBalancer",
            "*",
            "Allow inbound traffic from azure load balancer",
        ),
        _default_rule(
            nsg_id, 2, "DenyAllInBound", 65500, inbound, deny, "*", "*", "Deny all inbound traffic"
        ),
        _default_rule(
            nsg_id,
            3,
            "AllowVnetOutBound",
            65000,
            outbound,
            allow,
            "VirtualNetwork",
            "VirtualNetwork",
            "Allow outbound traffic from all VMs to all VMs in VNET",
        ),
        _default_rule(
            nsg_id,
            4,
            "AllowInternetOutBound",
            65001,
            outbound,
            allow,
            "*",
            "Internet",
            "Allow outbound traffic from all VMs to Internet",
        ),
        _default_rule(
            nsg_id,
            5,
            "DenyAllOutBound",
            65500,
            outbound,
            deny,
            "*",
            "*",
            "Deny all outbound traffic",
        ),
    )


def nsg_from_arm(r: Reader, obj: Json, rid: ResourceId) -> NetworkSecurityGroup:
    p = props(obj)
    rules = tuple(
        security_rule_from_arm(r, s, rid, i, is_default=False)
        for i, s in _objects(r, p, "securityRules", rid)
    )
    defaults = tuple(
        security_rule_from_arm(r, s, rid, i, is_default=True)
        for i, s in _objects(r, p, "defaultSecurityRules", rid)
    )
    assumed = False
    if not defaults:
        # Azure never returns an NSG without its six default rules; a body without them is a
        # partial export (a template, a trimmed query). They cannot be removed, so they apply.
        defaults = default_security_rules(rid)
        assumed = True
        r.warn(
            WarningKind.DEFAULT_ASSUMED,
            "defaultSecurityRules absent; Azure's six default rules assumed",
            resource=rid,
            field="defaultSecurityRules",
        )
    else:
        defaults = _complete_defaults(r, rid, defaults)
    return NetworkSecurityGroup(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        security_rules=rules,
        default_security_rules=defaults,
        flush_connection=r.opt_bool(p, "flushConnection", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        defaults_assumed=assumed,
    )


def _complete_defaults(
    r: Reader, rid: ResourceId, given: tuple[SecurityRule, ...]
) -> tuple[SecurityRule, ...]:
    """Azure's six default rules cannot be deleted, so a list missing some is a trimmed export:
    the missing ones still apply. Add them by name with Azure's definitions; the given ones stay
    as given (a list without AllowVnetInBound would otherwise deny VNet traffic)."""
    present = {rule.name.casefold() for rule in given}
    missing = [rule for rule in default_security_rules(rid) if rule.name.casefold() not in present]
    if not missing:
        return given
    r.warn(
        WarningKind.DEFAULT_ASSUMED,
        f"defaultSecurityRules lacks {', '.join(rule.name for rule in missing)}; "
        "Azure's definitions assumed",
        resource=rid,
        field="defaultSecurityRules",
        value=", ".join(rule.name for rule in missing),
    )
    start = max((rule.index for rule in given), default=-1) + 1
    added = (msgspec.structs.replace(rule, index=start + i) for i, rule in enumerate(missing))
    return (*given, *added)


def asg_from_arm(r: Reader, obj: Json, rid: ResourceId) -> ApplicationSecurityGroup:
    return ApplicationSecurityGroup(
        id=rid, name=_name(r, obj, rid), location=r.str_(obj, "location", rid)
    )


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------
def route_from_arm(r: Reader, obj: Json, table_id: ResourceId, index: int) -> Route:
    rid = _child_id(r, obj, table_id, "routes", index)
    p = props(obj)
    problems: list[str] = []
    prefix_raw = p.get("addressPrefix")
    prefix = None
    if prefix_raw is None:
        r.warn(
            WarningKind.MISSING_FIELD,
            "route has no addressPrefix",
            resource=rid,
            field="addressPrefix",
        )
        problems.append("addressPrefix")
    else:
        prefix = r.parsed(prefix_raw, AddressPrefix.parse, rid, "addressPrefix", problems)
        if prefix is not None and prefix.is_any:
            r.bad(rid, "addressPrefix", prefix_raw, "a route prefix cannot be '*'")
            problems.append("addressPrefix")
            prefix = None
    hop = _enum(r, p, "nextHopType", NextHopType.parse, rid, problems)
    return Route(
        id=rid,
        name=_name(r, obj, rid),
        address_prefix=prefix,
        next_hop_type=hop,
        next_hop_ip_address=_ip(r, p, "nextHopIpAddress", rid, problems),
        provisioning_state=r.str_(p, "provisioningState", rid),
        index=index,
        problems=tuple(problems),
    )


def route_table_from_arm(r: Reader, obj: Json, rid: ResourceId) -> RouteTable:
    p = props(obj)
    return RouteTable(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        routes=tuple(route_from_arm(r, s, rid, i) for i, s in _objects(r, p, "routes", rid)),
        disable_bgp_route_propagation=r.bool_(p, "disableBgpRoutePropagation", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


# ---------------------------------------------------------------------------------------------
# Compute
# ---------------------------------------------------------------------------------------------
def ip_configuration_from_arm(
    r: Reader, obj: Json, nic_id: ResourceId, index: int
) -> IpConfiguration:
    rid = _child_id(r, obj, nic_id, "ipConfigurations", index)
    p = props(obj)
    problems: list[str] = []
    return IpConfiguration(
        id=rid,
        name=_name(r, obj, rid),
        private_ip_address=_ip(r, p, "privateIPAddress", rid, problems),
        private_ip_allocation_method=r.str_(p, "privateIPAllocationMethod", rid),
        private_ip_address_version=r.str_(p, "privateIPAddressVersion", rid),
        subnet=r.ref(p, "subnet", rid),
        public_ip_address=r.ref(p, "publicIPAddress", rid),
        primary=r.bool_(p, "primary", rid),
        application_security_groups=r.refs(p, "applicationSecurityGroups", rid),
        load_balancer_backend_address_pools=r.refs(p, "loadBalancerBackendAddressPools", rid),
        load_balancer_inbound_nat_rules=r.refs(p, "loadBalancerInboundNatRules", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        index=index,
        problems=tuple(problems),
    )


def nic_from_arm(r: Reader, obj: Json, rid: ResourceId) -> NetworkInterface:
    p = props(obj)
    dns = r.dict_(p, "dnsSettings", rid)
    return NetworkInterface(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        ip_configurations=tuple(
            ip_configuration_from_arm(r, c, rid, i)
            for i, c in _objects(r, p, "ipConfigurations", rid)
        ),
        network_security_group=r.ref(p, "networkSecurityGroup", rid),
        enable_ip_forwarding=r.bool_(p, "enableIPForwarding", rid),
        enable_accelerated_networking=r.bool_(p, "enableAcceleratedNetworking", rid),
        virtual_machine=r.ref(p, "virtualMachine", rid),
        primary=r.opt_bool(p, "primary", rid),
        mac_address=r.str_(p, "macAddress", rid),
        dns_servers=r.strs(dns, "dnsServers", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        applied_dns_servers=r.strs(dns, "appliedDnsServers", rid),
    )


def _power_state(r: Reader, obj: Json, p: Json, rid: ResourceId) -> str | None:
    """Power state from any of the shapes Azure tools print.

    ``az vm get-instance-view`` / ``$expand=instanceView``: ``instanceView.statuses[].code``;
    Resource Graph: ``properties.extended.instanceView.powerState.code``; ``az vm list -d``:
    top-level ``powerState`` = ``"VM running"``.
    """
    candidates: list[Json] = []
    for holder in (p, obj):
        view = holder.get("instanceView")
        if isinstance(view, dict):
            candidates.append(view)
    extended = p.get("extended")
    if isinstance(extended, dict) and isinstance(extended.get("instanceView"), dict):
        candidates.append(extended["instanceView"])
    for view in candidates:
        state = view.get("powerState")
        code = state.get("code") if isinstance(state, dict) else None
        if isinstance(code, str):
            return code.split("/", 1)[-1]
        statuses = view.get("statuses")
        if statuses is not None and not isinstance(statuses, list):
            r.bad(rid, "instanceView.statuses", statuses, "expected a list")
            continue
        for status in statuses or ():
            code = status.get("code") if isinstance(status, dict) else None
            if isinstance(code, str) and code.casefold().startswith("powerstate/"):
                return code.split("/", 1)[1]
    flat = obj.get("powerState")
    if isinstance(flat, str) and flat:
        return flat.removeprefix("VM ").strip().casefold()
    return None


def vm_from_arm(r: Reader, obj: Json, rid: ResourceId) -> VirtualMachine:
    p = props(obj)
    network = r.dict_(p, "networkProfile", rid)
    refs = []
    for i, item in _objects(r, network, "networkInterfaces", rid):
        nic_id = item.get("id")
        if not isinstance(nic_id, str) or not nic_id.strip():
            r.bad(rid, f"networkProfile.networkInterfaces[{i}]", item, "reference without id")
            continue
        refs.append(
            NetworkInterfaceReference(
                id=r.rid(nic_id), primary=r.opt_bool(props(item), "primary", rid)
            )
        )
    storage = r.dict_(p, "storageProfile", rid)
    os_disk = r.dict_(storage, "osDisk", rid)
    os_profile = r.dict_(p, "osProfile", rid)
    return VirtualMachine(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        network_interfaces=tuple(refs),
        power_state=_power_state(r, obj, p, rid),
        os_type=r.str_(os_disk, "osType", rid),
        computer_name=r.str_(os_profile, "computerName", rid),
        vm_size=r.str_(r.dict_(p, "hardwareProfile", rid), "vmSize", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        scale_set=r.ref(p, "virtualMachineScaleSet", rid),  # a Flexible scale set's member
    )


def _sku_name(r: Reader, obj: Json, rid: ResourceId) -> str | None:
    sku = obj.get("sku")
    if isinstance(sku, dict):
        return r.str_(sku, "name", rid)
    if isinstance(sku, str):
        return sku
    return None


def public_ip_from_arm(r: Reader, obj: Json, rid: ResourceId) -> PublicIpAddress:
    p = props(obj)
    problems: list[str] = []
    return PublicIpAddress(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        ip_address=_ip(r, p, "ipAddress", rid, problems),
        public_ip_allocation_method=r.str_(p, "publicIPAllocationMethod", rid),
        public_ip_address_version=r.str_(p, "publicIPAddressVersion", rid),
        sku=_sku_name(r, obj, rid),
        ip_configuration=r.ref(p, "ipConfiguration", rid),
        nat_gateway=r.ref(p, "natGateway", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


# ---------------------------------------------------------------------------------------------
# Load balancers and NAT gateways
# ---------------------------------------------------------------------------------------------
def load_balancer_from_arm(r: Reader, obj: Json, rid: ResourceId) -> LoadBalancer:
    p = props(obj)
    problems: list[str] = []
    frontends = tuple(
        FrontendIpConfiguration(
            id=cid,
            name=cid.name,
            private_ip_address=_ip(r, cp, "privateIPAddress", cid, problems),
            public_ip_address=r.ref(cp, "publicIPAddress", cid),
            public_ip_prefix=r.ref(cp, "publicIPPrefix", cid),
            subnet=r.ref(cp, "subnet", cid),
            zones=r.strs(_raw_child(p, "frontendIPConfigurations", i), "zones", cid),
        )
        for i, cid, cp in _lb_children(r, p, rid, "frontendIPConfigurations")
    )
    pools = tuple(
        _backend_pool(r, cid, cp, problems)
        for _, cid, cp in _lb_children(r, p, rid, "backendAddressPools")
    )
    rules = _lb_records(r, p, rid, "loadBalancingRules", LoadBalancingRule, _LB_RULE_FIELDS)
    outbound = _lb_records(r, p, rid, "outboundRules", OutboundRule, _OUTBOUND_RULE_FIELDS)
    probes = _lb_records(r, p, rid, "probes", Probe, _PROBE_FIELDS, indexed=False)
    nat_rules = _lb_records(r, p, rid, "inboundNatRules", InboundNatRule, _NAT_RULE_FIELDS)
    return LoadBalancer(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        sku=_sku_name(r, obj, rid),
        frontend_ip_configurations=frontends,
        backend_address_pools=pools,
        load_balancing_rules=rules,
        outbound_rules=outbound,
        probes=probes,
        inbound_nat_rules=nat_rules,
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


def _lb_children(
    r: Reader, p: Json, rid: ResourceId, key: str
) -> list[tuple[int, ResourceId, Json]]:
    """(index, id, properties) of each object in one of the LB's arrays."""
    return [(i, _child_id(r, c, rid, key, i), props(c)) for i, c in _objects(r, p, key, rid)]


def _backend_pool(r: Reader, cid: ResourceId, cp: Json, problems: list[str]) -> BackendAddressPool:
    addresses = []
    for _, a in _objects(r, cp, "loadBalancerBackendAddresses", cid):
        ap = props(a)
        addresses.append(
            LoadBalancerBackendAddress(
                name=r.str_(a, "name", cid),
                ip_address=_ip(r, ap, "ipAddress", cid, problems),
                virtual_network=r.ref(ap, "virtualNetwork", cid),
                subnet=r.ref(ap, "subnet", cid),
                network_interface_ip_configuration=r.ref(
                    ap, "networkInterfaceIPConfiguration", cid
                ),
                admin_state=r.str_(ap, "adminState", cid),
                inbound_nat_rules_port_mapping=_nat_port_mappings(r, ap, cid),
            )
        )
    return BackendAddressPool(
        id=cid,
        name=cid.name,
        backend_ip_configurations=r.refs(cp, "backendIPConfigurations", cid),
        load_balancer_backend_addresses=tuple(addresses),
    )


def _pool_refs(r: Reader, cp: Json, key: str, cid: ResourceId) -> tuple[ResourceId, ...]:
    """A rule's pools: the single ``backendAddressPool`` first, then the ``...Pools`` list."""
    one = r.ref(cp, key, cid)
    return (() if one is None else (one,)) + r.refs(cp, f"{key}s", cid)


# How one field of an LB record is read: (model attribute, reader, ARM property). The tables list
# every field of the record in reading order, which is also the order of their warnings.
_FieldRead = Callable[[Reader, Json, str, ResourceId], Any]
_LbFields = tuple[tuple[str, _FieldRead, str], ...]
_LB_RULE_FIELDS: Final[_LbFields] = (
    ("frontend_ip_configuration", Reader.ref, "frontendIPConfiguration"),
    ("backend_address_pools", _pool_refs, "backendAddressPool"),
    ("probe", Reader.ref, "probe"),
    ("protocol", Reader.str_, "protocol"),
    ("frontend_port", Reader.int_, "frontendPort"),
    ("backend_port", Reader.int_, "backendPort"),
    ("enable_floating_ip", Reader.bool_, "enableFloatingIP"),
    ("disable_outbound_snat", Reader.bool_, "disableOutboundSnat"),
    ("enable_tcp_reset", Reader.bool_, "enableTcpReset"),
    ("idle_timeout_in_minutes", Reader.int_, "idleTimeoutInMinutes"),
    ("load_distribution", Reader.str_, "loadDistribution"),
)
_NAT_RULE_FIELDS: Final[_LbFields] = (
    ("frontend_ip_configuration", Reader.ref, "frontendIPConfiguration"),
    ("backend_ip_configuration", Reader.ref, "backendIPConfiguration"),
    ("backend_address_pool", Reader.ref, "backendAddressPool"),
    ("protocol", Reader.str_, "protocol"),
    ("frontend_port", Reader.int_, "frontendPort"),
    ("backend_port", Reader.int_, "backendPort"),
    ("frontend_port_range_start", Reader.int_, "frontendPortRangeStart"),
    ("frontend_port_range_end", Reader.int_, "frontendPortRangeEnd"),
    ("enable_floating_ip", Reader.bool_, "enableFloatingIP"),
)
_OUTBOUND_RULE_FIELDS: Final[_LbFields] = (
    ("frontend_ip_configurations", Reader.refs, "frontendIPConfigurations"),
    ("backend_address_pool", Reader.ref, "backendAddressPool"),
    ("protocol", Reader.str_, "protocol"),
    ("allocated_outbound_ports", Reader.int_, "allocatedOutboundPorts"),
    ("idle_timeout_in_minutes", Reader.int_, "idleTimeoutInMinutes"),
    ("enable_tcp_reset", Reader.bool_, "enableTcpReset"),
)
_PROBE_FIELDS: Final[_LbFields] = (
    ("protocol", Reader.str_, "protocol"),
    ("port", Reader.int_, "port"),
    ("request_path", Reader.str_, "requestPath"),
    ("interval_in_seconds", Reader.int_, "intervalInSeconds"),
    ("number_of_probes", Reader.int_, "numberOfProbes"),
    ("probe_threshold", Reader.int_, "probeThreshold"),
    ("no_healthy_backends_behavior", Reader.str_, "noHealthyBackendsBehavior"),
)
_LbRecord = TypeVar("_LbRecord", LoadBalancingRule, InboundNatRule, OutboundRule, Probe)


def _lb_records(
    r: Reader,
    p: Json,
    rid: ResourceId,
    key: str,
    record: type[_LbRecord],
    fields: _LbFields,
    *,
    indexed: bool = True,
) -> tuple[_LbRecord, ...]:
    """The LB's rules of one kind (or its probes), each read field by field from its table;
    a rule keeps its position in the array (``index``) for the JSON pointers of findings."""
    out = []
    for i, cid, cp in _lb_children(r, p, rid, key):
        values = {attr: read(r, cp, arm_key, cid) for attr, read, arm_key in fields}
        if indexed:
            values["index"] = i
        out.append(record(id=cid, name=cid.name, **values))
    return tuple(out)


def _nat_port_mappings(
    r: Reader, ap: Json, cid: ResourceId
) -> tuple[NatRulePortMapping, ...] | None:
    """``inboundNatRulesPortMapping`` of a pool member (v2 inbound NAT rules): ``None`` when
    the snapshot lacks it, so that a member's frontend port is never guessed."""
    if "inboundNatRulesPortMapping" not in ap:
        return None
    return tuple(
        NatRulePortMapping(
            inbound_nat_rule_name=r.str_(m, "inboundNatRuleName", cid),
            frontend_port=r.int_(m, "frontendPort", cid),
            backend_port=r.int_(m, "backendPort", cid),
        )
        for _, m in _objects(r, ap, "inboundNatRulesPortMapping", cid)
    )


def _raw_child(p: Json, key: str, index: int) -> Json:
    items = p.get(key)
    return items[index] if isinstance(items, list) and isinstance(items[index], dict) else {}


def nat_gateway_from_arm(r: Reader, obj: Json, rid: ResourceId) -> NatGateway:
    p = props(obj)
    return NatGateway(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        sku=_sku_name(r, obj, rid),
        public_ip_addresses=r.refs(p, "publicIpAddresses", rid),
        public_ip_prefixes=r.refs(p, "publicIpPrefixes", rid),
        subnets=r.refs(p, "subnets", rid),
        idle_timeout_in_minutes=r.int_(p, "idleTimeoutInMinutes", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


# ---------------------------------------------------------------------------------------------
# Gateways
# ---------------------------------------------------------------------------------------------
def _bgp(r: Reader, p: Json, rid: ResourceId) -> BgpSettings | None:
    bgp = p.get("bgpSettings")
    if not isinstance(bgp, dict):
        return None
    return BgpSettings(
        asn=r.int_(bgp, "asn", rid), bgp_peering_address=r.str_(bgp, "bgpPeeringAddress", rid)
    )


def vnet_gateway_from_arm(r: Reader, obj: Json, rid: ResourceId) -> VirtualNetworkGateway:
    p = props(obj)
    problems: list[str] = []
    ipcs = []
    for i, c in _objects(r, p, "ipConfigurations", rid):
        cid = _child_id(r, c, rid, "ipConfigurations", i)
        cp = props(c)
        ipcs.append(
            VirtualNetworkGatewayIpConfiguration(
                id=cid,
                name=_name(r, c, cid),
                subnet=r.ref(cp, "subnet", cid),
                public_ip_address=r.ref(cp, "publicIPAddress", cid),
                private_ip_address=_ip(r, cp, "privateIPAddress", cid, problems),
            )
        )
    sku = p.get("sku")
    return VirtualNetworkGateway(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        gateway_type=r.str_(p, "gatewayType", rid),
        vpn_type=r.str_(p, "vpnType", rid),
        sku=r.str_(sku, "name", rid) if isinstance(sku, dict) else None,
        ip_configurations=tuple(ipcs),
        enable_bgp=r.bool_(p, "enableBgp", rid),
        active_active=r.bool_(p, "activeActive", rid),
        bgp_settings=_bgp(r, p, rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


def local_network_gateway_from_arm(r: Reader, obj: Json, rid: ResourceId) -> LocalNetworkGateway:
    p = props(obj)
    problems: list[str] = []
    space = r.dict_(p, "localNetworkAddressSpace", rid)
    return LocalNetworkGateway(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        gateway_ip_address=r.str_(p, "gatewayIpAddress", rid),
        fqdn=r.str_(p, "fqdn", rid),
        address_prefixes=_networks(
            r,
            r.list_(space, "addressPrefixes", rid),
            rid,
            "localNetworkAddressSpace.addressPrefixes",
            problems,
        ),
        bgp_settings=_bgp(r, p, rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        problems=tuple(problems),
    )


def connection_from_arm(r: Reader, obj: Json, rid: ResourceId) -> Connection:
    p = props(obj)
    return Connection(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        connection_type=r.str_(p, "connectionType", rid),
        connection_status=r.str_(p, "connectionStatus", rid),
        virtual_network_gateway1=r.ref(p, "virtualNetworkGateway1", rid),
        virtual_network_gateway2=r.ref(p, "virtualNetworkGateway2", rid),
        local_network_gateway2=r.ref(p, "localNetworkGateway2", rid),
        enable_bgp=r.bool_(p, "enableBgp", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


# ---------------------------------------------------------------------------------------------
# Azure Firewall, Firewall Policy, IP groups (docs/semantics/firewall.md#resources)
# ---------------------------------------------------------------------------------------------
_ACTIONS: Final = {a.value.casefold(): a for a in FirewallAction}
_RULE_KINDS: Final = {k.value.casefold(): k for k in FirewallRuleKind}


def _fw_action(r: Reader, obj: Json, owner: object, problems: list[str]) -> FirewallAction | None:
    action = r.dict_(obj, "action", owner)
    text = r.str_(action, "type", owner)
    if text is None:
        return None
    found = _ACTIONS.get(text.strip().casefold())
    if found is None:
        r.bad(owner, "action.type", text, "expected Allow, Deny, Dnat or Snat")
        problems.append("action.type")
    return found


def _ip_group_refs(r: Reader, obj: Json, key: str, owner: object) -> tuple[ResourceId, ...]:
    # IP group references are plain id strings (the spec examples' ids are malformed: kept).
    return tuple(r.rid(t) for t in r.strs(obj, key, owner) if t.strip())


def _fw_rule(
    r: Reader, obj: Json, kind: FirewallRuleKind, owner: object, index: int
) -> FirewallRule:
    p = props(obj)
    rule_type = r.str_(p, "ruleType", owner)
    if rule_type is not None:
        kind = _RULE_KINDS.get(rule_type.strip().casefold(), kind)
    app_protocols: list[ApplicationProtocol] = []
    ip_protocols: tuple[str, ...] = ()
    if kind is FirewallRuleKind.APPLICATION:
        for item in r.list_(p, "protocols", owner):
            if isinstance(item, dict):
                ptype = r.str_(item, "protocolType", owner) or ""
                app_protocols.append(ApplicationProtocol(ptype, r.int_(item, "port", owner)))
    else:
        key = "ipProtocols" if "ipProtocols" in p else "protocols"
        ip_protocols = tuple(t.strip().upper() for t in r.strs(p, key, owner))
    return FirewallRule(
        name=_name(r, obj, None),
        kind=kind,
        protocols=ip_protocols,
        application_protocols=tuple(app_protocols),
        source_addresses=r.strs(p, "sourceAddresses", owner),
        source_ip_groups=_ip_group_refs(r, p, "sourceIpGroups", owner),
        destination_addresses=r.strs(p, "destinationAddresses", owner),
        destination_ip_groups=_ip_group_refs(r, p, "destinationIpGroups", owner),
        destination_fqdns=r.strs(p, "destinationFqdns", owner),
        destination_ports=r.strs(p, "destinationPorts", owner),
        target_fqdns=r.strs(p, "targetFqdns", owner),
        fqdn_tags=r.strs(p, "fqdnTags", owner),
        translated_address=r.str_(p, "translatedAddress", owner),
        translated_port=r.str_(p, "translatedPort", owner),
        translated_fqdn=r.str_(p, "translatedFqdn", owner),
        index=index,
    )


def _fw_collection(
    r: Reader,
    obj: Json,
    kind: FirewallRuleKind,
    owner: object,
    pointer: str,
    problems: list[str],
) -> FirewallRuleCollection:
    p = props(obj)
    collection_type = (r.str_(obj, "ruleCollectionType", owner) or "").casefold()
    if collection_type == "firewallpolicynatrulecollection":
        kind = FirewallRuleKind.NAT
    rules = tuple(
        _fw_rule(r, rule, kind, owner, i)
        for i, rule in enumerate(r.list_(p, "rules", owner))
        if isinstance(rule, dict)
    )
    if collection_type == "firewallpolicyfilterrulecollection" and rules:
        kind = rules[0].kind
    return FirewallRuleCollection(
        name=_name(r, obj, None),
        kind=kind,
        priority=r.int_(p, "priority", owner),
        action=_fw_action(r, p, owner, problems),
        rules=rules,
        pointer=pointer,
    )


def firewall_from_arm(r: Reader, obj: Json, rid: ResourceId) -> AzureFirewall:
    p = props(obj)
    problems: list[str] = []
    addresses: list[IPAddress] = []
    subnet: ResourceId | None = None
    for _i, c in _objects(r, p, "ipConfigurations", rid):
        cp = props(c)
        ip = _ip(r, cp, "privateIPAddress", rid, problems)
        if ip is not None:
            addresses.append(ip)
        subnet = subnet or r.ref(cp, "subnet", rid)
    hub = r.dict_(p, "hubIPAddresses", rid)
    if hub:
        ip = _ip(r, hub, "privateIPAddress", rid, problems)
        if ip is not None and ip not in addresses:
            addresses.append(ip)
    collections: dict[str, list[FirewallRuleCollection]] = {}
    for key, kind in (
        ("natRuleCollections", FirewallRuleKind.NAT),
        ("networkRuleCollections", FirewallRuleKind.NETWORK),
        ("applicationRuleCollections", FirewallRuleKind.APPLICATION),
    ):
        collections[key] = [
            _fw_collection(r, c, kind, rid, f"/properties/{key}/{i}", problems)
            for i, c in _objects(r, p, key, rid)
        ]
    extra = r.dict_(p, "additionalProperties", rid)
    sku = r.dict_(p, "sku", rid)
    return AzureFirewall(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        private_ip_addresses=tuple(addresses),
        subnet=subnet,
        firewall_policy=r.ref(p, "firewallPolicy", rid),
        network_rule_collections=tuple(collections["networkRuleCollections"]),
        application_rule_collections=tuple(collections["applicationRuleCollections"]),
        nat_rule_collections=tuple(collections["natRuleCollections"]),
        threat_intel_mode=r.str_(p, "threatIntelMode", rid),
        additional_properties=tuple(
            (str(k), str(v)) for k, v in extra.items() if isinstance(v, (str, int, bool))
        ),
        sku_name=r.str_(sku, "name", rid),
        sku_tier=r.str_(sku, "tier", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        problems=tuple(problems),
    )


def _rule_collection_group(
    r: Reader, obj: Json, policy_id: ResourceId, index: int, problems: list[str]
) -> RuleCollectionGroup:
    gid = _child_id(r, obj, policy_id, "ruleCollectionGroups", index)
    p = props(obj)
    return RuleCollectionGroup(
        id=gid,
        name=_name(r, obj, gid),
        priority=r.int_(p, "priority", gid),
        rule_collections=tuple(
            _fw_collection(
                r, c, FirewallRuleKind.NETWORK, gid, f"/properties/ruleCollections/{i}", problems
            )
            for i, c in _objects(r, p, "ruleCollections", gid)
        ),
        index=index,
    )


def firewall_policy_from_arm(r: Reader, obj: Json, rid: ResourceId) -> FirewallPolicy:
    p = props(obj)
    problems: list[str] = []
    groups: list[RuleCollectionGroup] = []
    missing: list[ResourceId] = []
    for i, g in _objects(r, p, "ruleCollectionGroups", rid):
        gp = g.get("properties")
        if not isinstance(gp, dict) or ("ruleCollections" not in gp and "priority" not in gp):
            ref = g.get("id")
            if isinstance(ref, str) and ref.strip():
                missing.append(r.rid(ref))
            continue
        groups.append(_rule_collection_group(r, g, rid, i, problems))
    snat = r.dict_(p, "snat", rid)
    ranges: tuple[str, ...] | None = None
    raw_ranges = snat.get("privateRanges")
    if isinstance(raw_ranges, list):
        ranges = tuple(str(x).strip() for x in raw_ranges if str(x).strip())
    elif isinstance(raw_ranges, str):  # the doc's template writes "[255.255.255.255/32]"
        ranges = tuple(x.strip() for x in raw_ranges.strip("[] ").split(",") if x.strip())
    dns = r.dict_(p, "dnsSettings", rid)
    sku = r.dict_(p, "sku", rid)
    return FirewallPolicy(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        base_policy=r.ref(p, "basePolicy", rid),
        rule_collection_groups=tuple(groups),
        missing_rule_collection_groups=tuple(missing),
        threat_intel_mode=r.str_(p, "threatIntelMode", rid),
        snat_private_ranges=ranges,
        dns_proxy=r.bool_(dns, "enableProxy", rid),
        sku_tier=r.str_(sku, "tier", rid),
        problems=tuple(problems),
    )


def ip_group_from_arm(r: Reader, obj: Json, rid: ResourceId) -> IpGroup:
    p = props(obj)
    return IpGroup(
        id=rid,
        name=_name(r, obj, rid),
        location=r.str_(obj, "location", rid),
        ip_addresses=r.strs(p, "ipAddresses", rid),
    )


# ---------------------------------------------------------------------------------------------
# Virtual Network Manager: a VNet's effective admin rules (docs/semantics/admin-rules.md)
# ---------------------------------------------------------------------------------------------
_ADMIN_ACCESS: Final = {a.value.casefold(): a for a in AdminAccess}


def _parse_admin_priority(text: str) -> int:
    value = int(text) if text.strip().lstrip("-").isdigit() else None
    if value is None or not 1 <= value <= 4096:  # A1: the REST spec's 1-4096
        raise ValueError(f"admin rule priority {text!r} is outside 1-4096")
    return value


def admin_rule_from_arm(
    r: Reader, obj: Json, owner: ResourceId, index: int, value_pointer: str = "/properties/value"
) -> SecurityAdminRule:
    rid = _child_id(r, obj, owner, "rules", index)
    p = props(obj)
    problems: list[str] = []
    sources: list[AddressPrefix] = []
    destinations: list[AddressPrefix] = []
    groups: dict[str, list[str]] = {"sources": [], "destinations": []}
    for key, out in (("sources", sources), ("destinations", destinations)):
        for i, item in enumerate(r.list_(p, key, rid)):
            if not isinstance(item, dict):
                r.bad(rid, f"{key}[{i}]", item, "expected an address prefix item")
                problems.append(key)
                continue
            text = r.str_(item, "addressPrefix", rid) or ""
            kind = (r.str_(item, "addressPrefixType", rid) or "IPPrefix").casefold()
            if kind == "networkgroup":
                groups[key].append(text)
                continue
            parsed = r.parsed(text, AddressPrefix.parse, rid, f"{key}[{i}]", problems)
            if parsed is not None:
                out.append(parsed)
    access_text = r.str_(p, "access", rid)
    admin_access = _ADMIN_ACCESS.get((access_text or "").strip().casefold())
    if admin_access is None:
        r.bad(rid, "access", access_text, "expected Allow, Deny or AlwaysAllow")
        problems.append("access")
    protocol = _enum(r, p, "protocol", Protocol.parse, rid, problems)
    direction = _enum(r, p, "direction", _parse_direction, rid, problems)
    priority = _enum(r, p, "priority", _parse_admin_priority, rid, problems)

    def ports(key: str) -> tuple[PortRange, ...]:
        out = []
        for i, value in enumerate(r.list_(p, key, rid)):
            parsed = r.parsed(value, PortRange.parse, rid, f"{key}[{i}]", problems)
            if parsed is not None:
                out.append(parsed)
        return tuple(out)

    return SecurityAdminRule(
        id=rid,
        name=_name(r, obj, rid),
        priority=priority,
        direction=direction,
        access=None
        if admin_access is None
        else Access.DENY
        if admin_access is AdminAccess.DENY
        else Access.ALLOW,
        protocol=protocol,
        source_address_prefixes=tuple(sources),
        destination_address_prefixes=tuple(destinations),
        source_port_ranges=ports("sourcePortRanges"),
        destination_port_ranges=ports("destinationPortRanges"),
        description=r.str_(p, "description", rid),
        index=index,
        problems=tuple(problems),
        admin_access=admin_access,
        kind=r.str_(obj, "kind", rid) or "Custom",
        flag=r.str_(p, "flag", rid),
        configuration_description=r.str_(obj, "configurationDescription", rid),
        rule_collection_description=r.str_(obj, "ruleCollectionDescription", rid),
        network_group_sources=tuple(groups["sources"]),
        network_group_destinations=tuple(groups["destinations"]),
        value_pointer=value_pointer,
    )


def effective_admin_rules_from_arm(
    r: Reader, obj: Json, rid: ResourceId
) -> EffectiveSecurityAdminRules:
    """The older envelope: ``properties.virtualNetwork`` and ``properties.value``."""
    p = props(obj)
    vnet = r.ref(p, "virtualNetwork", rid) or rid.parent
    pointer = "/properties/value" if isinstance(obj.get("properties"), dict) else "/value"
    return _admin_rules(
        r, rid, vnet, p, "properties.virtualNetwork", pointer, name=_name(r, obj, rid)
    )


def admin_rules_envelope_id(r: Reader, obj: Json) -> ResourceId | None:
    """The key of vnetdoctor's envelope in a snapshot (it has no ``id``: the VNet's id names it);
    ``None`` when ``virtualNetworkId`` is missing or not a string."""
    vnet = obj.get("virtualNetworkId")
    if not isinstance(vnet, str) or not vnet.strip():
        return None
    return r.rid(f"{vnet.strip().rstrip('/')}/vnetdoctor/effectiveSecurityAdminRules")


def admin_rules_envelope_from_json(
    r: Reader, obj: Json, rid: ResourceId
) -> EffectiveSecurityAdminRules:
    """vnetdoctor's envelope: ``virtualNetworkId``, and Azure's ``value`` verbatim (or the
    ``error`` Azure answered instead)."""
    text = obj.get("virtualNetworkId")
    vnet = r.rid(text) if isinstance(text, str) and text.strip() else rid.parent
    return _admin_rules(r, rid, vnet, obj, "virtualNetworkId", "/value", name=rid.name)


def _admin_rules(
    r: Reader,
    rid: ResourceId,
    vnet: ResourceId | None,
    holder: Json,
    vnet_field: str,
    pointer: str,
    *,
    name: str,
) -> EffectiveSecurityAdminRules:
    owner = vnet or rid
    field = "value" if pointer == "/value" else "properties.value"
    value = holder.get("value")
    unknown: str | None = None
    if value is None:
        error = holder.get("error")
        if isinstance(error, dict):
            status, code = error.get("status"), error.get("code")
            message = error.get("message")
            head = " ".join(str(x) for x in (f"HTTP {status}" if status else None, code) if x)
            unknown = "Azure did not list them" + (f" ({head})" if head else "") + (
                f": {message}" if isinstance(message, str) and message else ""
            )
        else:
            r.warn(
                WarningKind.MISSING_FIELD,
                "effective security admin rules without a 'value' list: the VNet's admin rules "
                "are unknown",
                resource=owner,
                field=field,
            )
            unknown = f"the envelope has no '{field}' list"
    elif not isinstance(value, list):
        r.bad(owner, field, value, "expected the list of effective security admin rules: the "
              "VNet's admin rules are unknown")
        unknown = f"'{field}' is not a list"
    if unknown is not None:
        placeholder = unknown_admin_rules(rid, vnet, unknown, pointer)
        return EffectiveSecurityAdminRules(
            id=rid, name=name, virtual_network=vnet, rules=(placeholder,), unknown=unknown,
            virtual_network_field=vnet_field, path=r.path,
        )
    rules = tuple(
        admin_rule_from_arm(r, o, rid, i, pointer)
        for i, o in _objects(r, holder, "value", owner)
    )
    return EffectiveSecurityAdminRules(
        id=rid, name=name, virtual_network=vnet, rules=rules,
        virtual_network_field=vnet_field, path=r.path,
    )


# Top-level type -> (Snapshot attribute, converter).
CONVERTERS: Final[Mapping[str, tuple[str, Callable[[Reader, Json, ResourceId], Any]]]] = {
    VIRTUAL_NETWORKS: ("virtual_networks", virtual_network_from_arm),
    NSGS: ("network_security_groups", nsg_from_arm),
    ROUTE_TABLES: ("route_tables", route_table_from_arm),
    NICS: ("network_interfaces", nic_from_arm),
    ASGS: ("application_security_groups", asg_from_arm),
    PUBLIC_IPS: ("public_ip_addresses", public_ip_from_arm),
    LOAD_BALANCERS: ("load_balancers", load_balancer_from_arm),
    NAT_GATEWAYS: ("nat_gateways", nat_gateway_from_arm),
    VNET_GATEWAYS: ("virtual_network_gateways", vnet_gateway_from_arm),
    CONNECTIONS: ("connections", connection_from_arm),
    LOCAL_NETWORK_GATEWAYS: ("local_network_gateways", local_network_gateway_from_arm),
    VIRTUAL_MACHINES: ("virtual_machines", vm_from_arm),
    AZURE_FIREWALLS: ("azure_firewalls", firewall_from_arm),
    FIREWALL_POLICIES: ("firewall_policies", firewall_policy_from_arm),
    IP_GROUPS: ("ip_groups", ip_group_from_arm),
    **dns.CONVERTERS,  # private DNS zones, DNS resolvers, forwarding rulesets, private endpoints
    EFFECTIVE_ADMIN_RULES: ("effective_admin_rules", effective_admin_rules_from_arm),
    ADMIN_RULES_ENVELOPE: ("effective_admin_rules", admin_rules_envelope_from_json),
}
