"""``vnetdoctor probe``'s summary line: an output that is empty is collected (no rule, no table),
not missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vnetdoctor.cli import cli
from vnetdoctor.model.evidence import Capture, OsFamily, ProbeFile
from vnetdoctor.probe import capture_summary

CAPTURES = (
    Capture(kind="ss", argv=("ss",), exit_code=0, stdout="State Recv-Q\n"),
    Capture(kind="iptables-save", argv=("iptables-save",), exit_code=0, stdout=""),
    Capture(kind="nft", argv=("nft",), exit_code=0, stdout="  \n"),
    Capture(kind="ip6tables-save", argv=("ip6tables-save",), error="not installed: no"),
)


def test_empty_outputs_count_as_collected_and_are_named() -> None:
    assert capture_summary(CAPTURES) == "3/4 captures (2 empty: iptables-save, nft)"
    assert capture_summary(CAPTURES[:1]) == "1/1 captures"


def test_probe_command_reports_empty_outputs_as_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = ProbeFile(
        tool_version="0", collected_at="2026-01-01T00:00:00+00:00", hostname="h",
        os_family=OsFamily.LINUX, os_version="Linux", privileged=True, ports=(5432,),
        captures=CAPTURES, connects=(), gaps=(), duration_ms=1,
    )
    monkeypatch.setattr("vnetdoctor.probe.collect_probe", lambda *a, **k: result)
    out = tmp_path / "p.json"
    run = CliRunner().invoke(cli, ["probe", "--port", "5432", "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert f"wrote {out}: 3/4 captures (2 empty: iptables-save, nft), 0 connect tests" in run.output
