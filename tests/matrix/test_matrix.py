"""The reachability matrix: grouped cells agree with per-pair ``diagnose``."""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from vnetdoctor.api import diagnose
from vnetdoctor.cli import cli
from vnetdoctor.engine.matrix import Matrix, build_matrix, signature
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.samples import load_sample

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from synthetic import generate_estate  # type: ignore[import-not-found, unused-ignore]

N_SYNTHETIC = 10_000
N_PAIRS = 1_000


def _agree(snapshot: Snapshot, matrix: Matrix, pairs: list[tuple[str, str]], port: int) -> int:
    vms = {v.name: v for v in snapshot.virtual_machines.values()}
    agreed = 0
    for a, b in pairs:
        cell = matrix.cell(a, b)
        assert cell is not None
        direct = signature(
            diagnose(snapshot, str(vms[a].id), str(vms[b].id), port), snapshot, vms[a], vms[b]
        )
        assert cell.verdict == direct.verdict, (a, b)
        assert cell.signature == direct.signature, (a, b, cell.reasons, direct.reasons)
        assert cell.reasons == direct.reasons
        agreed += 1
    return agreed


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample("contoso")


@pytest.mark.parametrize("port", [5432, 443, 22])
def test_sample_every_pair_agrees(sample: Snapshot, port: int) -> None:
    m = build_matrix(sample, diagnose, port)
    pairs = [(a, b) for a in m.vms for b in m.vms if a != b]
    assert _agree(sample, m, pairs, port) == len(pairs)
    assert sum(m.counts().values()) == len(pairs)
    assert len(m.groups) < len(m.vms)  # the grouping saves work even on the sample


def test_synthetic_estate_random_pairs_agree() -> None:
    """>= 1,000 random pairs of the 10,000-VM synthetic estate: each grouped cell (diagnosed on
    the groups' representatives, usually other VMs) equals the pair's own diagnosis."""
    snapshot = snapshot_from_json(generate_estate(N_SYNTHETIC, seed=0))
    m = build_matrix(snapshot, diagnose, 443, compute=False)
    assert len(m.vms) == N_SYNTHETIC
    assert len(m.groups) < N_SYNTHETIC
    rng = random.Random(20261126)
    names = list(m.vms)
    pairs: list[tuple[str, str]] = []
    # Half the sample from multi-member groups, so that representatives differ from the pair.
    big = [g for g in m.groups if len(g.members) >= 3]
    while len(pairs) < N_PAIRS:
        if len(pairs) % 2:
            a, b = rng.choice(names), rng.choice(names)
        else:
            ga, gb = rng.choice(big), rng.choice(big)
            a, b = rng.choice(ga.members[1:]), rng.choice(gb.members[1:])
        if a != b:
            pairs.append((a, b))
    assert _agree(snapshot, m, pairs, 443) == N_PAIRS
    assert m.diagnosed <= N_PAIRS


def test_diagonal_and_single_member_groups(sample: Snapshot) -> None:
    m = build_matrix(sample, diagnose, 5432, vms="vm-db-0[12]")
    assert m.vms == ("vm-db-01", "vm-db-02")
    assert m.cell("vm-db-01", "vm-db-01") is None
    for g in m.groups:
        if len(g.members) == 1:
            assert m.group_cell(g.index, g.index) is None


def test_glob_scopes_and_is_case_insensitive(sample: Snapshot) -> None:
    m = build_matrix(sample, diagnose, 5432, vms="VM-WEB-*")
    assert m.vms == ("vm-web-01", "vm-web-02")


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_outputs(tmp_path: Path) -> None:
    code, out = _run(["matrix", "--sample", "--port", "5432", "--vms", "vm-*-01", "-o", "json"])
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "vnetdoctor.matrix/1"
    n = data["vms"]
    assert sum(data["counts"].values()) == n * (n - 1)
    members = [m for g in data["groups"] for m in g["members"]]
    assert sorted(members) == sorted(set(members))
    assert len(members) == n

    code, out = _run(["matrix", "--sample", "--port", "5432", "--vms", "vm-*-01", "-o", "csv"])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert len(rows) == n * (n - 1)
    web_db = next(r for r in rows if (r["source"], r["destination"]) == ("vm-web-01", "vm-db-01"))
    assert web_db["verdict"] == "blocked"
    assert "NSG_DENY nsg-snet-data" in web_db["reasons"]

    out_file = tmp_path / "m.html"
    code, _ = _run(["matrix", "--sample", "--port", "5432", "-o", "html", "--out", str(out_file)])
    assert code == 0
    assert out_file.read_text().startswith("<!DOCTYPE html>")

    code, out = _run(["matrix", "--sample", "--port", "5432", "--vms", "vm-web-0*"])
    assert code == 0
    assert "vm-web-01 -> vm-web-02" in out
