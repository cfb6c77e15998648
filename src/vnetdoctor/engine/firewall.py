"""Azure Firewall as a hop: which rule decides a packet, and whether the firewall SNATs it.

Pipeline (``docs/semantics/firewall.md#fw-1``): threat intelligence (not evaluated offline) →
DNAT rules → network rules → application rules (TCP only; their match needs the request's host
name, so without one it is UNKNOWN, F4) → deny. Every rule terminates. Within a phase, collections
are ordered by (policy depth, root ancestor first) → rule collection group priority → rule
collection priority; classic collections by priority only; ties by name (an assumption, flagged).

Matching is three-valued (:class:`~vnetdoctor.engine.tags.Match`): an FQDN in a network rule, an
unknown service tag or a missing IP group make a rule *maybe* match, and a maybe before the deciding
rule that would decide differently makes the answer ``Unknown``.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Final

import msgspec

from vnetdoctor.engine.nsg import Verdict
from vnetdoctor.engine.tags import Match, TagExpansion
from vnetdoctor.model.firewall import (
    PHASE_OF,
    AzureFirewall,
    FirewallAction,
    FirewallPolicy,
    FirewallRule,
    FirewallRuleCollection,
    FirewallRuleKind,
    Phase,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.snapshot import Snapshot

# F5: IANA RFC 1918 + RFC 6598 (the 2023 SNAT doc wins over the 2020 FAQ's RFC 1918 only).
IANA_PRIVATE_RANGES: Final = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
# Priority assumed for a policy rule collection without one (optional in the schema).
MISSING_PRIORITY: Final = 65001
_APP_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "mssql": 1433}

TagLookup = Callable[[str], TagExpansion]


class OrderedCollection(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One rule collection in evaluation order, with where it lives."""

    key: tuple[int, int, int, int, str, str]
    collection: FirewallRuleCollection
    resource: ResourceId  # the firewall (classic) or the rule collection group
    source: str  # "classic" or the policy's name
    group: str | None = None
    group_priority: int | None = None
    depth: int = 0

    @property
    def phase(self) -> Phase:
        return Phase(self.key[0])


class FirewallDecision(msgspec.Struct, frozen=True, kw_only=True):
    """What the firewall does with one packet."""

    firewall: ResourceId
    access: Verdict
    phase: str  # "dnat" | "network" | "application" | "default"
    resource: ResourceId  # who decided: the rule collection group, or the firewall
    pointer: str | None = None
    collection: str | None = None
    rule: str | None = None
    action: str | None = None
    snat: bool = False
    translated_destination: IPAddress | None = None
    translated_port: int | None = None
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.rule is None:
            return "no rule matches: Azure Firewall denies by default"
        return (
            f"{self.phase} rule collection {self.collection!r}, rule {self.rule!r} ({self.action})"
        )


# ---------------------------------------------------------------------------------------------
# Ordering (F1, F9)
# ---------------------------------------------------------------------------------------------
def policy_chain(
    snapshot: Snapshot, policy_id: ResourceId
) -> tuple[list[FirewallPolicy], list[str]]:
    """The policy and its ancestors, root first; notes for a missing or cyclic parent."""
    chain: list[FirewallPolicy] = []
    notes: list[str] = []
    seen: set[ResourceId] = set()
    current: ResourceId | None = policy_id
    while current is not None:
        if current in seen:
            notes.append(f"the basePolicy chain loops at {current.name}")
            break
        seen.add(current)
        policy = snapshot.firewall_policies.get_ref(current)
        if policy is None:
            notes.append(f"firewall policy {current.name} is not in the snapshot")
            break
        chain.append(policy)
        current = policy.base_policy
    chain.reverse()
    return chain, notes


