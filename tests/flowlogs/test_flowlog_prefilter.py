"""The pair pre-filter is exact: pair_evidence with it equals pair_evidence without it, warnings
included, and the summary says how many files it skipped."""

from __future__ import annotations

import gzip
import ipaddress
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowlogs.support import SAMPLES
from vnetdoctor.flowlogs import pair_evidence
from vnetdoctor.flowlogs.api import PairEvidence
from vnetdoctor.flowlogs.discovery import SourceFile, check_file
from vnetdoctor.flowlogs.prefilter import Needle, Proofs, proven_clean

pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")

SUB = "00000000-0000-0000-0000-0000000000aa"
ACL = (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/"
       "networkSecurityGroups/nsg1")


def azure_v4(tuples: list[str], mac: str = "00224871C205") -> dict[str, Any]:
    """A VNet flow-log record with every key Azure writes, in Azure's order."""
    return {
        "time": "2025-03-14T09:00:52.5625085Z", "flowLogVersion": 4,
        "flowLogGUID": "1e98aac7-0e3a-4365-8d28-a15797fcb58b", "macAddress": mac,
        "category": "FlowLogFlowEvent",
        "flowLogResourceID": f"/SUBSCRIPTIONS/{SUB}/FLOWLOGS/FL1",
        "targetResourceID": f"/subscriptions/{SUB}/virtualNetworks/vnet1",
        "operationName": "FlowLogFlowEvent",
        "flowRecords": {"flows": [{"aclID": ACL, "flowGroups": [
            {"rule": "UserRule_X", "flowTuples": tuples}]}]},
    }


def azure_v2(tuples: list[str], mac: str = "000D3AF87856") -> dict[str, Any]:
    """An NSG flow-log record (version 2) with Azure's keys, in Azure's order."""
    return {
        "time": "2025-03-14T09:00:35.3899262Z",
        "systemId": "05cdbee8-43c6-458e-b53c-d707f958c66b", "macAddress": mac,
        "category": "NetworkSecurityGroupFlowEvent", "resourceId": "/SUBSCRIPTIONS/S/NSG1",
        "operationName": "NetworkSecurityGroupFlowEvents",
        "properties": {"Version": 2, "flows": [
            {"rule": "DefaultRule_DenyAllInBound", "flows": [{"mac": mac, "flowTuples": tuples}]}]},
    }


def v4_tuple(src: str, dst: str, dport: int = 3389, state: str = "D", ts: str = "1741943000000",
             sport: str = "50000") -> str:
    return f"{ts},{src},{dst},{sport},{dport},6,I,{state},NX,1,60,0,0"


def v2_tuple(src: str, dst: str, dport: int = 3389, decision: str = "D") -> str:
    return f"1741943000,{src},{dst},50000,{dport},T,I,{decision},B,,,,"


