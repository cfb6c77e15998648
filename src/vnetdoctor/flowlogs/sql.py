"""The flow-log queries, written once and rendered for DuckDB or Spark SQL.

Both engines run the same statements; a :class:`Dialect` only spells the few things they write
differently (``unnest`` / ``explode``, 1-based list access, ``string_split`` / ``split``, type names
and identifier quoting). The stages are views:

``vd_raw``
    registered by the engine: one row per top-level JSON value, with the union of the blob and
    record columns (``records`` for a blob; ``flowLogVersion``, ``properties``, ... for a bare
    record), plus ``file`` and ``corrupt`` (Spark's PERMISSIVE mode flags unparsable values).
``vd_tuples`` (:func:`normalise_sql`)
    one row per flow tuple in the columns of :data:`~vnetdoctor.flowlogs.formats.TUPLE_COLUMNS`,
    with a ``status``: ``ok``, ``malformed``; records of an unknown version, JSON that is not a
    flow log and unparsable values give one placeholder row each, so that they are counted. The
    Parquet cache stores exactly this relation.
a multi-part aggregate (:func:`parts_sql`)
    one scan answers several questions at once through ``GROUPING SETS``: the per-file counts that
    become warnings and the summary, and e.g. the flows aggregated by 5-tuple. Each part masks
    its keys with its own condition, so that rows outside it collapse into one group.

Nothing user-supplied is pasted into SQL unquoted: file names go through :func:`literal`,
addresses are re-printed from :mod:`ipaddress` objects and ports are ints.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from vnetdoctor.flowlogs import formats as fmt
from vnetdoctor.flowlogs.formats import Status
from vnetdoctor.flowlogs.model import FlowFilter

RAW: Final = "vd_raw"
UNREADABLE: Final = "unreadable"  # status of a value Spark's PERMISSIVE mode could not parse
TUPLES: Final = "vd_tuples"


@dataclass(frozen=True)
class Dialect:
    """How one engine spells what the others write differently."""

    name: str
    quote: str  # identifier quote character
    string_type: str
    explode: str  # the set-returning function for lists
    split_fn: str  # string split function (Spark's takes a regular expression)
    size_fn: str
    one_based_index: bool  # DuckDB: x[1]; Spark: try_element_at(x, 1)

    def q(self, ident: str) -> str:
        return f"{self.quote}{ident}{self.quote}"

    def struct(self, fields: Sequence[tuple[str, str]]) -> str:
        """A struct value from (name, expression) pairs."""
        if self.name == "duckdb":
            return "struct_pack(" + ", ".join(f"{self.q(n)} := {e}" for n, e in fields) + ")"
        return "named_struct(" + ", ".join(f"{literal(n)}, {e}" for n, e in fields) + ")"

    def array(self, items: Sequence[str]) -> str:
        if self.name == "duckdb":
            return "[" + ", ".join(items) + "]"
        return "array(" + ", ".join(items) + ")"

    def transform(self, expr: str, var: str, body: str) -> str:
        """Map a lambda over a list."""
        if self.name == "duckdb":
            return f"list_transform({expr}, lambda {var}: {body})"
        return f"transform({expr}, {var} -> {body})"

    def at(self, expr: str, index: int) -> str:
        """Element ``index`` (1-based) of a list, NULL when out of range."""
        if self.one_based_index:
            return f"{expr}[{index}]"
        return f"try_element_at({expr}, {index})"

    def split(self, expr: str, sep: str) -> str:
        """Split on a single literal character."""
        pattern = sep if self.name == "duckdb" else f"[{sep}]"
        return f"{self.split_fn}({expr}, {literal(pattern)})"

    def lit(self, value: str) -> str:
        """A string literal. Spark reads backslashes as escapes, DuckDB keeps them."""
        if self.name == "spark":
            value = value.replace("\\", "\\\\")
        return "'" + value.replace("'", "''") + "'"

    def cast(self, expr: str, type_: str) -> str:
        type_ = self.string_type if type_ == "STRING" else type_
        return f"CAST({expr} AS {type_})"

    def try_cast(self, expr: str, type_: str) -> str:
        return f"TRY_CAST({expr} AS {type_})"

    def total(self, expr: str) -> str:
        """``sum`` that cannot overflow: DuckDB sums BIGINT into a 128-bit integer, Spark into
        BIGINT (which overflows, or wraps round when ANSI mode is off), so Spark sums decimals."""
        if self.name == "spark":
            return f"sum(CAST({expr} AS DECIMAL(38, 0)))"
        return f"sum({expr})"

    def number(self, expr: str, type_: str) -> str:
        """A number field, read only in its canonical decimal spelling: DuckDB would take
        ``'1e3'``, ``'5.0'`` or ``'0x10'``, Spark would not; both agree on this."""
        value = self.try_cast(expr, type_)
        return f"CASE WHEN CAST({value} AS {self.string_type}) = {expr} THEN {value} END"


DUCKDB: Final = Dialect("duckdb", '"', "VARCHAR", "unnest", "string_split", "len", True)
SPARK: Final = Dialect("spark", "`", "STRING", "explode", "split", "size", False)


def literal(value: str) -> str:
    """A literal for a constant of vnetdoctor's own (same spelling in every dialect)."""
    if "\\" in value or "'" in value:
        raise ValueError(f"not a plain constant: {value!r}")
    return f"'{value}'"


