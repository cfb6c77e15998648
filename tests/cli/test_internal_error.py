"""A step that raises is a bug: status ``error``, the other steps reported, exit 70, one line."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import msgspec
import pytest

from vnetdoctor.api import diagnose
from vnetdoctor.cli import main
from vnetdoctor.runbook import runner
from vnetdoctor.runbook.findings import Status
from vnetdoctor.runbook.registry import REGISTRY
from vnetdoctor.runbook.runner import StepFailed, Verdict, verdict_of
from vnetdoctor.samples import load_sample

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "outputs" / "diagnose"


def _golden_args(name: str) -> list[str]:
    """The command line a golden output was made with (its first line)."""
    first = (GOLDEN / name).read_text(encoding="utf-8").splitlines()[0]
    return shlex.split(first.removeprefix("$ vnetdoctor "))


def _explode(ctx: object) -> object:
    raise RuntimeError("boom")


@pytest.fixture
def step3_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """Step 3's function raises (the registry the runner walks, with step 3's function swapped)."""
    steps = [msgspec.structs.replace(s, func=_explode) if s.number == 3 else s for s in REGISTRY]
    monkeypatch.setattr(runner, "REGISTRY", steps)


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_library_gets_the_diagnosis_with_the_error_status(step3_raises: None) -> None:
    sample = load_sample("contoso")
    result = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    step = result.step(3)
    assert step.status is Status.ERROR
    assert [(f.code, f.status) for f in step.findings] == [("INTERNAL_ERROR", Status.ERROR)]
    assert "RuntimeError: boom" in step.findings[0].message
    error = result.internal_error
    assert error is not None
    assert (error.number, error.id) == (3, "guest-firewall")
    assert isinstance(error.exception, RuntimeError)
    assert error.exception.__traceback__ is not None  # kept for --debug
    assert result.exit_code == 70
    # The other steps still ran: the same answers as without the bug.
    with pytest.raises(StepFailed, match=r"step 3 \(guest-firewall\) raised RuntimeError: boom"):
        result.raise_for_error()
    assert [s.number for s in result.steps] == list(range(1, 10))
    assert result.to_json()["steps"][2]["status"] == "error"


def test_the_other_steps_are_unchanged(step3_raises: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = load_sample("contoso")
    broken = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    monkeypatch.undo()
    healthy = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    assert healthy.internal_error is None
    assert healthy.exit_code == 1
    for a, b in zip(broken.steps, healthy.steps, strict=True):
        if a.number != 3:
            assert a == b
    assert broken.verdict is healthy.verdict is Verdict.BLOCKED  # step 2's deny still blocks


def test_an_error_is_never_reachable() -> None:
    assert verdict_of([Status.PASS, Status.ERROR]) is Verdict.INCONCLUSIVE
    assert verdict_of([Status.FAIL, Status.ERROR]) is Verdict.BLOCKED
    assert verdict_of([Status.PASS, Status.WARN]) is Verdict.REACHABLE


def test_cli_prints_the_report_then_one_line_and_exits_70(
    step3_raises: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main(_golden_args("pair01.json"), capsys)  # reachable without the bug
    assert code == 70
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vnetdoctor: internal error: step 3 (guest-firewall) raised ")
    assert "RuntimeError: boom" in lines[0]
    assert "please report it" in lines[0]
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["verdict"] == "inconclusive"
    assert [s["status"] for s in report["steps"]][2] == "error"
    assert report["steps"][2]["findings"][0]["code"] == "INTERNAL_ERROR"
    assert len(report["steps"]) == 9


def test_cli_text_report_too(step3_raises: None, capsys: pytest.CaptureFixture[str]) -> None:
    args = [a for a in _golden_args("pair01.json") if a not in ("-o", "json")]
    code, out, err = _main(args, capsys)
    assert code == 70
    assert "INTERNAL_ERROR" in out
    assert "The nine steps" in out
    assert len(err.splitlines()) == 1


def test_cli_debug_prints_the_step_traceback(
    step3_raises: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main([*_golden_args("pair01.json"), "--debug"], capsys)
    assert code == 70
    assert "Traceback" in err
    assert "in _explode" in err
    assert "RuntimeError: boom" in err
    assert err.rstrip().splitlines()[-1].startswith("vnetdoctor: internal error: step 3")
    assert json.loads(out)["steps"][2]["status"] == "error"


def test_matrix_with_a_step_that_raised_exits_70(
    step3_raises: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The matrix is written (its cells say INTERNAL_ERROR first), then one line and exit 70."""
    code, out, err = _main(["matrix", "--sample", "--port", "5432", "-o", "json"], capsys)
    assert code == 70
    assert "INTERNAL_ERROR" in out
    json.loads(out)  # the whole matrix, not a fragment
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("vnetdoctor: internal error: step 3 raised")


def test_matrix_without_a_raised_step_keeps_its_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["matrix", "--sample", "--port", "5432", "-o", "csv"])  # exit 0: main returns
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("source,destination,verdict,reasons\n")


def test_verify_with_a_step_that_raised_exits_70(
    step3_raises: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intents = tmp_path / "intents.yaml"
    intents.write_text(
        "intents:\n  - {name: sql, from: vm-web-01, to: vm-db-01, port: 5432, "
        "expect: must not reach}\n",
        encoding="utf-8",
    )
    code, out, err = _main(["verify", str(intents), "--sample"], capsys)
    assert code == 70
    assert out.splitlines()[-1].endswith("failed")  # the results are still printed
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("vnetdoctor: internal error: step 3 raised")


def test_diff_with_a_step_that_raised_exits_70(
    step3_raises: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vnetdoctor.samples import sample_path

    pairs = tmp_path / "pairs.txt"
    pairs.write_text("vm-web-01 -> vm-db-01:5432\n", encoding="utf-8")
    args = ["diff", "--sample", "--after", str(sample_path()), "--pairs", str(pairs)]
    code, out, err = _main(args, capsys)
    assert code == 70
    assert out  # the diff is shown
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("vnetdoctor: internal error: step 3 (guest-firewall) raised")
