"""``vnetdoctor flowlogs`` through click: outputs, filters, warnings, exit codes."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowlogs.support import SAMPLES, blob, reference_flows, v4_record, write
from vnetdoctor.cli import cli, main

pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")

HOSTILE_RULE = "UserRule_[bold]x[/bold]\x1b[31m"


def run(*args: str) -> tuple[int, str, str]:
    """Through ``main``, as the console script runs: errors become one line and an exit code."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        return code, out.getvalue().decode(), err.getvalue().decode()


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    t0 = 1741943000000
    write(tmp_path / "a" / "PT1H.json", blob(
        v4_record([f"{t0},10.1.1.4,10.2.0.5,50000,1433,6,O,D,NX,0,0,0,0",
                   f"{t0 + 1},10.1.1.4,10.2.0.5,50001,1433,6,O,D,NX,0,0,0,0"],
                  rule="UserRule_DenySql"),
        v4_record([f"{t0 + 2},10.1.1.4,52.239.1.1,40000,443,6,O,B,NX,0,0,0,0",
                   f"{t0 + 900},10.1.1.4,52.239.1.1,40000,443,6,O,E,NX,5,500,4,4000"],
                  rule=HOSTILE_RULE)))
    write(tmp_path / "b" / "PT1H.json", blob(v4_record(["x"]))[:-10])  # truncated
    return tmp_path


def test_text_output_has_summaries_and_warnings(logs: Path) -> None:
    result = CliRunner().invoke(cli, ["flowlogs", str(logs)])
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in ("Read 1 of 2 file(s)", "4 flow tuples", "Top denied flows",
                     "UserRule_DenySql", "Top talkers", "10.1.1.4", "warning F001 truncated",
                     str(logs / "b" / "PT1H.json")):
        assert expected in out
    assert "\x1b" not in out  # hostile names print inert
    assert "[bold]x[/bold]" in out


def test_json_shape(logs: Path) -> None:
    result = CliRunner().invoke(cli, ["flowlogs", str(logs), "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"flows", "warnings", "summary"}
    flow = data["flows"][0]
    assert list(flow) == ["src", "dst", "srcPort", "dstPort", "protocol", "direction",
                          "decision", "rule", "count", "packets", "bytes", "firstSeen",
                          "lastSeen"]
    assert flow == {"src": "10.1.1.4", "dst": "10.2.0.5", "srcPort": 50000, "dstPort": 1433,
                    "protocol": "Tcp", "direction": "Outbound", "decision": "Deny",
                    "rule": "UserRule_DenySql", "count": 1, "packets": 0, "bytes": 0,
                    "firstSeen": "2025-03-14T09:03:20.000Z",
                    "lastSeen": "2025-03-14T09:03:20.000Z"}
    https = data["flows"][2]
    assert (https["count"], https["packets"], https["bytes"]) == (2, 9, 4500)
    (warning,) = data["warnings"]
    assert (warning["code"], warning["kind"], warning["count"]) == ("F001", "truncated", 1)
    assert warning["file"].endswith("b/PT1H.json")
    assert data["summary"]["tuples"] == 4


def test_filters_query_and_csv(logs: Path) -> None:
    result = CliRunner().invoke(cli, ["flowlogs", str(logs), "--decision", "deny", "--port",
                                      "1433", "-o", "json", "--query", "flows[].srcPort"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [50000, 50001]
    result = CliRunner().invoke(cli, ["flowlogs", str(logs / "a"), "--dst", "52.239.0.0/16",
                                      "-o", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["srcPort"], r["count"], r["rule"]) for r in rows] == [
        ("40000", "2", "UserRule_[bold]x[/bold]\\x1b[31m")]


@pytest.mark.fixtures
def test_every_sample_through_the_command(fixtures: Path) -> None:
    paths = [str(fixtures / "flowlogs" / name) for name in sorted(SAMPLES)]
    result = CliRunner().invoke(cli, ["flowlogs", *paths, "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["flows"]) == len(reference_flows(paths))
    assert data["warnings"] == []


def test_csv_warnings_go_to_stderr(logs: Path) -> None:
    code, out, err = run("flowlogs", str(logs), "-o", "csv", "--since", "2025-03-14T09:03:20Z",
                         "--until", "1741943000001")
    assert code == 0
    assert out.splitlines()[0].startswith("src,dst,srcPort")
    assert len(out.splitlines()) == 3
    assert "warning F001 truncated" in err


def test_cache_option(logs: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for _ in range(2):
        result = CliRunner().invoke(cli, ["flowlogs", str(logs / "a"), "--cache", str(cache)])
        assert result.exit_code == 0, result.output
    assert "1 from the Parquet cache" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--src", "10.0.0.300"], "--src '10.0.0.300'"),
    (["--since", "soon"], "--since 'soon'"),
    (["--protocol", "gre-ish"], "protocol 'gre-ish'"),
    (["--decision", "maybe"], "decision 'maybe'"),
    (["--port", "70000"], "port 70000"),
    (["-o", "csv", "--query", "flows"], "--query applies to JSON output"),
])
def test_bad_options_exit_2(logs: Path, args: list[str], message: str) -> None:
    code, _, err = run("flowlogs", str(logs), *args)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_missing_path_exits_2(tmp_path: Path) -> None:
    code, _, err = run("flowlogs", str(tmp_path / "nope"))
    assert (code, err.count("\n")) == (2, 1)
    assert "no such file" in err


def test_nothing_readable_exits_2(logs: Path) -> None:
    code, out, err = run("flowlogs", str(logs / "b"))
    assert code == 2
    assert "warning F001" in out
    assert "no flow-log file could be read" in err


def test_without_duckdb_says_what_to_install(logs: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb -> ImportError
    code, out, err = run("flowlogs", str(logs))
    assert code == 2
    assert out == ""
    assert "pip install 'vnetdoctor[flowlogs]'" in err


def test_help_has_examples() -> None:
    result = CliRunner().invoke(cli, ["flowlogs", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "--engine" in result.output


def test_summary_says_why_files_were_not_parsed() -> None:
    """Files the pre-filter proved irrelevant are counted apart, so "Read 34 of 137" is
    explained."""
    from vnetdoctor.flowlogs.model import ScanSummary
    from vnetdoctor.report.flowlogs import summary_lines

    summary = ScanSummary(
        engine="duckdb", files=137, files_read=34, files_skipped=0, files_pruned=0,
        files_cached=0, bytes_read=238_000_000, tuples=3_500_000, tuples_matched=12,
        tuples_skipped=0, records_skipped=0, first_seen=None, last_seen=None, seconds=5.2,
        files_prefiltered=103,
    )
    lines = summary_lines(summary, [])
    assert lines[0].startswith("Read 34 of 137 file(s)")
    assert lines[1] == (
        "Files: 103 not parsed: proven to hold no tuple from the source and nothing malformed."
    )