def _in(expr: str, values: Sequence[str]) -> str:
    return f"{expr} IN ({', '.join(literal(v) for v in sorted(values))})"


def _case(expr: str, mapping: dict[str, str], default: str = "NULL") -> str:
    whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {default} END"


def normalise_sql(d: Dialect) -> str:
    """``vd_raw`` -> one row per flow tuple (the body of the ``vd_tuples`` view).

    ``vd_raw`` is read once (Spark would re-read the JSON for every reference): each value
    becomes its records (a bare record is wrapped as a one-record blob), each record its flow
    groups in one shape, ``(acl, rule, mac, tuples)``, whatever its version, and each group its
    tuples. A record that cannot be read as a flow log yields one placeholder group holding one
    NULL tuple, so that it reaches the counts.
    """
    q, x, s = d.q, d.explode, d.string_type
    null = f"CAST(NULL AS {s})"
    bare = d.struct([(name, q(name)) for name in (
        fmt.FLOW_LOG_VERSION, fmt.MAC_ADDRESS, fmt.RESOURCE_ID, fmt.PROPERTIES, fmt.FLOW_RECORDS)])
    v4ver = f"r.{q(fmt.FLOW_LOG_VERSION)}"
    nsgver = f"r.{q(fmt.PROPERTIES)}.{q(fmt.VERSION)}"

    def group(acl: str, rule: str, mac: str, tuples: str) -> str:
        return d.struct([("acl", acl), ("rule", rule), ("mac", mac), ("tuples", tuples)])

    vnet_groups = "flatten(" + d.transform(
        f"r.{q(fmt.FLOW_RECORDS)}.{q(fmt.FLOWS)}", "f",
        d.transform(f"f.{q(fmt.FLOW_GROUPS)}", "g", group(
            f"f.{q(fmt.ACL_ID)}", f"g.{q(fmt.RULE)}", f"r.{q(fmt.MAC_ADDRESS)}",
            f"g.{q(fmt.FLOW_TUPLES)}"))) + ")"
    nsg_groups = "flatten(" + d.transform(
        f"r.{q(fmt.PROPERTIES)}.{q(fmt.FLOWS)}", "f",
        d.transform(f"f.{q(fmt.FLOWS)}", "m", group(
            f"r.{q(fmt.RESOURCE_ID)}", f"f.{q(fmt.RULE)}", f"m.{q(fmt.MAC)}",
            f"m.{q(fmt.FLOW_TUPLES)}"))) + ")"
    placeholder = d.array([group(null, null, null, d.array([null]))])
    vnet = _in(v4ver, sorted(fmt.VNET_VERSIONS))
    nsg = f"{v4ver} IS NULL AND {_in(nsgver, sorted(fmt.NSG_VERSIONS))}"
    known = _in("version", sorted(fmt.KNOWN_VERSIONS))
    p = "p"
    nf = f"coalesce({d.size_fn}(p), 0)"
    ts_raw = d.number(d.at(p, 1), "BIGINT")
    sport, dport = d.number(d.at(p, 4), "INT"), d.number(d.at(p, 5), "INT")

    def counter(column: str) -> str:
        return f"CASE WHEN {column} BETWEEN 0 AND {fmt.MAX_COUNTER} THEN {column} ELSE 0 END"

    is_vnet = _in("version", sorted(fmt.VNET_VERSIONS))
    vnet_decision = _case("f8", dict.fromkeys(fmt.VNET_ALLOW_STATES, fmt.Decision.ALLOW.value)
                          | {fmt.VNET_DENY_STATE: fmt.Decision.DENY.value})
    nsg_decision = _case("f8", dict(fmt.NSG_DECISIONS))
    expected = f"CASE WHEN version = {literal('1')} THEN {fmt.TUPLE_FIELDS['1']} ELSE 13 END"
    return f"""
WITH rec AS (
  SELECT file, corrupt,
    {x}(CASE WHEN records IS NULL THEN {d.array([bare])} ELSE records END) AS r
  FROM {RAW}
),
grp AS (
  SELECT file, corrupt, coalesce({v4ver}, {nsgver}) AS version,
    {x}(CASE WHEN NOT corrupt AND {vnet} THEN {vnet_groups}
             WHEN NOT corrupt AND {nsg} THEN {nsg_groups}
             ELSE {placeholder} END) AS g
  FROM rec
),
tup AS (
  SELECT file, corrupt, version, g.acl AS acl, g.{q("rule")} AS rule, g.mac AS mac,
    {x}(g.tuples) AS t
  FROM grp
),
fields AS (
  SELECT file, corrupt, version, mac, acl, rule, {nf} AS nf, {ts_raw} AS ts_raw,
         {d.at(p, 2)} AS src, {d.at(p, 3)} AS dst, {sport} AS src_port, {dport} AS dst_port,
         {d.at(p, 6)} AS pcode, {d.at(p, 7)} AS dcode, {d.at(p, 8)} AS f8, {d.at(p, 9)} AS f9,
         {", ".join(f"{d.number(d.at(p, i), 'BIGINT')} AS c{i}" for i in range(10, 14))}
  FROM (SELECT file, corrupt, version, mac, acl, rule, {d.split('t', ',')} AS p FROM tup) split
),
decided AS (
  SELECT *,
    {_case("dcode", dict(fmt.DIRECTIONS))} AS direction,
    CASE WHEN {is_vnet} THEN {vnet_decision} ELSE {nsg_decision} END AS decision
  FROM fields
)
SELECT file, version,
  CASE WHEN ts_raw > {fmt.MS_THRESHOLD} THEN ts_raw WHEN ts_raw >= 0 THEN ts_raw * 1000
  END AS ts_ms,
  src, dst, src_port, dst_port, {_case("pcode", dict(fmt.PROTOCOLS), "pcode")} AS protocol,
  direction, decision,
  CASE WHEN {is_vnet} THEN f8 ELSE f9 END AS state,
  CASE WHEN {is_vnet} THEN f9 ELSE {null} END AS encryption,
  rule, acl, mac, {counter("c10")} + {counter("c12")} AS packets,
  {counter("c11")} + {counter("c13")} AS bytes,
  CASE WHEN corrupt THEN {literal(UNREADABLE)}
       WHEN version IS NULL THEN {literal(Status.NOT_FLOW_LOG.value)}
       WHEN NOT {known} THEN {literal(Status.UNKNOWN_VERSION.value)}
       WHEN nf = {expected} AND ts_raw >= 0
        AND src_port BETWEEN 0 AND {fmt.MAX_PORT} AND dst_port BETWEEN 0 AND {fmt.MAX_PORT}
        AND direction IS NOT NULL AND decision IS NOT NULL
       THEN {literal(Status.OK.value)} ELSE {literal(Status.MALFORMED.value)} END AS status
FROM decided
"""  # noqa: S608


