"""Every pair of docs/sample.md: the verdict, steps and finding codes the table says, end to end
through the library, the JSON output and the text output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner
from sample_pairs import PAIRS, Pair

from vnetdoctor import load_sample
from vnetdoctor.api import diagnose, load_guest
from vnetdoctor.cli import cli
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.findings import Status
from vnetdoctor.samples import sample_path

# Codes the table's prose says "may also" be reported, per pair (never required).
MAY_ALSO: dict[int, set[str]] = {
    5: {"ROUTE_ASYMMETRIC"},  # the return from vm-app-02 goes through nva-fw-01, not nva-fw-02
    8: {"NO_OUTBOUND"},  # "may also report at step 5"
    24: {"ROUTE_NONE"},
    25: {"PEERING_MISSING", "ROUTE_NONE"},
    26: {"PEERING_MISSING", "ROUTE_NONE"},
    30: {"ROUTE_NONE"},
    31: {"PEERING_MISSING"},
    32: {"PEERING_MISSING"},
    34: {"ROUTE_NONE"},
}




@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return load_sample()


def test_the_table_is_complete() -> None:
    assert [p.number for p in PAIRS] == list(range(1, 49))
    assert sum(p.verdict == "reachable" for p in PAIRS) >= 1


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"pair{p.number}")
def test_pair(snapshot: Snapshot, pair: Pair) -> None:
    base = sample_path()
    evidence: dict[str, list[Path]] = {}
    for vm, rel in pair.guest:
        evidence.setdefault(vm, []).append(base / rel)
    guest = {vm: load_guest(paths) for vm, paths in evidence.items()}
    result = diagnose(
        snapshot,
        pair.source,
        pair.destination,
        pair.port,
        pair.protocol,
        guest=guest,
        concurrent=pair.concurrent,
    )
    assert result.verdict.value == pair.verdict, [
        (s.number, s.status, s.findings) for s in result.steps
    ]
    reported = {f.code: f for s in result.steps for f in s.findings}
    for code in pair.codes:
        assert code in reported, f"{code} missing; got {sorted(reported)}"
    expected_status = (
        Status.FAIL
        if pair.verdict == "blocked"
        else Status.UNKNOWN
        if pair.number == 13
        else Status.WARN
    )
    for number in pair.steps:
        assert result.step(number).status is expected_status, result.step(number)
    # no other step blocks or warns, except what the table's prose allows
    allowed = set(pair.codes) | MAY_ALSO.get(pair.number, set())
    unexpected = {
        f.code for s in result.steps for f in s.findings if f.status in (Status.FAIL, Status.WARN)
    } - allowed
    assert unexpected == set(), unexpected
    assert "INTERNAL_ERROR" not in reported
    # every blocker names its evidence
    for blocker in result.blockers:
        assert blocker.resource, blocker
        assert blocker.message


class Run(NamedTuple):
    returncode: int
    stdout: str


def _cli(pair: Pair, *extra: str) -> Run:
    """The diagnose command in-process (the click command itself, as the console script runs it;
    one subprocess-level check of the entry point is in tests/cli)."""
    args = [
        "diagnose",
        "--sample",
        "--from",
        pair.source,
        "--to",
        pair.destination,
        "--port",
        str(pair.port),
        "--protocol",
        pair.protocol,
    ]
    for vm, rel in pair.guest:
        args += ["--guest", f"{vm}={rel}"]
    if pair.concurrent is not None:
        args += ["--concurrent", str(pair.concurrent)]
    result = CliRunner().invoke(cli, [*args, *extra])
    return Run(result.exit_code, result.stdout)


EXIT = {"reachable": 0, "blocked": 1, "inconclusive": 3}


@pytest.mark.parametrize(
    "pair",
    PAIRS,
    ids=lambda p: f"pair{p.number}",
)
def test_pair_through_the_cli(pair: Pair) -> None:
    proc = _cli(pair, "-o", "json")
    assert proc.returncode == EXIT[pair.verdict], proc.stdout
    data = json.loads(proc.stdout)
    assert data["schema"] == "vnetdoctor.diagnosis/1"
    assert data["verdict"] == pair.verdict
    assert [s["number"] for s in data["steps"]] == list(range(1, 10))
    codes = {f["code"] for s in data["steps"] for f in s["findings"]}
    assert set(pair.codes) <= codes
    assert [b["code"] for b in data["blockers"]] == [
        f["code"] for s in data["steps"] for f in s["findings"] if f["status"] == "fail"
    ]
    for blocker in data["blockers"]:
        assert {
            "code",
            "severity",
            "step",
            "message",
            "resource",
            "pointer",
            "remediation",
            "command",
        } <= set(blocker)
    text = _cli(pair)
    assert text.returncode == EXIT[pair.verdict]
    assert f"Verdict: {pair.verdict.upper()}" in text.stdout
    for code in pair.codes:
        assert code in text.stdout