def ordered_collections(
    snapshot: Snapshot, firewall: AzureFirewall
) -> tuple[list[OrderedCollection], list[str], list[str]]:
    """Every rule collection the firewall evaluates, in order; plus notes and assumptions."""
    out: list[OrderedCollection] = []
    notes: list[str] = []
    assumptions: list[str] = []
    if firewall.firewall_policy is not None:
        if firewall.classic_collections:
            notes.append(
                "the firewall has a firewall policy: its classic rule collections are ignored "
                "(F9, unverified)"
            )
        chain, chain_notes = policy_chain(snapshot, firewall.firewall_policy)
        notes.extend(chain_notes)
        for depth, policy in enumerate(chain):
            if policy.missing_rule_collection_groups:
                notes.append(
                    f"policy {policy.name} lists rule collection group(s) not in the snapshot: "
                    + ", ".join(g.name for g in policy.missing_rule_collection_groups)
                )
            for group in policy.rule_collection_groups:
                gprio = group.priority if group.priority is not None else MISSING_PRIORITY
                for c in group.rule_collections:
                    cprio = c.priority if c.priority is not None else MISSING_PRIORITY
                    if c.priority is None:
                        assumptions.append(
                            f"rule collection {c.name!r} has no priority: taken as last"
                        )
                    out.append(
                        OrderedCollection(
                            key=(
                                int(PHASE_OF[c.kind]),
                                depth,
                                gprio,
                                cprio,
                                group.name.casefold(),
                                c.name.casefold(),
                            ),
                            collection=c,
                            resource=group.id,
                            source=policy.name,
                            group=group.name,
                            group_priority=group.priority,
                            depth=depth,
                        )
                    )
    else:
        for c in firewall.classic_collections:
            prio = c.priority if c.priority is not None else MISSING_PRIORITY
            out.append(
                OrderedCollection(
                    key=(int(PHASE_OF[c.kind]), 0, 0, prio, "", c.name.casefold()),
                    collection=c,
                    resource=firewall.id,
                    source="classic",
                )
            )
    out.sort(key=lambda o: o.key)
    for a, b in itertools.pairwise(out):
        if a.key[:4] == b.key[:4]:
            assumptions.append(
                f"rule collections {a.collection.name!r} and {b.collection.name!r} have equal "
                "priority: ordered by name (sources are silent)"
            )
    return out, notes, assumptions


# ---------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _parse_address(text: str) -> tuple[str, int, int, int] | str | None:
    """``*`` -> None; an IP, CIDR or range -> (kind, version, lo, hi); anything else -> a tag."""
    raw = text.strip()
    if raw in {"*", "Any", "any"}:
        return None
    if raw and (raw[0].isdigit() or ":" in raw):
        try:
            if "-" in raw:
                lo_text, hi_text = raw.split("-", 1)
                lo = ipaddress.ip_address(lo_text.strip())
                hi = ipaddress.ip_address(hi_text.strip())
                return ("range", lo.version, int(lo), int(hi))
            net = ipaddress.ip_network(raw, strict=False)
            return (
                "net",
                net.version,
                int(net.network_address),
                int(net.broadcast_address),
            )
        except ValueError:
            return f"!{raw}"  # unparsable: matches nothing, noted
    return raw


def address_match(text: str, ip: IPAddress, tags: TagLookup | None) -> Match:
    parsed = _parse_address(text)
    if parsed is None:
        return Match.YES
    if isinstance(parsed, tuple):
        _, version, lo, hi = parsed
        return Match.YES if ip.version == version and lo <= int(ip) <= hi else Match.NO
    if parsed.startswith("!"):
        return Match.NO
    if tags is None:
        return Match.MAYBE
    return tags(parsed).membership(ip)


@lru_cache(maxsize=4096)
def _parse_port(text: str) -> tuple[int, int] | None:
    raw = text.strip()
    if raw in {"*", "Any", "any"}:
        return None
    lo, _, hi = raw.partition("-")
    try:
        return (int(lo), int(hi) if hi else int(lo))
    except ValueError:
        return (-1, -1)


def port_match(ports: Sequence[str], port: int | None) -> Match:
    if not ports:
        return Match.NO
    ranges = [_parse_port(p) for p in ports]
    if any(r is None for r in ranges):
        return Match.YES
    if port is None:
        return Match.MAYBE
    return Match.YES if any(r is not None and r[0] <= port <= r[1] for r in ranges) else Match.NO


