"""The flow-log benchmark's generator and loop stay honest: tiny sizes, never 1 GB here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from flowlogs.support import as_dict, reference_flows

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_flowlogs import (  # type: ignore[import-not-found, unused-ignore]
    generate_blobs,
    main,
    python_loop,
)

pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")


def test_generated_blobs_are_realistic_and_deterministic(tmp_path: Path) -> None:
    first = generate_blobs(tmp_path / "a", 300_000, seed=3, blob_bytes=30_000, nsg_share=0.5)
    again = generate_blobs(tmp_path / "b", 300_000, seed=3, blob_bytes=30_000, nsg_share=0.5)
    assert first.bytes >= 300_000
    assert [p.read_bytes() for p in first.files] == [p.read_bytes() for p in again.files]
    versions = set()
    for path in first.files:
        assert path.name == "PT1H.json"
        assert "/y=2025/m=03/d=14/h=" in path.as_posix()
        for record in json.loads(path.read_text())["records"]:
            versions.add(record.get("flowLogVersion") or record["properties"]["Version"])
    assert versions == {2, 4}
    from vnetdoctor.flowlogs import scan

    report = scan([tmp_path / "a"])
    assert report.warnings == ()
    assert report.summary.tuples == first.tuples
    assert as_dict(report.flows) == reference_flows(first.files)
    loop, tuples = python_loop(first.files)
    assert tuples == first.tuples
    assert len(loop) == report.total_flows
    # Azure's blobs, as generated, are what the pair pre-filter can prove warning-free
    from vnetdoctor.flowlogs import discovery, prefilter

    files = discovery.plan([tmp_path / "a"]).files
    assert prefilter.proven_clean([(f, None) for f in files]) == {f.path for f in files}


def test_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--gb", "0.002", "--no-spark"]) == 0
    out = capsys.readouterr().out
    assert "engines and loop agree: True" in out
    assert "python json loop: all flows (baseline)" in out
    assert "duckdb pair_evidence with pre-filter" in out
    assert "pair_evidence with pre-filter == without" in out
    assert "ideal == scan (number of flows): True" in out
    assert "ceiling on raw JSON (all flows, aggregate included)" in out
    assert ": False" not in out
