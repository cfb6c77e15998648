"""The nftables walker: one table of an ``nft -j list ruleset``, the rules of a chain in order,
jumps, gotos and verdict maps, each match three-valued (see :mod:`vnetdoctor.engine.guest.hooks`
for the semantics)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from vnetdoctor.engine.guest.chains import (
    ICMP_TYPES,
    ICMPV6_TYPES,
    NO_EFFECT_TARGETS,
    PORT_PROTOCOLS,
    ChainOutcome,
    iface_match,
    merge_maybe,
)
from vnetdoctor.engine.guest.common import Packet, Tri, tri_and
from vnetdoctor.model.evidence import NftChain, NftRule, NftRuleset
from vnetdoctor.model.net import NETFILTER_PROTOCOL_NUMBERS, IPAddress

__all__ = ["NftablesWalker"]

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


class NftablesWalker:
    """Walks the chains of one nft table for one packet at a time (:meth:`run`); what a rule's
    expressions say about the packet is the :class:`_PacketMatcher`'s business."""

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
        self.memo: dict[tuple[str, int], ChainOutcome] = {}
        self.policy = ChainOutcome("accept", policy=True)

    def run(self, chain: str, packet: Packet, policy: ChainOutcome) -> ChainOutcome:
        self.memo = {}
        self.matcher = _PacketMatcher(self.ruleset, self.family, self.table, packet)
        self.policy = policy
        return self._walk(chain, 0, 0)

    def _walk(self, chain: str, start: int, depth: int) -> ChainOutcome:
        key = (chain, start)
        if key in self.memo:
            return self.memo[key]
        if depth > 64:
            return ChainOutcome("unknown", None, None, (f"chain {chain}: jumps nest too deep",))
        rules = self.rules.get(chain, [])
        result = ChainOutcome("return")
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
            result = merge_maybe(
                _nft_text(rule), rule.source, why or "a match not modelled", taken, skipped
            )
            break
        if depth == 0 and result.kind == "return":
            result = self.policy
        self.memo[key] = result
        return result

    def _apply(self, rule: NftRule, verdict: Any, depth: int) -> ChainOutcome:
        kind, arg = verdict
        text, src = _nft_text(rule), rule.source
        if kind == "accept":
            return ChainOutcome("accept", text, src)
        if kind in ("drop", "reject"):
            return ChainOutcome(kind, text, src)
        if kind == "return":
            return ChainOutcome("return", text, src)
        if kind == "continue":
            return ChainOutcome("continue")
        if kind in ("jump", "goto"):
            if arg not in self.chains:
                return ChainOutcome(
                    "unknown", text, src, (f"jump to a chain {arg!r} that is not in the ruleset",)
                )
            inner = self._walk(arg, 0, depth + 1)
            if inner.kind == "return":
                return ChainOutcome("return") if kind == "goto" else ChainOutcome("continue")
            return inner
        if kind == "altered":
            return ChainOutcome(
                "altered", text, src, (f"the packet meets {arg}, which vnetdoctor does not model",)
            )
        return ChainOutcome("unknown", text, src, (str(arg),))

    def _rule(self, rule: NftRule) -> tuple[Tri, str | None, Any]:
        """(match so far, why maybe, verdict or None)."""
        match = Tri.YES
        why: str | None = None
        for statement in rule.expr:
            if not isinstance(statement, dict) or len(statement) != 1:
                return match, why, ("unknown", "a malformed statement")
            ((key, body),) = statement.items()
            condition, reason, verdict = self._statement(key, body)
            if condition is not Tri.YES:
                match = tri_and(match, condition)
                why = why or reason
                if match is Tri.NO:
                    return match, why, None
            if verdict is not None:
                return match, why, verdict
        return match, why, None

    def _statement(self, key: str, body: Any) -> tuple[Tri, str | None, Any]:
        """One statement of a rule: (does it match, why only maybe, the verdict it reaches or
        None to go on with the next statement)."""
        if key == "match":
            try:
                return self.matcher.match(body), None, None
            except _Unknown as exc:
                return Tri.MAYBE, exc.reason, None
        if key in _VERDICTS:
            if key in ("jump", "goto"):
                target = body.get("target") if isinstance(body, dict) else None
                return Tri.YES, None, (key, target)
            if key == "queue":
                return Tri.YES, None, ("altered", "a userspace queue")
            return Tri.YES, None, (key, None)
        if key == "vmap":
            try:
                return Tri.YES, None, self.matcher.vmap(body)
            except _Unknown as exc:
                return Tri.YES, None, ("unknown", exc.reason)
        if key in ("limit", "quota"):
            return Tri.MAYBE, "a rate limit" if key == "limit" else "a quota", None
        if key in ("snat", "masquerade"):
            return Tri.YES, None, ("accept", None)
        if key in _NFT_ALTERING:
            return Tri.YES, None, ("altered", _NFT_ALTERING[key])
        if key == "xt":
            return _xt(body)
        if key in _NFT_NO_EFFECT:
            return Tri.YES, None, None
        return Tri.YES, None, ("unknown", f"nft statement {key!r} is not modelled")