def _explicit_ports(rule: FirewallRule) -> bool:
    return any(_parse_port(p) is not None for p in rule.destination_ports)


def protocol_match(rule: FirewallRule, protocol: Protocol) -> Match:
    """F2: ``Any`` matches every protocol, except that explicit ports make it TCP+UDP only."""
    covered: set[Protocol] = set()
    every = False
    for p in rule.protocols:
        if p == "ANY":
            if _explicit_ports(rule):
                covered |= {Protocol.TCP, Protocol.UDP}
            else:
                every = True
        elif p in {"TCP", "UDP", "ICMP"}:
            covered.add(Protocol(p.capitalize()))
    if every:
        return Match.YES
    if protocol is Protocol.ANY:
        return Match.MAYBE if covered else Match.NO
    return Match.YES if protocol in covered else Match.NO


class _Matcher:
    def __init__(self, snapshot: Snapshot, tags: TagLookup | None) -> None:
        self.snapshot = snapshot
        self.tags = tags
        self.notes: list[str] = []

    def addresses(
        self,
        texts: Sequence[str],
        groups: Sequence[ResourceId],
        ip: IPAddress,
        fqdns: Sequence[str] = (),
    ) -> Match | None:
        """OR over addresses, IP groups and FQDNs; ``None`` when the rule must be skipped (all
        of its IP groups are empty, S108)."""
        best = Match.NO
        for text in texts:
            best = max(best, address_match(text, ip, self.tags))
            if best is Match.YES:
                return best
        empty_groups = 0
        for gid in groups:
            group = self.snapshot.ip_groups.get_ref(gid)
            if group is None:
                self.notes.append(f"IP group {gid.name} is not in the snapshot")
                best = max(best, Match.MAYBE)
                continue
            if not group.ip_addresses:
                empty_groups += 1
                continue
            for text in group.ip_addresses:
                best = max(best, address_match(text, ip, self.tags))
        if fqdns and best is not Match.YES:
            self.notes.append(
                "destination FQDNs (" + ", ".join(fqdns) + ") need DNS proxy and a resolution "
                "the snapshot does not carry (F4)"
            )
            best = max(best, Match.MAYBE)
        if groups and empty_groups == len(groups) and not texts and not fqdns:
            return None
        return best

    def rule(
        self,
        rule: FirewallRule,
        protocol: Protocol,
        source: IPAddress,
        destination: IPAddress,
        port: int | None,
        fqdn: str | None,
    ) -> Match:
        src = self.addresses(rule.source_addresses, rule.source_ip_groups, source)
        if src is None or src is Match.NO:
            return Match.NO
        if rule.kind is FirewallRuleKind.APPLICATION:
            return min(src, self._application(rule, protocol, destination, port, fqdn))
        proto = protocol_match(rule, protocol)
        if proto is Match.NO:
            return Match.NO
        dst = self.addresses(
            rule.destination_addresses,
            rule.destination_ip_groups,
            destination,
            rule.destination_fqdns,
        )
        if dst is None or dst is Match.NO:
            return Match.NO
        ports = Match.YES
        if protocol in (Protocol.TCP, Protocol.UDP) or (
            protocol is Protocol.ANY and _explicit_ports(rule)
        ):
            ports = port_match(rule.destination_ports, port)
        return min(src, proto, dst, ports)

    def _application(
        self,
        rule: FirewallRule,
        protocol: Protocol,
        destination: IPAddress,
        port: int | None,
        fqdn: str | None,
    ) -> Match:
        if protocol not in (Protocol.TCP, Protocol.ANY):
            return Match.NO
        ports = {
            p.port if p.port else _APP_DEFAULT_PORTS.get(p.protocol_type.casefold(), -1)
            for p in rule.application_protocols
        }
        on_port = Match.MAYBE if port is None else (Match.YES if port in ports else Match.NO)
        if on_port is Match.NO:
            return Match.NO
        if rule.destination_addresses:
            dst = max(
                (address_match(t, destination, self.tags) for t in rule.destination_addresses),
                default=Match.NO,
            )
            if dst is Match.NO:
                return Match.NO
            on_port = min(on_port, dst)
        if fqdn is None:
            self.notes.append(
                f"application rule {rule.name!r} matches by host name (Host header / SNI), "
                "which a 5-tuple does not carry (F4)"
            )
            return Match.MAYBE
        host = fqdn.strip().casefold().rstrip(".")
        hit = any(fqdn_matches(t, host) for t in rule.target_fqdns)
        if hit:
            return on_port
        if rule.fqdn_tags:
            self.notes.append(f"FQDN tags {', '.join(rule.fqdn_tags)} are not expanded offline")
            return Match.MAYBE
        return Match.NO


