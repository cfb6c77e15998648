"""The flow-log library: scan files, aggregate flows, answer diagnose's questions.

Every function takes ``paths`` (files, folders, globs, Azure's blob layout; see
:mod:`~vnetdoctor.flowlogs.discovery`) and runs one scan on an engine: ``"duckdb"`` (default),
``"spark"``, or an :class:`~vnetdoctor.flowlogs.engine.Engine` instance that the caller owns (to
reuse a Spark session, say). ``cache`` names a folder for the Parquet cache
(:mod:`~vnetdoctor.flowlogs.cache`). Broken input is skipped and reported in ``warnings``;
only bad arguments raise (:class:`~vnetdoctor.errors.UsageError`), and a missing engine raises
:class:`~vnetdoctor.flowlogs.engine.MissingEngine`.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from vnetdoctor.errors import UsageError
from vnetdoctor.flowlogs import concurrency, discovery, sql
from vnetdoctor.flowlogs import prefilter as _prefilter
from vnetdoctor.flowlogs.cache import ParquetCache
from vnetdoctor.flowlogs.engine import Engine, Progress, Row
from vnetdoctor.flowlogs.formats import Decision, Status
from vnetdoctor.flowlogs.model import (
    DeniedFlow,
    FlowAggregate,
    FlowFilter,
    FlowLogReport,
    FlowLogWarning,
    ScanSummary,
    TalkerSummary,
    WarningKind,
)

PathArg = str | os.PathLike[str]
EngineArg = str | Engine
RESULT: Final = "vd_result"
ENGINES: Final = ("duckdb", "spark")


def open_engine(name: str = "duckdb", **options: Any) -> Engine:
    """A new engine by name. Options go to its constructor (DuckDB: ``threads``,
    ``memory_limit``, ``temp_directory``; Spark: ``session``, ``master``, ``config``)."""
    if name == "duckdb":
        from vnetdoctor.flowlogs.duck import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        from vnetdoctor.flowlogs.spark import SparkEngine

        return SparkEngine(**options)
    raise UsageError(f"engine {name!r}: expected one of {', '.join(ENGINES)}")


@contextmanager
def _engine(engine: EngineArg) -> Iterator[Engine]:
    if isinstance(engine, str):
        owned = open_engine(engine)
        try:
            yield owned
        finally:
            owned.close()
    else:
        yield engine


def _address(text: str | ipaddress.IPv4Address | ipaddress.IPv6Address, what: str
             ) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        address = ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise UsageError(f"{what} {text!r}: expected an IP address") from None
    return ipaddress.ip_network(address)


@dataclass
class _Scan:
    """What one scan read, skipped and answered."""

    engine: str
    rows: dict[str, list[Row]]
    warnings: list[FlowLogWarning]
    plan: discovery.Plan
    files_cached: int
    unreadable: set[str]
    seconds: float
    stats: list[Row] = field(default_factory=list)
    prefiltered: tuple[discovery.SourceFile, ...] = ()


def _phase(progress: Progress | None, start: float, end: float) -> Progress | None:
    if progress is None:
        return None
    return lambda fraction: progress(start + (end - start) * fraction)


def _run(
    paths: Sequence[PathArg],
    parts: Callable[[sql.Dialect], list[sql.Part]],
    *,
    since: int | None,
    until: int | None,
    engine: EngineArg,
    cache: PathArg | None,
    progress: Progress | None,
    queries: Callable[[Engine], dict[str, list[Row]]] | None = None,
    skip_fetch: frozenset[str] = frozenset(),
    prefilter_by: Callable[[Sequence[discovery.SourceFile]], _prefilter.Split] | None = None,
) -> _Scan:
    started = time.perf_counter()
    plan = discovery.plan(paths, since=since, until=until,
                          exclude=[cache] if cache is not None else [])
    warnings = list(plan.warnings)
    to_read: Sequence[discovery.SourceFile] = plan.files
    skipped: tuple[discovery.SourceFile, ...] = ()
    if prefilter_by is not None and cache is None:
        chosen = prefilter_by(plan.files)
        to_read, skipped = chosen.read, tuple(chosen.skipped)
    cached = 0
    known_stats: list[Row] | None = None
    with _engine(engine) as eng:
        query_progress = progress
        if cache is not None:
            store = ParquetCache(cache)
            hits = store.lookup(plan.files)
            cached = len(plan.files) - len(hits.missing)
            fill_share = 0.8 if hits.missing else 0.0
            new = store.fill(eng, hits.missing, _phase(progress, 0.0, fill_share))
            warnings += new.warnings
            eng.load_parquet({**hits.batches, **new.batches})
            known_stats = [*hits.stats, *new.stats]
            query_progress = _phase(progress, fill_share, 1.0)
        else:
            eng.load_json(to_read)
        # From the cache the per-file counts are known: the scan reads only selected rows.
        all_parts = [*([] if known_stats is not None else [sql.stats_part()]),
                     *parts(eng.dialect)]
        warnings += eng.materialize(RESULT, sql.parts_sql(eng.dialect, all_parts), query_progress)
        rows: dict[str, list[Row]] = {}
        for part in all_parts:
            if part.name in skip_fetch:
                continue
            cols = [f"{part.name}__{key}" for key, _ in part.keys]
            rows[part.name] = eng.fetch(
                f"SELECT {', '.join([*cols, *sql.AGGREGATES])} FROM {RESULT} "  # noqa: S608
                f"WHERE part = {sql.literal(part.name)}"
            )
        if queries is not None:
            rows.update(queries(eng))
        engine_name = eng.name
    stats = known_stats if known_stats is not None else rows.pop("stats")
    # A file is skipped when the engine dropped it (DuckDB) or nothing in it parsed (Spark).
    unreadable = {w.file for w in warnings if w.kind is WarningKind.UNREADABLE}
    statuses: dict[str, set[str]] = defaultdict(set)
    for row in stats:
        statuses[row[0]].add(row[1])
    unreadable |= {file for file, found in statuses.items() if found == {sql.UNREADABLE}}
    scan = _Scan(engine_name, rows, sorted([*warnings, *_stat_warnings(stats)]), plan, cached,
                 unreadable, time.perf_counter() - started)
    scan.stats = stats
    scan.prefiltered = skipped
    return scan


_SKIP_MESSAGES: Final = {
    Status.MALFORMED.value: (
        WarningKind.MALFORMED_TUPLES,
        "{n} flow tuple(s) of version {v} with a wrong field count or value: skipped",
    ),
    Status.UNKNOWN_VERSION.value: (
        WarningKind.UNKNOWN_VERSION,
        "{n} record(s) of version {v!r}: vnetdoctor reads NSG flow logs versions 1 and 2 and "
        "VNet flow logs version 4: skipped",
    ),
    Status.NOT_FLOW_LOG.value: (
        WarningKind.NOT_FLOW_LOG,
        "{n} JSON value(s) that are not flow-log records (no flowLogVersion or "
        "properties.Version): skipped",
    ),
    sql.UNREADABLE: (WarningKind.UNREADABLE,
                     "{n} JSON value(s) the engine cannot parse: skipped"),
}


def _stat_warnings(stats: Sequence[Row]) -> list[FlowLogWarning]:
    out = []
    for file, status, version, n, *_ in stats:
        if status == Status.OK.value:
            continue
        kind, template = _SKIP_MESSAGES.get(
            status, (WarningKind.UNREADABLE, "{n} row(s) of unknown status: skipped"))
        out.append(FlowLogWarning.of(kind, file, template.format(n=n, v=version), count=int(n)))
    return out


def _summary(scan: _Scan, matched: int) -> ScanSummary:
    ok = [row for row in scan.stats if row[1] == Status.OK.value]
    skipped_files = len(scan.plan.warnings) + len(scan.unreadable)
    not_read = scan.unreadable | {f.path for f in scan.prefiltered}
    read = [f for f in scan.plan.files if f.path not in not_read]
    firsts = [row[6] for row in ok if row[6] is not None]
    lasts = [row[7] for row in ok if row[7] is not None]
    return ScanSummary(
        engine=scan.engine,
        files=scan.plan.given,
        files_read=len(read),
        files_skipped=skipped_files,
        files_pruned=scan.plan.pruned,
        files_cached=scan.files_cached,
        files_prefiltered=len(scan.prefiltered),
        bytes_read=sum(f.size for f in read),
        tuples=sum(int(row[3]) for row in ok),
        tuples_matched=matched,
        tuples_skipped=sum(int(r[3]) for r in scan.stats if r[1] == Status.MALFORMED.value),
        records_skipped=sum(int(r[3]) for r in scan.stats
                            if r[1] in (Status.UNKNOWN_VERSION.value, Status.NOT_FLOW_LOG.value)
                            or (r[1] == sql.UNREADABLE and r[0] not in scan.unreadable)),
        first_seen=min(firsts) if firsts else None,
        last_seen=max(lasts) if lasts else None,
        seconds=scan.seconds,
    )


# --- the flows command ----------------------------------------------------------------------


_FLOW_COLS: Final = tuple(f"flows__{key}" for key, _ in sql.FLOW_KEYS)


def scan(
    paths: Sequence[PathArg],
    flt: FlowFilter | None = None,
    *,
    engine: EngineArg = "duckdb",
    cache: PathArg | None = None,
    limit: int | None = None,
    top: int = 10,
    progress: Progress | None = None,
) -> FlowLogReport:
    """Flow tuples aggregated by 5-tuple, direction, decision and rule, with summaries.

    ``limit`` keeps the first flows in chronological order (``total_flows`` still counts all);
    ``top`` is the length of the top-denied and top-talker lists.
    """
    flt = flt or FlowFilter()
    if limit is not None and limit < 0:
        raise UsageError("limit must be >= 0")
    src, dst, _sport, dport, proto, direction, decision, rule = _FLOW_COLS
    where = f"part = {sql.literal('flows')}"
    limit_sql = "" if limit is None else f" LIMIT {int(limit)}"

    def queries(eng: Engine) -> dict[str, list[Row]]:
        deny = sql.literal(Decision.DENY.value)
        return {
            "flow_list": eng.fetch(
                f"SELECT first_ms, {', '.join(_FLOW_COLS)}, n, packets, bytes, last_ms "  # noqa: S608
                f"FROM {RESULT} WHERE {where} "
                f"{sql.order_by(['first_ms', *_FLOW_COLS])}{limit_sql}"
            ),
            "total": eng.fetch(f"SELECT count(*), sum(n) FROM {RESULT} WHERE {where}"),  # noqa: S608
            "denied": eng.fetch(
                f"SELECT min(first_ms) AS first_ms, {src}, {dst}, {dport}, {proto}, "  # noqa: S608
                f"{direction}, {rule}, sum(n) AS total, max(last_ms) AS last_ms "
                f"FROM {RESULT} WHERE {where} AND {decision} = {deny} "
                f"GROUP BY {src}, {dst}, {dport}, {proto}, {direction}, {rule} "
                f"{sql.order_by(['first_ms', src, dst, dport, proto, direction, rule], ['total'])}"
                f" LIMIT {int(top)}"
            ),
            "talkers": eng.fetch(
                f"SELECT {src}, count(DISTINCT {dst}) AS destinations, count(*) AS flows, "  # noqa: S608
                f"{eng.dialect.total('packets')} AS packets, "
                f"{eng.dialect.total('bytes')} AS total_bytes "
                f"FROM {RESULT} WHERE {where} GROUP BY {src} "
                f"{sql.order_by([src], ['total_bytes', 'flows'])} LIMIT {int(top)}"
            ),
        }

    result = _run(paths, lambda d: [sql.flows_part(d, flt)], since=flt.since, until=flt.until,
                  engine=engine, cache=cache, progress=progress, queries=queries,
                  skip_fetch=frozenset({"flows"}))
    flows = tuple(
        FlowAggregate(first_seen=int(r[0]), src=r[1], dst=r[2], src_port=int(r[3]),
                      dst_port=int(r[4]), protocol=r[5], direction=r[6], decision=r[7],
                      rule=r[8], count=int(r[9]), packets=int(r[10]), bytes=int(r[11]),
                      last_seen=int(r[12]))
        for r in result.rows["flow_list"]
    )
    total_flows, matched = result.rows["total"][0]
    denied = tuple(
        DeniedFlow(first_seen=int(r[0]), src=r[1], dst=r[2], dst_port=int(r[3]), protocol=r[4],
                   direction=r[5], rule=r[6], acl=None, count=int(r[7]), last_seen=int(r[8]),
                   file=None)
        for r in result.rows["denied"]
    )
    talkers = tuple(
        TalkerSummary(src=r[0], destinations=int(r[1]), flows=int(r[2]), packets=int(r[3]),
                      bytes=int(r[4]))
        for r in result.rows["talkers"]
    )
    return FlowLogReport(
        flows=flows, total_flows=int(total_flows), top_denied=denied, top_talkers=talkers,
        summary=_summary(result, int(matched or 0)), warnings=tuple(result.warnings),
    )


# --- diagnose's questions -------------------------------------------------------------------


class PairEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the flow logs say about traffic from one address to another.

    ``denied``: real traffic that a rule dropped (see :class:`DeniedFlow`), oldest first.
    ``concurrent``: the most flows open at once from the source to the destination on one
    port and protocol (allowed flows only); ``None`` when no log holds any tuple sent by the
    source, i.e. the logs do not cover it. ``tuples_from_source`` counts those tuples.
    """

    denied: tuple[DeniedFlow, ...]
    concurrent: int | None
    tuples_from_source: int
    summary: ScanSummary
    warnings: tuple[FlowLogWarning, ...]


