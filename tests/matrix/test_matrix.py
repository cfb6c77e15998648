"""The reachability matrix: grouped and composed cells agree with per-pair ``diagnose``."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnetdoctor.analyses.compose import build_matrix
from vnetdoctor.analyses.matrix import Matrix, reference_matrix, signature
from vnetdoctor.api import diagnose
from vnetdoctor.cli import cli
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.ingest.loader import load_snapshot, snapshot_from_json
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.samples import load_sample, sample_path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from synthetic import generate_estate  # type: ignore[import-not-found, unused-ignore]

from .firewalled import with_firewall

N_SYNTHETIC = 10_000
N_PAIRS = 1_000


def _agree(snapshot: Snapshot, matrix: Matrix, pairs: list[tuple[str, str]], port: int) -> int:
    vms = {v.name: v for v in snapshot.virtual_machines.values()}
    fabric = Fabric(snapshot)  # the direct diagnoses' own, not the matrix's
    agreed = 0
    for a, b in pairs:
        cell = matrix.cell(a, b)
        assert cell is not None
        direct = signature(
            diagnose(snapshot, str(vms[a].id), str(vms[b].id), port, fabric=fabric),
            snapshot, vms[a], vms[b],
        )
        assert cell.verdict == direct.verdict, (a, b)
        assert cell.signature == direct.signature, (a, b, cell.reasons, direct.reasons)
        assert cell.reasons == direct.reasons
        agreed += 1
    return agreed


def _assert_no_internal_error(matrix: Matrix) -> None:
    """Equal cells prove nothing if both sides hit the same bug: no step may have raised."""
    cells, _ = matrix.answers()
    for cell in cells:
        statuses, items = cell.signature
        assert all(status != "error" for _, status in statuses), cell.reasons
        assert all(item[0] != "INTERNAL_ERROR" for item in items), cell.reasons


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample("contoso")


@pytest.mark.parametrize("port", [5432, 443, 22, 445])
def test_sample_every_pair_agrees(sample: Snapshot, port: int) -> None:
    m = build_matrix(sample, port)
    pairs = [(a, b) for a in m.vms for b in m.vms if a != b]
    assert _agree(sample, m, pairs, port) == len(pairs)
    assert sum(m.counts().values()) == len(pairs)
    assert len(m.groups) < len(m.vms)  # the grouping saves work even on the sample


def test_sample_by_group_pairs_agrees(sample: Snapshot) -> None:
    """The plain way (one diagnosis per group pair, on demand) gives the same cells."""
    m = reference_matrix(sample, 5432, compute=False)
    pairs = [(a, b) for a in m.vms for b in m.vms if a != b]
    assert _agree(sample, m, pairs, 5432) == len(pairs)


@pytest.fixture(scope="module")
def sample_without_firewalls(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The sample with its Azure Firewall removed: the estate keeps its duplicate IPs, missing
    NIC, load balancers, admin rules, appliances and broken peerings, and the matrix now shares
    diagnoses between groups (with a firewall in the estate it does not)."""
    root = tmp_path_factory.mktemp("no-firewall")
    for path in sample_path().rglob("*"):
        if path.is_file():
            target = root / path.relative_to(sample_path())
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    firewall = root / "firewall.json"
    body = json.loads(firewall.read_text(encoding="utf-8"))
    kept = [r for r in body if r["type"].casefold() != "microsoft.network/azurefirewalls"]
    assert len(kept) < len(body)
    firewall.write_text(json.dumps(kept), encoding="utf-8")
    snapshot = load_snapshot([root])
    assert not snapshot.azure_firewalls
    return snapshot


@pytest.mark.parametrize("port", [5432, 443, 3389, 445])
def test_composed_cells_agree_where_classes_are_shared(
    sample_without_firewalls: Snapshot, port: int
) -> None:
    snapshot = sample_without_firewalls
    m = build_matrix(snapshot, port)
    pairs = [(a, b) for a in m.vms for b in m.vms if a != b]
    assert _agree(snapshot, m, pairs, port) == len(pairs)
    assert m.diagnosed < len(m.groups) ** 2  # parts were shared between cells