def empty_tuples_sql(d: Dialect) -> str:
    """A ``vd_tuples`` body with no rows (nothing to read)."""
    s = d.string_type
    cols = {
        "file": s, "version": s, "ts_ms": "BIGINT", "src": s, "dst": s, "src_port": "INT",
        "dst_port": "INT", "protocol": s, "direction": s, "decision": s, "state": s,
        "encryption": s, "rule": s, "acl": s, "mac": s, "packets": "BIGINT", "bytes": "BIGINT",
        "status": s,
    }
    assert tuple(cols) == fmt.TUPLE_COLUMNS
    body = ", ".join(f"CAST(NULL AS {t}) AS {name}" for name, t in cols.items())
    return f"SELECT {body} FROM (SELECT 1 AS one) nothing WHERE 1 = 0"  # noqa: S608


# --- filters ------------------------------------------------------------------------------------


def ipv4_int(d: Dialect, expr: str) -> str:
    """An IPv4 address string as an integer; NULL unless it is four octets 0-255 in canonical
    decimal (what Python's :mod:`ipaddress` reads: ``10.0.0.300`` and ``010.0.0.1`` are not
    addresses, and must not fall inside a prefix by arithmetic)."""
    parts = d.split(expr, ".")
    octets = [d.number(d.at(parts, i), "BIGINT") for i in range(1, 5)]
    valid = " AND ".join(f"{o} BETWEEN 0 AND 255" for o in octets)
    return (f"CASE WHEN {d.size_fn}({parts}) = 4 AND {valid} THEN "
            f"{octets[0]} * 16777216 + {octets[1]} * 65536 + {octets[2]} * 256 + {octets[3]} "
            f"END")


