"""The iptables walker: one ``iptables-save`` table, the rules of a chain in order, jumps,
gotos and RETURN, each match of a rule three-valued (see :mod:`vnetdoctor.engine.guest.hooks`
for the semantics)."""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from vnetdoctor.engine.guest.chains import (
    ICMP_TYPES,
    ICMPV6_TYPES,
    NO_EFFECT_TARGETS,
    PORT_PROTOCOLS,
    ChainOutcome,
    Cond,
    iface_match,
    merge_maybe,
)
from vnetdoctor.engine.guest.common import Packet, Tri, tri_and
from vnetdoctor.model.evidence import IptablesRule, IptablesTable
from vnetdoctor.model.net import NETFILTER_PROTOCOL_NUMBERS, IPAddress

__all__ = ["IptablesWalker"]

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


class IptablesWalker:
    def __init__(self, table: IptablesTable) -> None:
        self.table = table
        self.chains = {c.name: c for c in table.chains}
        self.rules: dict[str, list[IptablesRule]] = {}
        for rule in table.rules:
            self.rules.setdefault(rule.chain, []).append(rule)
        self.memo: dict[tuple[int, str, int], ChainOutcome] = {}
        self.policy = ChainOutcome("accept", policy=True)

    def run(self, chain: str, packet: Packet, policy: ChainOutcome) -> ChainOutcome:
        self.memo = {}
        self.policy = policy
        return self._walk(chain, 0, packet, 0)

    def _walk(self, chain: str, start: int, packet: Packet, depth: int) -> ChainOutcome:
        key = (id(packet), chain, start)
        if key in self.memo:
            return self.memo[key]
        if depth > 64:
            return ChainOutcome("unknown", None, None, (f"chain {chain}: jumps nest too deep",))
        rules = self.rules.get(chain, [])
        result = ChainOutcome("return")
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
            result = merge_maybe(
                rule.text, rule.source, why or "a match not modelled", taken, skipped
            )
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
    ) -> ChainOutcome:
        if target in ("ACCEPT", "SNAT", "MASQUERADE"):
            return ChainOutcome("accept", rule.text, rule.source)
        if target == "DROP":
            return ChainOutcome("drop", rule.text, rule.source)
        if target == "REJECT":
            return ChainOutcome("reject", rule.text, rule.source)
        if target == "RETURN":
            return ChainOutcome("return", rule.text, rule.source)
        if target in NO_EFFECT_TARGETS:
            return ChainOutcome("continue")
        if target in _ALTERING_TARGETS:
            return ChainOutcome(
                "altered",
                rule.text,
                rule.source,
                (f"the packet meets {_ALTERING_TARGETS[target]}, which vnetdoctor does not model",),
            )
        if target in self.chains:
            inner = self._walk(target, 0, packet, depth + 1)
            if inner.kind == "return":
                if goto:
                    return ChainOutcome("return", inner.rule, inner.source)
                return ChainOutcome("continue")
            return inner
        return ChainOutcome(
            "unknown", rule.text, rule.source, (f"target {target} is not modelled",)
        )


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
        return _iface_cond(iface_match(value, packet.iif, packet.src), "in")
    if option in ("-o", "--out-interface"):
        return _iface_cond(iface_match(value, packet.oif, packet.dst), "out")
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
    number = int(text) if text.isdigit() else NETFILTER_PROTOCOL_NUMBERS.get(text)
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
    if packet.protocol not in PORT_PROTOCOLS:
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
    names = ICMP_TYPES if family == 4 else ICMPV6_TYPES
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
