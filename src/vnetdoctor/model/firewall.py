"""Azure Firewall, Firewall Policy (with rule collection groups and parent policies) and IP groups.

Addresses, ports and FQDNs are kept as Azure wrote them (``"10.0.0.0/24"``,
``"192.168.1.1-192.168.1.12"``, ``"*"``, a service tag, ``"443-444"``): the firewall engine parses
them once per rule. Semantics: ``docs/semantics/firewall.md#decisions`` (FW-1 to FW-9).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress


class FirewallRuleKind(StrEnum):
    """The rule types, spelled as the policy's ``ruleType`` discriminator."""

    NAT = "NatRule"
    NETWORK = "NetworkRule"
    APPLICATION = "ApplicationRule"


class Phase(IntEnum):
    """Processing phases in the firewall's absolute order (F1)."""

    DNAT = 0
    NETWORK = 1
    APPLICATION = 2


PHASE_OF: dict[FirewallRuleKind, Phase] = {
    FirewallRuleKind.NAT: Phase.DNAT,
    FirewallRuleKind.NETWORK: Phase.NETWORK,
    FirewallRuleKind.APPLICATION: Phase.APPLICATION,
}


class FirewallAction(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    DNAT = "Dnat"
    SNAT = "Snat"


class ApplicationProtocol(msgspec.Struct, frozen=True, gc=False):
    protocol_type: str  # Http | Https | Mssql
    port: int | None = None


class FirewallRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    name: str
    kind: FirewallRuleKind
    protocols: tuple[str, ...] = ()  # network / NAT: TCP | UDP | ICMP | Any (upper-cased)
    application_protocols: tuple[ApplicationProtocol, ...] = ()
    source_addresses: tuple[str, ...] = ()
    source_ip_groups: tuple[ResourceId, ...] = ()
    destination_addresses: tuple[str, ...] = ()
    destination_ip_groups: tuple[ResourceId, ...] = ()
    destination_fqdns: tuple[str, ...] = ()
    destination_ports: tuple[str, ...] = ()
    target_fqdns: tuple[str, ...] = ()
    fqdn_tags: tuple[str, ...] = ()
    translated_address: str | None = None
    translated_port: str | None = None
    translated_fqdn: str | None = None
    index: int = 0


class FirewallRuleCollection(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A classic rule collection or a policy rule collection; ``pointer`` locates it in its
    resource (the firewall, or the rule collection group)."""

    name: str
    kind: FirewallRuleKind
    priority: int | None = None
    action: FirewallAction | None = None
    rules: tuple[FirewallRule, ...] = ()
    pointer: str = ""


class RuleCollectionGroup(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    priority: int | None = None
    rule_collections: tuple[FirewallRuleCollection, ...] = ()
    index: int = 0


class FirewallPolicy(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    base_policy: ResourceId | None = None
    rule_collection_groups: tuple[RuleCollectionGroup, ...] = ()
    # Ids listed by the policy whose bodies the snapshot lacks.
    missing_rule_collection_groups: tuple[ResourceId, ...] = ()
    threat_intel_mode: str | None = None
    snat_private_ranges: tuple[str, ...] | None = None
    dns_proxy: bool = False
    sku_tier: str | None = None
    problems: tuple[str, ...] = ()


class AzureFirewall(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    private_ip_addresses: tuple[IPAddress, ...] = ()
    subnet: ResourceId | None = None
    firewall_policy: ResourceId | None = None
    network_rule_collections: tuple[FirewallRuleCollection, ...] = ()
    application_rule_collections: tuple[FirewallRuleCollection, ...] = ()
    nat_rule_collections: tuple[FirewallRuleCollection, ...] = ()
    threat_intel_mode: str | None = None
    additional_properties: tuple[tuple[str, str], ...] = ()
    sku_name: str | None = None
    sku_tier: str | None = None
    provisioning_state: str | None = None
    problems: tuple[str, ...] = ()

    def additional_property(self, key: str) -> str | None:
        folded = key.casefold()
        return next((v for k, v in self.additional_properties if k.casefold() == folded), None)

    @property
    def classic_collections(self) -> tuple[FirewallRuleCollection, ...]:
        return (
            *self.nat_rule_collections,
            *self.network_rule_collections,
            *self.application_rule_collections,
        )


class IpGroup(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    ip_addresses: tuple[str, ...] = ()
