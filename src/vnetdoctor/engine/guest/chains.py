"""What walking one netfilter chain yields, and what the iptables and nftables walkers share:
the three-valued merge of a rule that may match, interface patterns, the ICMP type names both
tools write, the protocols with ports, and the targets that leave a packet as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from vnetdoctor.engine.guest.common import Tri
from vnetdoctor.model.evidence import SourceRef
from vnetdoctor.model.net import NETFILTER_PROTOCOL_NUMBERS, IPAddress

__all__ = [
    "ICMPV6_TYPES",
    "ICMP_TYPES",
    "NO_EFFECT_TARGETS",
    "PORT_PROTOCOLS",
    "ChainOutcome",
    "Cond",
    "iface_match",
    "merge_maybe",
]

Cond = tuple[Tri, str | None]
#: The protocols whose header starts with ports (TCP, UDP, SCTP, DCCP, UDP-Lite).
PORT_PROTOCOLS: Final = frozenset(
    NETFILTER_PROTOCOL_NUMBERS[name] for name in ("tcp", "udp", "sctp", "dccp", "udplite")
)
ICMP_TYPES: Final = {
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
ICMPV6_TYPES: Final = {
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
NO_EFFECT_TARGETS: Final = frozenset(
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


@dataclass(frozen=True)
class ChainOutcome:
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


def merge_maybe(
    maybe_rule: str,
    maybe_source: SourceRef | None,
    why: str,
    taken: ChainOutcome,
    skipped: ChainOutcome,
) -> ChainOutcome:
    """A rule that may or may not match: both ways must agree."""
    if taken.group == skipped.group and taken.kind not in ("unknown", "altered"):
        return taken
    return ChainOutcome(
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


def iface_match(pattern: str, actual: str | None, remote: IPAddress) -> Tri:
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
