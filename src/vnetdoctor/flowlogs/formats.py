"""Azure's flow-log record formats: every JSON key and tuple code, in one place.

Three versions are understood (``docs/semantics/flow-logs.md#versions``):

* **VNet flow logs**, ``flowLogVersion`` 4::

      records[].flowRecords.flows[].aclID
                                   .flowGroups[].rule
                                                .flowTuples[]   (13 fields)
      ts,src,dst,srcPort,dstPort,protocol(IANA number),I|O,state(B|C|E|D),encryption,
      packetsS2D,bytesS2D,packetsD2S,bytesD2S

  There is no allow/deny field: state ``D`` is a denied flow, ``B``/``C``/``E`` are allowed
  ones. The network interface is the record's ``macAddress``.

* **NSG flow logs** version 2 (``properties.Version``)::

      records[].properties.flows[].rule
                                  .flows[].mac
                                          .flowTuples[]   (13 fields)
      ts,src,dst,srcPort,dstPort,T|U,I|O,A|D,B|C|E,packetsS2D,bytesS2D,packetsD2S,bytesD2S

  Counters are empty on ``B`` tuples. The NSG is the record's ``resourceId``.

* **NSG flow logs** version 1: the first eight fields of version 2, no state, no counters.

Timestamps are seconds or milliseconds since the epoch: a value above 10^12 is milliseconds
(decision 6). Everything downstream works in milliseconds. Counters on ``C`` and ``E`` tuples
count what passed since the previous tuple of the flow, so sums over tuples are totals.

A file holds either the blob form (``{"records": [...]}``, possibly pretty-printed) or one JSON
value per line (Event Hubs, log shippers), each a record or a ``{"records": [...]}`` object.

The normalised tuple (:data:`TUPLE_COLUMNS`) is what both SQL engines produce and what the
Parquet cache stores; :func:`iter_tuples` is the same normalisation in plain Python, used as the
reference that the engines are tested against.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any, Final, NamedTuple

# --- JSON keys ---------------------------------------------------------------------------------
RECORDS: Final = "records"
TIME: Final = "time"
CATEGORY: Final = "category"
# VNet flow logs (v4)
FLOW_LOG_VERSION: Final = "flowLogVersion"
MAC_ADDRESS: Final = "macAddress"
TARGET_RESOURCE_ID: Final = "targetResourceID"
FLOW_LOG_RESOURCE_ID: Final = "flowLogResourceID"
FLOW_RECORDS: Final = "flowRecords"
ACL_ID: Final = "aclID"
FLOW_GROUPS: Final = "flowGroups"
# NSG flow logs (v1, v2)
RESOURCE_ID: Final = "resourceId"
PROPERTIES: Final = "properties"
VERSION: Final = "Version"
MAC: Final = "mac"
# shared
FLOWS: Final = "flows"
RULE: Final = "rule"
FLOW_TUPLES: Final = "flowTuples"

VNET_VERSIONS: Final = frozenset({"4"})
NSG_VERSIONS: Final = frozenset({"1", "2"})
KNOWN_VERSIONS: Final = VNET_VERSIONS | NSG_VERSIONS
TUPLE_FIELDS: Final = {"1": 8, "2": 13, "4": 13}
MS_THRESHOLD: Final = 10**12  # a timestamp above this is in milliseconds (decision 6)
MAX_PORT: Final = 65535
# A packet or byte counter above this is not a count (a corrupt or hostile field) and reads as
# 0, like an empty one: two of them still add up within a signed 64-bit integer, so no engine
# overflows on a tuple.
MAX_COUNTER: Final = 2**62 - 1


class Decision(StrEnum):
    """What the NSG did, spelled as Azure's ``Access`` enum."""

    ALLOW = "Allow"
    DENY = "Deny"