def write(path: Path, text: str, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def answer(ev: PairEvidence) -> tuple[Any, ...]:
    # denied flows tied on every sort key (the same address spelled two ways) come in the
    # engine's order, with or without the pre-filter: compared as a set
    return sorted(ev.denied, key=repr), ev.concurrent, ev.tuples_from_source, ev.warnings


def both(paths: list[Path], src: str, dst: str, port: int | None = 3389
         ) -> tuple[PairEvidence, PairEvidence]:
    proofs = Proofs()
    on = pair_evidence(paths, src, dst, port, "tcp", proofs=proofs)
    again = pair_evidence(paths, src, dst, port, "tcp", proofs=proofs)  # the proofs remembered
    assert answer(again) == answer(on)
    assert again.summary.files_prefiltered == on.summary.files_prefiltered
    off = pair_evidence(paths, src, dst, port, "tcp", prefilter=False)
    assert answer(on) == answer(off)
    assert on.summary.files_read + on.summary.files_prefiltered == off.summary.files_read
    assert off.summary.files_prefiltered == 0
    assert on.summary.files_skipped == off.summary.files_skipped
    return on, off


# --- the address search --------------------------------------------------------------------


def test_needle_is_delimited_and_folds_ipv6_case() -> None:
    v4 = Needle(ipaddress.ip_address("10.0.0.1"))
    assert v4.may_hold(b'"1,10.0.0.1,10.0.0.2,1,2,6,I,D"')
    assert not v4.may_hold(b'"1,10.0.0.10,10.0.0.2,1,2,6,I,D"')  # a longer address
    assert not v4.may_hold(b'"1,110.0.0.1,10.0.0.2,1,2,6,I,D"')
    assert not v4.may_hold(b'"1,010.0.0.1,10.0.0.2,1,2,6,I,D"')  # not this address to the engines
    assert v4.may_hold(b'"1,\\u0031\\u0030.0.0.1,10.0.0.2"')  # escaped: never skipped
    v6 = Needle(ipaddress.ip_address("2001:db8::1"))
    assert v6.may_hold(b'"1,2001:DB8::1,10.0.0.2"')
    assert v6.may_hold(b'"1,2001:0db8:0000:0000:0000:0000:0000:0001,x"')
    assert not v6.may_hold(b'"1,2001:db8::10,x"')
    assert v6.may_hold('"1,\u00e9,x"'.encode())  # non-ASCII: never skipped for IPv6


# --- the clean-blob proof ------------------------------------------------------------------


def _proof(tmp_path: Path, text: str, name: str = "PT1H.json") -> bool:
    path = write(tmp_path / name, text)
    checked = check_file(str(path))
    if not isinstance(checked, SourceFile):
        return False  # discovery skips it (with its warning) before any pre-filter
    return checked.path in proven_clean([(checked, None)])


def test_clean_blobs_are_proven(tmp_path: Path) -> None:
    record4 = azure_v4([v4_tuple("10.0.0.5", "10.0.0.6"), v4_tuple("10.0.0.5", "10.0.0.6", 0)])
    record2 = azure_v2([v2_tuple("10.0.0.5", "10.0.0.6")])
    assert _proof(tmp_path, json.dumps({"records": [record4, record2]}, separators=(",", ":")))
    assert _proof(tmp_path, json.dumps({"records": [record4, record2]}, indent=2), "b.json")
    assert _proof(tmp_path, '{"records":[]}', "c.json")


@pytest.mark.parametrize("tuple_text", [
    "1741943000000,10.0.0.5,10.0.0.6,50000,3389,6,I,D,NX,0,0,0",  # 12 fields
    "01741943000000,10.0.0.5,10.0.0.6,50000,3389,6,I,D,NX,0,0,0,0",  # timestamp not canonical
    "1741943000000,10.0.0.5,10.0.0.6,50000,65536,6,I,D,NX,0,0,0,0",  # port out of range
    "1741943000000,10.0.0.5,10.0.0.6,050000,3389,6,I,D,NX,0,0,0,0",  # port not canonical
    "1741943000000,10.0.0.5,10.0.0.6,50000,3389,6,X,D,NX,0,0,0,0",  # direction
    "1741943000000,10.0.0.5,10.0.0.6,50000,3389,6,I,A,NX,0,0,0,0",  # v2's decision in v4
])
def test_malformed_tuples_are_not_proven(tmp_path: Path, tuple_text: str) -> None:
    assert not _proof(tmp_path, json.dumps({"records": [azure_v4([tuple_text])]}))


def test_odd_blobs_are_not_proven(tmp_path: Path) -> None:
    record = azure_v4([v4_tuple("10.0.0.5", "10.0.0.6")])
    compact = json.dumps({"records": [record]}, separators=(",", ":"))
    assert _proof(tmp_path, compact)
    for i, text in enumerate([
        compact.replace('"flowLogVersion":4', '"flowLogVersion":5'),  # unknown version
        compact.replace('"flowLogVersion":4', '"flowLogVersion":"4"'),
        compact.replace('"rule":"UserRule_X"', '"rule":"UserRule_X","rule":"Y"'),  # duplicate
        json.dumps({"records": [record]}, sort_keys=True),  # another key order
        compact.replace("UserRule_X", "User\\/Rule"),  # an escape
        compact.replace("UserRule_X", "Us\u00e9r"),  # non-ASCII
        compact[:-1],  # cut short
        compact + compact,
    ]):
        assert not _proof(tmp_path, text, f"odd{i}.json"), text[:80]


# --- pair_evidence with and without -------------------------------------------------------


def test_skips_blobs_without_the_source_and_keeps_warnings(tmp_path: Path) -> None:
    pair = ("10.0.0.1", "10.0.0.2")
    files = [
        write(tmp_path / "a" / "PT1H.json", json.dumps({"records": [azure_v4(
            [v4_tuple(*pair), v4_tuple(*pair, state="C"), v4_tuple("10.0.0.10", "10.0.0.2")])]})),
        # neither address: skipped
        write(tmp_path / "b" / "PT1H.json", json.dumps({"records": [azure_v4(
            [v4_tuple("10.0.0.10", "10.0.0.20"), v4_tuple("10.0.0.100", "10.0.0.1")])]})),
        write(tmp_path / "c" / "PT1H.json", json.dumps({"records": [azure_v2(
            [v2_tuple("10.0.0.3", "10.0.0.2")])]}), gz=True),
        # no address, but a malformed tuple: read, so its warning is given
        write(tmp_path / "d" / "PT1H.json", json.dumps({"records": [azure_v4(
            [v4_tuple("10.0.0.3", "10.0.0.4", sport="070")])]})),
        # the source only as \u escapes: read, and the engines decode it
        write(tmp_path / "e" / "PT1H.json", json.dumps({"records": [azure_v4(
            [v4_tuple("10.0.0.1", "10.0.0.2")])]}).replace(",10.0.0.1,", ",\\u0031\\u0030.0.0.1,")),
        # leading zeros: another address to the engines, skipped
        write(tmp_path / "f" / "PT1H.json", json.dumps({"records": [azure_v4(
            [v4_tuple("010.000.000.001", "10.0.0.2")])]})),
    ]
    on, off = both(files, *pair)
    assert on.summary.files_prefiltered == 3  # b, c, f
    assert on.summary.files_read == 3
    assert [w.file for w in on.warnings] == [str(files[3])]
    assert on.tuples_from_source == 3
    assert sum(d.count for d in on.denied) == 2
    assert on.summary.to_json()["filesPrefiltered"] == 3
    # from the cache, nothing is pre-filtered (the fill reads every file)
    cached = pair_evidence(files, *pair, 3389, "tcp", cache=tmp_path / "cache")
    assert answer(cached) == answer(off)
    assert cached.summary.files_prefiltered == 0


def test_ipv6_spellings(tmp_path: Path) -> None:
    files = [
        write(tmp_path / f"{i}" / "PT1H.json",
              json.dumps({"records": [azure_v4([v4_tuple(src, "2001:db8::2")])]}))
        for i, src in enumerate(["2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001",
                                 "2001:db8:0:0::1", "2001:db8::10"])
    ]
    on, _ = both(files, "2001:db8::1", "2001:db8::2")
    assert on.tuples_from_source == 2  # the engines match these two spellings only
    # the last two can hold no tuple the engines match; the first two are read
    assert on.summary.files_prefiltered == 2


ADDRESSES = ["10.0.0.1", "10.0.0.10", "10.0.0.100", "110.0.0.1", "10.0.0.2", "010.0.0.1",
             "2001:db8::1", "2001:DB8::1", "2001:db8::10",
             "2001:0db8:0000:0000:0000:0000:0000:0001"]
QUESTIONS = [("10.0.0.1", "10.0.0.2"), ("10.0.0.10", "10.0.0.1"), ("2001:db8::1", "10.0.0.2"),
             ("10.0.0.2", "2001:db8::10")]

rarely = st.sampled_from([False, False, False, False, True])
tuple_fields = st.fixed_dictionaries({
    "src": st.sampled_from(ADDRESSES), "dst": st.sampled_from(ADDRESSES),
    "dport": st.sampled_from([3389, 3389, 3389, 443, 443, 70000]), "state": st.sampled_from("BCED"),
    "ts": st.sampled_from(["1741943000000", "1741943005000", "1741943009000", "01741943000000"]),
})
blob_spec = st.fixed_dictionaries({
    "tuples": st.lists(tuple_fields, max_size=5),
    "nsg": st.booleans(), "gz": st.booleans(), "pretty": rarely,
    "escape": rarely, "sorted": rarely,
})


def _render(spec: dict[str, Any]) -> str:
    if spec["nsg"]:
        tuples = [v2_tuple(t["src"], t["dst"], t["dport"], "D" if t["state"] == "D" else "A")
                  for t in spec["tuples"]]
        record = azure_v2(tuples)
    else:
        tuples = [v4_tuple(t["src"], t["dst"], t["dport"], t["state"], t["ts"])
                  for t in spec["tuples"]]
        record = azure_v4(tuples)
    text = json.dumps({"records": [record]}, indent=2 if spec["pretty"] else None,
                      sort_keys=spec["sorted"])
    if spec["escape"]:
        text = text.replace(",10.0.0.1,", ",\\u0031\\u0030.0.0.1,", 1)
    return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blobs=st.lists(blob_spec, min_size=1, max_size=4), question=st.sampled_from(QUESTIONS))