def test_synthetic_estate_random_pairs_agree() -> None:
    """The whole 10,000-VM one-port matrix, composed; >= 1,000 random VM pairs each equal the
    pair's own diagnosis (half of them from multi-member groups, so that the diagnosed
    representatives are other VMs)."""
    snapshot = snapshot_from_json(generate_estate(N_SYNTHETIC, seed=0))
    m = build_matrix(snapshot, 443)
    assert len(m.vms) == N_SYNTHETIC
    assert sum(m.counts().values()) == N_SYNTHETIC * (N_SYNTHETIC - 1)
    assert m.diagnosed < len(m.groups) ** 2 // 100
    rng = random.Random(20261126)
    names = list(m.vms)
    pairs: list[tuple[str, str]] = []
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


def test_text_output_of_a_large_matrix_lists_answers_not_pairs() -> None:
    """Beyond 10,000 VM pairs, text output gives each distinct answer and how many pairs get it."""
    snapshot = snapshot_from_json(generate_estate(300, seed=1))
    m = build_matrix(snapshot, 443)
    buf = io.StringIO()
    from vnetdoctor.commands.matrix import _text
    from vnetdoctor.report.output import safe

    _text(m, buf, safe)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("300 VMs in ")
    assert "distinct answers" in lines[1]
    listed = [int(line.split(" VM pairs")[0].replace(",", "")) for line in lines[2:-1]]
    # The most common answers, most common first, counted over VM pairs (not group pairs).
    _, pairs = m.answer_counts()
    assert sum(pairs) == 300 * 299
    assert listed == sorted(pairs, reverse=True)[:40]


def test_diagonal_and_single_member_groups(sample: Snapshot) -> None:
    m = build_matrix(sample, 5432, vms="vm-db-0[12]")
    assert m.vms == ("vm-db-01", "vm-db-02")
    assert m.cell("vm-db-01", "vm-db-01") is None
    for g in m.groups:
        if len(g.members) == 1:
            assert m.group_cell(g.index, g.index) is None


def test_one_vm_and_no_vm_in_scope(sample: Snapshot) -> None:
    """Regression: one VM in scope (a one-member group's diagonal only) crashed the composer."""
    m = build_matrix(sample, 22, vms="vm-web-01")
    assert m.vms == ("vm-web-01",)
    assert m.cell("vm-web-01", "vm-web-01") is None
    assert m.counts() == {}
    code, out = _run(["matrix", "--sample", "--port", "22", "--vms", "vm-web-01"])
    assert code == 0
    assert out.splitlines()[0] == "1 VMs in 1 groups, 0 representative diagnoses; no VM pair"
    proc = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", "matrix", "--sample", "--vms", "nothing-*"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "vnetdoctor: error: matrix: --vms 'nothing-*' matches no VM"


def test_glob_scopes_and_is_case_insensitive(sample: Snapshot) -> None:
    m = build_matrix(sample, 5432, vms="VM-WEB-*")
    assert m.vms == ("vm-web-01", "vm-web-02")


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_outputs(tmp_path: Path) -> None:
    code, out = _run(["matrix", "--sample", "--port", "5432", "--vms", "vm-*-01", "-o", "json"])
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "vnetdoctor.matrix/2"
    n = data["vms"]
    assert sum(data["counts"].values()) == n * (n - 1)
    members = [m for g in data["groups"] for m in g["members"]]
    assert sorted(members) == sorted(set(members))
    assert len(members) == n
    # table[source group][destination group] indexes the distinct answers
    groups = {m: g["group"] for g in data["groups"] for m in g["members"]}
    table, cells = data["table"], data["cells"]
    assert len(table) == len(data["groups"])
    assert all(len(r) == len(table) for r in table)
    web_db = cells[table[groups["vm-web-01"]][groups["vm-db-01"]]]
    assert web_db["verdict"] == "blocked"
    assert any(r.startswith("NSG_DENY nsg-snet-data") for r in web_db["reasons"])

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


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_vms=st.integers(min_value=60, max_value=260),
    seed=st.integers(min_value=0, max_value=10_000),
    port=st.sampled_from([None, 22, 443, 445, 1433, 3389, 8080]),
    protocol=st.sampled_from(["tcp", "udp", "icmp"]),
)
def test_composed_matrix_equals_the_plain_one_on_generated_estates(
    n_vms: int, seed: int, port: int | None, protocol: str
) -> None:
    """Against the simple reference: on estates of other shapes (seed and size change the
    spokes, NSG rules, UDRs, ASGs, public IPs, stopped VMs), every group pair composed from
    parts equals one full diagnosis of that group pair."""
    if protocol == "icmp":
        port = None
    snapshot = snapshot_from_json(generate_estate(n_vms, seed=seed))
    composed = build_matrix(snapshot, port, protocol)
    plain = reference_matrix(snapshot, port, protocol, compute=False)
    assert [g.members for g in composed.groups] == [g.members for g in plain.groups]
    n = len(plain.groups)
    for i in range(n):
        for j in range(n):
            assert composed.group_cell(i, j) == plain.group_cell(i, j), (i, j)
    _assert_no_internal_error(composed)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_vms=st.integers(min_value=60, max_value=260),
    seed=st.integers(min_value=0, max_value=10_000),
    port=st.sampled_from([None, 22, 443, 1433, 3389, 8050]),
    protocol=st.sampled_from(["tcp", "udp", "icmp"]),
)
def test_composed_matrix_equals_the_plain_one_through_azure_firewall(
    n_vms: int, seed: int, port: int | None, protocol: str
) -> None:
    """The same, with the hub routing through Azure Firewall (a policy and its parent, rules on
    CIDRs and IP groups, and on odd seeds SNAT to the spokes): the firewall's rules class the
    addresses like an appliance's NSGs do."""
    if protocol == "icmp":
        port = None
    snapshot = snapshot_from_json(with_firewall(generate_estate(n_vms, seed=seed), seed))
    assert snapshot.azure_firewalls
    composed = build_matrix(snapshot, port, protocol)
    plain = reference_matrix(snapshot, port, protocol, compute=False)
    n = len(plain.groups)
    for i in range(n):
        for j in range(n):
            assert composed.group_cell(i, j) == plain.group_cell(i, j), (i, j)
    _assert_no_internal_error(composed)


