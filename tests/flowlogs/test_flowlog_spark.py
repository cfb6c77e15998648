"""Spark in local mode gives exactly DuckDB's answers: every real sample, diagnose's questions,
bad input, and the Parquet cache written by one engine and read by the other.

One Spark session for the module (it takes seconds to start); the tests are few and small.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowlogs.support import SAMPLES, blob, v4_record, write
from vnetdoctor.flowlogs import FlowLogReport, pair_evidence, scan

pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")
pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17 or later on PATH", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning",
                                        "ignore::DeprecationWarning:pyspark")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from vnetdoctor.flowlogs.spark import SparkEngine, local_session

    session = local_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    engine = SparkEngine(session=session)
    yield engine
    engine.close()
    session.stop()


def _same(duck: FlowLogReport, spark: FlowLogReport, *also: str) -> None:
    assert spark.flows == duck.flows
    assert spark.total_flows == duck.total_flows
    assert spark.top_denied == duck.top_denied
    assert spark.top_talkers == duck.top_talkers
    ignore = {"engine", "seconds", *also}
    fields = [f for f in duck.summary.__struct_fields__ if f not in ignore]
    assert [getattr(spark.summary, f) for f in fields] == [getattr(duck.summary, f)
                                                           for f in fields]


@pytest.mark.fixtures
def test_every_sample_identical(fixtures: Path, spark: Any) -> None:
    samples = [fixtures / "flowlogs" / name for name in sorted(SAMPLES)]
    duck = scan(samples)
    assert duck.summary.tuples == sum(SAMPLES.values())
    result = scan(samples, engine=spark)
    _same(duck, result)
    assert result.warnings == duck.warnings == ()
    # diagnose's question: denied flows of a scanner, concurrency of the scanned VM to it
    on_duck = pair_evidence(samples, "167.94.145.110", "10.1.0.4")
    on_spark = pair_evidence(samples, "167.94.145.110", "10.1.0.4", engine=spark)
    assert (on_spark.denied, on_spark.concurrent, on_spark.tuples_from_source) == (
        on_duck.denied, on_duck.concurrent, on_duck.tuples_from_source)
    assert [(d.rule, d.count) for d in on_duck.denied] == [("DefaultRule_DenyAllInBound", 10)]
    # the pre-filter skips the same files for both engines and changes neither answer
    full = pair_evidence(samples, "167.94.145.110", "10.1.0.4", prefilter=False)
    assert (full.denied, full.concurrent, full.tuples_from_source, full.warnings) == (
        on_spark.denied, on_spark.concurrent, on_spark.tuples_from_source, on_spark.warnings)
    assert on_spark.summary.files_prefiltered == on_duck.summary.files_prefiltered > 0


def test_bad_input_identical(tmp_path: Path, spark: Any) -> None:
    good = "1741943000000,10.1.1.4,10.2.0.5,50000,1433,6,O,D,NX,0,0,0,0"
    record = v4_record([good])
    files = [
        write(tmp_path / "weird +name=%20" / "PT1H.json", blob(record)),
        write(tmp_path / "truncated.json", blob(record)[:-30]),
        write(tmp_path / "midwrite.json", blob(record)[:-2]),
        write(tmp_path / "corrupt.json", blob(record)[:120] + "]}"),
        write(tmp_path / "versions.json", blob(v4_record([good], version=7),
                                                v4_record(["1741943000000,10.1.1.4"]))),
    ]
    duck = scan(files)
    result = scan(files, engine=spark)
    _same(duck, result)

    def kinds(report: FlowLogReport) -> set[tuple[str, str, int]]:
        return {(Path(w.file).name, w.code, w.count) for w in report.warnings}

    assert kinds(result) == kinds(duck)
    assert len(duck.warnings) == 5
    assert [f.src for f in duck.flows] == ["10.1.1.4"]


def test_cache_is_shared_between_engines(tmp_path: Path, fixtures: Path, spark: Any) -> None:
    samples = [fixtures / "flowlogs" / name for name in sorted(SAMPLES)[:4]]
    fresh = scan(samples)
    by_duck, by_spark = tmp_path / "duck-cache", tmp_path / "spark-cache"
    scan(samples, cache=by_duck)
    scan(samples, engine=spark, cache=by_spark)
    for cache in (by_duck, by_spark):
        for engine in ("duckdb", spark):
            cached = scan(samples, engine=engine, cache=cache)
            assert cached.summary.files_cached == 4
            _same(fresh, cached, "files_cached")


@pytest.mark.fixtures
def test_compressed_files_identical(tmp_path: Path, fixtures: Path, spark: Any) -> None:
    import gzip

    packed = []
    for name in sorted(SAMPLES):
        target = tmp_path / (name.replace("/", "__") + ".gz")
        target.write_bytes(gzip.compress((fixtures / "flowlogs" / name).read_bytes()))
        packed.append(target)
    cut = tmp_path / "cut" / "PT1H.json.gz"
    cut.parent.mkdir()
    cut.write_bytes(packed[0].read_bytes()[:-20])
    duck = scan([tmp_path])
    result = scan([tmp_path], engine=spark)
    _same(duck, result)
    assert duck.summary.tuples == sum(SAMPLES.values())
    assert [(w.file, w.kind.value) for w in result.warnings] == [
        (w.file, w.kind.value) for w in duck.warnings] == [(str(cut), "truncated")]


def test_values_past_64_bits_identical(tmp_path: Path, spark: Any) -> None:
    """Counters at the 64-bit limit, summed over many tuples (Spark's BIGINT sum would overflow
    or, with ANSI mode off, wrap round), a timestamp of -2**63 and octets past 255 under an
    address filter: the same answer as DuckDB, no failure."""
    import ipaddress

    from vnetdoctor.flowlogs.model import FlowFilter

    edge = "4611686018427387903"  # the largest counter read
    tuples = [f"17419430{i:05d},10.0.0.1,10.0.0.2,1,3389,6,I,B,NX,{edge},{edge},{edge},1"
              for i in range(4)]
    tuples += ["1741943000000,10.0.0.1,10.0.0.2,1,3389,6,I,B,NX,9223372036854775807,1,1,1",
               "-9223372036854775808,10.0.0.1,10.0.0.2,1,3389,6,I,B,NX,1,1,1,1",
               "1741943000000,99999999999999.0.0.1,10.0.0.2,1,3389,6,I,B,NX,1,1,1,1",
               "1741943000000,10.0.0.300,10.0.0.2,1,3389,6,I,B,NX,1,1,1,1"]
    path = write(tmp_path / "PT1H.json", blob(v4_record(tuples)))
    duck = scan([path])
    assert duck.flows[0].packets == 4 * 2 * int(edge) + 1  # past 2**63, exact
    _same(duck, scan([path], engine=spark))
    for prefix in ("10.0.1.0/24", "0.0.0.0/0"):
        flt = FlowFilter(src=ipaddress.ip_network(prefix))
        _same(scan([path], flt), scan([path], flt, engine=spark))
