"""The bundled estate and its guest evidence, each with one part spoiled, through ``diagnose``.

The loader's own fuzzing throws random documents at it; this spoils real ones where they are
deep (a rule's port range, a route's next hop, a NIC's IP configuration, one line of an
``iptables-save``), so that the engine and the guest parsers meet values they were never given.
Whatever the spoiled part, the CLI answers with a verdict (exit 0, 1 or 3) or one line naming the
bad input (exit 2): never an internal error (exit 70, a step's status ``error``, the finding
``INTERNAL_ERROR``) or a traceback, on either stream.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from builders import LINE_EDITS, ODD_LINES, ODD_VALUES, locations, put, spoil_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnetdoctor.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "vnetdoctor" / "samples" / "contoso"
DOCUMENTS = sorted(path.name for path in SAMPLE.glob("*.json"))
PAIRS = [("vm-web-01", "vm-db-01", "5432"), ("vm-app-01", "vm-db-02", "5432"),
         ("vm-web-01", "52.178.190.12", "443")]
odd = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8),
    st.sampled_from(ODD_VALUES), st.lists(st.none(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.none(), max_size=2),
)
# a guest VM with evidence -> (the source that talks to it, the port)
GUESTS = {"vm-db-01": ("vm-web-01", "5432"), "vm-db-02": ("vm-app-01", "5432"),
          "vm-db-03": ("vm-app-01", "5432"), "vm-crm-01": ("vm-web-01", "443"),
          "vm-files-01": ("vm-web-01", "445"), "vm-api-01": ("vm-web-01", "8080")}
EDITS = st.lists(st.tuples(st.sampled_from(LINE_EDITS),
                           st.sampled_from(ODD_LINES)), min_size=1, max_size=4)


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()


# What an internal error looks like in either output: a step that raised, or the command itself.
INTERNAL = ("Traceback", "INTERNAL_ERROR", '"status": "error"', "internal error")


def _assert_answered(code: int, out: str, err: str, what: str) -> None:
    assert code in (0, 1, 2, 3), f"{what}: exit {code}: {err[-500:]}"
    for mark in INTERNAL:
        assert mark not in err, f"{what}: {err[-500:]}"
        assert mark not in out, f"{what}: {mark!r} in the report"
    if code == 2:
        assert len(err.strip().splitlines()) == 1, f"{what}: {err}"
    else:
        assert out, f"{what}: exit {code} without a report"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(name=st.sampled_from(DOCUMENTS), seed=st.integers(0, 2**32), new=odd,
       pair=st.sampled_from(PAIRS), output=st.sampled_from(["text", "json"]))
def test_a_spoiled_snapshot_gets_a_verdict_or_one_line(name: str, seed: int, new: Any,
                                                        pair: tuple[str, str, str],
                                                        output: str) -> None:
    document = json.loads((SAMPLE / name).read_text())
    places = locations(document)
    place = places[random.Random(seed).randrange(len(places))]
    with tempfile.TemporaryDirectory() as tmp:
        estate = Path(tmp) / "estate"
        shutil.copytree(SAMPLE, estate)
        (estate / name).write_text(json.dumps(put(document, place, new)))
        code, out, err = _run(["diagnose", "-s", str(estate), "--from", pair[0], "--to",
                               pair[1], "--port", pair[2], "-o", output])
    _assert_answered(code, out, err, f"{name} at {place} = {new!r}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vm=st.sampled_from(sorted(GUESTS)), seed=st.integers(0, 2**32), edits=EDITS)
def test_spoiled_guest_evidence_gets_a_verdict_or_one_line(
        vm: str, seed: int, edits: list[tuple[str, str]]) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / vm
        shutil.copytree(SAMPLE / "guest" / vm, folder)
        artefacts = sorted(folder.iterdir())
        artefact = artefacts[rng.randrange(len(artefacts))]
        lines = spoil_lines(artefact.read_text(errors="replace").splitlines(), rng, edits)
        artefact.write_text("\n".join(lines))
        source, port = GUESTS[vm]
        code, out, err = _run(["diagnose", "--sample", "--from", source, "--to", vm, "--port",
                               port, "--guest", f"{vm}={folder}"])
    _assert_answered(code, out, err, f"{artefact.name} after {edits}")


def test_the_harness_rejects_internal_errors() -> None:
    """A step that raised ends exit 70 and shows in the report: each sign alone fails."""
    import pytest

    report = '{"steps": [{"status": "error", "findings": [{"code": "INTERNAL_ERROR"}]}]}'
    for code, out, err in [
        (70, "{}", "vnetdoctor: internal error: step 3 (guest-firewall) raised ..."),
        (3, report, ""),
        (3, "INTERNAL_ERROR  (step 3)", ""),
        (1, "{}", "Traceback (most recent call last):"),
    ]:
        with pytest.raises(AssertionError):
            _assert_answered(code, out, err, "self-test")
    _assert_answered(3, '{"verdict": "inconclusive"}', "", "self-test")
