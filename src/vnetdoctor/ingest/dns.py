"""ARM JSON of names -> the model: private DNS zones with their record sets and virtual network
links, DNS Private Resolvers with their endpoints, forwarding rulesets with their rules and links,
and private endpoints.

Children arrive either inside their parent (``properties.recordSets``, ``virtualNetworkLinks``,
``inboundEndpoints``, ``outboundEndpoints``, ``forwardingRules``: the arrays the loader merges
children into) or as resources of their own (``Microsoft.Network/privateDnsZones/A``, what
``az network private-dns record-set list`` prints), which the loader puts into those arrays.
Like :mod:`vnetdoctor.ingest.arm`, every reader is forgiving: a bad value is a warning naming the
resource and field, and a ``problems`` entry on the object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from vnetdoctor.ingest.fields import Json, Reader, props
from vnetdoctor.model.dns import (
    DnsForwardingRuleset,
    DnsRecordSet,
    DnsResolver,
    ForwardingRule,
    InboundEndpoint,
    InboundEndpointIp,
    OutboundEndpoint,
    PrivateDnsZone,
    PrivateDnsZoneLink,
    RecordType,
    ResolutionPolicy,
    RulesetLink,
    TargetDnsServer,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, parse_ip
from vnetdoctor.model.private_endpoint import (
    CustomDnsConfig,
    PrivateEndpoint,
    PrivateEndpointIpConfiguration,
    PrivateLinkServiceConnection,
)
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.model.warnings import IngestWarning, WarningKind

PRIVATE_DNS_ZONES: Final = "microsoft.network/privatednszones"
ZONE_LINKS: Final = "microsoft.network/privatednszones/virtualnetworklinks"
DNS_RESOLVERS: Final = "microsoft.network/dnsresolvers"
INBOUND_ENDPOINTS: Final = "microsoft.network/dnsresolvers/inboundendpoints"
OUTBOUND_ENDPOINTS: Final = "microsoft.network/dnsresolvers/outboundendpoints"
RULESETS: Final = "microsoft.network/dnsforwardingrulesets"
FORWARDING_RULES: Final = "microsoft.network/dnsforwardingrulesets/forwardingrules"
RULESET_LINKS: Final = "microsoft.network/dnsforwardingrulesets/virtualnetworklinks"
PRIVATE_ENDPOINTS: Final = "microsoft.network/privateendpoints"

# Every record type a private zone can hold: all merge into the zone; only A, AAAA and CNAME
# give an answer the resolver uses, the others are read and set aside without a warning.
RECORD_TYPES: Final = ("a", "aaaa", "cname", "mx", "ptr", "soa", "srv", "txt")

# Child type -> (parent type, array key inside the parent's properties).
CHILD_ARRAYS: Final[Mapping[str, tuple[str, str]]] = {
    **{f"{PRIVATE_DNS_ZONES}/{t}": (PRIVATE_DNS_ZONES, "recordSets") for t in RECORD_TYPES},
    ZONE_LINKS: (PRIVATE_DNS_ZONES, "virtualNetworkLinks"),
    INBOUND_ENDPOINTS: (DNS_RESOLVERS, "inboundEndpoints"),
    OUTBOUND_ENDPOINTS: (DNS_RESOLVERS, "outboundEndpoints"),
    FORWARDING_RULES: (RULESETS, "forwardingRules"),
    RULESET_LINKS: (RULESETS, "virtualNetworkLinks"),
}


def _name(obj: Json, rid: ResourceId) -> str:
    name = obj.get("name")
    return name if isinstance(name, str) and name else rid.name


def _children(
    r: Reader, p: Json, key: str, parent: ResourceId, child_type: str
) -> Iterator[tuple[int, ResourceId, Json]]:
    """The objects of an inline child array, each with its id (made from the name if absent)."""
    for i, item in enumerate(r.list_(p, key, parent)):
        if not isinstance(item, dict):
            r.bad(parent, f"properties.{key}[{i}]", item, "expected an object")
            continue
        raw = item.get("id")
        if isinstance(raw, str) and raw.strip():
            yield i, r.rid(raw), item
        else:
            name = item.get("name")
            label = name if isinstance(name, str) and name else str(i)
            yield i, r.rid(f"{parent}/{child_type}/{label}"), item


def _ip_of(
    r: Reader, value: object, owner: ResourceId, field: str, problems: list[str]
) -> IPAddress | None:
    if value is None or value == "":
        return None
    return r.parsed(value, parse_ip, owner, field, problems)


# Private DNS zones
# ---------------------------------------------------------------------------------------------
def _record_type(r: Reader, obj: Json, rid: ResourceId) -> str:
    """``A`` from ``Microsoft.Network/privateDnsZones/A`` (the body's type, else the id's)."""
    raw = obj.get("type")
    text = raw if isinstance(raw, str) and raw.strip() else (rid.type or "")
    return text.rsplit("/", 1)[-1].strip().upper()


def record_set_from_arm(r: Reader, obj: Json, rid: ResourceId, index: int) -> DnsRecordSet | None:
    """An A, AAAA or CNAME record set; ``None`` for the other types (MX, TXT, SOA, ...)."""
    kind = _record_type(r, obj, rid)
    if kind not in RecordType.__members__:
        return None
    rtype = RecordType(kind)
    p = props(obj)
    problems: list[str] = []
    addresses: list[IPAddress] = []
    cname: str | None = None
    if rtype is RecordType.CNAME:
        record = r.dict_(p, "cnameRecord", rid)
        cname = r.str_(record, "cname", rid) or None
        empty = cname is None
    else:
        key, inner = ("aRecords", "ipv4Address") if rtype is RecordType.A else (
            "aaaaRecords", "ipv6Address"
        )
        records = r.list_(p, key, rid)
        for i, item in enumerate(records):
            value = item.get(inner) if isinstance(item, dict) else item
            ip = _ip_of(r, value, rid, f"properties.{key}[{i}].{inner}", problems)
            if ip is not None:
                if ip.version != (4 if rtype is RecordType.A else 6):
                    r.bad(rid, f"properties.{key}[{i}].{inner}", value,
                          f"not an IPv{4 if rtype is RecordType.A else 6} address")
                    problems.append(f"properties.{key}[{i}].{inner}")
                    continue
                addresses.append(ip)
        empty = not records
    if empty:
        field = "properties.cnameRecord" if rtype is RecordType.CNAME else (
            "properties.aRecords" if rtype is RecordType.A else "properties.aaaaRecords"
        )
        r.warn(WarningKind.MISSING_FIELD,
               f"{rtype.value} record set has no records: the name answers with no address",
               resource=rid, field=field)
        problems.append(field)
    return DnsRecordSet(
        id=rid,
        name=_name(obj, rid),
        type=rtype,
        addresses=tuple(addresses),
        cname=cname,
        is_auto_registered=r.bool_(p, "isAutoRegistered", rid),
        index=index,
        problems=tuple(problems),
    )


def _resolution_policy(
    r: Reader, p: Json, rid: ResourceId, problems: list[str]
) -> ResolutionPolicy:
    raw = r.str_(p, "resolutionPolicy", rid)
    if raw is None or not raw.strip():
        return ResolutionPolicy.DEFAULT
    for member in ResolutionPolicy:
        if member.value.casefold() == raw.strip().casefold():
            return member
    r.bad(rid, "properties.resolutionPolicy", raw,
          "expected Default or NxDomainRedirect; assuming Default")
    problems.append("properties.resolutionPolicy")
    return ResolutionPolicy.DEFAULT


def zone_link_from_arm(r: Reader, obj: Json, rid: ResourceId, index: int) -> PrivateDnsZoneLink:
    p = props(obj)
    problems: list[str] = []
    vnet = r.ref(p, "virtualNetwork", rid)
    if vnet is None:
        r.warn(WarningKind.MISSING_FIELD, "virtual network link names no virtual network",
               resource=rid, field="properties.virtualNetwork")
        problems.append("properties.virtualNetwork")
    return PrivateDnsZoneLink(
        id=rid,
        name=_name(obj, rid),
        virtual_network=vnet,
        registration_enabled=r.bool_(p, "registrationEnabled", rid),
        resolution_policy=_resolution_policy(r, p, rid, problems),
        virtual_network_link_state=r.str_(p, "virtualNetworkLinkState", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
        index=index,
        problems=tuple(problems),
    )


def private_dns_zone_from_arm(r: Reader, obj: Json, rid: ResourceId) -> PrivateDnsZone:
    p = props(obj)
    records = []
    for i, cid, item in _children(r, p, "recordSets", rid, "A"):
        record = record_set_from_arm(r, item, cid, i)
        if record is not None:
            records.append(record)
    links = tuple(
        zone_link_from_arm(r, item, cid, i)
        for i, cid, item in _children(r, p, "virtualNetworkLinks", rid, "virtualNetworkLinks")
    )
    return PrivateDnsZone(
        id=rid,
        name=_name(obj, rid),
        record_sets=tuple(records),
        virtual_network_links=links,
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


# DNS Private Resolver and forwarding rulesets
# ---------------------------------------------------------------------------------------------
def inbound_endpoint_from_arm(r: Reader, obj: Json, rid: ResourceId, index: int) -> InboundEndpoint:
    p = props(obj)
    problems: list[str] = []
    configs = []
    for i, item in enumerate(r.list_(p, "ipConfigurations", rid)):
        field = f"properties.ipConfigurations[{i}]"
        if not isinstance(item, dict):
            r.bad(rid, field, item, "expected an object")
            continue
        configs.append(InboundEndpointIp(
            subnet=r.ref(item, "subnet", rid),
            private_ip_address=_ip_of(
                r, item.get("privateIpAddress"), rid, f"{field}.privateIpAddress", problems
            ),
            private_ip_allocation_method=r.str_(item, "privateIpAllocationMethod", rid),
        ))
    return InboundEndpoint(
        id=rid, name=_name(obj, rid), ip_configurations=tuple(configs),
        provisioning_state=r.str_(p, "provisioningState", rid), index=index,
        problems=tuple(problems),
    )


def dns_resolver_from_arm(r: Reader, obj: Json, rid: ResourceId) -> DnsResolver:
    p = props(obj)
    return DnsResolver(
        id=rid,
        name=_name(obj, rid),
        location=r.str_(obj, "location", rid),
        virtual_network=r.ref(p, "virtualNetwork", rid),
        inbound_endpoints=tuple(
            inbound_endpoint_from_arm(r, item, cid, i)
            for i, cid, item in _children(r, p, "inboundEndpoints", rid, "inboundEndpoints")
        ),
        outbound_endpoints=tuple(
            OutboundEndpoint(
                id=cid, name=_name(item, cid), subnet=r.ref(props(item), "subnet", cid),
                provisioning_state=r.str_(props(item), "provisioningState", cid), index=i,
            )
            for i, cid, item in _children(r, p, "outboundEndpoints", rid, "outboundEndpoints")
        ),
        dns_resolver_state=r.str_(p, "dnsResolverState", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


def forwarding_rule_from_arm(r: Reader, obj: Json, rid: ResourceId, index: int) -> ForwardingRule:
    p = props(obj)
    problems: list[str] = []
    targets = []
    for i, item in enumerate(r.list_(p, "targetDnsServers", rid)):
        field = f"properties.targetDnsServers[{i}]"
        if not isinstance(item, dict):
            r.bad(rid, field, item, "expected an object")
            problems.append(field)
            continue
        ip = _ip_of(r, item.get("ipAddress"), rid, f"{field}.ipAddress", problems)
        port = r.int_(item, "port", rid)
        targets.append(TargetDnsServer(ip_address=ip, port=53 if port is None else port))
    domain = r.str_(p, "domainName", rid)
    if domain is None:
        r.warn(WarningKind.MISSING_FIELD, "forwarding rule has no domain name; it is ignored",
               resource=rid, field="properties.domainName")
        problems.append("properties.domainName")
    return ForwardingRule(
        id=rid,
        name=_name(obj, rid),
        domain_name=domain or "",
        target_dns_servers=tuple(targets),
        forwarding_rule_state=r.str_(p, "forwardingRuleState", rid),
        index=index,
        problems=tuple(problems),
    )


def ruleset_from_arm(r: Reader, obj: Json, rid: ResourceId) -> DnsForwardingRuleset:
    p = props(obj)
    return DnsForwardingRuleset(
        id=rid,
        name=_name(obj, rid),
        location=r.str_(obj, "location", rid),
        outbound_endpoints=r.refs(p, "dnsResolverOutboundEndpoints", rid),
        forwarding_rules=tuple(
            forwarding_rule_from_arm(r, item, cid, i)
            for i, cid, item in _children(r, p, "forwardingRules", rid, "forwardingRules")
        ),
        virtual_network_links=tuple(
            RulesetLink(
                id=cid, name=_name(item, cid),
                virtual_network=r.ref(props(item), "virtualNetwork", cid),
                provisioning_state=r.str_(props(item), "provisioningState", cid), index=i,
            )
            for i, cid, item in _children(r, p, "virtualNetworkLinks", rid, "virtualNetworkLinks")
        ),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


# Private endpoints
# ---------------------------------------------------------------------------------------------
def _connections(r: Reader, p: Json, key: str, rid: ResourceId, manual: bool) -> list[Any]:
    out = []
    for i, item in enumerate(r.list_(p, key, rid)):
        if not isinstance(item, dict):
            r.bad(rid, f"properties.{key}[{i}]", item, "expected an object")
            continue
        cp = props(item)
        state = r.dict_(cp, "privateLinkServiceConnectionState", rid)
        raw_id = item.get("id")
        out.append(PrivateLinkServiceConnection(
            id=r.rid(raw_id) if isinstance(raw_id, str) and raw_id.strip() else None,
            name=r.str_(item, "name", rid) or "",
            private_link_service_id=r.ref(cp, "privateLinkServiceId", rid),
            group_ids=r.strs(cp, "groupIds", rid),
            status=r.str_(state, "status", rid),
            description=r.str_(state, "description", rid),
            manual=manual,
            index=i,
        ))
    return out


def private_endpoint_from_arm(r: Reader, obj: Json, rid: ResourceId) -> PrivateEndpoint:
    p = props(obj)
    problems: list[str] = []
    dns_configs = []
    for i, item in enumerate(r.list_(p, "customDnsConfigs", rid)):
        if not isinstance(item, dict):
            r.bad(rid, f"properties.customDnsConfigs[{i}]", item, "expected an object")
            continue
        ips = []
        for j, value in enumerate(r.list_(item, "ipAddresses", rid)):
            ip = _ip_of(r, value, rid, f"properties.customDnsConfigs[{i}].ipAddresses[{j}]",
                        problems)
            if ip is not None:
                ips.append(ip)
        dns_configs.append(CustomDnsConfig(fqdn=r.str_(item, "fqdn", rid), ip_addresses=tuple(ips)))
    ip_configs = []
    for i, item in enumerate(r.list_(p, "ipConfigurations", rid)):
        if not isinstance(item, dict):
            r.bad(rid, f"properties.ipConfigurations[{i}]", item, "expected an object")
            continue
        cp = props(item)
        ip_configs.append(PrivateEndpointIpConfiguration(
            name=r.str_(item, "name", rid) or "",
            group_id=r.str_(cp, "groupId", rid),
            member_name=r.str_(cp, "memberName", rid),
            private_ip_address=_ip_of(
                r, cp.get("privateIPAddress"), rid,
                f"properties.ipConfigurations[{i}].properties.privateIPAddress", problems,
            ),
        ))
    return PrivateEndpoint(
        id=rid,
        name=_name(obj, rid),
        location=r.str_(obj, "location", rid),
        subnet=r.ref(p, "subnet", rid),
        network_interfaces=r.refs(p, "networkInterfaces", rid),
        connections=tuple(
            _connections(r, p, "privateLinkServiceConnections", rid, False)
            + _connections(r, p, "manualPrivateLinkServiceConnections", rid, True)
        ),
        custom_dns_configs=tuple(dns_configs),
        ip_configurations=tuple(ip_configs),
        provisioning_state=r.str_(p, "provisioningState", rid),
        problems=tuple(problems),
    )


# Top-level type -> (Snapshot attribute, converter).
CONVERTERS: Final[Mapping[str, tuple[str, Callable[[Reader, Json, ResourceId], Any]]]] = {
    PRIVATE_DNS_ZONES: ("private_dns_zones", private_dns_zone_from_arm),
    DNS_RESOLVERS: ("dns_resolvers", dns_resolver_from_arm),
    RULESETS: ("dns_forwarding_rulesets", ruleset_from_arm),
    PRIVATE_ENDPOINTS: ("private_endpoints", private_endpoint_from_arm),
}


def dangling_references(s: Snapshot) -> Iterator[IngestWarning]:
    """References from names to resources the snapshot lacks: a link to a missing VNet, an
    inbound endpoint in a missing subnet, a private endpoint in a missing subnet."""

    def dangling(owner: ResourceId, field: str, target: ResourceId, what: str) -> IngestWarning:
        return IngestWarning.of(
            WarningKind.DANGLING_REFERENCE,
            f"refers to {what} {target.name!r}, which is not in the snapshot",
            resource=str(owner), field=field, value=str(target),
        )

    for zone in s.private_dns_zones.values():
        for link in zone.virtual_network_links:
            vnet = link.virtual_network
            if vnet is not None and vnet not in s.virtual_networks:
                yield dangling(link.id, "properties.virtualNetwork", vnet, "virtual network")
    for ruleset in s.dns_forwarding_rulesets.values():
        for rlink in ruleset.virtual_network_links:
            vnet = rlink.virtual_network
            if vnet is not None and vnet not in s.virtual_networks:
                yield dangling(rlink.id, "properties.virtualNetwork", vnet, "virtual network")
    for resolver in s.dns_resolvers.values():
        vnet = resolver.virtual_network
        if vnet is not None and vnet not in s.virtual_networks:
            yield dangling(resolver.id, "properties.virtualNetwork", vnet, "virtual network")
    for pe in s.private_endpoints.values():
        if pe.subnet is not None and pe.subnet not in s.subnets:
            yield dangling(pe.id, "properties.subnet", pe.subnet, "subnet")
