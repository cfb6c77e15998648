"""Gzip-compressed flow logs (``PT1H.json.gz``, ``capture.jsonl.gz``): found, checked on their
content, read by DuckDB like the plain files; a gzip stream cut short is skipped with a warning."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from flowlogs.support import SAMPLES, as_dict, blob, reference_flows, v2_record, v4_record, write
from vnetdoctor.flowlogs.discovery import Form, SourceFile, check_file, expand_paths, plan
from vnetdoctor.flowlogs.model import FlowLogWarning, WarningKind

TUPLE = "1741943000000,10.1.1.4,10.2.0.5,50000,1433,6,O,D,NX,0,0,0,0"
V2_TUPLE = "1741943000,10.1.1.5,10.2.0.5,50001,3389,T,I,D,B,,,,"


def write_gz(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data))
    return path


def gzip_copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def _check(path: Path) -> SourceFile | FlowLogWarning:
    return check_file(os.path.abspath(path))


def test_folders_pick_up_compressed_logs(tmp_path: Path) -> None:
    a = write_gz(tmp_path / "y=2025" / "PT1H.json.gz", blob(v4_record([TUPLE])))
    b = write_gz(tmp_path / "capture.JSONL.GZ", json.dumps(v4_record([TUPLE])))
    write_gz(tmp_path / "notes.txt.gz", "not a log")
    write(tmp_path / "plain.json", blob(v4_record([TUPLE])))
    found = expand_paths([tmp_path])
    assert found == sorted([str(a), str(b), str(tmp_path / "plain.json")])


@pytest.mark.parametrize(("text", "form"), [
    (blob(v4_record([TUPLE])), Form.DOCUMENT),
    (json.dumps({"records": [v4_record([TUPLE])]}, indent=2), Form.DOCUMENT),
    (json.dumps(v4_record([TUPLE])) + "\n" + json.dumps(v2_record([V2_TUPLE])) + "\n",
     Form.LINES),
    (json.dumps([v4_record([TUPLE])]), Form.ARRAY),
    ("\ufeff" + blob(v4_record([TUPLE])), Form.DOCUMENT),
])
def test_the_form_is_read_inside_the_gzip(tmp_path: Path, text: str, form: Form) -> None:
    path = write_gz(tmp_path / "f.json.gz", text)
    checked = _check(path)
    assert isinstance(checked, SourceFile)
    assert checked.form is form
    assert checked.size == path.stat().st_size
    assert checked.json_size == checked.data_size == len(text.encode())


@pytest.mark.parametrize(("make", "kind"), [
    # the gzip stream ends early: a download or a copy cut short
    (lambda good: good[: len(good) // 2], WarningKind.TRUNCATED),
    (lambda good: good[:-4], WarningKind.TRUNCATED),  # only the length trailer missing
    (lambda good: good[:10], WarningKind.TRUNCATED),
    # not gzip at all, or a damaged stream
    (lambda good: b"{\"records\": []}", WarningKind.UNREADABLE),
    (lambda good: good[:-8] + b"\x00" * 8, WarningKind.UNREADABLE),
    # complete gzip, but the JSON inside is cut short, or nothing at all
    (lambda good: gzip.compress(blob(v4_record([TUPLE]))[:-40].encode()),
     WarningKind.TRUNCATED),
    (lambda good: gzip.compress(b""), WarningKind.EMPTY),
])
def test_broken_gzip_files_are_named_with_a_reason(tmp_path: Path, make: object,
                                                   kind: WarningKind) -> None:
    good = gzip.compress(blob(*[v4_record([TUPLE] * 50)] * 20).encode())
    path = tmp_path / "PT1H.json.gz"
    assert callable(make)
    path.write_bytes(make(good))
    checked = _check(path)
    assert isinstance(checked, FlowLogWarning), checked
    assert checked.kind is kind
    assert checked.file == str(path)
    assert checked.count == 1


# --- read by the engines ------------------------------------------------------------------


needs_duckdb = pytest.mark.skipif(importlib.util.find_spec("duckdb") is None,
                                  reason="the flowlogs extra (duckdb) is not installed")


@needs_duckdb
@pytest.mark.fixtures
def test_compressed_samples_equal_the_plain_ones(tmp_path: Path, fixtures: Path) -> None:
    from vnetdoctor.flowlogs import scan

    plain = [fixtures / "flowlogs" / name for name in sorted(SAMPLES)]
    packed = [gzip_copy(p, tmp_path / (name.replace("/", "__") + ".gz"))
              for p, name in zip(plain, sorted(SAMPLES), strict=True)]
    report = scan([tmp_path])
    assert as_dict(report.flows) == reference_flows(plain) == as_dict(scan(plain).flows)
    assert report.summary.tuples == sum(SAMPLES.values())
    assert report.summary.files_read == len(packed)
    assert report.summary.bytes_read == sum(p.stat().st_size for p in packed)
    assert report.warnings == ()


@needs_duckdb
def test_a_truncated_gzip_is_skipped_and_counted(tmp_path: Path) -> None:
    from vnetdoctor.flowlogs import scan

    good = write_gz(tmp_path / "a" / "PT1H.json.gz", blob(v4_record([TUPLE])))
    cut = tmp_path / "b" / "PT1H.json.gz"
    cut.parent.mkdir()
    cut.write_bytes(gzip.compress(blob(v2_record([V2_TUPLE] * 200)).encode())[:-30])
    write(tmp_path / "c" / "PT1H.json", blob(v2_record([V2_TUPLE])))
    report = scan([tmp_path])
    assert [(w.kind, w.file, w.count) for w in report.warnings] == [
        (WarningKind.TRUNCATED, str(cut), 1)]
    assert "gzip" in report.warnings[0].message
    assert (report.summary.files, report.summary.files_read, report.summary.files_skipped) == (
        3, 2, 1)
    assert good.exists()
    assert {(f.src, f.dst_port) for f in report.flows} == {("10.1.1.4", 1433), ("10.1.1.5", 3389)}


@needs_duckdb
def test_a_compressed_blob_bigger_than_duckdbs_default_object_size(tmp_path: Path) -> None:
    """The object-size limit follows the JSON inside, not the (much smaller) gzip file."""
    from vnetdoctor.flowlogs import scan

    tuples = [f"17419430{i:05d},10.1.{i % 250}.4,10.2.0.5,{1024 + i % 60000},443,6,O,B,NX,0,0,0,0"
              for i in range(40_000)]
    text = blob(*[v4_record(tuples)] * 7)
    assert len(text) > 16 * 1024 * 1024
    path = write_gz(tmp_path / "PT1H.json.gz", text)
    checked = plan([path]).files[0]
    assert checked.json_size == len(text) > 10 * checked.size
    report = scan([path])
    assert report.warnings == ()
    assert report.summary.tuples == 7 * len(tuples)


@needs_duckdb
def test_the_cache_keeps_compressed_files(tmp_path: Path) -> None:
    from vnetdoctor.flowlogs import scan

    path = write_gz(tmp_path / "logs" / "PT1H.json.gz",
                    blob(v4_record([TUPLE]), v2_record([V2_TUPLE])))
    fresh = scan([tmp_path / "logs"])
    first = scan([tmp_path / "logs"], cache=tmp_path / "cache")
    again = scan([tmp_path / "logs"], cache=tmp_path / "cache")
    assert first.flows == again.flows == fresh.flows
    assert again.summary.files_cached == 1
    assert len(fresh.flows) == 2
    assert path.exists()
