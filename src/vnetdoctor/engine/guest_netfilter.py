"""Linux guest firewall evaluation: iptables (``iptables-save``) and nftables (``nft -j``).

Netfilter semantics modelled (azure-semantics 8.5.4; iptables(8), iptables-extensions(8),
nft(8)):

- Every base chain registered at a hook sees the packet, in priority order (iptables: raw -300,
  mangle -150, nat -100, filter 0, security 50, nat 100; nftables: the chain's ``prio``). A
  packet is accepted at a hook only if *every* base chain accepts it; ``drop``/``reject`` in any
  is final. So legacy iptables tables and nftables tables both apply, and are both evaluated.
- Tables written through ``iptables-nft`` are nftables tables too: when ``iptables-save`` says
  ``(nf_tables)``, its tables are read from ``iptables-save`` (which keeps match details that
  ``nft -j`` hides behind ``xt`` objects) and skipped in the nft ruleset.
- Inside a chain rules run in order: ACCEPT / DROP / REJECT end the chain's walk (accept: this
  base chain accepts), a jump runs the user chain and continues after it unless that chain
  decided, RETURN (or falling off a user chain) goes back to the caller, falling off a base chain
  applies its policy. ``-g``/``goto`` does not come back.
- A connection is judged by its first packet (``ct state new``, a TCP SYN) *and* by the reply
  (``ct state established``, SYN-ACK), which must pass the other path's chains: an OUTPUT policy
  DROP without an ESTABLISHED rule breaks inbound connections as surely as an INPUT DROP.
  NAT chains see only the first packet of a connection.
- Matches understood: ``-p``, ``-s/-d`` (with ``!``), ``-i/-o`` (with ``+`` wildcards), tcp/udp
  ports and flags (``--syn``, ``--tcp-flags``), multiport, state/conntrack (``--ctstate``,
  ``--ctproto``, ``--ctorig*``, ``--ctdir``), iprange, icmp/icmpv6 types, addrtype, pkttype,
  comment, ``-f``; nft payload (ip/ip6/tcp/udp/th/icmp/icmpv6), meta (l4proto, nfproto, iif,
  oif, iifname, oifname, pkttype), ct (state, direction), fib daddr type, anonymous and named
  sets, prefixes, ranges, tcp flag masks, verdict maps.
- Three-valued: a match the evaluator cannot decide (rate limits, marks, MAC addresses, ipsets,
  owners, opaque ``xt`` objects...) is *maybe*. A maybe-rule is followed both ways; when both
  ways end the same the answer stands, otherwise it is ``unknown`` citing that rule. A target
  that changes the packet or its tracking (DNAT, REDIRECT, NOTRACK, QUEUE) makes the answer
  unknown from that point, never a guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from vnetdoctor.engine.guest_common import Decision, GuestVerdict, Packet, Tri, tri_and
from vnetdoctor.model.evidence import (
    IptablesRule,
    IptablesTable,
    NftChain,
    NftRule,
    NftRuleset,
    SourceRef,
)
from vnetdoctor.model.net import IPAddress

__all__ = ["HOOK_ORDER", "BaseChain", "base_chains", "evaluate_hooks"]

HOOK_ORDER: Final = ("ingress", "prerouting", "input", "forward", "output", "postrouting")
_IPT_HOOKS: Final[dict[str, dict[str, tuple[str, int]]]] = {
    # table -> chain -> (hook, priority)
    "raw": {"PREROUTING": ("prerouting", -300), "OUTPUT": ("output", -300)},
    "mangle": {
        "PREROUTING": ("prerouting", -150),
        "INPUT": ("input", -150),
        "FORWARD": ("forward", -150),
        "OUTPUT": ("output", -150),
        "POSTROUTING": ("postrouting", -150),
    },
    "nat": {
        "PREROUTING": ("prerouting", -100),
        "INPUT": ("input", 100),
        "OUTPUT": ("output", -100),
        "POSTROUTING": ("postrouting", 100),
    },
    "filter": {"INPUT": ("input", 0), "FORWARD": ("forward", 0), "OUTPUT": ("output", 0)},
    "security": {"INPUT": ("input", 50), "FORWARD": ("forward", 50), "OUTPUT": ("output", 50)},
}
_NFT_PRIORITIES: Final = {
    "raw": -300,
    "mangle": -150,
    "dstnat": -100,
    "filter": 0,
    "security": 50,
    "srcnat": 100,
    "out": 100,
    "conntrack": -200,
}
_PROTOCOLS: Final = {
    "tcp": 6,
    "udp": 17,
    "icmp": 1,
    "icmpv6": 58,
    "ipv6-icmp": 58,
    "icmp6": 58,
    "sctp": 132,
    "udplite": 136,
    "esp": 50,
    "ah": 51,
    "gre": 47,
    "igmp": 2,
    "dccp": 33,
}
_ICMP_TYPES: Final = {
    "echo-reply": 0,
    "pong": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    "redirect": 5,
    "echo-request": 8,
    "ping": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "ttl-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
}
_ICMPV6_TYPES: Final = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "nd-router-solicit": 133,
    "router-solicitation": 133,
    "nd-router-advert": 134,
    "router-advertisement": 134,
    "nd-neighbor-solicit": 135,
    "neighbour-solicitation": 135,
    "neighbor-solicitation": 135,
    "nd-neighbor-advert": 136,
    "neighbour-advertisement": 136,
    "neighbor-advertisement": 136,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
}
_NO_EFFECT_TARGETS: Final = frozenset(
    {
        "LOG",
        "NFLOG",
        "ULOG",
        "MARK",
        "CONNMARK",
        "TCPMSS",
        "TOS",
        "DSCP",
        "TTL",
        "HL",
        "CLASSIFY",
        "SECMARK",
        "CONNSECMARK",
        "CHECKSUM",
        "SET",
        "AUDIT",
        "TRACE",
        "IDLETIMER",
        "LED",
        "RATEEST",
        "TEE",
        "ECN",
        "HMARK",
    }
)
_ALTERING_TARGETS: Final = {
    "DNAT": "destination NAT",
    "REDIRECT": "a redirect",
    "NETMAP": "NETMAP address mapping",
    "TPROXY": "a transparent proxy",
    "NOTRACK": "NOTRACK (no connection tracking)",
    "CT": "a CT target (connection tracking template)",
    "QUEUE": "a userspace queue",
    "NFQUEUE": "a userspace queue (NFQUEUE)",
    "SYNPROXY": "SYNPROXY",
    "CLUSTERIP": "CLUSTERIP",
}
_MAYBE_MODULES: Final = {
    "limit": "a rate limit",
    "hashlimit": "a rate limit",
    "recent": "a recent-list check",
    "connlimit": "a connection-count limit",
    "mark": "a packet mark",
    "connmark": "a connection mark",
    "owner": "the socket owner",
    "set": "an ipset",
    "mac": "the source MAC address",
    "physdev": "a bridge port",
    "policy": "an IPsec policy",
    "rpfilter": "a reverse-path check",
    "socket": "a socket lookup",
    "statistic": "a random or nth statistic",
    "quota": "a quota",
    "time": "the time of day",
    "string": "the packet payload",
    "u32": "raw packet bytes",
    "length": "the packet length",
    "ttl": "the TTL",
    "hl": "the hop limit",
    "tos": "the TOS",
    "dscp": "the DSCP",
    "ecn": "ECN bits",
    "helper": "a conntrack helper",
    "cgroup": "the cgroup",
    "devgroup": "a device group",
    "realm": "a routing realm",
    "cpu": "the CPU",
    "nfacct": "an accounting object",
    "bpf": "a BPF program",
    "geoip": "GeoIP",
    "tcpmss": "the MSS option",
    "ipv6header": "IPv6 extension headers",
    "frag": "fragments",
    "rt": "a routing header",
    "hbh": "hop-by-hop options",
    "dst": "destination options",
    "mh": "a mobility header",
    "esp": "ESP SPIs",
    "ah": "AH SPIs",
    "sctp": "SCTP fields",
    "dccp": "DCCP fields",
    "condition": "a condition",
    "osf": "OS fingerprinting",
    "connbytes": "connection byte counts",
    "connlabel": "connection labels",
    "ipvs": "IPVS",
    "cluster": "a cluster hash",
    "ipcomp": "IPComp",
    "l2tp": "L2TP",
    "addrtype-iface": "interface-limited address types",
    "nfqueue": "a queue",
}


# ---------------------------------------------------------------------------------------------
# Outcomes of walking a chain
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """``accept``/``drop``/``reject``/``return`` (fell off or RETURN), ``unknown``, or
    ``altered`` (the packet or its tracking changed: everything after is unknown)."""

    kind: str
    rule: str | None = None
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()
    policy: bool = False  # the base chain's policy decided

    @property
    def group(self) -> str:
        return "deny" if self.kind in ("drop", "reject") else self.kind


def _merge(
    maybe_rule: str, maybe_source: SourceRef | None, why: str, taken: Outcome, skipped: Outcome
) -> Outcome:
    """A rule that may or may not match: both ways must agree."""
    if taken.group == skipped.group and taken.kind not in ("unknown", "altered"):
        return taken
    return Outcome(
        "unknown",
        maybe_rule,
        maybe_source,
        tuple(
            dict.fromkeys(
                (
                    f"cannot tell whether this rule matches ({why}), and the answer depends on it",
                    *taken.reasons,
                    *skipped.reasons,
                )
            )
        ),
    )


# ---------------------------------------------------------------------------------------------
# Base chains at a hook, from both sources
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaseChain:
    hook: str
    priority: int
    is_nat: bool
    is_filter: bool
    label: str
    evaluate: Callable[[Packet], Outcome]
    policy_text: str
    policy: str
    policy_source: SourceRef | None


def base_chains(
    tables: Sequence[IptablesTable], ruleset: NftRuleset | None, family: int
) -> list[BaseChain]:
    """Every base chain that sees packets of ``family``, iptables and nftables."""
    chains: list[BaseChain] = []
    shadowed: set[tuple[str, str]] = set()
    for table in tables:
        if table.family != family:
            continue
        nft_family = "ip" if family == 4 else "ip6"
        if table.backend == "nf_tables" or (
            table.backend is None
            and ruleset is not None
            and _looks_like_xt_copy(ruleset, nft_family, table)
        ):
            shadowed.add((nft_family, table.name))
        walker = _IptWalker(table)
        for chain_name, (hook, priority) in _IPT_HOOKS.get(table.name, {}).items():
            chain = table.chain(chain_name)
            if chain is None:
                continue
            chains.append(
                BaseChain(
                    hook=hook,
                    priority=priority,
                    is_nat=table.name == "nat",
                    is_filter=table.name == "filter",
                    label=f"iptables{'' if family == 4 else '6'} {table.name} {chain_name}",
                    evaluate=_bind(
                        walker.run,
                        chain_name,
                        _policy(
                            (chain.policy or "ACCEPT").casefold(),
                            f"{chain_name} policy {chain.policy or 'ACCEPT'} ({table.name} table)",
                            chain.source,
                            f"iptables{'' if family == 4 else '6'} {table.name} {chain_name}",
                        ),
                    ),
                    policy_text=f"{chain_name} policy {chain.policy or 'ACCEPT'} "
                    f"({table.name} table)",
                    policy=(chain.policy or "ACCEPT").casefold(),
                    policy_source=chain.source,
                )
            )
    if ruleset is not None:
        wanted = {"inet", "ip" if family == 4 else "ip6", "netdev"}
        for nchain in ruleset.chains:
            if not nchain.is_base or nchain.family not in wanted:
                continue
            if (nchain.family, nchain.table) in shadowed:
                continue
            if nchain.hook not in HOOK_ORDER:
                continue
            walker_nft = _NftWalker(ruleset, nchain.family, nchain.table)
            policy = (nchain.policy or "accept").casefold()
            chains.append(
                BaseChain(
                    hook=nchain.hook or "",
                    priority=_nft_priority(nchain.prio),
                    is_nat=nchain.type == "nat",
                    is_filter=nchain.type in (None, "filter"),
                    label=f"nft {nchain.family} {nchain.table} {nchain.name}",
                    evaluate=_bind(
                        walker_nft.run,
                        nchain.name,
                        _policy(
                            policy,
                            f"chain {nchain.family} {nchain.table} {nchain.name} policy {policy}",
                            nchain.source,
                            f"nft {nchain.family} {nchain.table} {nchain.name}",
                        ),
                    ),
                    policy_text=f"chain {nchain.family} {nchain.table} {nchain.name} "
                    f"policy {policy}",
                    policy=policy,
                    policy_source=nchain.source,
                )
            )
    chains.sort(key=lambda c: (HOOK_ORDER.index(c.hook), c.priority))
    return chains


def _bind(
    run: Callable[[str, Packet, Outcome], Outcome], name: str, policy: Outcome
) -> Callable[[Packet], Outcome]:
    return lambda packet: run(name, packet, policy)


def _policy(kind: str, text: str, source: SourceRef | None, label: str) -> Outcome:
    verdict = "accept" if kind not in ("drop", "reject") else kind
    return Outcome(
        verdict, text, source, (f"no rule in {label} decides, so its policy does",), policy=True
    )


def _looks_like_xt_copy(ruleset: NftRuleset, family: str, table: IptablesTable) -> bool:
    """An nft table that is the iptables-nft copy of ``table`` (same name, iptables's upper-case
    built-in chain names)."""
    names = {c.name for c in ruleset.chains if c.family == family and c.table == table.name}
    return bool(names) and names <= {c.name for c in table.chains}


def _nft_priority(prio: int | str | None) -> int:
    if isinstance(prio, int):
        return prio
    if isinstance(prio, str):
        text = prio.replace(" ", "")
        for name, value in _NFT_PRIORITIES.items():
            if text.startswith(name):
                rest = text[len(name) :]
                try:
                    return value + (int(rest) if rest else 0)
                except ValueError:
                    return value
    return 0


def evaluate_hooks(chains: Sequence[BaseChain], packet: Packet, hooks: Iterable[str]) -> Decision:
    """Run ``packet`` through every base chain at ``hooks``, in order."""
    hook_set = set(hooks)
    pending_unknown: Decision | None = None
    accepted: Decision | None = None  # the first rule that accepted, to cite for an allow
    policy: Decision | None = None  # else the first filter chain whose policy accepted
    for chain in chains:
        if chain.hook not in hook_set:
            continue
        if chain.is_nat and packet.ct_state != "new":
            continue
        outcome = chain.evaluate(packet)
        if outcome.kind == "accept":
            if outcome.policy:
                if policy is None and chain.is_filter:
                    policy = Decision(
                        GuestVerdict.ALLOW, outcome.rule, outcome.source, (), chain.label
                    )
            elif accepted is None and not chain.is_nat and outcome.rule is not None:
                accepted = Decision(
                    GuestVerdict.ALLOW, outcome.rule, outcome.source, (), chain.label
                )
            continue
        if outcome.kind in ("drop", "reject"):
            reasons = outcome.reasons if outcome.policy else (f"{outcome.kind} in {chain.label}",)
            return Decision(
                GuestVerdict.DENY,
                outcome.rule,
                outcome.source,
                (*reasons, *([] if outcome.policy else outcome.reasons)),
                chain.label,
            )
        if outcome.kind == "altered":
            return pending_unknown or Decision(
                GuestVerdict.UNKNOWN,
                outcome.rule,
                outcome.source,
                (f"{chain.label}: {'; '.join(outcome.reasons)}",),
                chain.label,
            )
        if pending_unknown is None:
            pending_unknown = Decision(
                GuestVerdict.UNKNOWN,
                outcome.rule,
                outcome.source,
                tuple(f"{chain.label}: {r}" for r in outcome.reasons),
                chain.label,
            )
    return pending_unknown or accepted or policy or Decision(GuestVerdict.ALLOW)


# ---------------------------------------------------------------------------------------------
# iptables
# ---------------------------------------------------------------------------------------------
Cond = tuple[Tri, str | None]


class _IptWalker:
    def __init__(self, table: IptablesTable) -> None:
        self.table = table
        self.chains = {c.name: c for c in table.chains}
        self.rules: dict[str, list[IptablesRule]] = {}
        for rule in table.rules:
            self.rules.setdefault(rule.chain, []).append(rule)
        self.memo: dict[tuple[int, str, int], Outcome] = {}
        self.policy = Outcome("accept", policy=True)

    def run(self, chain: str, packet: Packet, policy: Outcome) -> Outcome:
        self.memo = {}
        self.policy = policy
        return self._walk(chain, 0, packet, 0)

    def _walk(self, chain: str, start: int, packet: Packet, depth: int) -> Outcome:
        key = (id(packet), chain, start)
        if key in self.memo:
            return self.memo[key]
        if depth > 64:
            return Outcome("unknown", None, None, (f"chain {chain}: jumps nest too deep",))
        rules = self.rules.get(chain, [])
        result = Outcome("return")
        for index in range(start, len(rules)):
            rule = rules[index]
            match, why, target, goto = _ipt_rule(rule, packet, self.chains)
            if match is Tri.NO or target is None:
                continue
            taken = self._apply(rule, target, goto, chain, index, packet, depth)
            if depth == 0 and taken.kind == "return":
                taken = self.policy  # RETURN in a base chain applies its policy
            if match is Tri.YES:
                if taken.kind == "continue":
                    continue
                result = taken
                break
            if taken.kind == "continue":
                continue
            skipped = self._walk(chain, index + 1, packet, depth)
            result = _merge(rule.text, rule.source, why or "a match not modelled", taken, skipped)
            break
        if depth == 0 and result.kind == "return":
            result = self.policy
        self.memo[key] = result
        return result

    def _apply(
        self,
        rule: IptablesRule,
        target: str,
        goto: bool,
        chain: str,
        index: int,
        packet: Packet,
        depth: int,
    ) -> Outcome:
        if target in ("ACCEPT", "SNAT", "MASQUERADE"):
            return Outcome("accept", rule.text, rule.source)
        if target == "DROP":
            return Outcome("drop", rule.text, rule.source)
        if target == "REJECT":
            return Outcome("reject", rule.text, rule.source)
        if target == "RETURN":
            return Outcome("return", rule.text, rule.source)
        if target in _NO_EFFECT_TARGETS:
            return Outcome("continue")
        if target in _ALTERING_TARGETS:
            return Outcome(
                "altered",
                rule.text,
                rule.source,
                (f"the packet meets {_ALTERING_TARGETS[target]}, which vnetdoctor does not model",),
            )
        if target in self.chains:
            inner = self._walk(target, 0, packet, depth + 1)
            if inner.kind == "return":
                if goto:
                    return Outcome("return", inner.rule, inner.source)
                return Outcome("continue")
            return inner
        return Outcome("unknown", rule.text, rule.source, (f"target {target} is not modelled",))


def _ipt_rule(
    rule: IptablesRule, packet: Packet, chains: dict[str, Any]
) -> tuple[Tri, str | None, str | None, bool]:
    """(match, why it is only maybe, target, goto) of one rule for one packet."""
    tokens = rule.tokens
    conds: list[Cond] = []
    target: str | None = None
    goto = False
    module: str | None = None
    negate = False
    i = 0
    n = len(tokens)
    while i < n:
        token = tokens[i]
        if token == "!":
            negate = True
            i += 1
            continue
        if token in ("-j", "--jump", "-g", "--goto"):
            target = tokens[i + 1] if i + 1 < n else None
            goto = token in ("-g", "--goto")
            break  # the rest are target options (--reject-with, --log-prefix...)
        if token in ("-m", "--match"):
            module = tokens[i + 1] if i + 1 < n else None
            if module in _MAYBE_MODULES:
                conds.append((Tri.MAYBE, _MAYBE_MODULES[module]))
            elif module not in _KNOWN_MODULES:
                conds.append((Tri.MAYBE, f"match module {module!r} is not modelled"))
            i += 2
            continue
        if token in ("-c", "--set-counters"):
            i += 3
            continue
        values: list[str] = []
        j = i + 1
        if j < n and tokens[j] == "!" and j + 1 < n and not tokens[j + 1].startswith("-"):
            negate = not negate  # old syntax: --dport ! 22
            j += 1
        while (
            j < n
            and tokens[j] != "!"
            and not (tokens[j].startswith("-") and not _is_number(tokens[j]))
        ):
            values.append(tokens[j])
            j += 1
        cond = _ipt_cond(token, values, module, packet)
        if negate:
            cond = (cond[0].negate(), cond[1])
        conds.append(cond)
        negate = False
        i = j
    match = tri_and(*(c[0] for c in conds))
    why = next((c[1] for c in conds if c[0] is Tri.MAYBE and c[1]), None)
    if match is Tri.MAYBE and why is None:
        why = "a match not modelled"
    return match, why, target, goto


def _is_number(token: str) -> bool:
    return token[1:].isdigit() if token.startswith("-") else token.isdigit()


_KNOWN_MODULES: Final = frozenset(
    {
        "tcp",
        "udp",
        "multiport",
        "state",
        "conntrack",
        "iprange",
        "icmp",
        "icmp6",
        "icmpv6",
        "addrtype",
        "pkttype",
        "comment",
        "udplite",
    }
)


def _ipt_cond(option: str, values: list[str], module: str | None, packet: Packet) -> Cond:
    value = values[0] if values else ""
    if option in ("-p", "--protocol"):
        return _proto_match(value, packet), None
    if option in ("-s", "--source", "--src"):
        return _addr_any(value, packet.src)
    if option in ("-d", "--destination", "--dst"):
        return _addr_any(value, packet.dst)
    if option in ("-i", "--in-interface"):
        return _iface_cond(_iface(value, packet.iif, packet.src), "in")
    if option in ("-o", "--out-interface"):
        return _iface_cond(_iface(value, packet.oif, packet.dst), "out")
    if option in ("-f", "--fragment"):
        return Tri.NO, None  # a connection's first packet is not a non-first fragment
    if option in ("-4", "--ipv4"):
        return (Tri.YES if packet.family == 4 else Tri.NO), None
    if option in ("-6", "--ipv6"):
        return (Tri.YES if packet.family == 6 else Tri.NO), None
    if option in ("--dport", "--destination-port"):
        return _port_spec(value, packet.dport, packet)
    if option in ("--sport", "--source-port"):
        return _port_spec(value, packet.sport, packet)
    if option in ("--dports", "--destination-ports"):
        return _port_list(value, [packet.dport], packet)
    if option in ("--sports", "--source-ports"):
        return _port_list(value, [packet.sport], packet)
    if option in ("--ports", "--port"):
        return _port_list(value, [packet.sport, packet.dport], packet)
    if option == "--syn":
        return _flags_cmp(["SYN", "RST", "ACK", "FIN"], ["SYN"], packet), None
    if option == "--tcp-flags" and len(values) >= 2:
        return _flags_cmp(values[0].split(","), values[1].split(","), packet), None
    if option in ("--state", "--ctstate"):
        states = {s.strip().casefold() for s in value.split(",")}
        return (Tri.YES if packet.ct_state in states else Tri.NO), None
    if option == "--ctproto":
        return _proto_match(value, packet), None
    if option == "--ctdir":
        return (Tri.YES if value.casefold() == packet.ct_direction else Tri.NO), None
    if option in ("--ctorigsrc", "--ctorigdst", "--ctorigsrcport", "--ctorigdstport"):
        return _ctorig(option, value, packet)
    if option in ("--src-range", "--dst-range"):
        return _ip_range(value, packet.src if option == "--src-range" else packet.dst)
    if option == "--icmp-type":
        return _icmp(value, packet, 4), None
    if option == "--icmpv6-type":
        return _icmp(value, packet, 6), None
    if option in ("--src-type", "--dst-type"):
        return _addrtype(value, option == "--src-type", packet)
    if option == "--pkt-type":
        kind = value.casefold()
        dst = packet.dst
        actual = (
            "multicast" if dst.is_multicast else "broadcast" if _is_broadcast(dst) else "unicast"
        )
        if kind == "host":
            kind = "unicast"
        return (Tri.YES if kind == actual else Tri.NO), None
    if option == "--comment":
        return Tri.YES, None
    if module in _MAYBE_MODULES:
        return Tri.MAYBE, _MAYBE_MODULES[module]
    return Tri.MAYBE, f"option {option} is not modelled"


def _proto_match(value: str, packet: Packet) -> Tri:
    text = value.casefold()
    if text in ("all", "0", ""):
        return Tri.YES
    number = int(text) if text.isdigit() else _PROTOCOLS.get(text)
    if number is None:
        return Tri.MAYBE
    return Tri.YES if number == packet.protocol else Tri.NO


def _addr_any(value: str, address: IPAddress) -> Cond:
    results = [_addr(part, address) for part in value.split(",") if part]
    if not results:
        return Tri.MAYBE, "an empty address"
    best = max(r[0] for r in results)
    return best, next((r[1] for r in results if r[0] is best), None)


def _addr(text: str, address: IPAddress) -> Cond:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return Tri.MAYBE, f"address {text!r} (a host name?) is not an IP"
    if network.version != address.version:
        return Tri.NO, None
    return (Tri.YES if address in network else Tri.NO), None


def _iface_cond(result: Tri, way: str) -> Cond:
    if result is Tri.MAYBE:
        return result, f"the interface the packet comes {way} by is not in the evidence"
    return result, None


def _iface(pattern: str, actual: str | None, remote: IPAddress) -> Tri:
    """``-i``/``-o`` (``+`` wildcard) against the packet's interface; ``remote`` is the other
    end of the packet (its source on the input path, its destination on the output path)."""
    if actual == "":
        return Tri.NO
    if actual is None:
        if pattern in ("lo", "lo+") and not remote.is_loopback:
            return Tri.NO  # traffic from another host never arrives on or leaves by lo
        return Tri.MAYBE
    if pattern.endswith("+"):
        return Tri.YES if actual.startswith(pattern[:-1]) else Tri.NO
    return Tri.YES if actual == pattern else Tri.NO


def _port_range(text: str) -> tuple[int, int] | None:
    raw = text.strip()
    sep = ":" if ":" in raw else "-" if "-" in raw[1:] else None
    try:
        if sep is None:
            port = int(raw)
            return port, port
        lo, _, hi = raw.partition(sep)
        return int(lo or 0), int(hi or 65535)
    except ValueError:
        return None


def _port_spec(text: str, port: int | None, packet: Packet) -> Cond:
    if packet.protocol not in (6, 17, 132, 33, 136):
        return Tri.NO, None
    bounds = _port_range(text)
    if bounds is None:
        return Tri.MAYBE, f"port {text!r} is a service name"
    if port is None:
        if bounds == (0, 65535):
            return Tri.YES, None
        return Tri.MAYBE, "the client's source port (ephemeral) is not known"
    return (Tri.YES if bounds[0] <= port <= bounds[1] else Tri.NO), None


def _port_list(text: str, ports: list[int | None], packet: Packet) -> Cond:
    best: Cond = (Tri.NO, None)
    for item in text.split(","):
        for port in ports:
            cond = _port_spec(item, port, packet)
            if cond[0] > best[0]:
                best = cond
    return best


def _flags_cmp(mask: list[str], comp: list[str], packet: Packet) -> Tri:
    if packet.protocol != 6:
        return Tri.NO
    mask_set = {f.casefold() for f in mask}
    if "all" in mask_set:
        mask_set = {"syn", "ack", "fin", "rst", "urg", "psh"}
    comp_set = {f.casefold() for f in comp} - {"none"}
    if "all" in comp_set:
        comp_set = {"syn", "ack", "fin", "rst", "urg", "psh"}
    return Tri.YES if (packet.tcp_flags & mask_set) == comp_set else Tri.NO


def _ctorig(option: str, value: str, packet: Packet) -> Cond:
    if packet.original is None:
        return Tri.MAYBE, "the connection's original tuple"
    src, dst, sport, dport = packet.original
    if option == "--ctorigsrc":
        return _addr(value, src)
    if option == "--ctorigdst":
        return _addr(value, dst)
    return _port_spec(value, sport if option == "--ctorigsrcport" else dport, packet)


def _ip_range(text: str, address: IPAddress) -> Cond:
    lo_text, _, hi_text = text.partition("-")
    try:
        lo = ipaddress.ip_address(lo_text)
        hi = ipaddress.ip_address(hi_text or lo_text)
    except ValueError:
        return Tri.MAYBE, f"range {text!r}"
    if lo.version != address.version:
        return Tri.NO, None
    return (Tri.YES if lo <= address <= hi else Tri.NO), None  # type: ignore[operator]


def _icmp(value: str, packet: Packet, family: int) -> Tri:
    if packet.protocol != (1 if family == 4 else 58):
        return Tri.NO
    text = value.casefold()
    if text == "any":
        return Tri.YES
    names = _ICMP_TYPES if family == 4 else _ICMPV6_TYPES
    head = text.split("/")[0]
    number = int(head) if head.isdigit() else names.get(text)
    if number is None or packet.icmp_type is None:
        return Tri.MAYBE
    if "/" in text:
        return Tri.MAYBE if number == packet.icmp_type else Tri.NO
    return Tri.YES if number == packet.icmp_type else Tri.NO


def _is_broadcast(address: IPAddress) -> bool:
    """The limited broadcast address. A flow to a VM is addressed to a NIC's IP, which Azure
    never makes a subnet's broadcast address (it reserves the last address of every subnet)."""
    return str(address) == "255.255.255.255"


