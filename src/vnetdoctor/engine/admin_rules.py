"""Virtual Network Manager security admin rules, evaluated before NSGs (decisions A1-A6).

Per direction (A2): outbound at the source VNet, inbound at the destination VNet. The rules of the
VNet are ordered by priority (lower first; at equal priority Deny > AlwaysAllow > Allow, A5, an
assumption) and the first match decides: ``Deny`` drops, ``AlwaysAllow`` allows and skips the NSGs
of that direction, ``Allow`` (or no match) falls through to the NSGs. Matching is three-valued: a
``NetworkGroup`` address or an unknown service tag makes a rule *maybe* match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import msgspec

from vnetdoctor.engine.tags import Match, TagExpansion
from vnetdoctor.model.net import MAX_PORT, AddressPrefix, IPAddress, PortRange, Protocol
from vnetdoctor.model.network_manager import AdminAccess, SecurityAdminRule
from vnetdoctor.model.security import Direction

TagLookup = Callable[[str], TagExpansion]
_RANK: Final = {AdminAccess.DENY: 0, AdminAccess.ALWAYS_ALLOW: 1, AdminAccess.ALLOW: 2}


class AdminResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The first admin rule that matches (``None``: none does), and rules before it that may."""

    rule: SecurityAdminRule | None
    maybe: tuple[SecurityAdminRule, ...] = ()

    @property
    def access(self) -> AdminAccess | None:
        return None if self.rule is None else self.rule.admin_access


def ordered(rules: Sequence[SecurityAdminRule]) -> list[SecurityAdminRule]:
    return sorted(
        rules,
        key=lambda r: (
            r.priority if r.priority is not None else 4097,
            _RANK.get(r.admin_access, 3) if r.admin_access is not None else 3,
            r.name.casefold(),
        ),
    )


def _addresses(
    prefixes: Sequence[AddressPrefix], groups: Sequence[str], ip: IPAddress, tags: TagLookup | None
) -> Match:
    if not prefixes and not groups:
        return Match.YES  # no address list: every address [UNVERIFIED]
    best = Match.MAYBE if groups else Match.NO
    for p in prefixes:
        if p.is_any:
            return Match.YES
        if p.network is not None:
            if ip.version == p.network.version and ip in p.network:
                return Match.YES
            continue
        if p.tag is not None:
            best = max(best, Match.MAYBE if tags is None else tags(p.tag).membership(ip))
    return best


def _ports(ranges: Sequence[PortRange], port: int | None) -> Match:
    if not ranges or any(r.start == 0 and r.end == MAX_PORT for r in ranges):
        return Match.YES
    if port is None:
        return Match.MAYBE
    return Match.YES if any(r.start <= port <= r.end for r in ranges) else Match.NO


def _protocol(rule: SecurityAdminRule, protocol: Protocol) -> Match:
    if rule.protocol is None:
        return Match.MAYBE
    if rule.protocol is Protocol.ANY or rule.protocol is protocol:
        return Match.YES
    return Match.MAYBE if protocol is Protocol.ANY else Match.NO


def rule_match(
    rule: SecurityAdminRule,
    direction: Direction,
    protocol: Protocol,
    source: IPAddress,
    destination: IPAddress,
    source_port: int | None,
    destination_port: int | None,
    tags: TagLookup | None,
) -> Match:
    if rule.direction is not None and rule.direction is not direction:
        return Match.NO
    found = min(
        _protocol(rule, protocol),
        _addresses(rule.source_address_prefixes, rule.network_group_sources, source, tags),
        _addresses(
            rule.destination_address_prefixes, rule.network_group_destinations, destination, tags
        ),
        _ports(rule.destination_port_ranges, destination_port)
        if protocol in (Protocol.TCP, Protocol.UDP, Protocol.ANY)
        else Match.YES,
        _ports(rule.source_port_ranges, source_port)
        if protocol in (Protocol.TCP, Protocol.UDP, Protocol.ANY)
        else Match.YES,
    )
    if found is not Match.NO and (
        rule.problems or rule.direction is None or rule.admin_access is None
    ):
        return Match.MAYBE
    return found


def evaluate_admin_rules(
    rules: Sequence[SecurityAdminRule],
    direction: Direction,
    protocol: Protocol,
    source: IPAddress,
    destination: IPAddress,
    source_port: int | None,
    destination_port: int | None,
    tags: TagLookup | None = None,
) -> AdminResult:
    maybe: list[SecurityAdminRule] = []
    for rule in ordered(rules):
        m = rule_match(
            rule, direction, protocol, source, destination, source_port, destination_port, tags
        )
        if m is Match.YES:
            return AdminResult(rule=rule, maybe=tuple(maybe))
        if m is Match.MAYBE:
            maybe.append(rule)
    return AdminResult(rule=None, maybe=tuple(maybe))
