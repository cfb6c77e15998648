"""Azure Virtual Network Manager security admin rules, as applied to a virtual network.

The input of record (decision A4 of ``azure-semantics-2.md``) is the per-VNet list that
``listNetworkManagerEffectiveSecurityAdminRules`` returns. ARM's answer does not name the VNet it
was asked about, so a snapshot carries it in vnetdoctor's envelope::

    {"id": "<vnet id>/networkManagerEffectiveSecurityAdminRules",
     "type": "Microsoft.Network/virtualNetworks/networkManagerEffectiveSecurityAdminRules",
     "properties": {"virtualNetwork": {"id": "<vnet id>"}, "value": [<the response's value>]}}

A :class:`SecurityAdminRule` is a :class:`~vnetdoctor.model.security.SecurityRule` (so the NSG
engine's verdicts can name it), plus the admin-only ``admin_access`` (``AlwaysAllow``), ``kind``
and ``flag``.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.security import SecurityRule


class AdminAccess(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    ALWAYS_ALLOW = "AlwaysAllow"


class SecurityAdminRule(SecurityRule, frozen=True, kw_only=True, gc=False):
    admin_access: AdminAccess | None = None
    kind: str = "Custom"  # Custom | Default (A6: both evaluated alike)
    flag: str | None = None
    configuration_description: str | None = None
    rule_collection_description: str | None = None
    # Sources/destinations of type NetworkGroup cannot be expanded offline.
    network_group_sources: tuple[str, ...] = ()
    network_group_destinations: tuple[str, ...] = ()

    @property
    def pointer(self) -> str:
        """JSON pointer of the rule inside the effective-rules envelope."""
        return f"/properties/value/{self.index}"

    @property
    def rule_name(self) -> str:
        """IP flow verify's ``ruleName`` for an admin rule is undocumented (§2.5): the name."""
        return self.name


class EffectiveSecurityAdminRules(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    virtual_network: ResourceId | None
    rules: tuple[SecurityAdminRule, ...] = ()
    problems: tuple[str, ...] = ()
