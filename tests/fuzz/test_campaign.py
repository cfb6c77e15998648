"""The fuzz campaign: the bundled estate and its guest evidence, spoiled a few hundred ways (in CI)
or thousands (``VNETDOCTOR_FUZZ_LONG=1``), through the API and the CLI; and the same answer,
byte for byte, whatever ``PYTHONHASHSEED``.

See :mod:`fuzz.campaign` for the rule every case must keep. A failure names its case number:
``random.Random(case)`` regenerates the input.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from random import Random

import pytest
from builders import spoil_lines

from fuzz.campaign import (
    DOCUMENTS,
    GUEST_CASES,
    GUESTS,
    PAIRS,
    SAMPLE,
    SNAPSHOT_CASES,
    Tally,
    cli_problem,
    guest_edits,
    json_problem,
    mutate_document,
    run_cli,
    write_json,
)
from vnetdoctor import diagnose, load_guest, load_sample, load_snapshot
from vnetdoctor.errors import VnetDoctorError
from vnetdoctor.report.output import encode_json


def _report(tally: Tally) -> None:
    print(tally.summary())  # shown with -s: the campaign's figures
    assert tally.failures == [], "\n".join(tally.failures[:20])


def _cli_args(rng: Random, estate: Path, pair: tuple[str, str, str]) -> list[str]:
    kind = rng.randrange(10)
    if kind == 0:
        return ["matrix", "-s", str(estate), "--port", pair[2], "-o", rng.choice(["json", "csv"])]
    if kind == 1:
        return ["inventory", "-s", str(estate), "-o", rng.choice(["json", "text"])]
    return ["diagnose", "-s", str(estate), "--from", pair[0], "--to", pair[1], "--port", pair[2],
            "-o", rng.choice(["json", "text"])]


def test_spoiled_snapshots_get_an_answer_or_one_line(tmp_path: Path) -> None:
    estate = tmp_path / "estate"
    shutil.copytree(SAMPLE, estate, ignore=shutil.ignore_patterns("guest"))
    originals = {name: json.loads((SAMPLE / name).read_text()) for name in DOCUMENTS}
    tally = Tally("snapshot mutations")
    for case in range(SNAPSHOT_CASES):
        rng = Random(case)
        name = rng.choice(DOCUMENTS)
        spoiled, done = mutate_document(originals[name], rng)
        write_json(estate / name, spoiled)
        pair = rng.choice(PAIRS)
        what = f"{name}: {'; '.join(done)}"

        def through_api(pair: tuple[str, str, str] = pair) -> str | None:
            tally.api_runs += 1
            try:
                snapshot = load_snapshot([estate])
                result = diagnose(snapshot, pair[0], pair[1], int(pair[2]))
            except VnetDoctorError:
                tally.refused += 1
                return None
            return json_problem(encode_json(result.to_json()))

        tally.timed(case, f"{what}; diagnose(API) {pair}", through_api)
        if case % 3 == 0:
            args = _cli_args(rng, estate, pair)
            tally.cli_runs += 1
            tally.timed(case, f"{what}; vnetdoctor {' '.join(args)}",
                        lambda args=args: cli_problem(*run_cli(args)))
        tally.cases += 1
        write_json(estate / name, originals[name])
    _report(tally)


def test_spoiled_guest_evidence_gets_an_answer_or_one_line(tmp_path: Path) -> None:
    sample = load_sample()
    tally = Tally("guest-evidence mutations")
    for vm in GUESTS:
        shutil.copytree(SAMPLE / "guest" / vm, tmp_path / vm)
    for case in range(GUEST_CASES):
        rng = Random(case)
        vm = rng.choice(sorted(GUESTS))
        folder = tmp_path / vm
        artefacts = sorted(folder.iterdir())
        artefact = artefacts[rng.randrange(len(artefacts))]
        original = artefact.read_bytes()
        edits = guest_edits(rng)
        lines = original.decode("utf-8", errors="replace").splitlines()
        artefact.write_text("\n".join(spoil_lines(lines, rng, edits)), encoding="utf-8")
        source, port = GUESTS[vm]
        what = f"{vm}/{artefact.name} after {edits}"

        def through_api(vm: str = vm, source: str = source, port: str = port) -> str | None:
            tally.api_runs += 1
            try:
                evidence = load_guest([tmp_path / vm])
                result = diagnose(sample, source, vm, int(port), guest={vm: evidence})
            except VnetDoctorError:
                tally.refused += 1
                return None
            return json_problem(encode_json(result.to_json()))

        tally.timed(case, f"{what}; diagnose(API)", through_api)
        if case % 3 == 0:
            args = ["diagnose", "--sample", "--from", source, "--to", vm, "--port", port,
                    "--guest", f"{vm}={folder}", "-o", rng.choice(["json", "text"])]
            tally.cli_runs += 1
            tally.timed(case, f"{what}; vnetdoctor {' '.join(args)}",
                        lambda args=args: cli_problem(*run_cli(args)))
        tally.cases += 1
        artefact.write_bytes(original)
    _report(tally)


def _outputs(seed: str, runs: list[list[str]]) -> list[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return [subprocess.run([sys.executable, "-m", "vnetdoctor", *args], capture_output=True,
                           timeout=300, check=False, env=env).stdout for args in runs]


def test_answers_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    spoiled = tmp_path / "spoiled"
    shutil.copytree(SAMPLE, spoiled, ignore=shutil.ignore_patterns("guest"))
    name = "network.json"
    document, _ = mutate_document(json.loads((SAMPLE / name).read_text()), Random(7))
    write_json(spoiled / name, document)
    runs = [["diagnose", "--sample", "--from", a, "--to", b, "--port", p, "-o", "json"]
            for a, b, p in PAIRS]
    runs += [["matrix", "--sample", "--port", "5432", "-o", "json"],
             ["inventory", "--sample", "-o", "json"],
             ["diagnose", "-s", str(spoiled), "--from", "vm-web-01", "--to", "vm-db-01",
              "--port", "5432", "-o", "json"]]
    first, second = _outputs("0", runs), _outputs("4242", runs)
    assert all(out for out in first), "a run printed nothing"
    for args, a, b in zip(runs, first, second, strict=True):
        assert a == b, f"vnetdoctor {' '.join(args)} differs between hash seeds"


@pytest.mark.skipif(not os.environ.get("VNETDOCTOR_FUZZ_LONG"), reason="long campaign only")
def test_long_answers_do_not_depend_on_the_hash_seed() -> None:
    runs = [["matrix", "--sample", "--port", port, "-o", "json"] for port in ("22", "443", "445")]
    runs += [["diagnose", "--sample", "--from", a, "--to", b, "--port", p, "-o", "json"]
             for a, b, p in PAIRS]
    assert _outputs("1", runs) == _outputs("2", runs) == _outputs("random", runs)


def test_the_rule_catches_what_it_must() -> None:
    assert cli_problem(70, "", "vnetdoctor: internal error: KeyError") is not None
    assert cli_problem(3, '{"code": "INTERNAL_ERROR"}', "") is not None
    assert cli_problem(2, "", "Traceback (most recent call last):\n  ...\n") is not None
    assert cli_problem(2, "", "vnetdoctor: error: x.json: malformed JSON\n") is None
    assert json_problem('{"code": "INTERNAL_ERROR"}') is not None
    tally = Tally("self-check")

    def crash() -> str | None:
        raise KeyError("boom")

    tally.timed(0, "a crash", crash)
    assert tally.failures == ["case 0: a crash: raised KeyError: 'boom'"]