class TrafficDirection(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


DIRECTIONS: Final = {"I": TrafficDirection.INBOUND.value, "O": TrafficDirection.OUTBOUND.value}
NSG_DECISIONS: Final = {"A": Decision.ALLOW.value, "D": Decision.DENY.value}
VNET_ALLOW_STATES: Final = ("B", "C", "E")
VNET_DENY_STATE: Final = "D"
# Protocol codes: v1/v2 write T/U, v4 writes the IANA number. Shown as the NSG rule spelling;
# any other number is kept as written.
PROTOCOLS: Final = {
    "T": "Tcp",
    "U": "Udp",
    "6": "Tcp",
    "17": "Udp",
    "1": "Icmp",
    "58": "Icmp",
    "50": "Esp",
    "51": "Ah",
}


class Status(StrEnum):
    """What became of one normalised row; only ``ok`` rows are flows."""

    OK = "ok"
    MALFORMED = "malformed"  # a flow tuple with the wrong field count or a bad field
    UNKNOWN_VERSION = "unknown_version"  # a record whose version is not 1, 2 or 4
    NOT_FLOW_LOG = "not_flow_log"  # a JSON value with neither a version nor records


class Tuple(NamedTuple):
    """One normalised flow tuple: the columns of :data:`TUPLE_COLUMNS`, in order."""

    file: str
    version: str | None
    ts_ms: int | None
    src: str | None
    dst: str | None
    src_port: int | None
    dst_port: int | None
    protocol: str | None
    direction: str | None
    decision: str | None
    state: str | None
    encryption: str | None
    rule: str | None
    acl: str | None
    mac: str | None
    packets: int
    bytes: int
    status: str


TUPLE_COLUMNS: Final = Tuple._fields


_CANONICAL_INT: Final = re.compile(r"-?[0-9]+")
INT64: Final = 2**63
INT32: Final = 2**31


def _int(text: str) -> int | None:
    """A number field: only the canonical decimal spelling counts (``"443"``, not ``" 443"``,
    ``"+443"``, ``"0443"`` or ``"4.43e2"``), the same rule the SQL applies, so that every engine
    reads every field the same way."""
    if not _CANONICAL_INT.fullmatch(text):
        return None
    value = int(text)
    if str(value) != text or not -INT64 <= value < INT64:
        return None
    return value


def _port(text: str) -> int | None:
    """A port field as the engines read it: a 32-bit integer (a row with a port outside
    0-65535 is malformed either way; this keeps its column equal across engines)."""
    value = _int(text)
    return value if value is not None and -INT32 <= value < INT32 else None


def _counter(fields: list[str], index: int) -> int:
    """A packet or byte counter: empty (``B`` tuples of NSG flow logs), unreadable, negative
    or above :data:`MAX_COUNTER` is 0."""
    if index >= len(fields):
        return 0
    value = _int(fields[index])
    return value if value is not None and 0 <= value <= MAX_COUNTER else 0


def normalise_tuple(
    file: str, version: str, rule: str | None, acl: str | None, mac: str | None, text: object
) -> Tuple:
    """One tuple string of a record of ``version`` (``"1"``, ``"2"`` or ``"4"``)."""
    if not isinstance(text, str):
        return Tuple(file, version, None, None, None, None, None, None, None, None, None, None,
                     rule, acl, mac, 0, 0, Status.MALFORMED.value)
    p = text.split(",")
    ts_raw = _int(p[0])
    if ts_raw is not None and ts_raw < 0:  # before 1970: not a flow-log timestamp
        ts_raw = None
    ts_ms = None if ts_raw is None else (ts_raw if ts_raw > MS_THRESHOLD else ts_raw * 1000)
    field = p.__getitem__

    def at(i: int) -> str | None:
        return field(i) if i < len(p) else None

    src, dst = at(1), at(2)
    src_port = _port(p[3]) if len(p) > 3 else None
    dst_port = _port(p[4]) if len(p) > 4 else None
    proto_code = at(5)
    protocol = PROTOCOLS.get(proto_code, proto_code) if proto_code is not None else None
    direction = DIRECTIONS.get(at(6) or "")
    if version in VNET_VERSIONS:
        state = at(7)
        decision = (Decision.DENY.value if state == VNET_DENY_STATE
                    else Decision.ALLOW.value if state in VNET_ALLOW_STATES else None)
        encryption = at(8)
    else:
        decision = NSG_DECISIONS.get(at(7) or "")
        state = at(8)
        encryption = None
    packets = _counter(p, 9) + _counter(p, 11)
    nbytes = _counter(p, 10) + _counter(p, 12)
    ok = (len(p) == TUPLE_FIELDS[version] and ts_raw is not None
          and src_port is not None and 0 <= src_port <= MAX_PORT
          and dst_port is not None and 0 <= dst_port <= MAX_PORT
          and direction is not None and decision is not None)
    return Tuple(file, version, ts_ms, src, dst, src_port, dst_port, protocol, direction,
                 decision, state, encryption, rule, acl, mac, packets, nbytes,
                 Status.OK.value if ok else Status.MALFORMED.value)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _version(record: Mapping[str, Any]) -> str | None:
    version = _text(record.get(FLOW_LOG_VERSION))
    if version is None:
        props = record.get(PROPERTIES)
        if isinstance(props, Mapping):
            version = _text(props.get(VERSION))
    return version


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _placeholder(file: str, version: str | None, status: Status) -> Tuple:
    return Tuple(file, version, None, None, None, None, None, None, None, None, None, None, None,
                 None, None, 0, 0, status.value)


def record_tuples(file: str, record: object) -> Iterator[Tuple]:
    """The normalised tuples of one record; a record of an unknown version yields one
    placeholder row with status ``unknown_version`` so that it can be counted."""
    if not isinstance(record, Mapping):
        yield _placeholder(file, None, Status.NOT_FLOW_LOG)
        return
    version = _version(record)
    if version is None:
        yield _placeholder(file, None, Status.NOT_FLOW_LOG)
        return
    if version not in KNOWN_VERSIONS:
        yield _placeholder(file, version, Status.UNKNOWN_VERSION)
        return
    if version in VNET_VERSIONS:
        mac = _text(record.get(MAC_ADDRESS))
        for flow_item in _list(_map(record.get(FLOW_RECORDS)).get(FLOWS)):
            flow = _map(flow_item)
            acl = _text(flow.get(ACL_ID))
            for group_item in _list(flow.get(FLOW_GROUPS)):
                group = _map(group_item)
                rule = _text(group.get(RULE))
                for text in _list(group.get(FLOW_TUPLES)):
                    yield normalise_tuple(file, version, rule, acl, mac, text)
    else:
        acl = _text(record.get(RESOURCE_ID))
        for flow_item in _list(_map(record.get(PROPERTIES)).get(FLOWS)):
            flow = _map(flow_item)
            rule = _text(flow.get(RULE))
            for mac_item in _list(flow.get(FLOWS)):
                by_mac = _map(mac_item)
                mac = _text(by_mac.get(MAC))
                for text in _list(by_mac.get(FLOW_TUPLES)):
                    yield normalise_tuple(file, version, rule, acl, mac, text)


def iter_tuples(file: str, value: object) -> Iterator[Tuple]:
    """The normalised tuples of one top-level JSON value: a blob or a single record."""
    if isinstance(value, Mapping) and isinstance(value.get(RECORDS), list):
        for record in value[RECORDS]:
            yield from record_tuples(file, record)
    else:
        yield from record_tuples(file, value)