def _addrtype(value: str, source: bool, packet: Packet) -> Cond:
    address = packet.src if source else packet.dst
    local = packet.src_local if source else packet.dst_local
    results: list[Tri] = []
    for kind in (k.strip().upper() for k in value.split(",")):
        if kind == "LOCAL":
            results.append(local)
        elif kind == "UNICAST":
            results.append(Tri.NO if address.is_multicast or _is_broadcast(address) else Tri.YES)
        elif kind == "MULTICAST":
            results.append(Tri.YES if address.is_multicast else Tri.NO)
        elif kind == "BROADCAST":
            results.append(Tri.YES if _is_broadcast(address) else Tri.NO)
        elif kind in ("UNSPEC", "ANYCAST"):
            results.append(Tri.YES if address.is_unspecified else Tri.NO)
        else:
            results.append(Tri.MAYBE)
    best = max(results, default=Tri.MAYBE)
    return best, (
        "an address type that depends on the routing table" if best is Tri.MAYBE else None
    )


# ---------------------------------------------------------------------------------------------
# nftables
# ---------------------------------------------------------------------------------------------
_VERDICTS: Final = frozenset(
    {"accept", "drop", "reject", "return", "continue", "jump", "goto", "queue"}
)
_NFT_NO_EFFECT: Final = frozenset(
    {
        "counter",
        "log",
        "mangle",
        "meta",
        "ct",
        "set",
        "map",
        "flow",
        "dup",
        "comment",
        "last",
        "notrack-off",
    }
)
_NFT_ALTERING: Final = {
    "dnat": "destination NAT",
    "redirect": "a redirect",
    "tproxy": "a transparent proxy",
    "notrack": "notrack (no connection tracking)",
    "queue": "a userspace queue",
    "fwd": "forwarding to another device",
    "synproxy": "SYNPROXY",
}