def test_guest_evidence_counts_in_every_cell_of_its_vm(sample: Snapshot) -> None:
    """With the sample's guest evidence (an appliance's included), every pair equals its own
    diagnosis given the same evidence; a VM with evidence is a group of its own."""
    from vnetdoctor.api import load_guest

    root = sample_path() / "guest"
    guest = {d.name: load_guest([d]) for d in sorted(root.iterdir()) if d.is_dir()}
    vms = {v.name: v for v in sample.virtual_machines.values()}
    for port in (5432, 443):
        m = build_matrix(sample, port, guest=guest)
        for name in guest:
            if name in m.vms:
                assert m.groups[m.group_of[name]].members == (name,)
        for a in m.vms:
            for b in m.vms:
                if a == b:
                    continue
                direct = signature(
                    diagnose(sample, str(vms[a].id), str(vms[b].id), port, guest=guest),
                    sample,
                    vms[a],
                    vms[b],
                )
                assert m.cell(a, b) == direct, (a, b, port)
    counts = build_matrix(sample, 5432, guest=guest).counts()
    assert counts != build_matrix(sample, 5432).counts()  # the evidence changed answers


def test_cli_guest_option() -> None:
    code, out = _run(
        ["matrix", "--sample", "--port", "5432", "--vms", "vm-db-0*", "-o", "csv",
         "--guest", "vm-db-02=guest/vm-db-02"]
    )
    assert code == 0
    rows = {(r["source"], r["destination"]): r for r in csv.DictReader(io.StringIO(out))}
    assert rows[("vm-db-01", "vm-db-02")]["verdict"] == "blocked"
    assert "GUEST_FIREWALL_DENY" in rows[("vm-db-01", "vm-db-02")]["reasons"]


def test_classic_vms_in_scope_are_named_as_not_covered(sample: Snapshot) -> None:
    """The matrix covers ARM VMs; the sample's classic VMs are named, never silently left out."""
    classic = sorted(v.name for v in sample.classic_virtual_machines.values())
    assert classic
    m = build_matrix(sample, 22)
    assert m.excluded == tuple(classic)
    assert not set(classic) & set(m.vms)
    code, out = _run(["matrix", "--sample", "--port", "22", "-o", "json"])
    assert code == 0
    assert [x["vm"] for x in json.loads(out)["notCovered"]] == classic
    code, out = _run(["matrix", "--sample", "--port", "22", "--vms", "vm-web-*"])
    assert "Not covered" not in out
    assert build_matrix(sample, 22, vms="vm-web-*").excluded == ()


def test_guest_evidence_for_an_unknown_vm_is_refused(sample: Snapshot) -> None:
    from vnetdoctor.errors import UsageError

    with pytest.raises(UsageError, match="no VM of that name"):
        build_matrix(sample, 22, guest={"vm-nope": object()})