def fqdn_matches(pattern: str, host: str) -> bool:
    """``*.contoso.com`` matches ``a.contoso.com`` but not the apex ``contoso.com`` (S104)."""
    pat = pattern.strip().casefold().rstrip(".")
    if pat == "*":
        return True
    if pat.startswith("*."):
        return host.endswith(pat[1:])
    return host == pat


# ---------------------------------------------------------------------------------------------
# SNAT (F5)
# ---------------------------------------------------------------------------------------------
def private_ranges(snapshot: Snapshot, firewall: AzureFirewall) -> tuple[str, ...]:
    """The ranges network-rule traffic is *not* SNATed to."""
    configured: tuple[str, ...] | None = None
    if firewall.firewall_policy is not None:
        policy = snapshot.firewall_policies.get_ref(firewall.firewall_policy)
        configured = None if policy is None else policy.snat_private_ranges
    else:
        raw = firewall.additional_property("Network.SNAT.PrivateRanges")
        if raw is not None:
            configured = tuple(x.strip() for x in raw.split(",") if x.strip())
    if not configured:
        return IANA_PRIVATE_RANGES
    out: list[str] = []
    for text in configured:
        if text.casefold() == "ianaprivateranges":
            out.extend(IANA_PRIVATE_RANGES)
        else:
            out.append(text)
    return tuple(out)


def is_snat(snapshot: Snapshot, firewall: AzureFirewall, destination: IPAddress) -> bool:
    ranges = private_ranges(snapshot, firewall)
    return not any(address_match(t, destination, None) is Match.YES for t in ranges)


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------
_PHASE_NAMES: Final = {
    Phase.DNAT: "dnat",
    Phase.NETWORK: "network",
    Phase.APPLICATION: "application",
}


def _effect(collection: FirewallRuleCollection) -> Verdict:
    if collection.action in (FirewallAction.ALLOW, FirewallAction.DNAT):
        return Verdict.ALLOW
    if collection.kind is FirewallRuleKind.NAT and collection.action is None:
        return Verdict.ALLOW
    if collection.action is FirewallAction.DENY:
        return Verdict.DENY
    return Verdict.UNKNOWN