def pair_evidence(
    paths: Sequence[PathArg],
    src_ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    dst_ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    port: int | None = None,
    protocol: str | None = None,
    *,
    since: int | None = None,
    until: int | None = None,
    engine: EngineArg = "duckdb",
    cache: PathArg | None = None,
    progress: Progress | None = None,
    prefilter: bool = True,
    proofs: _prefilter.Proofs | None = None,
) -> PairEvidence:
    """Denied flows and observed concurrency between two addresses, in one scan.

    ``port`` is the destination port and ``protocol`` any spelling :func:`parse_protocol`
    takes (``"tcp"``, ``"Tcp"``, ``6``); both optional. ``since``/``until`` are ms since the
    epoch.

    ``prefilter`` (on JSON, not with ``cache``): files that cannot hold a tuple sent by
    ``src_ip`` and that would give no warning are not parsed (exact: the answer and the
    warnings are the same as without it; :mod:`~vnetdoctor.flowlogs.prefilter`). The summary
    counts them in ``files_prefiltered``, and its tuple counts and time span cover the files
    read. ``proofs`` keeps which files were proven clean for the next question on the same logs
    (:class:`~vnetdoctor.flowlogs.prefilter.Proofs`); without it they are proven for this call.
    """
    from vnetdoctor.flowlogs.filters import parse_protocol

    src, dst = _address(src_ip, "source"), _address(dst_ip, "destination")
    proto = parse_protocol(str(protocol)) if protocol is not None else None
    if port is not None and not 0 <= int(port) <= 65535:
        raise UsageError(f"port {port}: expected 0-65535")
    def between(decision: Decision) -> FlowFilter:
        return FlowFilter(src=src, dst=dst, port=port, protocol=proto, decision=decision,
                          since=since, until=until)

    def parts(d: sql.Dialect) -> list[sql.Part]:
        denied = between(Decision.DENY)
        allowed = between(Decision.ALLOW)
        seen = FlowFilter(src=src, since=since, until=until)
        return [
            sql.Part("denied", sql.filter_sql(d, denied), (
                ("src", "src"), ("dst", "dst"), ("dst_port", "dst_port"),
                ("protocol", "protocol"), ("direction", "direction"), ("rule", "rule"),
                ("acl", "acl"), ("file", "file"))),
            sql.Part("open", sql.filter_sql(d, allowed), (
                ("src_port", "src_port"), ("dst_port", "dst_port"), ("protocol", "protocol"),
                ("state", "state"), ("ts_ms", "ts_ms"))),
            sql.Part("seen", sql.filter_sql(d, seen), ()),
        ]

    source = src.network_address

    def choose(files: Sequence[discovery.SourceFile]) -> _prefilter.Split:
        return _prefilter.split(files, source, proofs)

    result = _run(paths, parts, since=since, until=until, engine=engine, cache=cache,
                  progress=progress, prefilter_by=choose if prefilter else None)
    seen_rows = result.rows["seen"]
    from_source = int(seen_rows[0][0]) if seen_rows else 0
    observations = [(int(r[0]), int(r[1]), r[2], r[3], int(r[4])) for r in result.rows["open"]]
    peak = concurrency.max_concurrent(concurrency.intervals(observations))
    matched = sum(int(r[8]) for r in result.rows["denied"]) + sum(
        int(r[5]) for r in result.rows["open"])
    return PairEvidence(
        denied=_merge_denied(result.rows["denied"]),
        concurrent=peak if from_source else None,
        tuples_from_source=from_source,
        summary=_summary(result, matched),
        warnings=tuple(result.warnings),
    )


