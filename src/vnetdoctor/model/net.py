"""Addresses, ports, protocols and flows: the value objects every Azure rule is written in.

They behave like :mod:`ipaddress` objects: immutable, hashable, ordered, parsed with ``parse`` that
raises ``ValueError`` on bad text, and printed back in Azure's own notation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from enum import StrEnum
from typing import Final

import msgspec

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_PORT: Final = 65535


class Protocol(StrEnum):
    """An NSG rule protocol, spelled as the ARM enum ``SecurityRuleProtocol`` spells it."""

    TCP = "Tcp"
    UDP = "Udp"
    ICMP = "Icmp"
    ESP = "Esp"
    AH = "Ah"
    ANY = "*"

    @classmethod
    def parse(cls, text: str) -> Protocol:
        """Azure's spellings in any case, plus ``Any``/``All`` (effective rules write ``*``)."""
        folded = text.strip().casefold()
        if folded in {"*", "any", "all"}:
            return cls.ANY
        for member in cls:
            if member.value.casefold() == folded:
                return member
        raise ValueError(f"unknown protocol {text!r} (expected Tcp, Udp, Icmp, Esp, Ah or *)")

    @property
    def iana_number(self) -> int | None:
        return _IANA.get(self)

    def ip_number(self, version: int) -> int | None:
        """The number an IP header of ``version`` carries for this protocol (IPv4's protocol,
        IPv6's next header): ICMP on IPv6 is ICMPv6, 58; ``*`` has none."""
        if self is Protocol.ICMP and version == 6:
            return _ICMPV6
        return self.iana_number


_IANA: Final = {
    Protocol.TCP: 6,
    Protocol.UDP: 17,
    Protocol.ICMP: 1,
    Protocol.ESP: 50,
    Protocol.AH: 51,
}
_ICMPV6: Final = 58

# IANA protocol numbers by the names guest firewalls write, casefolded: Protocol's own, and the
# protocols an NSG cannot name (ICMPv6, SCTP, GRE...) in /etc/protocols' and Windows' spellings.
_NUMBERS_BY_NAME: Final[Mapping[str, int]] = {
    **{protocol.value.casefold(): number for protocol, number in _IANA.items()},
    "icmpv4": 1,
    "icmpv6": _ICMPV6,
    "ipv6-icmp": _ICMPV6,
    "icmp6": _ICMPV6,
    "igmp": 2,
    "dccp": 33,
    "gre": 47,
    "sctp": 132,
    "udplite": 136,
}

#: The protocol names netfilter writes (``iptables -p``, ``nft ... l4proto``): /etc/protocols'.
NETFILTER_PROTOCOL_NUMBERS: Final[Mapping[str, int]] = {
    name: number for name, number in _NUMBERS_BY_NAME.items() if name != "icmpv4"
}
#: The protocol names a Windows Firewall rule writes (``Get-NetFirewallPortFilter``'s
#: ``Protocol``: TCP, UDP, ICMPv4, ICMPv6; any other protocol as its number).
WINDOWS_PROTOCOL_NUMBERS: Final[Mapping[str, int]] = {
    name: _NUMBERS_BY_NAME[name] for name in ("tcp", "udp", "icmp", "icmpv4", "icmpv6")
}


class PortRange(msgspec.Struct, frozen=True, order=True, gc=False):
    """An inclusive port range; ``*`` is 0-65535, as Azure's effective rules expand it."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str | int) -> PortRange:
        if isinstance(text, bool):
            raise ValueError(f"invalid port {text!r}")
        if isinstance(text, int):
            return cls._checked(text, text, str(text))
        raw = text.strip()
        if raw in {"*", "Any", "any"}:
            return ANY_PORT
        lo, sep, hi = raw.partition("-")
        try:
            start = int(lo.strip())
            end = int(hi.strip()) if sep else start
        except ValueError:
            raise ValueError(f"invalid port range {text!r}") from None
        return cls._checked(start, end, raw)

    @classmethod
    def _checked(cls, start: int, end: int, raw: str) -> PortRange:
        if not (0 <= start <= MAX_PORT and 0 <= end <= MAX_PORT):
            raise ValueError(f"port range {raw!r} is outside 0-65535")
        if start > end:
            raise ValueError(f"port range {raw!r} starts after it ends")
        return cls(start, end)

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.start <= port <= self.end

    def __str__(self) -> str:
        if self.start == 0 and self.end == MAX_PORT:
            return "*"
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"

    @property
    def is_any(self) -> bool:
        return self.start == 0 and self.end == MAX_PORT

    def expanded(self) -> str:
        """Azure's effective-rule spelling: always ``a-b``."""
        return f"{self.start}-{self.end}"


ANY_PORT: Final = PortRange(0, MAX_PORT)


class AddressPrefix(msgspec.Struct, frozen=True, gc=False):
    """One source or destination of an NSG rule or route: a CIDR, ``*`` or a service tag.

    Exactly one of ``network`` / ``tag`` is set, or neither for ``*``. A single IP is held as a
    host network (``/32`` or ``/128``), which is how Azure treats it. ``text`` keeps what the input
    said, because Azure's answers echo it back.
    """

    text: str
    network: IPNetwork | None = None
    tag: str | None = None

    @classmethod
    def parse(cls, text: str) -> AddressPrefix:
        raw = text.strip()
        if not raw:
            raise ValueError("empty address prefix")
        if raw in {"*", "Any", "any"}:
            return cls(text=raw)
        if raw[0].isdigit() or ":" in raw:
            try:
                network = ipaddress.ip_network(raw, strict=False)
            except ValueError:
                raise ValueError(f"invalid address prefix {text!r}") from None
            return cls(text=raw, network=network)
        if not all(c.isalnum() or c in "._-" for c in raw):
            raise ValueError(f"invalid address prefix or service tag {text!r}")
        return cls(text=raw, tag=raw)

    @property
    def is_any(self) -> bool:
        return self.network is None and self.tag is None

    def __str__(self) -> str:
        return self.text


def parse_ip(text: str) -> IPAddress:
    """Parse one IP address, with a message that says what was wrong."""
    try:
        return ipaddress.ip_address(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"invalid IP address {text!r}") from None


def parse_network(text: str) -> IPNetwork:
    """Parse a prefix as Azure writes it in address spaces and routes (host bits allowed)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except (ValueError, AttributeError):
        raise ValueError(f"invalid CIDR {text!r}") from None


class Flow(msgspec.Struct, frozen=True, gc=False):
    """A packet's 5-tuple as an NSG sees it."""

    source: IPAddress
    destination: IPAddress
    protocol: Protocol
    destination_port: int | None = None
    source_port: int | None = None

    def __repr__(self) -> str:
        return (
            f"Flow({str(self.source)!r}, {str(self.destination)!r}, {self.protocol.value!r}, "
            f"{self.destination_port!r}, source_port={self.source_port!r})"
        )
