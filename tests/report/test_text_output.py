"""Text output a person can act on: commands that paste, addresses and ids that stay whole at any
width, the verdict on the last line, a short mode, COLUMNS honoured when piped."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from rich.text import Text
from sample_pairs import PAIRS, Pair

from report.shell_text import broken_tokens, commands, shell_problems, whole
from vnetdoctor.cli import cli
from vnetdoctor.report.output import (
    PIPED_WIDTH,
    column_widths,
    make_console,
    print_table,
    shell_commands,
    text_width,
)


def _run(args: list[str], columns: int | None = None) -> tuple[int, str]:
    env = {"COLUMNS": str(columns)} if columns else {"COLUMNS": ""}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def _pair_args(pair: Pair) -> list[str]:
    args = ["diagnose", "--sample", "--from", pair.source, "--to", pair.destination]
    args += ["--port", str(pair.port), "--protocol", pair.protocol]
    for vm, rel in pair.guest:
        args += ["--guest", f"{vm}={rel}"]
    if pair.concurrent is not None:
        args += ["--concurrent", str(pair.concurrent)]
    return args


def _findings(document: dict[str, object]) -> list[dict[str, object]]:
    steps = document["steps"]
    assert isinstance(steps, list)
    return [f for step in steps for f in step["findings"]]


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"pair{p.number}")
def test_every_suggested_command_pastes_at_80_and_200_columns(pair: Pair) -> None:
    """Each fix of the JSON answer is printed whole, one shell command a line, and every printed
    command parses with shlex into one command with no unquoted glob; no address or id of the
    answer is cut."""
    _, out = _run([*_pair_args(pair), "-o", "json"])
    document = json.loads(out)
    fixes = {str(f["command"]) for f in _findings(document) if f.get("command")}
    for columns in (80, 200):
        _, text = _run(_pair_args(pair), columns)
        printed = commands(text)
        for fix in fixes:
            for line in shell_commands(fix):
                assert line in printed, f"{columns} columns: {line!r} not printed whole"
        for command in printed:
            assert shell_problems(command) == [], (columns, command)
        assert broken_tokens(text, document) == [], columns
        for finding in _findings(document):
            if finding.get("resource") and finding["status"] != "pass":
                assert whole(text, str(finding["resource"])), (columns, finding["resource"])


def test_without_a_port_no_fix_opens_every_port() -> None:
    args = ["diagnose", "--sample", "--from", "vm-web-01", "--to", "vm-db-01"]
    code, text = _run(args)
    assert code == 1
    fixes = [c for c in commands(text) if c.startswith("az network nsg rule create")]
    assert fixes, text
    for fix in fixes:
        assert shell_problems(fix) == []
        assert "--destination-port-ranges '<port>'" in fix
    assert "any port (no --port given)" in text.splitlines()[1]
    assert "give --port N" in text


def test_placeholders_and_chains_become_shell_lines() -> None:
    chain = "az a -g <rg> && az b --priority <lower than the deny>  # then c"
    assert shell_commands(chain) == [
        "az a -g '<rg>'",
        "az b --priority '<lower than the deny>'  # then c",
    ]
    assert shell_commands("az c --destination-port-ranges '<port>'") == [
        "az c --destination-port-ranges '<port>'"
    ]
    assert shell_problems("az a <group> b") != []
    assert shell_problems("az a --ports *") != []
    assert shell_problems("az a --ports '*' -n x") == []
    assert shell_problems("az a && az b") != []


@pytest.mark.parametrize("pair", PAIRS[:12], ids=lambda p: f"pair{p.number}")
def test_the_verdict_is_the_last_line(pair: Pair) -> None:
    for columns in (80, 200):
        _, text = _run(_pair_args(pair), columns)
        last = text.rstrip("\n").splitlines()[-1]
        assert last.startswith(f"Verdict: {pair.verdict.upper()}"), last


def test_brief_prints_the_verdict_the_blockers_and_their_fixes_only() -> None:
    args = ["diagnose", "--sample", "--from", "vm-web-01", "--to", "vm-db-01", "--port", "5432"]
    code, brief = _run([*args, "--brief"], 80)
    _, full = _run(args, 80)
    assert code == 1
    lines = brief.rstrip("\n").splitlines()
    assert lines[0] == "Blockers"
    assert lines[-1].startswith("Verdict: BLOCKED  (1 blocker)  vm-web-01 (10.1.1.4) -> vm-db-01")
    assert "NSG_DENY" in brief
    assert commands(brief) == [c for c in commands(full) if c.startswith("az ")]
    for absent in ("Warnings and unknowns", "The nine steps", "Path", "GUEST_EVIDENCE_MISSING"):
        assert absent not in brief
    assert len(lines) < len(full.splitlines()) / 4


def test_inventory_at_80_columns_keeps_every_address_whole() -> None:
    _, out = _run(["inventory", "--sample", "-o", "json"])
    document = json.loads(out)
    _, text = _run(["inventory", "--sample"], 80)
    addresses = {ip for vm in document["vms"] for nic in vm["nics"] or ()
                 for ip in (*nic["privateIPAddresses"], *nic["publicIPAddresses"])}
    assert len(addresses) > 30
    for ip in addresses:
        assert whole(text, ip), ip
    assert broken_tokens(text, document) == []


def test_columns_is_honoured_when_piped() -> None:
    assert text_width(io.StringIO(), {"COLUMNS": "97"}) == 97
    assert text_width(io.StringIO(), {}) == PIPED_WIDTH
    assert text_width(io.StringIO(), {"COLUMNS": "wide"}) == PIPED_WIDTH
    for columns in (80, 120):
        _, text = _run(["effective-nsg", "--sample", "--vm", "vm-web-01"], columns)
        table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
        assert table
        assert max(len(line) for line in table) <= columns, columns
        _, text = _run(["inventory", "--sample"], columns)
        framed = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
        assert all(len(line) <= columns for line in framed), columns


def test_a_table_too_narrow_for_its_words_prints_one_block_per_row() -> None:
    buffer = io.StringIO()
    console = make_console(buffer)
    console.width = 30
    rows = [[Text("vm-a"), Text("10.0.0.4, 10.0.0.5"), Text("/subscriptions/x/resourceGroups/rg")]]
    print_table(console, "VMs", ("VM", "IPs", "id"), rows)
    assert buffer.getvalue().splitlines() == [
        "VMs",
        "VM     vm-a",
        "  IPs  10.0.0.4, 10.0.0.5",
        "  id   /subscriptions/x/resourceGroups/rg",
        "",
    ]


def test_column_widths_never_go_below_the_longest_word() -> None:
    columns = [["VM", "vm-analytics-01"], ["IP", "10.5.1.4, 10.5.1.250"], ["why", "a " * 40]]
    widths = column_widths(60, columns)
    assert widths is not None
    assert widths[0] >= len("vm-analytics-01")
    assert widths[1] >= len("10.5.1.250")
    assert sum(widths) + 3 * len(widths) + 1 <= 60
    assert column_widths(20, columns) is None
    assert column_widths(200, columns) == [15, 20, 80]