def _merge_denied(rows: Sequence[Row]) -> tuple[DeniedFlow, ...]:
    """Rows per (flow keys, file) -> one DeniedFlow per flow, naming the earliest file."""
    merged: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, None, None, None])
    for src, dst, dport, proto, direction, rule, acl, file, n, _p, _b, first, last in rows:
        entry = merged[(src, dst, int(dport), proto, direction, rule, acl)]
        entry[0] += int(n)
        if entry[1] is None or (int(first), file) < (entry[1], entry[3]):
            entry[1], entry[3] = int(first), file
        entry[2] = int(last) if entry[2] is None else max(entry[2], int(last))
    flows = [
        DeniedFlow(first_seen=first, src=key[0], dst=key[1], dst_port=key[2], protocol=key[3],
                   direction=key[4], rule=key[5], acl=key[6], count=count, last_seen=last,
                   file=file)
        for key, (count, first, last, file) in merged.items()
    ]
    flows.sort(key=lambda f: (f.first_seen, f.direction, f.rule or "", f.acl or "", f.dst_port,
                              f.protocol))
    return tuple(flows)


def denied_flows(
    paths: Sequence[PathArg],
    src_ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    dst_ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    port: int | None = None,
    protocol: str | None = None,
    *,
    since: int | None = None,
    until: int | None = None,
    engine: EngineArg = "duckdb",
    cache: PathArg | None = None,
) -> list[DeniedFlow]:
    """Which rule dropped real traffic from ``src_ip`` to ``dst_ip`` (on ``port``), and when.

    One :class:`DeniedFlow` per (direction, rule, ACL, port, protocol), aggregated over source
    ports, oldest first. An empty list means no denied tuple was logged: combine with
    :func:`pair_evidence` to tell "allowed" from "not covered by these logs".
    """
    return list(pair_evidence(paths, src_ip, dst_ip, port, protocol, since=since, until=until,
                              engine=engine, cache=cache).denied)


def concurrent_flows(
    paths: Sequence[PathArg],
    src_ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    dst_ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    port: int | None = None,
    protocol: str | None = None,
    *,
    since: int | None = None,
    until: int | None = None,
    engine: EngineArg = "duckdb",
    cache: PathArg | None = None,
) -> int | None:
    """The most allowed flows open at once from ``src_ip`` to ``dst_ip`` on one destination
    port and protocol: the observed demand for SNAT ports to that destination. ``None`` when the
    logs hold no tuple from ``src_ip`` at all (no evidence)."""
    return pair_evidence(paths, src_ip, dst_ip, port, protocol, since=since, until=until,
                         engine=engine, cache=cache).concurrent
