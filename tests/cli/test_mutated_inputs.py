"""The bundled estate and its guest evidence, each with one part spoiled, through ``diagnose``.

The loader's own fuzzing throws random documents at it; this spoils real ones where they are
deep (a rule's port range, a route's next hop, a NIC's IP configuration, one line of an
``iptables-save``), so that the engine and the guest parsers meet values they were never given.
Whatever the spoiled part, the CLI answers with a verdict (exit 0, 1 or 3) or one line naming the
bad input (exit 2): never an internal error (exit 70) or a traceback.
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


def _run(args: list[str]) -> tuple[int, str]:
    """The exit code and stderr; a step that crashed (INTERNAL_ERROR in stdout) fails here."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    assert "INTERNAL_ERROR" not in out.getvalue(), f"{args}: a step crashed: {out.getvalue()}"
    return code, err.getvalue()


def _assert_answered(code: int, err: str, what: str) -> None:
    assert code in (0, 1, 2, 3), f"{what}: exit {code}: {err[-500:]}"
    assert "Traceback" not in err, what
    assert "INTERNAL_ERROR" not in err, what
    if code == 2:
        assert len(err.strip().splitlines()) == 1, f"{what}: {err}"


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
        code, err = _run(["diagnose", "-s", str(estate), "--from", pair[0], "--to", pair[1],
                          "--port", pair[2], "-o", output])
    _assert_answered(code, err, f"{name} at {place} = {new!r}")


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
        code, err = _run(["diagnose", "--sample", "--from", source, "--to", vm, "--port", port,
                          "--guest", f"{vm}={folder}"])
    _assert_answered(code, err, f"{artefact.name} after {edits}")
