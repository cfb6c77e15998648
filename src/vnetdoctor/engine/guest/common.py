"""Types shared by the guest evaluators: three-valued matching, the packet a guest firewall sees,
and the decision it reaches (with the deciding rule and its file and line)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import msgspec

from vnetdoctor.model.evidence import GuestEvidence, SourceRef
from vnetdoctor.model.net import IPAddress

__all__ = [
    "Decision",
    "GuestFirewallDecision",
    "GuestVerdict",
    "Packet",
    "Tri",
    "gap_reasons",
    "tri_and",
]


class Tri(IntEnum):
    """Does a rule field match a packet: no, maybe (cannot tell), yes."""

    NO = 0
    MAYBE = 1
    YES = 2

    def negate(self) -> Tri:
        return Tri(2 - self.value)


def tri_and(*values: Tri) -> Tri:
    return min(values, default=Tri.YES)


class GuestVerdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Packet:
    """One packet as a guest firewall sees it.

    ``iif``/``oif``: the interface name, ``""`` when the packet has none on this path (no output
    interface on the input path), ``None`` when it is not known. ``ct_state`` is ``new`` for the
    connection's first packet and ``established`` for the reply."""

    family: int
    protocol: int
    src: IPAddress
    dst: IPAddress
    sport: int | None
    dport: int | None
    tcp_flags: frozenset[str] = frozenset()
    icmp_type: int | None = None
    ct_state: str = "new"
    ct_direction: str = "original"
    iif: str | None = None
    oif: str | None = None
    src_local: Tri = Tri.NO
    dst_local: Tri = Tri.NO
    original: tuple[IPAddress, IPAddress, int | None, int | None] | None = None
    local_addresses: frozenset[IPAddress] = field(default_factory=frozenset)

    @property
    def is_reply(self) -> bool:
        return self.ct_direction == "reply"


@dataclass(frozen=True)
class Decision:
    """What one rule set (or the whole firewall) does with one packet."""

    verdict: GuestVerdict
    rule: str | None = None
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()
    chain: str | None = None


class GuestFirewallDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The guest firewall's answer for a flow in one direction.

    ``rule`` is the deciding rule as the artefact spells it (``-A INPUT -p tcp -m tcp --dport
    5432 -j DROP``, ``INPUT policy DROP``, ``Windows Firewall rule "Block SQL"``); ``source`` is
    its file and line. ``packet`` is ``request`` or ``reply`` (a reply dropped by the other
    chain: an OUTPUT policy DROP without an ESTABLISHED rule). ``reasons`` say why an answer is
    ``unknown``; ``assumptions`` are stated, never hidden. ``chain`` names the base chain where
    the decision fell (``nft inet filter input``, ``iptables filter INPUT``), or the Windows
    Firewall profile."""

    verdict: GuestVerdict
    direction: str  # Direction.INBOUND / Direction.OUTBOUND, or "Forward" (an appliance)
    engine: str
    rule: str | None = None
    chain: str | None = None
    source: SourceRef | None = None
    packet: str = "request"
    reasons: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def resource(self) -> str | None:
        return str(self.source) if self.source is not None else None


def gap_reasons(evidence: GuestEvidence, names: Iterable[str]) -> list[str]:
    """Why the artefacts ``names`` are missing from the evidence, as the collector recorded it."""
    wanted = set(names)
    return [f"{g.what}: {g.reason}" for g in evidence.gaps if g.what in wanted]
