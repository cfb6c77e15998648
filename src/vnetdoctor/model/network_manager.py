"""Azure Virtual Network Manager security admin rules, as applied to a virtual network.

The input of record (``docs/semantics/admin-rules.md#avnm-4``) is the per-VNet list that Azure's
``POST .../virtualNetworks/{vnet}/listNetworkManagerEffectiveSecurityAdminRules`` returns,
``{"value": [...], "skipToken": "..."}``. That answer does not name the VNet it was asked about,
so a snapshot carries it in an envelope of vnetdoctor's own (not an Azure resource type)::

    {"type": "vnetdoctor/effectiveSecurityAdminRules",
     "virtualNetworkId": "<vnet id>",
     "value": [<the response's value, verbatim; every page of it, in order>]}

``vnetdoctor collect`` writes one per VNet it reads. When Azure refused the question (403 without
the ``listNetworkManagerEffectiveSecurityAdminRules/action`` permission, 400/404 where the feature
is not registered), the envelope holds ``"error": {"status": 403, "code": "...", "message":
"..."}`` instead of ``value``: the admin rules of that VNet are *unknown*, which is not the same as
*none* (see below). An envelope whose ``value`` is not a list is unknown too, with a warning.

Older snapshots use an earlier envelope, still read::

    {"id": "<vnet id>/networkManagerEffectiveSecurityAdminRules",
     "type": "Microsoft.Network/virtualNetworks/networkManagerEffectiveSecurityAdminRules",
     "properties": {"virtualNetwork": {"id": "<vnet id>"}, "value": [<the response's value>]}}

(Azure has no such type; the name was vnetdoctor's, and the new form says so.)

What each case means to the engine:

- no envelope for a VNet: the snapshot never asked, and the VNet is taken to have no admin rules
  (the behaviour of every snapshot made before admin rules were read);
- an envelope with ``value: []``: Azure said there are none;
- an unknown envelope: :func:`unknown_admin_rules` stands in a placeholder rule that *may* match
  every packet and *may* deny it, so an NSG ``Allow`` of that VNet becomes ``unknown`` (never a
  "reachable" on a guess); an NSG ``Deny`` stays a deny, with a note that an ``AlwaysAllow`` admin
  rule, if there were one, would override it.

A :class:`SecurityAdminRule` is a :class:`~vnetdoctor.model.security.SecurityRule` (so the NSG
engine's verdicts can name it), plus the admin-only ``admin_access`` (``AlwaysAllow``), ``kind``
and ``flag``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.security import SecurityRule

ENVELOPE_TYPE: Final = "vnetdoctor/effectiveSecurityAdminRules"
LEGACY_ENVELOPE_TYPE: Final = (
    "Microsoft.Network/virtualNetworks/networkManagerEffectiveSecurityAdminRules"
)
UNKNOWN_KIND: Final = "Unknown"  # the kind of the placeholder rule of an unknown envelope


class AdminAccess(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    ALWAYS_ALLOW = "AlwaysAllow"


class SecurityAdminRule(SecurityRule, frozen=True, kw_only=True, gc=False):
    admin_access: AdminAccess | None = None
    kind: str = "Custom"  # Custom | Default (A6: both evaluated alike) | Unknown (placeholder)
    flag: str | None = None
    configuration_description: str | None = None
    rule_collection_description: str | None = None
    # Sources/destinations of type NetworkGroup cannot be expanded offline.
    network_group_sources: tuple[str, ...] = ()
    network_group_destinations: tuple[str, ...] = ()
    # Where the envelope keeps the response's ``value``: "/value" (vnetdoctor's envelope) or
    # "/properties/value" (the older form).
    value_pointer: str = "/properties/value"

    @property
    def pointer(self) -> str:
        """JSON pointer of the rule inside the effective-rules envelope."""
        if self.is_unknown:
            return self.value_pointer
        return f"{self.value_pointer}/{self.index}"

    @property
    def rule_name(self) -> str:
        """IP flow verify's ``ruleName`` for an admin rule is undocumented (§2.5): the name."""
        return self.name

    @property
    def is_unknown(self) -> bool:
        """The placeholder of a VNet whose admin rules could not be read."""
        return self.kind == UNKNOWN_KIND


class EffectiveSecurityAdminRules(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    virtual_network: ResourceId | None
    rules: tuple[SecurityAdminRule, ...] = ()
    problems: tuple[str, ...] = ()
    # Why the rules of the VNet are unknown (Azure refused, or the value was malformed); then
    # ``rules`` holds the placeholder of :func:`unknown_admin_rules`.
    unknown: str | None = None
    # The field that names the VNet ("virtualNetworkId", or "properties.virtualNetwork") and the
    # file the envelope came from, for warnings about it.
    virtual_network_field: str = "virtualNetworkId"
    path: str | None = None


def unknown_admin_rules(envelope: ResourceId, vnet: ResourceId | None, reason: str,
                        value_pointer: str = "/value") -> SecurityAdminRule:
    """A placeholder rule for a VNet whose admin rules are unknown: no direction, protocol or
    access, so it *may* match every packet (engine/admin_rules.py) and its effect may be a deny."""
    where = f"of VNet {vnet.name!r} " if vnet is not None else ""
    return SecurityAdminRule(
        id=envelope,
        name=f"(security admin rules {where}unknown)",
        priority=None,
        direction=None,
        access=None,
        protocol=None,
        kind=UNKNOWN_KIND,
        problems=(reason,),
        value_pointer=value_pointer,
    )
