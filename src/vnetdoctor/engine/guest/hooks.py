"""Linux guest firewall evaluation: iptables (``iptables-save``) and nftables (``nft -j``).

Netfilter semantics modelled (``docs/semantics/guest.md#netfilter``; iptables(8),
iptables-extensions(8), nft(8)):

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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from vnetdoctor.engine.guest.chains import ChainOutcome
from vnetdoctor.engine.guest.common import Decision, GuestVerdict, Packet
from vnetdoctor.engine.guest.iptables import IptablesWalker
from vnetdoctor.engine.guest.nftables import NftablesWalker
from vnetdoctor.model.evidence import IptablesTable, NftRuleset, SourceRef

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
    evaluate: Callable[[Packet], ChainOutcome]
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
        walker = IptablesWalker(table)
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
            walker_nft = NftablesWalker(ruleset, nchain.family, nchain.table)
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
    run: Callable[[str, Packet, ChainOutcome], ChainOutcome], name: str, policy: ChainOutcome
) -> Callable[[Packet], ChainOutcome]:
    return lambda packet: run(name, packet, policy)


def _policy(kind: str, text: str, source: SourceRef | None, label: str) -> ChainOutcome:
    verdict = "accept" if kind not in ("drop", "reject") else kind
    return ChainOutcome(
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
