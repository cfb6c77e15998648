"""Flow logs as evidence: VNet flow logs (v4) and NSG flow logs (v1, v2), at any scale.

SQL on DuckDB (embedded, the default; extra ``vnetdoctor[flowlogs]``) or the same SQL on Apache
Spark (extra ``vnetdoctor[spark]``) over ``PT1H.json`` blobs, one-record-per-line files (Event
Hubs, log shippers), folders, globs and Azure's storage layout, with an optional Parquet cache.
Broken input (truncated blobs, a blob still being written, unknown versions, malformed tuples) is
skipped with a counted warning naming the file: never a crash, never silent.

The library API::

    from vnetdoctor import flowlogs

    # The flows command: aggregated by 5-tuple, direction, decision and rule.
    flt = flowlogs.build_filter(src="10.1.0.0/16", port=1433, decision="deny", since="2h")
    report = flowlogs.scan(["logs/"], flt, cache=".flowlog-cache")
    report.flows, report.top_denied, report.top_talkers, report.summary, report.warnings

    # For diagnose: which rule dropped real traffic between two VMs, and when.
    flowlogs.denied_flows(["logs/"], "10.1.1.4", "10.2.0.5", 1433, "tcp")
        -> [DeniedFlow(src, dst, dst_port, protocol, direction, rule, acl, count,
                       first_seen, last_seen, file), ...]      # oldest first; [] if none
    # For the SNAT step: most flows open at once from the source to that destination.
    flowlogs.concurrent_flows(["logs/"], "10.1.1.4", "52.239.184.180", 443, "tcp")
        -> int, or None when the logs hold no tuple from the source at all
    # Both in one scan (and the warnings and summary to cite):
    flowlogs.pair_evidence(["logs/"], "10.1.1.4", "10.2.0.5", 1433, "tcp")
        -> PairEvidence(denied, concurrent, tuples_from_source, summary, warnings)

Times are milliseconds since the epoch (UTC); :func:`format_ms` prints them as ISO 8601. Every
function accepts ``engine="duckdb" | "spark" | <Engine>`` and ``cache=<folder>``. The engine's
package is imported only when a scan runs; without it, :class:`MissingEngine` says what to
install.
"""

from vnetdoctor.flowlogs.api import (
    ENGINES,
    PairEvidence,
    concurrent_flows,
    denied_flows,
    open_engine,
    pair_evidence,
    scan,
)
from vnetdoctor.flowlogs.engine import MissingEngine
from vnetdoctor.flowlogs.filters import build_filter, parse_moment, parse_network, parse_protocol
from vnetdoctor.flowlogs.formats import Decision, TrafficDirection
from vnetdoctor.flowlogs.model import (
    DeniedFlow,
    FlowAggregate,
    FlowFilter,
    FlowLogReport,
    FlowLogWarning,
    ScanSummary,
    TalkerSummary,
    WarningKind,
    format_ms,
)

__all__ = [
    "ENGINES",
    "Decision",
    "DeniedFlow",
    "FlowAggregate",
    "FlowFilter",
    "FlowLogReport",
    "FlowLogWarning",
    "MissingEngine",
    "PairEvidence",
    "ScanSummary",
    "TalkerSummary",
    "TrafficDirection",
    "WarningKind",
    "build_filter",
    "concurrent_flows",
    "denied_flows",
    "format_ms",
    "open_engine",
    "pair_evidence",
    "parse_moment",
    "parse_network",
    "parse_protocol",
    "scan",
]
