"""Private DNS zones, their records and virtual network links, and DNS Private Resolvers with
their endpoints and forwarding rulesets, shaped as ARM returns them (privatedns 2024-06-01,
dnsresolver 2022-07-01).

Names are kept as ARM writes them; comparisons are the resolver's job (DNS names compare without
case and without the trailing dot).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress


def dns_name(text: str) -> str:
    """The comparable form of a DNS name: lower case, no trailing dot, no surrounding blanks."""
    return text.strip().rstrip(".").casefold()


class RecordType(StrEnum):
    """The record types the resolver answers with; the others (MX, TXT, SRV, PTR, SOA) do not
    give an address and are not kept."""

    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"

    @classmethod
    def parse(cls, text: str) -> RecordType:
        folded = text.strip().upper()
        for member in cls:
            if member.value == folded:
                return member
        raise ValueError(f"record type {text!r} is not A, AAAA or CNAME")


class ResolutionPolicy(StrEnum):
    """``resolutionPolicy`` of a zone's virtual network link (API 2024-06-01 and later)."""

    DEFAULT = "Default"
    NX_DOMAIN_REDIRECT = "NxDomainRedirect"


class DnsRecordSet(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One record set of a private zone. ``name`` is relative to the zone (``@`` is the apex)."""

    id: ResourceId
    name: str
    type: RecordType
    addresses: tuple[IPAddress, ...] = ()  # aRecords / aaaaRecords
    cname: str | None = None
    is_auto_registered: bool = False
    index: int = 0
    problems: tuple[str, ...] = ()


class PrivateDnsZoneLink(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A zone's virtual network link (``privateDnsZones/virtualNetworkLinks``)."""

    id: ResourceId
    name: str
    virtual_network: ResourceId | None = None
    registration_enabled: bool = False
    resolution_policy: ResolutionPolicy = ResolutionPolicy.DEFAULT
    virtual_network_link_state: str | None = None
    provisioning_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()

    @property
    def is_in_force(self) -> bool | None:
        """``True`` when Azure DNS uses the link; ``None`` when the snapshot cannot tell.

        Both ``Completed`` (the REST example) and ``Done`` (the SDK enum text) mean finished; an
        absent state is taken as finished, as exports that drop read-only fields leave it out.
        """
        state = (self.virtual_network_link_state or "Completed").casefold()
        provisioning = (self.provisioning_state or "Succeeded").casefold()
        if state == "inprogress" or provisioning in {"creating", "updating"}:
            return None
        return provisioning == "succeeded" and state in {"completed", "done"}


class PrivateDnsZone(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    record_sets: tuple[DnsRecordSet, ...] = ()
    virtual_network_links: tuple[PrivateDnsZoneLink, ...] = ()
    provisioning_state: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def dns_name(self) -> str:
        return dns_name(self.name)


class InboundEndpointIp(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    subnet: ResourceId | None = None
    private_ip_address: IPAddress | None = None
    private_ip_allocation_method: str | None = None


class InboundEndpoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An address that answers DNS queries with Azure DNS as seen from the resolver's VNet."""

    id: ResourceId
    name: str
    ip_configurations: tuple[InboundEndpointIp, ...] = ()
    provisioning_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()


class OutboundEndpoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where forwarded queries leave from; it has a subnet but no address of its own."""

    id: ResourceId
    name: str
    subnet: ResourceId | None = None
    provisioning_state: str | None = None
    index: int = 0


class DnsResolver(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    virtual_network: ResourceId | None = None
    inbound_endpoints: tuple[InboundEndpoint, ...] = ()
    outbound_endpoints: tuple[OutboundEndpoint, ...] = ()
    dns_resolver_state: str | None = None
    provisioning_state: str | None = None


class TargetDnsServer(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    ip_address: IPAddress | None = None
    port: int = 53


class ForwardingRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """``domainName`` is dot-terminated in ARM; an empty or ``.`` domain matches every name."""

    id: ResourceId
    name: str
    domain_name: str = ""
    target_dns_servers: tuple[TargetDnsServer, ...] = ()
    forwarding_rule_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()

    @property
    def is_enabled(self) -> bool:
        """An absent state is ``Enabled``, the API's default."""
        return (self.forwarding_rule_state or "Enabled").casefold() == "enabled"


class RulesetLink(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A forwarding ruleset's virtual network link."""

    id: ResourceId
    name: str
    virtual_network: ResourceId | None = None
    provisioning_state: str | None = None
    index: int = 0


class DnsForwardingRuleset(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    outbound_endpoints: tuple[ResourceId, ...] = ()
    forwarding_rules: tuple[ForwardingRule, ...] = ()
    virtual_network_links: tuple[RulesetLink, ...] = ()
    provisioning_state: str | None = None
