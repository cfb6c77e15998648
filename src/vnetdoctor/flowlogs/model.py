"""The flow-log result types: filters, aggregated flows, warnings, what was read.

Frozen msgspec structs, like the rest of the model. Times are milliseconds since the epoch (UTC)
inside; JSON output writes them as ISO 8601 (``2024-12-31T09:13:37.757Z``).
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import msgspec

from vnetdoctor.flowlogs.formats import Decision, TrafficDirection

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = [
    "Decision",
    "DeniedFlow",
    "FileStat",
    "FlowAggregate",
    "FlowFilter",
    "FlowLogReport",
    "FlowLogWarning",
    "ScanSummary",
    "TalkerSummary",
    "TrafficDirection",
    "WarningKind",
    "format_ms",
]


class WarningKind(StrEnum):
    """Why some input was skipped. Each has a permanent code (:data:`WARNING_CODES`)."""

    TRUNCATED = "truncated"  # the file ends inside a JSON value
    INCOMPLETE = "incomplete"  # a blob without its closing ']}': still being written
    UNKNOWN_VERSION = "unknown_version"  # records of a version other than 1, 2, 4
    MALFORMED_TUPLES = "malformed_tuples"  # flow tuples with a wrong field count or value
    NOT_FLOW_LOG = "not_flow_log"  # JSON values that are not flow-log records
    UNREADABLE = "unreadable"  # JSON the engine could not parse, or an I/O error
    EMPTY = "empty"  # a file of zero bytes


WARNING_CODES: Final = {
    WarningKind.TRUNCATED: "F001",
    WarningKind.INCOMPLETE: "F002",
    WarningKind.UNKNOWN_VERSION: "F003",
    WarningKind.MALFORMED_TUPLES: "F004",
    WarningKind.NOT_FLOW_LOG: "F005",
    WarningKind.UNREADABLE: "F006",
    WarningKind.EMPTY: "F007",
}


class FlowLogWarning(msgspec.Struct, frozen=True, kw_only=True, order=True):
    """Input that was skipped, never silently: which file, what, and how many.

    ``count`` is the number of files (truncated, incomplete, unreadable, empty), records
    (unknown version, not a flow log) or flow tuples (malformed) skipped in ``file``.
    """

    file: str
    code: str
    kind: WarningKind
    count: int
    message: str

    @classmethod
    def of(cls, kind: WarningKind, file: str, message: str, count: int = 1) -> FlowLogWarning:
        return cls(file=file, code=WARNING_CODES[kind], kind=kind, count=count, message=message)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind.value, "file": self.file,
                "count": self.count, "message": self.message}


class FlowFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which flow tuples to keep. ``None`` means no restriction.

    ``port`` is the destination port (the service). ``since``/``until`` are inclusive bounds in
    milliseconds since the epoch.
    """

    src: IPNetwork | None = None
    dst: IPNetwork | None = None
    port: int | None = None
    protocol: str | None = None  # "Tcp", "Udp", "Icmp", ... (the normalised spelling)
    decision: Decision | None = None
    since: int | None = None
    until: int | None = None

    def matches_addresses(self, src: str, dst: str) -> bool:
        """The address test of :func:`~vnetdoctor.flowlogs.sql.filter_sql`, in Python (the
        reference the engines are tested against)."""
        return _within(src, self.src) and _within(dst, self.dst)


def _within(text: str, network: IPNetwork | None) -> bool:
    """One address as the engines compare it: an IPv4 prefix holds the dotted quads inside it
    (canonical octets only); one IPv4 address is matched as written; one IPv6 address in its
    compressed or exploded spelling, in any case (the ones Azure's logs use)."""
    if network is None:
        return True
    if network.num_addresses == 1:
        address = network.network_address
        if isinstance(address, ipaddress.IPv6Address):
            return text.lower() in {str(address), address.exploded}
        return text == str(address)
    try:
        return ipaddress.ip_address(text) in network
    except ValueError:
        return False