def _address_condition(d: Dialect, column: str,
                       network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if network.num_addresses == 1:
        address = network.network_address
        spellings = {str(address)}
        if isinstance(address, ipaddress.IPv6Address):
            spellings.add(address.exploded)
            return f"lower({column}) IN ({', '.join(literal(s) for s in sorted(spellings))})"
        return f"{column} = {literal(str(address))}"
    if isinstance(network, ipaddress.IPv6Network):  # rejected earlier by FlowFilter parsing
        raise ValueError("IPv6 prefixes are not supported as flow-log filters")
    low, high = int(network.network_address), int(network.broadcast_address)
    return f"{ipv4_int(d, column)} BETWEEN {low} AND {high}"


def filter_sql(d: Dialect, flt: FlowFilter) -> str:
    """The filter as a boolean SQL expression over ``vd_tuples`` (``ok`` rows only)."""
    terms = [f"status = {literal(Status.OK.value)}"]
    if flt.src is not None:
        terms.append(_address_condition(d, "src", flt.src))
    if flt.dst is not None:
        terms.append(_address_condition(d, "dst", flt.dst))
    if flt.port is not None:
        terms.append(f"dst_port = {int(flt.port)}")
    if flt.protocol is not None:
        terms.append(f"protocol = {literal(flt.protocol)}")
    if flt.decision is not None:
        terms.append(f"decision = {literal(flt.decision.value)}")
    if flt.since is not None:
        terms.append(f"ts_ms >= {int(flt.since)}")
    if flt.until is not None:
        terms.append(f"ts_ms <= {int(flt.until)}")
    return " AND ".join(terms)


# --- multi-part aggregation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One question answered by the shared scan: rows where ``condition`` holds, grouped by
    ``keys`` (output name -> SQL expression over ``vd_tuples``)."""

    name: str
    condition: str
    keys: tuple[tuple[str, str], ...]


AGGREGATES: Final = ("n", "packets", "bytes", "first_ms", "last_ms")
ALL_ROWS: Final = "1 = 1"


def stats_part() -> Part:
    """Rows per (file, status, version): read counts and every reason to warn."""
    return Part("stats", ALL_ROWS, (("file", "file"), ("status", "status"),
                                    ("version", "version")))


def parts_sql(d: Dialect, parts: Sequence[Part]) -> str:
    """One scan of ``vd_tuples`` answering every part. Output columns: ``part`` (the part's
    name), each part's keys (``<part>__<key>``, NULL in other parts' rows) and
    :data:`AGGREGATES`. Each condition is evaluated once per row (``<part>__in``)."""
    flags, masked, sets, tags = [], [], [], []
    for part in parts:
        tag = f"{part.name}__in"
        flags.append(f"CASE WHEN {part.condition} THEN 1 END AS {tag}")
        masked.append(tag)
        cols = [tag]
        for key, expr in part.keys:
            col = f"{part.name}__{key}"
            masked.append(f"CASE WHEN {tag} = 1 THEN {expr} END AS {col}")
            cols.append(col)
        sets.append(f"({', '.join(cols)})")
        tags.append(tag)
    which = " ".join(
        f"WHEN g_{part.name} = 0 THEN {literal(part.name)}" for part in parts
    )
    key_cols = [f"{p.name}__{k}" for p in parts for k, _ in p.keys]
    groupings = ", ".join(f"GROUPING({tag}) AS g_{part.name}, {tag}"
                          for part, tag in zip(parts, tags, strict=True))
    keep = " OR ".join(f"(g_{part.name} = 0 AND {tag} IS NOT NULL)"
                       for part, tag in zip(parts, tags, strict=True))
    keys = ", ".join(key_cols) if key_cols else "NULL AS nothing"
    # Rows in no part matter to none: say so, and an engine skips them early (in the Parquet
    # scan). Not with the stats part, which counts every row.
    conditions = [part.condition for part in parts]
    where = ("" if ALL_ROWS in conditions
             else "WHERE " + " OR ".join(f"({c})" for c in conditions))
    return f"""
