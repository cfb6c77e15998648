"""The record formats, read by the plain-Python reference on every real sample."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from flowlogs.support import SAMPLES, reference_tuples, v2_record, v4_record
from vnetdoctor.flowlogs.formats import iter_tuples, normalise_tuple

pytestmark = pytest.mark.fixtures


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_reads_every_tuple(fixtures: Path, name: str) -> None:
    tuples = reference_tuples([fixtures / "flowlogs" / name])
    assert len(tuples) == SAMPLES[name]
    assert {t.status for t in tuples} == {"ok"}
    assert {t.version for t in tuples} == ({"2"} if "nsg" in name or name.endswith(
        "blob_fixtures.json") else {"4"})


def test_vnet_v4_fields(fixtures: Path) -> None:
    name = "elastic-integrations/azure_network_watcher_vnet__testdata.log"
    tuples = reference_tuples([fixtures / "flowlogs" / name])
    first = tuples[1]  # "1663146003606,10.0.0.6,52.239.184.180,23956,443,6,O,E,NX,3,767,2,1580"
    assert (first.ts_ms, first.src, first.dst, first.src_port, first.dst_port) == (
        1663146003606, "10.0.0.6", "52.239.184.180", 23956, 443)
    assert (first.protocol, first.direction, first.decision, first.state, first.encryption) == (
        "Tcp", "Outbound", "Allow", "E", "NX")
    assert (first.packets, first.bytes) == (5, 2347)
    assert first.rule == "DefaultRule_AllowInternetOutBound"
    assert first.acl == "00000000-1234-abcd-ef00-c1c2c3c4c5c6"
    assert first.mac == "00224871C205"
    denied = [t for t in tuples if t.decision == "Deny"]
    assert len(denied) == 9
    assert {t.state for t in denied} == {"D"}
    assert Counter(t.rule for t in denied) == {"Internet": 7,
                                              "BlockHighRiskTCPPortsFromInternet": 2}


def test_nsg_v2_fields(fixtures: Path) -> None:
    name = "elastic-integrations/azure_network_watcher_nsg__testdata.log"
    tuples = reference_tuples([fixtures / "flowlogs" / name])
    udp = tuples[0]  # "1542110402,94.102.49.190,10.5.16.4,28746,443,U,I,D,B,,,,"
    assert (udp.ts_ms, udp.protocol, udp.direction, udp.decision, udp.state) == (
        1542110402000, "Udp", "Inbound", "Deny", "B")
    assert (udp.packets, udp.bytes, udp.encryption) == (0, 0, None)
    assert udp.acl is not None
    assert udp.acl.endswith("/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG")
    assert udp.mac == "000D3AF87856"


def test_timestamps_in_seconds_or_milliseconds() -> None:
    """Decision 6: a value above 10^12 is milliseconds."""
    seconds = normalise_tuple("f", "4", "r", None, None, "1663146003,a,b,1,2,6,O,B,NX,0,0,0,0")
    millis = normalise_tuple("f", "4", "r", None, None, "1663146003599,a,b,1,2,6,O,B,NX,0,0,0,0")
    assert seconds.ts_ms == 1663146003000
    assert millis.ts_ms == 1663146003599


@pytest.mark.parametrize("text", [
    "1663146003599,10.0.0.6,10.0.0.7,1,2,6,O,B,NX,0,0,0",  # 12 fields
    "x,10.0.0.6,10.0.0.7,1,2,6,O,B,NX,0,0,0,0",  # timestamp
    "1663146003599,10.0.0.6,10.0.0.7,1,70000,6,O,B,NX,0,0,0,0",  # port
    "1663146003599,10.0.0.6,10.0.0.7, 1,2,6,O,B,NX,0,0,0,0",  # not the canonical spelling
    "1663146003599,10.0.0.6,10.0.0.7,1,2,6,X,B,NX,0,0,0,0",  # direction
    "1663146003599,10.0.0.6,10.0.0.7,1,2,6,O,Q,NX,0,0,0,0",  # state
])
def test_malformed_tuples(text: str) -> None:
    assert normalise_tuple("f", "4", "r", None, None, text).status == "malformed"


def test_v1_has_eight_fields_and_no_counters() -> None:
    t = normalise_tuple("f", "1", "r", None, None, "1542110402,1.2.3.4,10.5.16.4,28746,443,U,I,D")
    assert (t.status, t.decision, t.state, t.packets) == ("ok", "Deny", None, 0)


def test_records_of_unknown_version_or_not_flow_logs_are_counted() -> None:
    value = {"records": [v4_record(["1,a,b,1,2,6,O,B,NX,0,0,0,0"], version=5),
                         v2_record(["1,a,b,1,2,T,O,A,B,,,,"], version=3),
                         {"category": "Something"}, "not a record"]}
    statuses = [(t.status, t.version) for t in iter_tuples("f", value)]
    assert statuses == [("unknown_version", "5"), ("unknown_version", "3"),
                        ("not_flow_log", None), ("not_flow_log", None)]