class FlowAggregate(msgspec.Struct, frozen=True, kw_only=True):
    """Flow tuples aggregated by 5-tuple, direction, decision and rule.

    ``count`` is the number of flow tuples aggregated; ``packets`` and ``bytes`` sum both
    directions of the tuples' counters; ``first_seen``/``last_seen`` are in milliseconds.
    """

    first_seen: int
    src: str
    dst: str
    src_port: int
    dst_port: int
    protocol: str
    direction: str
    decision: str
    rule: str | None
    count: int
    packets: int
    bytes: int
    last_seen: int

    def to_json(self) -> dict[str, Any]:
        return {
            "src": self.src, "dst": self.dst, "srcPort": self.src_port, "dstPort": self.dst_port,
            "protocol": self.protocol, "direction": self.direction, "decision": self.decision,
            "rule": self.rule, "count": self.count, "packets": self.packets, "bytes": self.bytes,
            "firstSeen": format_ms(self.first_seen), "lastSeen": format_ms(self.last_seen),
        }


class DeniedFlow(msgspec.Struct, frozen=True, kw_only=True):
    """Real traffic that a rule dropped: for ``diagnose``'s evidence.

    Aggregated over source ports: one row per (source, destination, port, protocol, direction,
    rule, ACL). ``acl`` is the NSG (NSG flow logs: the record's ``resourceId``; VNet flow logs:
    the ``aclID``, an NSG resource id or a GUID). ``file`` is the blob holding the first tuple.
    """

    first_seen: int
    src: str
    dst: str
    dst_port: int
    protocol: str
    direction: str
    rule: str | None
    acl: str | None
    count: int
    last_seen: int
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "src": self.src, "dst": self.dst, "dstPort": self.dst_port, "protocol": self.protocol,
            "direction": self.direction, "rule": self.rule, "acl": self.acl, "count": self.count,
            "firstSeen": format_ms(self.first_seen), "lastSeen": format_ms(self.last_seen),
            "file": self.file,
        }


class TalkerSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A source address and what it sent (all decisions), for the text summary."""

    src: str
    destinations: int
    flows: int
    packets: int
    bytes: int


class FileStat(msgspec.Struct, frozen=True, kw_only=True):
    """Normalised rows per (file, status), as the engines count them."""

    file: str
    status: str
    version: str | None
    rows: int
    first_seen: int | None
    last_seen: int | None


class ScanSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What was read and what was skipped."""

    engine: str
    files: int  # files given (after expanding folders and globs)
    files_read: int
    files_skipped: int
    files_pruned: int  # outside --since/--until by their blob path (y=/m=/d=/h=)
    files_cached: int  # answered from the Parquet cache
    bytes_read: int  # of the files read (parsed)
    tuples: int  # well-formed flow tuples read (before filters)
    tuples_matched: int  # of which matched the filters
    tuples_skipped: int  # malformed
    records_skipped: int  # unknown version or not a flow log
    first_seen: int | None
    last_seen: int | None
    seconds: float
    # not parsed: proven by the pre-filter to hold nothing the question asks for, and nothing to
    # warn about (pair_evidence; see vnetdoctor.flowlogs.prefilter); not in files_read
    files_prefiltered: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine, "files": self.files, "filesRead": self.files_read,
            "filesSkipped": self.files_skipped, "filesPruned": self.files_pruned,
            "filesCached": self.files_cached, "filesPrefiltered": self.files_prefiltered,
            "bytesRead": self.bytes_read,
            "tuples": self.tuples, "tuplesMatched": self.tuples_matched,
            "tuplesSkipped": self.tuples_skipped, "recordsSkipped": self.records_skipped,
            "firstSeen": None if self.first_seen is None else format_ms(self.first_seen),
            "lastSeen": None if self.last_seen is None else format_ms(self.last_seen),
        }


class FlowLogReport(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of :func:`vnetdoctor.flowlogs.scan`.

    ``flows`` are in chronological order (first seen, then the 5-tuple); ``total_flows`` counts
    them all when ``limit`` cut the list short. ``top_denied`` aggregates denied flows over
    source ports; ``top_talkers`` ranks source addresses by bytes.
    """

    flows: tuple[FlowAggregate, ...]
    total_flows: int
    top_denied: tuple[DeniedFlow, ...]
    top_talkers: tuple[TalkerSummary, ...]
    summary: ScanSummary
    warnings: tuple[FlowLogWarning, ...]

    def to_json(self) -> dict[str, Any]:
        """The documented shape: ``{"flows": [...], "warnings": [...]}`` plus ``summary``."""
        return {
            "flows": [flow.to_json() for flow in self.flows],
            "warnings": [warning.to_json() for warning in self.warnings],
            "summary": self.summary.to_json(),
        }


def format_ms(ms: int) -> str:
    """ISO 8601 in UTC with milliseconds: ``2022-09-14T09:00:03.599Z``."""
    seconds, millis = divmod(ms, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"
