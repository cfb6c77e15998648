"""Benchmark the flow-log engines on >= 1 GB of realistic blobs (see FLOWLOGS.md beside this file).

Run: ``.venv/bin/python benchmarks/bench_flowlogs.py [--gb 1.0] [--seed 0] [--out DIR]
[--spark-mb 64] [--no-spark]``.

In one process and on the same files it measures:

* **generate**: realistic ``PT1H.json`` blobs in Azure's storage layout (below), into a
  temporary folder (or ``--out``, kept for re-runs with ``--reuse``);
* **python loop** (the baseline): ``json.load`` each blob and aggregate every flow tuple by
  5-tuple, direction, decision and rule in a dict, the plain way;
* **duckdb scan**: ``vnetdoctor.flowlogs.scan`` on the JSON, the same aggregate (plus the summaries
  and the per-file counts), and two narrower questions: denied RDP (``--decision deny --port
  3389``) and ``pair_evidence`` (diagnose's one-scan question), parsing every blob and with the
  pre-filter that skips blobs which cannot hold the source's tuples, for the first denied-RDP
  pair and for a VM-to-VM pair (SQL between two NICs of a subnet), each against its loop;
* **duckdb cache**: the first scan with ``cache=`` (JSON -> Parquet) and a repeated scan from it;
* **spark**: the same scan on a subset (``--spark-mb``) in local mode, its flows compared with
  DuckDB's row by row.

Throughput is MB/s (10^6 bytes of JSON per second) and tuples/s. The DuckDB and loop aggregates
are compared (number of flows, tuples, packets, bytes; and every flow of the denied-RDP query).
Targets (printed PASS/MISS): DuckDB >= 10x the loop; a full scan of 1 GB <= 60 s. Two floor rows
(DuckDB's ``read_json`` + unnest with no tuple parsed; ``json.load`` alone) give the ceiling of
any ratio on the raw JSON: the floor's throughput over the loop's, printed per question.

The generator (``generate_blobs``) writes what real NICs log, deterministically for a seed:
80% of the bytes VNet flow logs (flowLogVersion 4: ms timestamps, IANA protocol numbers, state D
for denied, encryption NX), 20% NSG flow logs version 2 (second timestamps, T/U, A/D, empty
counters on B tuples); one record per minute per blob; about one blob in 25 of about 40 MB (above
DuckDB's 16 MB default ``maximum_object_size``), the others about 6 MB. Traffic: outbound HTTPS
(B, C, E tuples with counters, ephemeral source ports), east-west SQL allowed by a user rule, RDP
from other spokes denied by a user rule, Internet scanners denied by ``DefaultRule_DenyAllInBound``,
NTP and DNS over UDP, and Azure platform traffic (``PlatformRule``). Paths follow
``insights-logs-flowlogflowevent/flowLogResourceID=/.../y=/m=/d=/h=/m=00/macAddress=/PT1H.json``
and ``insights-logs-networksecuritygroupflowevent/resourceId=/.../PT1H.json``.

Exit status: 0 when measured (whatever PASS/MISS says), 1 when vnetdoctor's flow-log engine cannot
be imported or the engines disagree.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 10.0
TARGET_SECONDS_PER_GB = 60.0

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000AA"
START = datetime(2025, 3, 14, 0, 0, tzinfo=UTC)
TUPLE_BYTES = 70  # typical length of one tuple string, with its quotes and comma


@dataclass(frozen=True)
class GeneratedSet:
    """What :func:`generate_blobs` wrote."""

    files: tuple[Path, ...]
    bytes: int
    tuples: int
    records: int


@dataclass(frozen=True)
class _Nic:
    name: str
    mac: str
    ip: str
    subnet: int
    nsg: str


def _nics(rng: random.Random, count: int) -> list[_Nic]:
    nics = []
    for i in range(count):
        subnet = 1 + i % 4
        mac = "".join(f"{rng.randrange(256):02X}" for _ in range(6))
        nics.append(_Nic(f"vm{i:04d}-nic", mac, f"10.1.{subnet}.{4 + i // 4 % 250}", subnet,
                         f"nsg-spoke{subnet}"))
    return nics


def _public_ip(rng: random.Random) -> str:
    first = rng.choice((13, 20, 23, 35, 40, 52, 104, 162, 185, 198))
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


class _Traffic:
    """Generates the tuples of one record: (rule, acl, tuple fields) for one minute."""

    def __init__(self, rng: random.Random, nic: _Nic, minute_ms: int) -> None:
        self.rng = rng
        self.nic = nic
        self.t0 = minute_ms

    def ts(self) -> int:
        return self.t0 + self.rng.randrange(60_000)

    def groups(self, n: int) -> dict[str, list[tuple[int, str, str, int, int, int, str, str]]]:
        """``n`` tuples as rule -> [(ms, src, dst, sport, dport, proto, dir, state)] plus counters
        chosen by the caller; state ``D`` means denied."""
        rng, ip = self.rng, self.nic.ip
        out: dict[str, list[tuple[int, str, str, int, int, int, str, str]]] = {}
        produced = 0
        while produced < n:
            kind = rng.random()
            if kind < 0.45:  # outbound HTTPS: B, C, E of one connection
                sport, dst = rng.randrange(1024, 65536), _public_ip(rng)
                start = self.ts()
                rows = [(start, ip, dst, sport, 443, 6, "O", "B"),
                        (start + rng.randrange(1, 4000), ip, dst, sport, 443, 6, "O", "C"),
                        (start + rng.randrange(4000, 9000), ip, dst, sport, 443, 6, "O", "E")]
                out.setdefault("DefaultRule_AllowInternetOutBound", []).extend(rows)
                produced += 3
            elif kind < 0.60:  # app tier -> SQL, allowed
                src = f"10.1.{self.nic.subnet}.{rng.randrange(4, 60)}"
                sport, start = rng.randrange(1024, 65536), self.ts()
                rows = [(start, src, ip, sport, 1433, 6, "I", "B"),
                        (start + rng.randrange(1, 30_000), src, ip, sport, 1433, 6, "I", "E")]
                out.setdefault("UserRule_AllowSqlFromApp", []).extend(rows)
                produced += 2
            elif kind < 0.68:  # RDP from other spokes, denied
                src = f"10.{rng.choice((2, 3))}.{rng.randrange(1, 5)}.{rng.randrange(4, 60)}"
                out.setdefault("UserRule_DenyRdpFromSpokes", []).append(
                    (self.ts(), src, ip, rng.randrange(1024, 65536), 3389, 6, "I", "D"))
                produced += 1
            elif kind < 0.93:  # Internet scanners
                proto = 17 if rng.random() < 0.1 else 6
                out.setdefault("DefaultRule_DenyAllInBound", []).append(
                    (self.ts(), _public_ip(rng), ip, rng.randrange(1024, 65536),
                     rng.randrange(1, 65536), proto, "I", "D"))
                produced += 1
            elif kind < 0.98:  # NTP / DNS
                dport = rng.choice((53, 123))
                dst = "168.63.129.16" if dport == 53 else "40.119.6.228"
                sport, start = rng.randrange(1024, 65536), self.ts()
                rows = [(start, ip, dst, sport, dport, 17, "O", "B"),
                        (start + rng.randrange(1, 2000), ip, dst, sport, dport, 17, "O", "E")]
                out.setdefault("DefaultRule_AllowInternetOutBound", []).extend(rows)
                produced += 2
            else:  # platform
                out.setdefault("PlatformRule", []).append(
                    (self.ts(), "168.63.129.16", ip, rng.randrange(1024, 65536), 80, 6, "I", "E"))
                produced += 1
        return out


def _counters(rng: random.Random, state: str) -> tuple[int, int, int, int]:
    if state in ("B", "D"):
        return (0, 0, 0, 0)
    p1, p2 = rng.randrange(1, 60), rng.randrange(1, 80)
    return (p1, p1 * rng.randrange(60, 1400), p2, p2 * rng.randrange(60, 1400))


def _v4_blob(rng: random.Random, nic: _Nic, hour: datetime, per_record: int,
             records: int) -> tuple[str, int]:
    nsg_id = (f"/subscriptions/{SUBSCRIPTION.lower()}/resourceGroups/rg-spokes/providers/"
              f"Microsoft.Network/networkSecurityGroups/{nic.nsg}")
    flowlog = (f"/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/"
               f"MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/"
               f"VNET-SPOKES-FLOWLOG")
    target = (f"/subscriptions/{SUBSCRIPTION.lower()}/resourceGroups/rg-spokes/providers/"
              f"Microsoft.Network/virtualNetworks/vnet-spokes")
    parts, tuples = [], 0
    for minute in range(records):
        at = hour + timedelta(minutes=minute)
        minute_ms = int((at - timedelta(minutes=1)).timestamp() * 1000)
        groups = _Traffic(rng, nic, minute_ms).groups(per_record)
        flows = []
        for rule, rows in groups.items():
            acl = "00000000-0000-0000-0000-000000000000" if rule == "PlatformRule" else nsg_id
            text = ",".join(
                f'"{ms},{s},{d},{sp},{dp},{pr},{di},{st},NX,'
                f'{",".join(map(str, _counters(rng, st)))}"'
                for ms, s, d, sp, dp, pr, di, st in rows)
            tuples += len(rows)
            flows.append(f'{{"aclID":"{acl}","flowGroups":[{{"rule":"{rule}",'
                         f'"flowTuples":[{text}]}}]}}')
        stamp = (at + timedelta(seconds=rng.randrange(1, 40))).strftime("%Y-%m-%dT%H:%M:%S.%f")
        parts.append(
            f'{{"time":"{stamp}0Z","flowLogVersion":4,'
            f'"flowLogGUID":"1e98aac7-0e3a-4365-8d28-a15797fcb58b","macAddress":"{nic.mac}",'
            f'"category":"FlowLogFlowEvent","flowLogResourceID":"{flowlog}",'
            f'"targetResourceID":"{target}","operationName":"FlowLogFlowEvent",'
            f'"flowRecords":{{"flows":[{",".join(flows)}]}}}}')
    return '{"records":[' + ",\r\n".join(parts) + "]}", tuples


_LETTER = {6: "T", 17: "U"}


def _v2_blob(rng: random.Random, nic: _Nic, hour: datetime, per_record: int,
             records: int) -> tuple[str, int]:
    nsg_id = (f"/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/RG-SPOKES/PROVIDERS/"
              f"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/{nic.nsg.upper()}")
    parts, tuples = [], 0
    for minute in range(records):
        at = hour + timedelta(minutes=minute)
        minute_ms = int((at - timedelta(minutes=1)).timestamp() * 1000)
        groups = _Traffic(rng, nic, minute_ms).groups(per_record)
        flows = []
        for rule, rows in groups.items():
            cells = []
            for ms, s, d, sp, dp, pr, di, st in rows:
                decision = "D" if st == "D" else "A"
                state = "B" if st == "D" else st
                counters = _counters(rng, st)
                stats = ",,," if state == "B" else ",".join(map(str, counters))
                cells.append(f'"{ms // 1000},{s},{d},{sp},{dp},{_LETTER[pr]},{di},{decision},'
                             f'{state},{stats}"')
            tuples += len(rows)
            flows.append(f'{{"rule":"{rule}","flows":[{{"mac":"{nic.mac}",'
                         f'"flowTuples":[{",".join(cells)}]}}]}}')
        stamp = (at + timedelta(seconds=rng.randrange(1, 40))).strftime("%Y-%m-%dT%H:%M:%S.%f")
        parts.append(
            f'{{"time":"{stamp}0Z","systemId":"05cdbee8-43c6-458e-b53c-d707f958c66b",'
            f'"macAddress":"{nic.mac}","category":"NetworkSecurityGroupFlowEvent",'
            f'"resourceId":"{nsg_id}","operationName":"NetworkSecurityGroupFlowEvents",'
            f'"properties":{{"Version":2,"flows":[{",".join(flows)}]}}}}')
    return '{"records":[' + ",\r\n".join(parts) + "]}", tuples


def _blob_path(root: Path, nic: _Nic, hour: datetime, v2: bool) -> Path:
    when = f"y={hour:%Y}/m={hour:%m}/d={hour:%d}/h={hour:%H}/m=00/macAddress={nic.mac}/PT1H.json"
    if v2:
        return root / (f"insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/"
                       f"{SUBSCRIPTION}/RESOURCEGROUPS/RG-SPOKES/PROVIDERS/MICROSOFT.NETWORK/"
                       f"NETWORKSECURITYGROUPS/{nic.nsg.upper()}/{when}")
    return root / (f"insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/"
                   f"{SUBSCRIPTION}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/"
                   f"NETWORKWATCHER_WESTEUROPE/FLOWLOGS/VNET-SPOKES-FLOWLOG/{when}")


def generate_blobs(
    out_dir: Path,
    total_bytes: int,
    *,
    seed: int = 0,
    nsg_share: float = 0.2,
    blob_bytes: int = 6_000_000,
    big_blob_bytes: int = 40_000_000,
    big_every: int = 25,
) -> GeneratedSet:
    """Write blobs under ``out_dir`` until they hold at least ``total_bytes``."""
    rng = random.Random(seed)
    nics = _nics(rng, 64)
    files: list[Path] = []
    written = tuples = records = 0
    index = 0
    while written < total_bytes:
        nic = nics[index % len(nics)]
        hour = START + timedelta(hours=index // len(nics))
        size = big_blob_bytes if big_every and index % big_every == big_every - 1 else blob_bytes
        size = min(size, max(total_bytes - written, 20_000))
        v2 = rng.random() < nsg_share
        n_records = 60
        per_record = max(1, size // n_records // TUPLE_BYTES)
        make = _v2_blob if v2 else _v4_blob
        text, n = make(rng, nic, hour, per_record, n_records)
        path = _blob_path(out_dir, nic, hour, v2)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        path.write_bytes(data)
        files.append(path)
        written += len(data)
        tuples += n
        records += n_records
        index += 1
    return GeneratedSet(tuple(files), written, tuples, records)



# --- the baseline: a plain Python json loop ---------------------------------------------------

Key = tuple[str, str, str, str, str, str, str, str]


_PROTOCOL = {"T": "6", "U": "17"}  # NSG flow logs write letters, VNet flow logs numbers


def _groups(record: dict[str, Any]) -> tuple[list[tuple[str, list[str]]], bool]:
    """A generated record's (rule, tuples) groups, and whether its timestamps are in ms (VNet
    flow logs) rather than seconds (NSG flow logs)."""
    if "flowRecords" in record:
        return [(g["rule"], g["flowTuples"]) for f in record["flowRecords"]["flows"]
                for g in f["flowGroups"]], True
    return [(f["rule"], m["flowTuples"]) for f in record["properties"]["flows"]
            for m in f["flows"]], False


def python_loop(files: Sequence[Path], port: str | None = None, deny_only: bool = False,
                pair: tuple[str, str] | None = None) -> tuple[dict[Key, list[int]], int]:
    """Aggregate every tuple by 5-tuple, direction, decision and rule, the plain way:
    key -> [count, packets, bytes, first ms, last ms]; and the number of tuples read.
    ``port``/``deny_only``/``pair`` keep only tuples to that destination port / denied ones /
    from that source to that destination."""
    agg: dict[Key, list[int]] = {}
    n = 0
    for path in files:
        with open(path, "rb") as handle:
            data = json.load(handle)
        for record in data["records"]:
            groups, millis = _groups(record)
            for rule, tuples in groups:
                for text in tuples:
                    p = text.split(",")
                    n += 1
                    decision = "Deny" if p[7] == "D" else "Allow"
                    if ((port is not None and p[4] != port) or (deny_only and decision != "Deny")
                            or (pair is not None and (p[1], p[2]) != pair)):
                        continue
                    ts = int(p[0]) if millis else int(p[0]) * 1000
                    key = (p[1], p[2], p[3], p[4], _PROTOCOL.get(p[5], p[5]), p[6], decision,
                           rule)
                    packets = int(p[9] or 0) + int(p[11] or 0)
                    nbytes = int(p[10] or 0) + int(p[12] or 0)
                    entry = agg.get(key)
                    if entry is None:
                        agg[key] = [1, packets, nbytes, ts, ts]
                    else:
                        entry[0] += 1
                        entry[1] += packets
                        entry[2] += nbytes
                        entry[3] = min(entry[3], ts)
                        entry[4] = max(entry[4], ts)
    return agg, n


def json_load_only(files: Sequence[Path]) -> int:
    """``json.load`` every blob and nothing else: the part of every loop question that no
    filter avoids. Returns the number of records."""
    records = 0
    for path in files:
        with open(path, "rb") as handle:
            records += len(json.load(handle)["records"])
    return records


def _duckdb_floor(blobs: Path) -> int:
    """DuckDB's JSON reader and the unnesting down to tuple strings, with no tuple parsed
    (``count(*)`` prunes every parsed column): the least any question on the JSON costs."""
    from vnetdoctor.flowlogs import discovery, sql
    from vnetdoctor.flowlogs.duck import DuckDBEngine

    engine = DuckDBEngine()
    try:
        engine.load_json(discovery.plan([blobs]).files)
        return int(engine.fetch(f"SELECT count(*) FROM {sql.TUPLES}")[0][0])
    finally:
        engine.close()


def extract_tuples_csv(files: Sequence[Path], target: Path) -> int:
    """Every tuple, already normalised (ms timestamp, protocol number, direction letter,
    decision, packets, bytes, rule), as one CSV row: the input of the ideal-parser ceiling.
    Returns the number of rows. Not timed: it stands for a JSON parser that costs nothing."""
    n = 0
    with open(target, "w", newline="") as out:
        writer = csv.writer(out)
        for path in files:
            with open(path, "rb") as handle:
                data = json.load(handle)
            for record in data["records"]:
                groups, millis = _groups(record)
                scale = 1 if millis else 1000
                for rule, tuples in groups:
                    for text in tuples:
                        p = text.split(",")
                        writer.writerow((
                            int(p[0]) * scale, p[1], p[2], p[3], p[4], _PROTOCOL.get(p[5], p[5]),
                            p[6], "Deny" if p[7] == "D" else "Allow",
                            int(p[9] or 0) + int(p[11] or 0), int(p[10] or 0) + int(p[12] or 0),
                            rule))
                        n += 1
    return n


_IDEAL_COLUMNS = (("ts_ms", "BIGINT"), ("src", "VARCHAR"), ("dst", "VARCHAR"),
                  ("src_port", "INT"), ("dst_port", "INT"), ("protocol", "VARCHAR"),
                  ("direction", "VARCHAR"), ("decision", "VARCHAR"), ("packets", "BIGINT"),
                  ("bytes", "BIGINT"), ("rule", "VARCHAR"))


def duckdb_ideal(csv_path: Path) -> int:
    """The all-flows answer (what ``scan(limit=100)`` computes: the aggregate by 5-tuple,
    direction, decision and rule, its first 100 flows, the totals, top denied and top talkers)
    from tuples that need no JSON parse and no validation, read by DuckDB's CSV reader. No
    JSON engine can answer faster than this plus its own JSON reading. Returns the flows."""
    import duckdb

    columns = "{" + ", ".join(f"'{name}': '{type_}'" for name, type_ in _IDEAL_COLUMNS) + "}"
    keys = "src, dst, src_port, dst_port, protocol, direction, decision, rule"
    con = duckdb.connect(":memory:", config={"preserve_insertion_order": False})
    try:
        con.execute(
            f"CREATE TEMP TABLE flows AS SELECT {keys}, count(*) AS n, sum(packets) AS packets, "
            f"sum(bytes) AS bytes, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms "
            f"FROM read_csv('{csv_path}', columns = {columns}, header = false) GROUP BY ALL")
        con.execute(f"SELECT * FROM flows ORDER BY first_ms, {keys} LIMIT 100").fetchall()
        con.execute("SELECT count(*), sum(n) FROM flows").fetchall()
        con.execute(
            "SELECT min(first_ms), src, dst, dst_port, protocol, direction, rule, sum(n) AS t "
            "FROM flows WHERE decision = 'Deny' GROUP BY ALL ORDER BY t DESC LIMIT 10"
        ).fetchall()
        con.execute(
            "SELECT src, count(DISTINCT dst), count(*), sum(packets), sum(bytes) AS b "
            "FROM flows GROUP BY src ORDER BY b DESC LIMIT 10").fetchall()
        return int(con.execute("SELECT count(*) FROM flows").fetchone()[0])
    finally:
        con.close()


def _as_loop_keys(flows: Sequence[Any]) -> dict[Key, list[int]]:
    code = {"Tcp": "6", "Udp": "17"}
    return {(f.src, f.dst, str(f.src_port), str(f.dst_port), code.get(f.protocol, f.protocol),
             f.direction[0], f.decision, f.rule): [f.count, f.packets, f.bytes, f.first_seen,
                                                   f.last_seen]
            for f in flows}


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    seconds: float
    megabytes: float
    tuples: int
    note: str = ""

    @property
    def mb_s(self) -> float:
        return self.megabytes / self.seconds if self.seconds else 0.0

    @property
    def tuples_s(self) -> float:
        return self.tuples / self.seconds if self.seconds else 0.0


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_table(rows: Sequence[Row]) -> None:
    print(f"{'measurement':<42} {'seconds':>8} {'MB':>8} {'MB/s':>8} {'tuples/s':>12}  note")
    for row in rows:
        print(f"{row.name:<42} {row.seconds:>8.2f} {row.megabytes:>8.0f} {row.mb_s:>8.1f} "
              f"{row.tuples_s:>12,.0f}  {row.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size to generate (10^9 bytes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="generate here (kept) instead of a temp dir")
    parser.add_argument("--reuse", action="store_true", help="use the blobs already in --out")
    parser.add_argument("--spark-mb", type=float, default=64.0,
                        help="size of the subset Spark scans (0: skip Spark)")
    parser.add_argument("--no-spark", action="store_true", help="skip Spark")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip the ideal-parser ceiling (extracts every tuple to a CSV)")
    parser.add_argument("--loop-mb", type=float, default=0.0,
                        help="run the Python loop on this many MB only (0: all of it)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "src"))
    try:
        from vnetdoctor import flowlogs
    except ImportError as exc:
        print(f"cannot import vnetdoctor.flowlogs: {exc}")
        return 1
    from vnetdoctor.flowlogs import prefilter

    if not __import__("vnetdoctor.flowlogs.duck", fromlist=["available"]).available():
        print("duckdb is not installed: pip install 'vnetdoctor[flowlogs]'")
        return 1

    temp = None
    root = args.out
    if root is None:
        temp = tempfile.mkdtemp(prefix="vnetdoctor-flowlogs-bench-")
        root = Path(temp)
    rows: list[Row] = []
    ok = True
    try:
        blobs = root / "blobs"
        if args.reuse and blobs.is_dir():
            files = sorted(blobs.rglob("PT1H.json"))
            generated = GeneratedSet(tuple(files), sum(f.stat().st_size for f in files), 0, 0)
            print(f"reusing {len(files)} blobs, {generated.bytes / 1e6:.0f} MB under {blobs}")
        else:
            generated, seconds = timed(lambda: generate_blobs(blobs, int(args.gb * 1e9),
                                                              seed=args.seed))
            rows.append(Row("generate", seconds, generated.bytes / 1e6, generated.tuples,
                            f"{len(generated.files)} blobs"))
        files = list(generated.files)
        megabytes = generated.bytes / 1e6
        print(f"{len(files)} blobs, {megabytes:.0f} MB; {os.cpu_count()} CPU(s); "
              f"python {sys.version.split()[0]}")

        deny = flowlogs.build_filter(decision="deny", port=3389)
        report, duck_s = timed(lambda: flowlogs.scan([blobs], limit=100))
        tuples = report.summary.tuples
        rows.append(Row("duckdb scan: all flows + summaries", duck_s, megabytes, tuples,
                        f"{report.total_flows:,} flows"))
        denied, deny_s = timed(lambda: flowlogs.scan([blobs], deny))
        rows.append(Row("duckdb scan: --decision deny --port 3389", deny_s, megabytes, tuples,
                        f"{denied.total_flows:,} flows"))
        first = denied.flows[0]
        pair, pair_s = timed(lambda: flowlogs.pair_evidence([blobs], first.src, first.dst, 3389,
                                                            "tcp", prefilter=False))
        rows.append(Row("duckdb pair_evidence (diagnose)", pair_s, megabytes, tuples,
                        f"{len(pair.denied)} denied rule(s); every blob parsed"))
        proofs = prefilter.Proofs()  # the reader's, kept between the questions below
        pre, pre_s = timed(lambda: flowlogs.pair_evidence([blobs], first.src, first.dst, 3389,
                                                          "tcp", proofs=proofs))
        rows.append(Row("duckdb pair_evidence with pre-filter", pre_s, megabytes, tuples,
                        _skipped_note(pre.summary)))
        same = _same_evidence(pre, pair)
        print(f"pair_evidence with pre-filter == without ({first.src} -> {first.dst}): {same}")
        ok &= same
        # A VM-to-VM question: the source is a NIC, whose address is in few blobs.
        vm_src, vm_dst = _vm_pair(args.seed)
        vm_pair, vm_pair_s = timed(lambda: flowlogs.pair_evidence(
            [blobs], vm_src, vm_dst, 1433, "tcp", prefilter=False))
        rows.append(Row("duckdb pair_evidence VM-to-VM", vm_pair_s, megabytes, tuples,
                        f"{vm_pair.summary.tuples_matched:,} tuples; every blob parsed"))
        vm_pre, vm_pre_s = timed(lambda: flowlogs.pair_evidence([blobs], vm_src, vm_dst, 1433,
                                                                "tcp", proofs=proofs))
        rows.append(Row("duckdb pair_evidence VM-to-VM, pre-filter", vm_pre_s, megabytes,
                        tuples, _skipped_note(vm_pre.summary)))
        same = _same_evidence(vm_pre, vm_pair)
        print(f"pair_evidence with pre-filter == without ({vm_src} -> {vm_dst}): {same}")
        ok &= same
        vm_again, vm_again_s = timed(lambda: flowlogs.pair_evidence([blobs], vm_src, vm_dst, 1433,
                                                                    "tcp", proofs=proofs))
        rows.append(Row("duckdb VM-to-VM, pre-filter, proofs known", vm_again_s, megabytes,
                        tuples, "the same question again: blobs already proven clean"))
        ok &= _same_evidence(vm_again, vm_pair)
        split, split_s = timed(lambda: _prefilter_only(blobs, vm_src))
        rows.append(Row("pre-filter alone (+ discovery), VM-to-VM", split_s, megabytes, 0, split))
        floor, floor_s = timed(lambda: _duckdb_floor(blobs))
        rows.append(Row("duckdb floor: read_json + unnest only", floor_s, megabytes,
                        floor, "no tuple parsed: the least any JSON query costs"))
        ideal_flows = None
        if not args.no_ceiling:
            tuples_csv = root / "tuples.csv"
            extract_tuples_csv(files, tuples_csv)
            ideal_flows, ideal_s = timed(lambda: duckdb_ideal(tuples_csv))
            tuples_csv.unlink()
            rows.append(Row("duckdb ideal: all flows, tuples given as CSV", ideal_s, megabytes,
                            tuples, "no JSON, no validation: the least the aggregate costs"))
            same = ideal_flows == report.total_flows
            print(f"ideal == scan (number of flows): {same}")
            ok &= same
        cache = root / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        _, fill_s = timed(lambda: flowlogs.scan([blobs], deny, cache=cache))
        rows.append(Row("duckdb cache fill + deny 3389", fill_s, megabytes, tuples,
                        "JSON -> Parquet, then the query"))
        cached, cached_s = timed(lambda: flowlogs.scan([blobs], deny, cache=cache))
        rows.append(Row("duckdb from cache: deny 3389", cached_s, megabytes, tuples,
                        f"{cached.summary.files_cached} blobs cached"))
        ok &= cached.flows == denied.flows
        full_cached, full_cached_s = timed(lambda: flowlogs.scan([blobs], limit=100, cache=cache))
        rows.append(Row("duckdb from cache: all flows", full_cached_s, megabytes, tuples))
        ok &= full_cached.total_flows == report.total_flows
        cached_pair, cached_pair_s = timed(lambda: flowlogs.pair_evidence(
            [blobs], first.src, first.dst, 3389, "tcp", cache=cache))
        rows.append(Row("duckdb from cache: pair_evidence", cached_pair_s, megabytes, tuples))
        ok &= cached_pair.denied == pair.denied
        cache_size = sum(p.stat().st_size for p in cache.rglob("*.parquet")) / 1e6
        duck_rss = peak_rss_mb()

        loop_files = files
        if args.loop_mb:
            loop_files, total = [], 0
            for path in files:
                if total >= args.loop_mb * 1e6:
                    break
                loop_files.append(path)
                total += path.stat().st_size
        loop_mb = sum(p.stat().st_size for p in loop_files) / 1e6
        _, load_s = timed(lambda: json_load_only(loop_files))
        rows.append(Row("python floor: json.load only", load_s, loop_mb, 0,
                        "what every loop question pays"))
        (loop_agg, loop_tuples), loop_s = timed(lambda: python_loop(loop_files))
        rows.append(Row("python json loop: all flows (baseline)", loop_s, loop_mb, loop_tuples,
                        f"{len(loop_agg):,} flows"))
        if not args.loop_mb:
            same = (report.total_flows == len(loop_agg) and tuples == loop_tuples
                    and report.summary.tuples_matched == sum(v[0] for v in loop_agg.values()))
            print(f"duckdb == loop (number of flows and tuples): {same}")
            ok &= same
        del loop_agg
        (loop_deny, _), loop_deny_s = timed(lambda: python_loop(loop_files, "3389", True))
        rows.append(Row("python json loop: deny 3389 (baseline)", loop_deny_s, loop_mb,
                        loop_tuples, f"{len(loop_deny):,} flows"))
        if not args.loop_mb:
            same = _as_loop_keys(denied.flows) == loop_deny
            print(f"duckdb == loop (every denied-RDP flow): {same} ({len(loop_deny):,} flows)")
            ok &= same
        del loop_deny
        (loop_pair, _), loop_pair_s = timed(lambda: python_loop(loop_files, "3389",
                                                                pair=(first.src, first.dst)))
        rows.append(Row("python json loop: pair (baseline)", loop_pair_s, loop_mb, loop_tuples,
                        f"{sum(v[0] for v in loop_pair.values())} tuples"))
        if not args.loop_mb:
            same = sum(d.count for d in pair.denied) == sum(
                v[0] for k, v in loop_pair.items() if k[6] == "Deny")
            print(f"duckdb == loop (the pair's denied tuples): {same}")
            ok &= same
        (loop_vm, _), loop_vm_s = timed(lambda: python_loop(loop_files, "1433",
                                                            pair=(vm_src, vm_dst)))
        rows.append(Row("python json loop: VM-to-VM pair (baseline)", loop_vm_s, loop_mb,
                        loop_tuples, f"{sum(v[0] for v in loop_vm.values())} tuples"))
        if not args.loop_mb:
            same = vm_pre.summary.tuples_matched == sum(v[0] for v in loop_vm.values())
            print(f"duckdb == loop (the VM pair's tuples): {same}")
            ok &= same

        spark_mb = 0.0 if args.no_spark else args.spark_mb
        if spark_mb:
            ok &= _spark(flowlogs, files, spark_mb, rows)

        print()
        _print_table(rows)
        print(f"\nParquet cache: {cache_size:.0f} MB for {megabytes:.0f} MB of JSON; "
              f"peak RSS after the DuckDB steps {duck_rss:.0f} MB, at the end "
              f"{peak_rss_mb():.0f} MB")

        def ratio(engine_row: str, loop_row: str) -> float:
            return rows_by(rows, engine_row).mb_s / rows_by(rows, loop_row).mb_s

        loop_all = "python json loop: all flows (baseline)"
        loop_deny_row = "python json loop: deny 3389 (baseline)"
        loop_pair_row = "python json loop: pair (baseline)"
        for label, engine_row, loop_row in (
            ("all flows, JSON", "duckdb scan: all flows + summaries", loop_all),
            ("deny 3389, JSON", "duckdb scan: --decision deny --port 3389", loop_deny_row),
            ("pair, JSON", "duckdb pair_evidence (diagnose)", loop_pair_row),
            ("pair, pre-filter", "duckdb pair_evidence with pre-filter", loop_pair_row),
            ("VM pair, JSON", "duckdb pair_evidence VM-to-VM",
             "python json loop: VM-to-VM pair (baseline)"),
            ("VM pair, pre-filter", "duckdb pair_evidence VM-to-VM, pre-filter",
             "python json loop: VM-to-VM pair (baseline)"),
            ("VM pair, proofs known", "duckdb VM-to-VM, pre-filter, proofs known",
             "python json loop: VM-to-VM pair (baseline)"),
            ("all flows, cached", "duckdb from cache: all flows", loop_all),
            ("deny 3389, cached", "duckdb from cache: deny 3389", loop_deny_row),
            ("pair, cached", "duckdb from cache: pair_evidence", loop_pair_row),
        ):
            value = ratio(engine_row, loop_row)
            verdict = "PASS" if value >= TARGET_RATIO else "MISS"
            print(f"duckdb / loop ({label}):{' ' * (22 - len(label))}{value:5.1f}x  {verdict} "
                  f"(target >= {TARGET_RATIO:.0f}x)")
        floor_mb_s = rows_by(rows, "duckdb floor: read_json + unnest only").mb_s
        for label, loop_row in (("all flows", loop_all), ("deny 3389", loop_deny_row),
                                ("pair", loop_pair_row)):
            cap = floor_mb_s / rows_by(rows, loop_row).mb_s
            print(f"ceiling on raw JSON ({label}):{' ' * (13 - len(label))}{cap:5.1f}x  "
                  "(DuckDB's read_json + unnest alone / the loop)")
        if ideal_flows is not None:
            ideal = rows_by(rows, "duckdb ideal: all flows, tuples given as CSV")
            floor = rows_by(rows, "duckdb floor: read_json + unnest only")
            loop = rows_by(rows, loop_all)
            cap = loop.seconds * (megabytes / loop.megabytes) / (floor.seconds + ideal.seconds)
            print(f"ceiling on raw JSON (all flows, aggregate included): {cap:5.1f}x  "
                  "(the loop / (DuckDB's read_json + unnest + the ideal aggregate))")
        per_gb = duck_s / (megabytes / 1000)
        print(f"full scan of the JSON: {per_gb:.1f} s per GB  "
              f"{'PASS' if per_gb <= TARGET_SECONDS_PER_GB else 'MISS'} "
              f"(target <= {TARGET_SECONDS_PER_GB:.0f} s)")
        print(f"engines and loop agree: {ok}")
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return 0 if ok else 1


def _skipped_note(summary: Any) -> str:
    return (f"{summary.files_prefiltered} of {summary.files} blobs skipped, "
            f"{summary.files_read} parsed")


def _same_evidence(a: Any, b: Any) -> bool:
    def key(e: Any) -> tuple[Any, ...]:
        return sorted(e.denied, key=repr), e.concurrent, e.tuples_from_source, e.warnings

    return bool(key(a) == key(b))


def _vm_pair(seed: int) -> tuple[str, str]:
    """Two NICs of one subnet (the second and the sixth the generator makes): SQL from one to
    the other is allowed traffic they both log."""
    nics = _nics(random.Random(seed), 64)
    return nics[1].ip, nics[5].ip


def _prefilter_only(blobs: Path, address: str) -> str:
    """The pre-filter alone (address search and clean proof), without the engine."""
    import ipaddress

    from vnetdoctor.flowlogs import discovery, prefilter

    files = discovery.plan([blobs]).files
    needle = prefilter.Needle(ipaddress.ip_address(address))
    start = time.perf_counter()
    candidates = []
    for file in files:
        may, data = prefilter.search_file(file, needle)
        if not may:
            candidates.append((file, data))
    search_s = time.perf_counter() - start
    clean = prefilter.proven_clean(candidates)
    proof_s = time.perf_counter() - start - search_s
    return (f"{len(files) - len(candidates)} blobs hold {address} as a source, "
            f"{len(candidates)} do not, {len(clean)} of those proven clean; "
            f"search {search_s:.2f} s, proof {proof_s:.2f} s")


def rows_by(rows: Sequence[Row], name: str) -> Row:
    return next(row for row in rows if row.name == name)


def _spark(flowlogs: Any, files: Sequence[Path], spark_mb: float, rows: list[Row]) -> bool:
    try:
        from vnetdoctor.flowlogs.spark import SparkEngine, local_session
    except ImportError:
        print("pyspark not installed: Spark skipped")
        return True
    subset, total = [], 0
    for path in files:
        if total >= spark_mb * 1e6:
            break
        subset.append(path)
        total += path.stat().st_size
    session, start_s = timed(local_session)
    engine = SparkEngine(session=session)
    mb = total / 1e6
    try:
        _, warm_s = timed(lambda: flowlogs.scan(subset, limit=100, engine=engine))
        rows.append(Row("spark local: first query (JVM warm-up)", warm_s, mb, 0,
                        f"session start {start_s:.1f} s"))
        top, top_s = timed(lambda: flowlogs.scan(subset, limit=100, engine=engine))
        rows.append(Row("spark local: all flows (subset)", top_s, mb, top.summary.tuples,
                        f"{top.total_flows:,} flows, first 100 fetched"))
        duck = flowlogs.scan(subset)
        result, spark_s = timed(lambda: flowlogs.scan(subset, engine=engine))
        rows.append(Row("spark local: all flows, all fetched", spark_s, mb,
                        result.summary.tuples, "every flow collected to Python"))
        duck_deny = flowlogs.scan(subset, flowlogs.build_filter(decision="deny"))
        spark_deny = flowlogs.scan(subset, flowlogs.build_filter(decision="deny"), engine=engine)
    finally:
        engine.close()
        session.stop()
    same = (result.flows == duck.flows and result.total_flows == duck.total_flows
            and result.top_denied == duck.top_denied and result.top_talkers == duck.top_talkers
            and spark_deny.flows == duck_deny.flows)
    print(f"spark == duckdb on {len(subset)} blobs ({total / 1e6:.0f} MB, "
          f"{duck.total_flows:,} flows, {duck_deny.total_flows:,} denied): {same}")
    return same


if __name__ == "__main__":
    sys.exit(main())