def test_property_prefilter_equals_full_parse(blobs: list[dict[str, Any]],
                                              question: tuple[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = [write(Path(tmp) / f"b{i}" / "PT1H.json", _render(spec), spec["gz"])
                 for i, spec in enumerate(blobs)]
        both(files, *question)


# --- the real samples ------------------------------------------------------------------------


@pytest.mark.fixtures
def test_real_samples(fixtures: Path) -> None:
    samples = [fixtures / "flowlogs" / name for name in sorted(SAMPLES)]
    skipped = 0
    for src, dst in [("167.94.145.110", "10.1.0.4"), ("10.1.0.4", "40.119.6.228"),
                     ("10.0.0.99", "10.1.0.4"), ("10.1.0.4", "20.98.192.237")]:
        on, _ = both(samples, src, dst, None)
        skipped = max(skipped, on.summary.files_prefiltered)
    assert skipped > 0


def test_a_blob_rewritten_after_its_proof_is_proven_again(tmp_path: Path) -> None:
    proofs = Proofs()
    pair = ("10.0.0.1", "10.0.0.2")
    path = write(tmp_path / "a" / "PT1H.json", json.dumps({"records": [azure_v4(
        [v4_tuple("10.0.0.3", "10.0.0.4")])]}))
    assert pair_evidence([path], *pair, proofs=proofs).summary.files_prefiltered == 1
    assert len(proofs) == 1
    # the current hour's blob grows, and now holds a malformed tuple: read, warned about
    write(path.parent / "PT1H.json", json.dumps({"records": [azure_v4(
        [v4_tuple("10.0.0.3", "10.0.0.4"), v4_tuple("10.0.0.3", "10.0.0.4", sport="99999")])]}))
    again = pair_evidence([path], *pair, proofs=proofs)
    assert again.summary.files_prefiltered == 0
    assert [w.kind.value for w in again.warnings] == ["malformed_tuples"]


def test_proofs_are_kept_by_their_reader_only(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A blob is proven once per :class:`Proofs` that asks; without one, every call proves
    again (nothing is remembered by the module)."""
    from vnetdoctor.flowlogs import prefilter

    proven: list[int] = []
    real = prefilter.proven_clean

    def counted(files: Any) -> set[str]:
        proven.append(len(files))
        return real(files)

    monkeypatch.setattr(prefilter, "proven_clean", counted)
    path = write(tmp_path / "a" / "PT1H.json", json.dumps({"records": [azure_v4(
        [v4_tuple("10.0.0.3", "10.0.0.4")])]}))
    pair = ("10.0.0.1", "10.0.0.2")
    proofs = Proofs()
    for _ in range(3):
        assert pair_evidence([path], *pair, proofs=proofs).summary.files_prefiltered == 1
    assert proven == [1]  # proven once, remembered by ``proofs``
    for _ in range(2):
        assert pair_evidence([path], *pair).summary.files_prefiltered == 1
    assert proven == [1, 1, 1]  # no proofs given: proven each time
    proofs.forget()
    assert len(proofs) == 0
    pair_evidence([path], *pair, proofs=proofs)
    assert proven == [1, 1, 1, 1]
