"""Network security groups, their rules, and application security groups."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import AddressPrefix, PortRange, Protocol


class Access(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class Direction(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


class SecurityRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An NSG rule with the singular and plural ARM fields folded together.

    ``source_address_prefixes`` holds ``sourceAddressPrefix`` and ``sourceAddressPrefixes``; the
    same for destinations and ports. ``problems`` lists fields whose values could not be parsed: a
    rule with problems cannot be matched with certainty, so engines answer ``unknown`` when they
    reach it rather than skip it.
    """

    id: ResourceId | None
    name: str
    priority: int | None
    direction: Direction | None
    access: Access | None
    protocol: Protocol | None
    source_address_prefixes: tuple[AddressPrefix, ...] = ()
    destination_address_prefixes: tuple[AddressPrefix, ...] = ()
    source_application_security_groups: tuple[ResourceId, ...] = ()
    destination_application_security_groups: tuple[ResourceId, ...] = ()
    source_port_ranges: tuple[PortRange, ...] = ()
    destination_port_ranges: tuple[PortRange, ...] = ()
    description: str | None = None
    is_default: bool = False
    provisioning_state: str | None = None
    index: int = 0
    problems: tuple[str, ...] = ()

    @property
    def pointer(self) -> str:
        """JSON pointer of the rule inside its NSG body."""
        array = "defaultSecurityRules" if self.is_default else "securityRules"
        return f"/properties/{array}/{self.index}"

    @property
    def rule_name(self) -> str:
        """The name as Network Watcher reports it: ``securityRules/NAME`` or
        ``defaultSecurityRules/NAME``."""
        array = "defaultSecurityRules" if self.is_default else "securityRules"
        return f"{array}/{self.name}"


class NetworkSecurityGroup(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    security_rules: tuple[SecurityRule, ...] = ()
    default_security_rules: tuple[SecurityRule, ...] = ()
    flush_connection: bool | None = None
    provisioning_state: str | None = None
    defaults_assumed: bool = False


class ApplicationSecurityGroup(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