class _Unknown(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NftWalker:
    def __init__(self, ruleset: NftRuleset, family: str, table: str) -> None:
        self.ruleset = ruleset
        self.family = family
        self.table = table
        self.chains: dict[str, NftChain] = {
            c.name: c for c in ruleset.chains if c.family == family and c.table == table
        }
        self.rules: dict[str, list[NftRule]] = {}
        for rule in ruleset.rules:
            if rule.family == family and rule.table == table:
                self.rules.setdefault(rule.chain, []).append(rule)
        self.memo: dict[tuple[str, int], Outcome] = {}
        self.policy = Outcome("accept", policy=True)

    def run(self, chain: str, packet: Packet, policy: Outcome) -> Outcome:
        self.memo = {}
        self.packet = packet
        self.policy = policy
        return self._walk(chain, 0, 0)

    def _walk(self, chain: str, start: int, depth: int) -> Outcome:
        key = (chain, start)
        if key in self.memo:
            return self.memo[key]
        if depth > 64:
            return Outcome("unknown", None, None, (f"chain {chain}: jumps nest too deep",))
        rules = self.rules.get(chain, [])
        result = Outcome("return")
        for index in range(start, len(rules)):
            rule = rules[index]
            match, why, verdict = self._rule(rule)
            if match is Tri.NO or verdict is None:
                continue
            taken = self._apply(rule, verdict, depth)
            if taken.kind == "continue":
                continue
            if depth == 0 and taken.kind == "return":
                taken = self.policy
            if match is Tri.YES:
                result = taken
                break
            skipped = self._walk(chain, index + 1, depth)
            result = _merge(
                _nft_text(rule), rule.source, why or "a match not modelled", taken, skipped
            )
            break
        if depth == 0 and result.kind == "return":
            result = self.policy
        self.memo[key] = result
        return result

    def _apply(self, rule: NftRule, verdict: Any, depth: int) -> Outcome:
        kind, arg = verdict
        text, src = _nft_text(rule), rule.source
        if kind == "accept":
            return Outcome("accept", text, src)
        if kind in ("drop", "reject"):
            return Outcome(kind, text, src)
        if kind == "return":
            return Outcome("return", text, src)
        if kind == "continue":
            return Outcome("continue")
        if kind in ("jump", "goto"):
            if arg not in self.chains:
                return Outcome(
                    "unknown", text, src, (f"jump to a chain {arg!r} that is not in the ruleset",)
                )
            inner = self._walk(arg, 0, depth + 1)
            if inner.kind == "return":
                return Outcome("return") if kind == "goto" else Outcome("continue")
            return inner
        if kind == "altered":
            return Outcome(
                "altered", text, src, (f"the packet meets {arg}, which vnetdoctor does not model",)
            )
        return Outcome("unknown", text, src, (str(arg),))

    def _rule(self, rule: NftRule) -> tuple[Tri, str | None, Any]:
        """(match so far, why maybe, verdict or None)."""
        match = Tri.YES
        why: str | None = None
        for statement in rule.expr:
            if not isinstance(statement, dict) or len(statement) != 1:
                return match, why, ("unknown", "a malformed statement")
            ((key, body),) = statement.items()
            if key == "match":
                try:
                    result = self._match(body)
                except _Unknown as exc:
                    result = Tri.MAYBE
                    why = why or exc.reason
                match = tri_and(match, result)
                if match is Tri.NO:
                    return match, why, None
                continue
            if key in _VERDICTS:
                if key in ("jump", "goto"):
                    target = body.get("target") if isinstance(body, dict) else None
                    return match, why, (key, target)
                if key == "queue":
                    return match, why, ("altered", "a userspace queue")
                return match, why, (key, None)
            if key == "vmap":
                try:
                    verdict = self._vmap(body)
                except _Unknown as exc:
                    return match, why, ("unknown", exc.reason)
                if verdict is None:
                    continue
                return match, why, verdict
            if key in ("limit", "quota"):
                match = tri_and(match, Tri.MAYBE)
                why = why or ("a rate limit" if key == "limit" else "a quota")
                continue
            if key in ("snat", "masquerade"):
                return match, why, ("accept", None)
            if key in _NFT_ALTERING:
                return match, why, ("altered", _NFT_ALTERING[key])
            if key == "xt":
                xt_type = body.get("type") if isinstance(body, dict) else None
                name = str(body.get("name", "?")) if isinstance(body, dict) else "?"
                if xt_type == "target":
                    mapped = {
                        "ACCEPT": "accept",
                        "DROP": "drop",
                        "REJECT": "reject",
                        "RETURN": "return",
                    }.get(name)
                    if mapped:
                        return match, why, (mapped, None)
                    if name in _NO_EFFECT_TARGETS:
                        continue
                    return (
                        match,
                        why,
                        ("unknown", f"iptables-nft target {name!r} is opaque in nft -j output"),
                    )
                match = tri_and(match, Tri.MAYBE)
                why = (
                    why
                    or f"iptables-nft match {name!r} is opaque in nft -j output "
                    "(give iptables-save)"
                )
                continue
            if key in _NFT_NO_EFFECT:
                continue
            return match, why, ("unknown", f"nft statement {key!r} is not modelled")
        return match, why, None

    # --- values -------------------------------------------------------------------------------
    def _value(self, left: Any) -> Any:
        """The packet's value for an nft expression; raises :class:`_NoMatch` when the
        expression does not apply to this packet (``tcp dport`` on a UDP packet)."""
        packet = self.packet
        if isinstance(left, dict) and len(left) == 1:
            ((kind, body),) = left.items()
            if kind == "payload" and isinstance(body, dict):
                return self._payload(str(body.get("protocol", "")), str(body.get("field", "")))
            if kind == "meta" and isinstance(body, dict):
                return self._meta(str(body.get("key", "")))
            if kind == "ct" and isinstance(body, dict):
                key = body.get("key")
                if key == "state":
                    return frozenset({packet.ct_state})
                if key == "direction":
                    return packet.ct_direction
                if key == "l3proto":
                    return "ipv4" if packet.family == 4 else "ipv6"
                if key == "protocol":
                    return packet.protocol
                raise _Unknown(f"ct {key}")
            if kind == "fib" and isinstance(body, dict):
                flags = body.get("flags", [])
                flags = [flags] if isinstance(flags, str) else flags
                if body.get("result") == "type" and "daddr" in flags:
                    if packet.dst_local is Tri.MAYBE:
                        raise _Unknown("fib daddr type")
                    return (
                        "local"
                        if packet.dst_local is Tri.YES
                        else ("multicast" if packet.dst.is_multicast else "unicast")
                    )
                raise _Unknown("a fib lookup")
            if kind == "&":
                operands = body if isinstance(body, list) else []
                if len(operands) == 2:
                    value = self._value(operands[0])
                    if isinstance(value, frozenset):
                        return value & _flag_set(operands[1])
                raise _Unknown("a bitwise expression")
        raise _Unknown(f"expression {str(left)[:60]}")

    def _payload(self, protocol: str, fieldname: str) -> Any:
        packet = self.packet
        if protocol == "ip":
            if packet.family != 4:
                raise _NoMatch
            return {"saddr": packet.src, "daddr": packet.dst, "protocol": packet.protocol}.get(
                fieldname, _unknown(f"ip {fieldname}")
            )
        if protocol == "ip6":
            if packet.family != 6:
                raise _NoMatch
            return {"saddr": packet.src, "daddr": packet.dst, "nexthdr": packet.protocol}.get(
                fieldname, _unknown(f"ip6 {fieldname}")
            )
        if protocol in ("tcp", "udp", "th", "udplite", "sctp", "dccp"):
            number = {"tcp": 6, "udp": 17, "udplite": 136, "sctp": 132, "dccp": 33}.get(protocol)
            if number is not None and packet.protocol != number:
                raise _NoMatch
            if protocol == "th" and packet.protocol not in (6, 17, 132, 33, 136):
                raise _NoMatch
            if fieldname == "dport":
                return (
                    packet.dport
                    if packet.dport is not None
                    else _unknown("the client's ephemeral port")
                )
            if fieldname == "sport":
                return (
                    packet.sport
                    if packet.sport is not None
                    else _unknown("the client's ephemeral port")
                )
            if fieldname == "flags" and protocol == "tcp":
                return packet.tcp_flags
            raise _Unknown(f"{protocol} {fieldname}")
        if protocol in ("icmp", "icmpv6"):
            if packet.protocol != (1 if protocol == "icmp" else 58):
                raise _NoMatch
            if fieldname == "type" and packet.icmp_type is not None:
                return packet.icmp_type
            raise _Unknown(f"{protocol} {fieldname}")
        raise _Unknown(f"payload {protocol} {fieldname}")

    def _meta(self, key: str) -> Any:
        packet = self.packet
        if key == "l4proto":
            return packet.protocol
        if key == "nfproto":
            return "ipv4" if packet.family == 4 else "ipv6"
        if key == "protocol":
            return "ip" if packet.family == 4 else "ip6"
        if key in ("iif", "iifname"):
            return _Iface(packet.iif, packet.src)
        if key in ("oif", "oifname"):
            return _Iface(packet.oif, packet.dst)
        if key == "pkttype":
            return "multicast" if packet.dst.is_multicast else "host"
        raise _Unknown(f"meta {key}")

    def _match(self, body: Any) -> Tri:
        if not isinstance(body, dict):
            raise _Unknown("a malformed match")
        op = body.get("op", "==")
        try:
            value = self._value(body.get("left"))
        except _NoMatch:
            return Tri.NO
        if isinstance(value, _UnknownValue):
            raise _Unknown(value.reason)
        right = body.get("right")
        if isinstance(value, frozenset) and op in ("in", "==", "!="):
            flags = _flag_set(right) if not isinstance(right, dict) or "set" not in right else None
            if op == "in" and flags is not None:
                return Tri.YES if value & flags else Tri.NO
            if flags is not None and op in ("==", "!="):
                result = Tri.YES if value == flags else Tri.NO
                return result if op == "==" else result.negate()
        contained = self._member(value, right)
        if op in ("==", "in"):
            return contained
        if op == "!=":
            return contained.negate()
        if op in ("<", ">", "<=", ">=") and isinstance(value, int) and isinstance(right, int):
            compared = {
                "<": value < right,
                ">": value > right,
                "<=": value <= right,
                ">=": value >= right,
            }[op]
            return Tri.YES if compared else Tri.NO
        raise _Unknown(f"operator {op!r}")

    def _member(self, value: Any, right: Any) -> Tri:
        if isinstance(right, str) and right.startswith("@"):
            named = self.ruleset.set_named(self.family, self.table, right[1:])
            if named is None:
                raise _Unknown(f"set {right} is not in the ruleset")
            if named.elements is None:
                if named.dynamic:
                    raise _Unknown(f"dynamic set {right} (its elements change at run time)")
                return Tri.NO
            return self._member(value, {"set": list(named.elements)})
        if isinstance(right, dict) and "set" in right:
            elements = right["set"]
            elements = elements if isinstance(elements, list) else [elements]
            best = Tri.NO
            for element in elements:
                result = self._element(value, element)
                best = max(best, result)
                if best is Tri.YES:
                    break
            return best
        if isinstance(right, list):
            return self._member(value, {"set": right})
        return self._element(value, right)

    def _element(self, value: Any, element: Any) -> Tri:
        if isinstance(element, dict) and "elem" in element and isinstance(element["elem"], dict):
            return self._element(value, element["elem"].get("val"))
        if isinstance(value, frozenset):  # ct state
            return Tri.YES if isinstance(element, str) and element in value else Tri.NO
        if isinstance(value, _Iface):
            return value.matches(element)
        if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return _nft_addr(value, element)
        if isinstance(value, int):
            if isinstance(element, dict) and "range" in element:
                lo, hi = (_nft_int(x) for x in element["range"])
                if lo is None or hi is None:
                    raise _Unknown(f"range {element['range']}")
                return Tri.YES if lo <= value <= hi else Tri.NO
            number = _nft_int(element)
            if number is None:
                raise _Unknown(f"value {element!r}")
            return Tri.YES if number == value else Tri.NO
        if isinstance(value, str):
            return Tri.YES if str(element) == value else Tri.NO
        raise _Unknown(f"element {str(element)[:40]}")

    def _vmap(self, body: Any) -> Any:
        if not isinstance(body, dict):
            raise _Unknown("a malformed verdict map")
        try:
            value = self._value(body.get("key"))
        except _NoMatch:
            return None
        if isinstance(value, _UnknownValue):
            raise _Unknown(value.reason)
        data = body.get("data")
        if isinstance(data, str) and data.startswith("@"):
            named = self.ruleset.set_named(self.family, self.table, data[1:])
            if named is None or named.elements is None:
                raise _Unknown(f"verdict map {data}")
            pairs: list[Any] = list(named.elements)
        elif isinstance(data, dict) and isinstance(data.get("set"), list):
            pairs = data["set"]
        else:
            raise _Unknown("a verdict map")
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Unknown("a verdict map element")
            result = self._element(value, pair[0])
            if result is Tri.MAYBE:
                raise _Unknown("a verdict map key")
            if result is Tri.YES:
                verdict = pair[1]
                if isinstance(verdict, dict) and len(verdict) == 1:
                    ((kind, arg),) = verdict.items()
                    if kind in ("jump", "goto"):
                        return (kind, arg.get("target") if isinstance(arg, dict) else None)
                    if kind in _VERDICTS:
                        return (kind, None)
                raise _Unknown("a verdict map value")
        return None


class _NoMatch(Exception):
    """The expression does not apply to this packet (a TCP field of a UDP packet)."""


@dataclass(frozen=True)
class _UnknownValue:
    reason: str


def _unknown(reason: str) -> _UnknownValue:
    return _UnknownValue(reason)


@dataclass(frozen=True)
class _Iface:
    name: str | None
    remote: IPAddress

    def matches(self, element: Any) -> Tri:
        if not isinstance(element, str):
            return Tri.MAYBE
        pattern = element[:-1] + "+" if element.endswith("*") else element
        return _iface(pattern, self.name, self.remote)


def _flag_set(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    if isinstance(value, dict) and "|" in value:
        found: set[str] = set()
        for part in value["|"]:
            found |= _flag_set(part)
        return frozenset(found)
    raise _Unknown(f"flags {value!r}")


def _nft_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        return _PROTOCOLS.get(value) if value in _PROTOCOLS else _ICMP_NAME.get(value)
    return None


_ICMP_NAME: Final = {**_ICMPV6_TYPES, **_ICMP_TYPES}


def _nft_addr(address: IPAddress, element: Any) -> Tri:
    try:
        if isinstance(element, str):
            network = ipaddress.ip_network(element, strict=False)
            if network.version != address.version:
                return Tri.NO
            return Tri.YES if address in network else Tri.NO
        if isinstance(element, dict) and "prefix" in element:
            prefix = element["prefix"]
            network = ipaddress.ip_network(f"{prefix['addr']}/{prefix['len']}", strict=False)
            if network.version != address.version:
                return Tri.NO
            return Tri.YES if address in network else Tri.NO
        if isinstance(element, dict) and "range" in element:
            lo, hi = (ipaddress.ip_address(x) for x in element["range"])
            if lo.version != address.version:
                return Tri.NO
            return Tri.YES if lo <= address <= hi else Tri.NO  # type: ignore[operator]
    except (ValueError, KeyError, TypeError):
        pass
    raise _Unknown(f"address element {str(element)[:40]}")


def _nft_text(rule: NftRule) -> str:
    handle = f" handle {rule.handle}" if rule.handle is not None else ""
    comment = f" comment {rule.comment!r}" if rule.comment else ""
    return (
        f"nft rule {rule.family} {rule.table} {rule.chain}{handle}: {_render(rule.expr)}{comment}"
    )


def _render(expr: Sequence[Any]) -> str:
    parts: list[str] = []
    for statement in expr:
        if not isinstance(statement, dict) or len(statement) != 1:
            continue
        ((key, body),) = statement.items()
        if key == "match" and isinstance(body, dict):
            op = body.get("op", "==")
            left, right = _render_value(body.get("left")), _render_value(body.get("right"))
            parts.append(f"{left} {right}" if op == "==" else f"{left} {op} {right}")
        elif key in ("counter", "log", "limit"):
            continue
        elif key in ("jump", "goto") and isinstance(body, dict):
            parts.append(f"{key} {body.get('target')}")
        elif body is None:
            parts.append(key)
        else:
            parts.append(f"{key} {_render_value(body)}")
    return " ".join(parts)


def _render_value(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        ((key, body),) = value.items()
        if key == "payload" and isinstance(body, dict):
            return f"{body.get('protocol')} {body.get('field')}"
        if key in ("meta", "ct") and isinstance(body, dict):
            return f"{key} {body.get('key')}"
        if key == "set" and isinstance(body, list):
            return "{ " + ", ".join(_render_value(v) for v in body) + " }"
        if key == "prefix" and isinstance(body, dict):
            return f"{body.get('addr')}/{body.get('len')}"
        if key == "range" and isinstance(body, list):
            return "-".join(_render_value(v) for v in body)
        return f"{key} {str(body)[:40]}"
    if isinstance(value, list):
        return ", ".join(_render_value(v) for v in value)
    return str(value)
