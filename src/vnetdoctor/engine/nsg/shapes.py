"""Azure's JSON shapes of NSG answers: effective security rules and the security group view.

Rules back in ARM form, effective rules in the order and spelling Azure lists them, and the
legacy deny-all entries the security group view still shows
(``docs/semantics/nsg.md#effective-view``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from vnetdoctor.model.compute import NetworkInterface, VirtualMachine
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import (
    Protocol,
)
from vnetdoctor.model.security import Direction, SecurityRule


class Association(NamedTuple):
    kind: str  # "networkInterface" | "subnet"
    owner: ResourceId
    nsg_id: ResourceId | None
    subnet: ResourceId | None  # the NIC's subnet (context of the VirtualNetwork tag)
    missing_subnet: bool = False


def primary_subnet(nic: NetworkInterface) -> ResourceId | None:
    ipc = nic.primary_ip_configuration
    return None if ipc is None else ipc.subnet


def effective_order(rules: Sequence[SecurityRule]) -> list[SecurityRule]:
    """Custom rules as Azure lists them in effective answers: by direction, then priority."""
    def key(r: SecurityRule) -> tuple[int, int, int]:
        return (0 if r.direction is Direction.INBOUND else 1,
                r.priority if r.priority is not None else -1, r.index)

    return sorted(rules, key=key)


def effective_protocol(protocol: Protocol | None) -> str | None:
    if protocol is None:
        return None
    return "All" if protocol is Protocol.ANY else protocol.value


def legacy_deny_all(direction: Direction) -> dict[str, Any]:
    """The pre-2017 deny-all rule every security group view still lists, exactly as listed."""
    name = "DefaultInboundDenyAll" if direction is Direction.INBOUND else "DefaultOutboundDenyAll"
    return {
        "name": name, "protocol": "All",
        "sourcePortRange": "0-65535", "destinationPortRange": "0-65535",
        "sourcePortRanges": ["0-65535"], "destinationPortRanges": ["0-65535"],
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
        "sourceAddressPrefixes": ["*"], "destinationAddressPrefixes": ["*"],
        "access": "Deny", "priority": 65500, "direction": direction.value,
    }


def arm_rule(rule: SecurityRule) -> dict[str, Any]:
    """A rule back in ARM form (singular key for one value, plural for several)."""
    props: dict[str, Any] = {}
    if rule.description is not None:
        props["description"] = rule.description
    props["protocol"] = None if rule.protocol is None else rule.protocol.value

    def put(single: str, plural: str, values: list[str]) -> None:
        if len(values) == 1:
            props[single] = values[0]
            props[plural] = []
        else:
            props[plural] = values

    put("sourcePortRange", "sourcePortRanges", [str(r) for r in rule.source_port_ranges])
    put("destinationPortRange", "destinationPortRanges",
        [str(r) for r in rule.destination_port_ranges])
    if rule.source_application_security_groups:
        props["sourceApplicationSecurityGroups"] = [
            {"id": str(a)} for a in rule.source_application_security_groups]
    else:
        put("sourceAddressPrefix", "sourceAddressPrefixes",
            [p.text for p in rule.source_address_prefixes])
    if rule.destination_application_security_groups:
        props["destinationApplicationSecurityGroups"] = [
            {"id": str(a)} for a in rule.destination_application_security_groups]
    else:
        put("destinationAddressPrefix", "destinationAddressPrefixes",
            [p.text for p in rule.destination_address_prefixes])
    props["access"] = None if rule.access is None else rule.access.value
    props["priority"] = rule.priority
    props["direction"] = None if rule.direction is None else rule.direction.value
    return {"name": rule.name, "id": None if rule.id is None else str(rule.id),
            "properties": props}


class EffectiveSecurityRules(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """``az network nic list-effective-nsg``: one entry per NSG applied to the NIC.

    ``notes`` says what could not be listed or expanded (an NSG missing from the snapshot, a tag
    without its service tags file); ``complete`` is false when there is any.
    """

    nic: NetworkInterface
    value: list[dict[str, Any]]
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.notes

    def to_azure(self) -> dict[str, Any]:
        return {"value": self.value}


class SecurityGroupView(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Network Watcher's (retired) security group view of a VM, in Azure's shape."""

    vm: VirtualMachine
    value: dict[str, Any]
    notes: tuple[str, ...] = ()

    def to_azure(self) -> dict[str, Any]:
        return self.value


