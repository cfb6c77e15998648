"""The DuckDB engine against the plain-Python reference: real samples, filters, bad input,
diagnose's questions and the Parquet cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flowlogs.support import (
    SAMPLES,
    as_dict,
    blob,
    reference_flows,
    v2_record,
    v4_record,
    write,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.flowlogs import (
    FlowFilter,
    WarningKind,
    build_filter,
    concurrent_flows,
    denied_flows,
    pair_evidence,
    scan,
)

pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")

NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1"


@pytest.fixture
def samples(fixtures: Path) -> list[Path]:
    return [fixtures / "flowlogs" / name for name in sorted(SAMPLES)]


@pytest.mark.fixtures
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_equals_the_reference(fixtures: Path, name: str) -> None:
    path = fixtures / "flowlogs" / name
    report = scan([path])
    assert as_dict(report.flows) == reference_flows([path])
    assert report.summary.tuples == SAMPLES[name]
    assert report.summary.files_read == 1
    assert report.warnings == ()


@pytest.mark.fixtures
def test_all_samples_together(samples: list[Path]) -> None:
    report = scan(samples)
    expected = reference_flows(samples)
    assert as_dict(report.flows) == expected
    assert report.total_flows == len(expected) == len(report.flows)
    assert report.summary.tuples == report.summary.tuples_matched == sum(SAMPLES.values())
    firsts = [(f.first_seen, f.src, f.dst, f.src_port, f.dst_port) for f in report.flows]
    assert firsts == sorted(firsts)  # chronological


@pytest.mark.fixtures
@pytest.mark.parametrize("options", [
    {"src": "10.1.0.0/16"},
    {"dst": "10.1.0.4", "decision": "deny"},
    {"port": 443, "protocol": "tcp"},
    {"protocol": "17"},
    {"decision": "allow", "since": "2024-12-31T09:13:00Z", "until": "2024-12-31T09:14:00Z"},
    {"src": "0.0.0.0/1", "dst": "10.0.0.0/8", "port": 22},
])
def test_filters_equal_the_reference(samples: list[Path], options: dict[str, object]) -> None:
    flt = build_filter(**options)  # type: ignore[arg-type]
    report = scan(samples, flt)
    expected = reference_flows(samples, flt)
    assert expected, "the filter should match something in the samples"
    assert as_dict(report.flows) == expected
    assert report.summary.tuples_matched == sum(v[0] for v in expected.values())


@pytest.mark.fixtures
def test_limit_keeps_the_oldest_and_counts_all(samples: list[Path]) -> None:
    full = scan(samples)
    cut = scan(samples, limit=5)
    assert cut.flows == full.flows[:5]
    assert cut.total_flows == full.total_flows


@pytest.mark.fixtures
def test_summaries(samples: list[Path]) -> None:
    report = scan(samples, top=3)
    assert len(report.top_denied) == 3
    counts = [d.count for d in report.top_denied]
    assert counts == sorted(counts, reverse=True)
    assert all(d.src for d in report.top_denied)
    assert all(d.rule for d in report.top_denied)
    talker = report.top_talkers[0]
    assert talker.src == "10.1.0.4"  # the SumoLogic VM: most bytes
    assert talker.bytes == sum(f.bytes for f in report.flows if f.src == "10.1.0.4")


def _tuple(ts: int, src: str, dst: str, sport: int, dport: int, state: str,
           counters: str = "0,0,0,0") -> str:
    return f"{ts},{src},{dst},{sport},{dport},6,O,{state},NX,{counters}"


@pytest.fixture
def broken(tmp_path: Path) -> tuple[Path, list[Path]]:
    """One good blob and every kind of bad input beside it."""
    good = write(tmp_path / "good" / "PT1H.json",
                 blob(v4_record([_tuple(1741943000000, "10.1.1.4", "10.2.0.5", 50000, 1433,
                                        "D")])))
    record = json.dumps(v4_record([_tuple(1741943000000, "10.1.1.4", "10.2.0.5", 1, 2, "B")]))
    bad = [
        write(tmp_path / "truncated" / "PT1H.json", '{"records":[' + record[:-30]),
        write(tmp_path / "midwrite" / "PT1H.json", '{"records":[' + record + "," + record),
        write(tmp_path / "empty" / "PT1H.json", ""),
        # passes the cheap checks, but is not JSON inside: DuckDB names it, it is dropped
        write(tmp_path / "corrupt" / "PT1H.json", '{"records":[' + record[:100] + "]}"),
        # flowTuples is a string: a type DuckDB cannot read as the schema says
        write(tmp_path / "wrongtype" / "PT1H.json",
              blob(v4_record(["x"])).replace('["x"]', '"x"')),
        write(tmp_path / "versions" / "PT1H.json",
              blob(v4_record([_tuple(1741943000000, "10.1.1.4", "10.2.0.5", 3, 4, "B")],
                             version=5),
                   v4_record(["1741943000000,10.1.1.4,10.2.0.5,5,6,6,O,B,NX,0,0,0",
                              _tuple(1741943000001, "10.1.1.4", "10.2.0.5", 7, 8, "B")]),
                   {"category": "NetworkSecurityGroupEvent"})),
    ]
    return good, bad


def test_bad_input_is_skipped_with_counted_warnings(broken: tuple[Path, list[Path]]) -> None:
    good, bad = broken
    report = scan([good, *bad])
    kinds = {(Path(w.file).parent.name, w.kind, w.count) for w in report.warnings}
    assert kinds == {
        ("truncated", WarningKind.TRUNCATED, 1),
        ("midwrite", WarningKind.INCOMPLETE, 1),
        ("empty", WarningKind.EMPTY, 1),
        ("corrupt", WarningKind.UNREADABLE, 1),
        ("wrongtype", WarningKind.UNREADABLE, 1),
        ("versions", WarningKind.UNKNOWN_VERSION, 1),
        ("versions", WarningKind.MALFORMED_TUPLES, 1),
        ("versions", WarningKind.NOT_FLOW_LOG, 1),
    }
    for warning in report.warnings:
        assert os.path.isabs(warning.file)
        assert warning.message
    version = next(w for w in report.warnings if w.kind is WarningKind.UNKNOWN_VERSION)
    assert "'5'" in version.message
    # The good blob and the readable part of the mixed one are still answered, exactly.
    readable = [good, bad[-1]]
    assert as_dict(report.flows) == reference_flows(readable)
    summary = report.summary
    assert (summary.files, summary.files_read, summary.files_skipped) == (7, 2, 5)
    assert (summary.tuples, summary.tuples_skipped, summary.records_skipped) == (2, 1, 2)


def test_nothing_readable_is_not_an_error_of_the_library(tmp_path: Path) -> None:
    path = write(tmp_path / "PT1H.json", '{"records":[{"flowLogVersion":4,')
    report = scan([path])
    assert report.flows == ()
    assert [w.kind for w in report.warnings] == [WarningKind.TRUNCATED]


def test_one_record_per_line_as_event_hubs_deliver(tmp_path: Path) -> None:
    lines = [
        json.dumps(v4_record([_tuple(1741943000000, "10.1.1.4", "10.2.0.5", 50000, 1433, "D")])),
        json.dumps({"records": [
            v2_record(["1741943001,10.1.1.4,10.2.0.5,50001,1433,T,O,D,B,,,,"])]}),
        json.dumps(v2_record(["1741943002,10.1.1.4,10.2.0.5,50002,1433,T,O,A"], version=1)),
    ]
    path = write(tmp_path / "capture.jsonl", "\n".join(lines) + "\n")
    report = scan([path])
    assert as_dict(report.flows) == reference_flows([path])
    assert report.summary.tuples == 3
    assert report.warnings == ()


def test_ipv6_addresses(tmp_path: Path) -> None:
    path = write(tmp_path / "PT1H.json", blob(v4_record([
        "1741943000000,2001:db8::4,2001:db8:1::5,50000,443,6,O,B,NX,0,0,0,0",
        "1741943000001,10.1.1.4,10.2.0.5,50000,443,6,O,B,NX,0,0,0,0"])))
    report = scan([path], build_filter(src="2001:0db8::4"))
    assert [f.src for f in report.flows] == ["2001:db8::4"]
    with pytest.raises(UsageError, match="IPv6"):
        build_filter(dst="2001:db8::/32")


@pytest.fixture
def pair_logs(tmp_path: Path) -> Path:
    """10.1.1.4 -> 10.2.0.5:1433 denied by two rules; 10.1.1.4 -> 52.239.1.1:443 with overlapping
    connections: three open at once at t0 + 4.5 s (40000, 40001 whose end was not logged, and
    40002), and source port 40000 reused after its end."""
    a, b, web = "10.1.1.4", "10.2.0.5", "52.239.1.1"
    t0 = 1741943000000
    outbound = [
        _tuple(t0, a, web, 40000, 443, "B"),
        _tuple(t0 + 5000, a, web, 40000, 443, "E", "3,300,2,200"),
        _tuple(t0 + 1000, a, web, 40001, 443, "B"), _tuple(t0 + 4500, a, web, 40001, 443, "C"),
        _tuple(t0 + 4000, a, web, 40002, 443, "B"), _tuple(t0 + 9000, a, web, 40002, 443, "E"),
        # 40000 reused after its end: a new flow, not one long one
        _tuple(t0 + 7000, a, web, 40000, 443, "B"), _tuple(t0 + 8000, a, web, 40000, 443, "E"),
        _tuple(t0 + 1500, a, web, 40003, 80, "B"),  # another port: its own SNAT budget
    ]
    denied_out = [_tuple(t0 + 100, a, b, 50000 + i, 1433, "D") for i in range(3)]
    denied_in = [f"{t0 + 200 + i},{a},{b},{51000 + i},1433,6,I,D,NX,0,0,0,0" for i in range(2)]
    write(tmp_path / "src-nic" / "PT1H.json", blob(
        v4_record(outbound, rule="DefaultRule_AllowInternetOutBound"),
        v4_record(denied_out, rule="UserRule_DenySqlOut")))
    write(tmp_path / "dst-nic" / "PT1H.json", blob(
        v4_record(denied_in, rule="DefaultRule_DenyAllInBound", acl=NSG + "-db")))
    return tmp_path


def test_denied_flows_name_the_rule_and_when(pair_logs: Path) -> None:
    denied = denied_flows([pair_logs], "10.1.1.4", "10.2.0.5", 1433, "tcp")
    assert [(d.direction, d.rule, d.acl, d.count) for d in denied] == [
        ("Outbound", "UserRule_DenySqlOut", NSG, 3),
        ("Inbound", "DefaultRule_DenyAllInBound", NSG + "-db", 2),
    ]
    first = denied[0]
    assert (first.first_seen, first.last_seen) == (1741943000100, 1741943000100)
    assert first.file is not None
    assert first.file.endswith("src-nic/PT1H.json")
    assert denied_flows([pair_logs], "10.1.1.4", "10.2.0.5", 3389) == []


def test_concurrent_flows(pair_logs: Path) -> None:
    assert concurrent_flows([pair_logs], "10.1.1.4", "52.239.1.1") == 3
    assert concurrent_flows([pair_logs], "10.1.1.4", "52.239.1.1", 80) == 1
    assert concurrent_flows([pair_logs], "10.1.1.4", "10.9.9.9") == 0  # covered, no traffic
    assert concurrent_flows([pair_logs], "10.7.7.7", "52.239.1.1") is None  # not covered


def test_pair_evidence_is_one_scan(pair_logs: Path) -> None:
    evidence = pair_evidence([pair_logs], "10.1.1.4", "52.239.1.1", protocol="Tcp")
    assert evidence.denied == ()
    assert evidence.concurrent == 3
    assert evidence.tuples_from_source == 14
    assert evidence.summary.files_read == 2


def test_bad_arguments() -> None:
    with pytest.raises(UsageError):
        denied_flows(["."], "not-an-ip", "10.0.0.1")
    with pytest.raises(UsageError):
        concurrent_flows(["."], "10.0.0.1", "10.0.0.2", port=70000)
    with pytest.raises(UsageError):
        build_filter(since="yesterday-ish")


def test_progress_is_reported(pair_logs: Path) -> None:
    seen: list[float] = []
    scan([pair_logs], progress=seen.append)
    assert seen[-1] == 1.0
    assert all(0.0 <= value <= 1.0 for value in seen)


def test_parquet_cache(tmp_path: Path, broken: tuple[Path, list[Path]]) -> None:
    good, bad = broken
    cache = tmp_path / "cache"
    logs = [good, *bad]
    first = scan(logs, cache=cache)
    second = scan(logs, cache=cache)
    assert first.summary.files_cached == 0
    assert second.summary.files_cached == 2  # the two readable files
    assert second.flows == first.flows
    assert second.warnings == first.warnings  # counted again, from the cache
    # A blob that changes (the current hour grows) is parsed again.
    good.write_text(blob(v4_record([
        _tuple(1741943000000, "10.1.1.4", "10.2.0.5", 50000, 1433, "D"),
        _tuple(1741943000005, "10.1.1.4", "10.2.0.5", 50009, 1433, "D")])))
    third = scan(logs, cache=cache)
    assert third.summary.files_cached == 1
    assert as_dict(third.flows) == reference_flows([good, bad[-1]])
    # A cache folder inside the scanned folder is never read as logs.
    inside = scan([tmp_path], cache=cache)
    assert all("cache" not in Path(w.file).parts for w in inside.warnings)


def test_default_filter_matches_everything() -> None:
    assert FlowFilter().matches_addresses("10.0.0.1", "2001:db8::1")