_XT_VERDICTS: Final = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "reject", "RETURN": "return"}


def _xt(body: Any) -> tuple[Tri, str | None, Any]:
    """An ``xt`` statement: a match or target that iptables-nft wrote and ``nft -j`` shows only
    by name."""
    xt_type = body.get("type") if isinstance(body, dict) else None
    name = str(body.get("name", "?")) if isinstance(body, dict) else "?"
    if xt_type == "target":
        mapped = _XT_VERDICTS.get(name)
        if mapped:
            return Tri.YES, None, (mapped, None)
        if name in NO_EFFECT_TARGETS:
            return Tri.YES, None, None
        return (
            Tri.YES,
            None,
            ("unknown", f"iptables-nft target {name!r} is opaque in nft -j output"),
        )
    reason = f"iptables-nft match {name!r} is opaque in nft -j output (give iptables-save)"
    return Tri.MAYBE, reason, None


class _PacketMatcher:
    """What the expressions of one nft table's rules say about one packet: its value for an
    expression (payload, meta, ct, fib) and whether it is in a set, a range or a verdict map."""

    def __init__(self, ruleset: NftRuleset, family: str, table: str, packet: Packet) -> None:
        self.ruleset = ruleset
        self.family = family
        self.table = table
        self.packet = packet

    def value(self, left: Any) -> Any:
        """The packet's value for an nft expression; raises :class:`_NoMatch` when the
        expression does not apply to this packet (``tcp dport`` on a UDP packet)."""
        if isinstance(left, dict) and len(left) == 1:
            ((kind, body),) = left.items()
            if kind == "payload" and isinstance(body, dict):
                return self.payload(str(body.get("protocol", "")), str(body.get("field", "")))
            if kind == "meta" and isinstance(body, dict):
                return self.meta(str(body.get("key", "")))
            if kind == "ct" and isinstance(body, dict):
                return self.ct(body.get("key"))
            if kind == "fib" and isinstance(body, dict):
                return self.fib(body)
            if kind == "&":
                operands = body if isinstance(body, list) else []
                if len(operands) == 2:
                    value = self.value(operands[0])
                    if isinstance(value, frozenset):
                        return value & _flag_set(operands[1])
                raise _Unknown("a bitwise expression")
        raise _Unknown(f"expression {str(left)[:60]}")

    def ct(self, key: object) -> Any:
        packet = self.packet
        if key == "state":
            return frozenset({packet.ct_state})
        if key == "direction":
            return packet.ct_direction
        if key == "l3proto":
            return "ipv4" if packet.family == 4 else "ipv6"
        if key == "protocol":
            return packet.protocol
        raise _Unknown(f"ct {key}")

    def fib(self, body: dict[str, Any]) -> str:
        packet = self.packet
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

    def payload(self, protocol: str, fieldname: str) -> Any:
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
            number = NETFILTER_PROTOCOL_NUMBERS.get(protocol)  # th: any of them
            if number is not None and packet.protocol != number:
                raise _NoMatch
            if protocol == "th" and packet.protocol not in PORT_PROTOCOLS:
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

    def meta(self, key: str) -> Any:
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

    def match(self, body: Any) -> Tri:
        if not isinstance(body, dict):
            raise _Unknown("a malformed match")
        op = body.get("op", "==")
        try:
            value = self.value(body.get("left"))
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
        contained = self.member(value, right)
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

    def member(self, value: Any, right: Any) -> Tri:
        if isinstance(right, str) and right.startswith("@"):
            named = self.ruleset.set_named(self.family, self.table, right[1:])
            if named is None:
                raise _Unknown(f"set {right} is not in the ruleset")
            if named.elements is None:
                if named.dynamic:
                    raise _Unknown(f"dynamic set {right} (its elements change at run time)")
                return Tri.NO
            return self.member(value, {"set": list(named.elements)})
        if isinstance(right, dict) and "set" in right:
            elements = right["set"]
            elements = elements if isinstance(elements, list) else [elements]
            best = Tri.NO
            for element in elements:
                result = self.element(value, element)
                best = max(best, result)
                if best is Tri.YES:
                    break
            return best
        if isinstance(right, list):
            return self.member(value, {"set": right})
        return self.element(value, right)

    def element(self, value: Any, element: Any) -> Tri:
        if isinstance(element, dict) and "elem" in element and isinstance(element["elem"], dict):
            return self.element(value, element["elem"].get("val"))
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

    def vmap(self, body: Any) -> Any:
        if not isinstance(body, dict):
            raise _Unknown("a malformed verdict map")
        try:
            value = self.value(body.get("key"))
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
            result = self.element(value, pair[0])
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
        return iface_match(pattern, self.name, self.remote)


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
        numbers = NETFILTER_PROTOCOL_NUMBERS
        return numbers.get(value) if value in numbers else _ICMP_NAME.get(value)
    return None


_ICMP_NAME: Final = {**ICMPV6_TYPES, **ICMP_TYPES}


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
