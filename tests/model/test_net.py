from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vnetdoctor.model.net import (
    NETFILTER_PROTOCOL_NUMBERS,
    WINDOWS_PROTOCOL_NUMBERS,
    AddressPrefix,
    PortRange,
    Protocol,
)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("80", 80, 80),
        ("80-90", 80, 90),
        ("*", 0, 65535),
        (" 443 ", 443, 443),
        ("0-65535", 0, 65535),
    ],
)
def test_port_range_parse(text: str, start: int, end: int) -> None:
    assert PortRange.parse(text) == PortRange(start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("80-70", "starts after it ends"),
        ("99999", "outside 0-65535"),
        ("http", "invalid"),
        ("1-2-3", "invalid"),
        ("", "invalid"),
        ("-5", "invalid"),
    ],
)
def test_port_range_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PortRange.parse(text)


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_port_range_round_trips(a: int, b: int) -> None:
    r = PortRange(min(a, b), max(a, b))
    assert PortRange.parse(str(r)) == r
    assert r.start in r
    assert (r.end + 1) not in r or r.end == 65535


def test_address_prefix_kinds() -> None:
    assert AddressPrefix.parse("*").is_any
    cidr = AddressPrefix.parse("10.0.0.0/16")
    assert cidr.network == ipaddress.ip_network("10.0.0.0/16")
    host = AddressPrefix.parse("10.0.0.4")
    assert host.network == ipaddress.ip_network("10.0.0.4/32")
    tag = AddressPrefix.parse("Storage.WestEurope")
    assert tag.tag == "Storage.WestEurope"
    assert tag.network is None
    assert str(AddressPrefix.parse("2001:db8::/32")) == "2001:db8::/32"


@pytest.mark.parametrize("bad", ["10.300.0.0/16", "10.0.0.0/33", "<img src=x>", "", "1.2.3"])
def test_address_prefix_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"invalid|empty"):
        AddressPrefix.parse(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TCP", Protocol.TCP),
        ("udp", Protocol.UDP),
        ("*", Protocol.ANY),
        ("All", Protocol.ANY),
        ("Icmp", Protocol.ICMP),
        ("Esp", Protocol.ESP),
        ("Ah", Protocol.AH),
    ],
)
def test_protocol_parse(text: str, expected: Protocol) -> None:
    assert Protocol.parse(text) is expected


def test_protocol_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        Protocol.parse("Gre")


@pytest.mark.parametrize(
    ("protocol", "v4", "v6"),
    [
        (Protocol.TCP, 6, 6),
        (Protocol.UDP, 17, 17),
        (Protocol.ICMP, 1, 58),
        (Protocol.ESP, 50, 50),
        (Protocol.AH, 51, 51),
        (Protocol.ANY, None, None),
    ],
)
def test_ip_number_is_icmpv6_for_icmp_on_ipv6(
    protocol: Protocol, v4: int | None, v6: int | None
) -> None:
    assert protocol.ip_number(4) == v4 == protocol.iana_number
    assert protocol.ip_number(6) == v6


def test_guest_firewall_protocol_names() -> None:
    """Each guest firewall knows the names it writes, and only those: netfilter /etc/protocols'
    (``ipv6-icmp``, ``sctp``...), Windows its five (``ICMPv4``, not ``gre``)."""
    assert NETFILTER_PROTOCOL_NUMBERS == {
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
    assert WINDOWS_PROTOCOL_NUMBERS == {"tcp": 6, "udp": 17, "icmpv4": 1, "icmpv6": 58, "icmp": 1}
    for protocol in Protocol:
        if protocol.iana_number is not None:
            assert NETFILTER_PROTOCOL_NUMBERS[protocol.value.casefold()] == protocol.iana_number