SELECT CASE {which} END AS part, {keys}, {', '.join(AGGREGATES)}
FROM (
  SELECT {groupings}, {keys},
    count(*) AS n, {d.total("packets")} AS packets, {d.total("bytes")} AS bytes,
    min(ts_ms) AS first_ms, max(ts_ms) AS last_ms
  FROM (SELECT packets, bytes, ts_ms, {', '.join(masked)}
        FROM (SELECT *, {', '.join(flags)} FROM {TUPLES} {where}) flagged) masked
  GROUP BY GROUPING SETS ({', '.join(sets)})
) grouped
WHERE {keep}
"""  # noqa: S608


FLOW_KEYS: Final = (
    ("src", "src"), ("dst", "dst"), ("src_port", "src_port"), ("dst_port", "dst_port"),
    ("protocol", "protocol"), ("direction", "direction"), ("decision", "decision"),
    ("rule", "rule"),
)


def flows_part(d: Dialect, flt: FlowFilter) -> Part:
    """Flow tuples aggregated by 5-tuple, direction, decision and rule."""
    return Part("flows", filter_sql(d, flt), FLOW_KEYS)


def order_by(columns: Sequence[str], desc: Sequence[str] = ()) -> str:
    """A total order that both engines apply the same way (NULLs placed explicitly)."""
    terms = [f"{c} DESC NULLS LAST" for c in desc] + [f"{c} ASC NULLS LAST" for c in columns]
    return "ORDER BY " + ", ".join(terms)