class FirewallEngine:
    """Evaluates packets against the firewalls of one snapshot; orderings are computed once."""

    def __init__(self, snapshot: Snapshot, tags: TagLookup | None = None) -> None:
        self.snapshot = snapshot
        self.tags = tags
        self._ordered: dict[ResourceId, tuple[list[OrderedCollection], list[str], list[str]]] = {}

    def ordered(
        self, firewall: AzureFirewall
    ) -> tuple[list[OrderedCollection], list[str], list[str]]:
        found = self._ordered.get(firewall.id)
        if found is None:
            found = self._ordered[firewall.id] = ordered_collections(self.snapshot, firewall)
        return found

    def evaluate(
        self,
        firewall: AzureFirewall,
        protocol: Protocol,
        source: IPAddress,
        destination: IPAddress,
        port: int | None,
        fqdn: str | None = None,
    ) -> FirewallDecision:
        ordered, base_notes, assumptions = self.ordered(firewall)
        matcher = _Matcher(self.snapshot, self.tags)
        notes = list(base_notes)
        mode = (firewall.threat_intel_mode or "").casefold()
        if mode and mode != "off":
            notes.append(f"threat intelligence ({firewall.threat_intel_mode}) is not evaluated")
        maybes: list[tuple[OrderedCollection, FirewallRule, Verdict]] = []
        for oc in ordered:
            c = oc.collection
            effect = _effect(c)
            for rule in c.rules:
                m = matcher.rule(rule, protocol, source, destination, port, fqdn)
                if m is Match.NO:
                    continue
                if m is Match.MAYBE:
                    maybes.append((oc, rule, effect))
                    continue
                conflict = [x for x in maybes if x[2] is not effect]
                if conflict or effect is Verdict.UNKNOWN:
                    return self._unknown(firewall, conflict, matcher, notes, assumptions, oc, rule)
                return self._decided(
                    firewall,
                    oc,
                    rule,
                    effect,
                    destination,
                    port,
                    notes + matcher.notes,
                    assumptions,
                )
        if maybes and any(x[2] is not Verdict.DENY for x in maybes):
            return self._unknown(firewall, maybes, matcher, notes, assumptions, None, None)
        return FirewallDecision(
            firewall=firewall.id,
            access=Verdict.DENY,
            phase="default",
            resource=firewall.firewall_policy or firewall.id,
            notes=tuple(dict.fromkeys(notes + matcher.notes)),
            assumptions=tuple(dict.fromkeys(assumptions)),
        )

    def _decided(
        self,
        firewall: AzureFirewall,
        oc: OrderedCollection,
        rule: FirewallRule,
        effect: Verdict,
        destination: IPAddress,
        port: int | None,
        notes: list[str],
        assumptions: list[str],
    ) -> FirewallDecision:
        phase = oc.phase
        snat = False
        new_dst: IPAddress | None = None
        new_port: int | None = None
        if effect is Verdict.ALLOW:
            if phase is Phase.APPLICATION or phase is Phase.DNAT:
                snat = True
            else:
                snat = is_snat(self.snapshot, firewall, destination)
            if phase is Phase.DNAT:
                if rule.translated_address:
                    try:
                        new_dst = ipaddress.ip_address(rule.translated_address.strip())
                    except ValueError:
                        notes.append(f"translated address {rule.translated_address!r} unparsed")
                elif rule.translated_fqdn:
                    notes.append(f"DNAT to FQDN {rule.translated_fqdn} is not resolved offline")
                if rule.translated_port and rule.translated_port.strip().isdigit():
                    new_port = int(rule.translated_port)
                notes.append(
                    "a DNAT match allows the translated traffic without network-rule "
                    "re-evaluation (F8, 2023 doc; the 2020 doc disagrees)"
                )
        return FirewallDecision(
            firewall=firewall.id,
            access=effect,
            phase=_PHASE_NAMES[phase],
            resource=oc.resource,
            pointer=f"{oc.collection.pointer}/rules/{rule.index}",
            collection=oc.collection.name,
            rule=rule.name,
            action=None if oc.collection.action is None else oc.collection.action.value,
            snat=snat,
            translated_destination=new_dst,
            translated_port=new_port,
            notes=tuple(dict.fromkeys(notes)),
            assumptions=tuple(dict.fromkeys(assumptions)),
        )

    def _unknown(
        self,
        firewall: AzureFirewall,
        maybes: list[tuple[OrderedCollection, FirewallRule, Verdict]],
        matcher: _Matcher,
        notes: list[str],
        assumptions: list[str],
        oc: OrderedCollection | None,
        rule: FirewallRule | None,
    ) -> FirewallDecision:
        first = maybes[0] if maybes else None
        chosen_oc = first[0] if first else oc
        chosen_rule = first[1] if first else rule
        return FirewallDecision(
            firewall=firewall.id,
            access=Verdict.UNKNOWN,
            phase="unknown" if chosen_oc is None else _PHASE_NAMES[chosen_oc.phase],
            resource=firewall.id if chosen_oc is None else chosen_oc.resource,
            pointer=None
            if chosen_oc is None or chosen_rule is None
            else f"{chosen_oc.collection.pointer}/rules/{chosen_rule.index}",
            collection=None if chosen_oc is None else chosen_oc.collection.name,
            rule=None if chosen_rule is None else chosen_rule.name,
            notes=tuple(dict.fromkeys(notes + matcher.notes)),
            assumptions=tuple(dict.fromkeys(assumptions)),
        )