@pytest.mark.parametrize("number", [3, 9])
def test_a_step_that_raises_shows_in_every_cell(
    sample: Snapshot, monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    """A bug in a step is the first reason of every cell, never a reachable verdict, and the
    composed cells still equal the reference ones."""
    import msgspec

    from vnetdoctor.runbook import runner
    from vnetdoctor.runbook.registry import REGISTRY

    def explode(ctx: object) -> object:
        raise RuntimeError("boom")

    swap = msgspec.structs.replace
    steps = [swap(s, func=explode) if s.number == number else s for s in REGISTRY]
    monkeypatch.setattr(runner, "REGISTRY", steps)
    composed = build_matrix(sample, 5432, vms="vm-[wd]*")
    plain = reference_matrix(sample, 5432, vms="vm-[wd]*")
    assert composed.vms
    for a, b, cell in composed.pairs():
        assert cell == plain.cell(a, b), (a, b)
        assert cell.verdict != "reachable"
        assert cell.reasons[0].startswith("INTERNAL_ERROR"), cell.reasons
        assert (number, "error") in cell.signature[0]


def test_a_step_2_that_raises_is_named_by_the_matrix(
    sample: Snapshot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Step 2's findings are what cells are composed from: without them the composed matrix
    raises the step's error (the command line: one line, exit 70), not an assertion."""
    import msgspec

    from vnetdoctor.runbook import runner
    from vnetdoctor.runbook.registry import REGISTRY
    from vnetdoctor.runbook.runner import StepFailed

    def explode(ctx: object) -> object:
        raise RuntimeError("boom")

    swap = msgspec.structs.replace
    monkeypatch.setattr(
        runner, "REGISTRY", [swap(s, func=explode) if s.number == 2 else s for s in REGISTRY]
    )
    with pytest.raises(StepFailed, match=r"step 2 \(nsg-udr\) raised RuntimeError: boom"):
        build_matrix(sample, 5432, vms="vm-[wd]*")
    from vnetdoctor.cli import main

    with pytest.raises(SystemExit) as done:
        main(["matrix", "--sample", "--port", "5432", "--vms", "vm-[wd]*"])
    assert done.value.code == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("vnetdoctor: internal error: step 2 (nsg-udr) raised RuntimeError")


@pytest.mark.parametrize("protocol", ["*", "Any"])
def test_any_protocol_is_composed_as_any(sample: Snapshot, protocol: str) -> None:
    """The composed matrix once fell back to TCP for ``*`` while the reference asked ``*``:
    every cell differed. One parser now gives both the same protocol."""
    composed = build_matrix(sample, 443, protocol, vms="vm-[wdj]*")
    plain = reference_matrix(sample, 443, protocol, vms="vm-[wdj]*", compute=False)
    pairs = list(composed.pairs())
    assert pairs
    for a, b, cell in pairs:
        assert cell == plain.cell(a, b), (a, b)


@pytest.mark.parametrize("protocol", ["gre", "Esp"])
def test_a_protocol_diagnose_does_not_trace_is_refused_up_front(
    sample: Snapshot, protocol: str
) -> None:
    """Not silently TCP: the matrix refuses it as ``diagnose`` does."""
    from vnetdoctor.errors import UsageError

    message = rf"unknown protocol '{protocol}' \(expected tcp, udp or icmp\)"
    with pytest.raises(UsageError, match=message):
        build_matrix(sample, 443, protocol, compute=False)
    with pytest.raises(UsageError, match=message):
        reference_matrix(sample, 443, protocol, compute=False)


def test_csv_is_written_row_by_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """matrix -o csv streams its rows into the output (regression: the whole CSV was built in
    memory first, gigabytes on a 10,000-VM estate)."""
    import contextlib
    from collections.abc import Iterator
    from typing import IO

    import vnetdoctor.commands.matrix as command

    sizes: list[int] = []
    real = command.open_output

    @contextlib.contextmanager
    def recording(target: Any, **kwargs: Any) -> Iterator[IO[str]]:
        with real(target, **kwargs) as stream:
            write = stream.write

            def counted(text: str) -> int:
                sizes.append(len(text))
                return write(text)

            monkeypatch.setattr(stream, "write", counted)
            yield stream

    monkeypatch.setattr(command, "open_output", recording)
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(cli, ["matrix", "--sample", "--port", "22", "-o", "csv",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = out.read_text(encoding="utf-8").count("\n")
    assert len(sizes) == rows  # one write per row (and the header)
    assert max(sizes) < 2_000
