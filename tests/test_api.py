"""The library entry points: what ``diagnose`` takes, and what it refuses."""

from __future__ import annotations

import pytest

from vnetdoctor.api import diagnose, parse_protocol
from vnetdoctor.errors import UsageError
from vnetdoctor.model.net import Protocol
from vnetdoctor.samples import load_sample


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tcp", Protocol.TCP),
        ("TCP", Protocol.TCP),
        (" Udp ", Protocol.UDP),
        ("icmp", Protocol.ICMP),
        ("*", Protocol.ANY),
        ("any", Protocol.ANY),
        ("All", Protocol.ANY),
        (Protocol.UDP, Protocol.UDP),
    ],
)
def test_parse_protocol_is_protocol_parse(text: str | Protocol, expected: Protocol) -> None:
    assert parse_protocol(text) is expected


@pytest.mark.parametrize("text", ["gre", "", "Esp", "ah", Protocol.ESP])
def test_protocols_a_diagnosis_does_not_trace_are_refused(text: str | Protocol) -> None:
    with pytest.raises(UsageError, match=r"unknown protocol .* \(expected tcp, udp or icmp\)"):
        parse_protocol(text)


def test_diagnose_refuses_them_too() -> None:
    sample = load_sample("contoso")
    with pytest.raises(UsageError, match="unknown protocol 'esp'"):
        diagnose(sample, "vm-web-01", "vm-db-01", 5432, "esp")
    assert diagnose(sample, "vm-web-01", "vm-db-01", 5432, "TCP").query.protocol is Protocol.TCP
