"""Names written by whoever can edit the estate (VM names, rule names in flow logs) opened in a
spreadsheet or a browser: no cell runs as a formula, no bidi control reorders what is shown."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from vnetdoctor.cli import cli
from vnetdoctor.flowlogs.model import FlowAggregate
from vnetdoctor.report.flowlogs import write_csv
from vnetdoctor.report.output import csv_text

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "vnetdoctor" / "samples" / "contoso"
FORMULAS = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_get_a_leading_quote(text: str) -> None:
    assert csv_text(text) == "'" + text


@pytest.mark.parametrize("text", ["-1", "+2", "-2.5e3", ".5", "vm-web-01", "10.0.0.4", ""])
def test_numbers_and_plain_text_are_left_alone(text: str) -> None:
    assert csv_text(text) == text


def test_matrix_csv_quotes_hostile_vm_names(tmp_path: Path) -> None:
    estate = tmp_path / "contoso"
    shutil.copytree(SAMPLE, estate)
    compute = json.loads((estate / "compute.json").read_text())
    names = iter(FORMULAS[:4])
    for resource in compute["value"]:
        if resource["name"] in ("vm-web-01", "vm-web-02", "vm-app-01", "vm-db-01"):
            resource["name"] = next(names)
    (estate / "compute.json").write_text(json.dumps(compute))
    result = CliRunner().invoke(cli, ["matrix", "-s", str(estate), "--port", "5432", "-o", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    cells = [value for row in rows[1:] for value in (row[0], row[1], row[3])]
    assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in cells)
    for name in FORMULAS[:4]:
        assert any(value == "'" + name for value in cells)


def test_flowlogs_csv_quotes_rule_names_and_keeps_numbers() -> None:
    flows = [FlowAggregate(first_seen=-1, src="10.0.0.4", dst="10.0.0.5", src_port=1,
                           dst_port=2, protocol="T", direction="I", decision="Deny", rule=text,
                           count=1, packets=-1, bytes=0, last_seen=5) for text in FORMULAS]
    out = io.StringIO()
    write_csv(flows, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    # control characters are escaped first (a tab shows as a space, a CR as "\\r"), as in text
    assert [row["rule"] for row in rows] == ["'" + text for text in FORMULAS[:4]] + [
        " =1+1", "\\r=1+1"]
    assert all(not row["rule"].startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows)
    assert {row["packets"] for row in rows} == {"-1"}  # a number stays a number


def test_html_shows_bidi_controls_as_escapes() -> None:
    import msgspec

    from vnetdoctor.api import diagnose
    from vnetdoctor.report.html import render_html
    from vnetdoctor.samples import load_sample

    sample = load_sample("contoso")
    result = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    hops = tuple(msgspec.structs.replace(h, name=f"{h.name}{BIDI}4.1.0.01")
                 for h in result.path)
    page = render_html(msgspec.structs.replace(result, path=hops), sample)
    assert not any(c in page for c in BIDI)
    assert "\\u202e" in page
    assert "\\u061c" in page
    assert "\\u200f" in page
