"""``--plan`` reaches the snapshot of every command that reads one (it is a parameter of each)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vnetdoctor.cli import cli
from vnetdoctor.errors import SnapshotParseError

COMMANDS = [
    ["inventory"],
    ["diagnose", "--from", "vm-web-01", "--to", "vm-db-01", "--port", "5432"],
    ["verify", "{intents}"],
    ["ip-flow-verify", "--vm", "vm-web-01", "--direction", "inbound", "--protocol", "tcp",
     "--local", "10.1.1.4:443", "--remote", "10.0.0.4:50000"],
    ["effective-nsg", "--vm", "vm-web-01"],
    ["next-hop", "--vm", "vm-web-01", "--source-ip", "10.1.1.4", "--dest-ip", "10.1.2.4"],
    ["effective-routes", "--vm", "vm-web-01"],
    ["matrix", "--port", "5432", "--vms", "vm-db-*"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_snapshot_command_applies_its_plan(command: list[str], tmp_path: Path) -> None:
    intents = tmp_path / "intents.yaml"
    intents.write_text(
        "intents:\n  - {from: vm-web-01, to: vm-db-01, port: 5432, expect: may reach}\n",
        encoding="utf-8",
    )
    args = [a.format(intents=intents) for a in command]
    missing = tmp_path / "missing-plan.json"
    result = CliRunner().invoke(cli, [*args, "--sample", "--plan", str(missing)])
    assert isinstance(result.exception, SnapshotParseError), result.output
    assert "no such plan file" in str(result.exception)
    assert str(missing) in str(result.exception)
    without = CliRunner().invoke(cli, [*args, "--sample"])
    assert not isinstance(without.exception, SnapshotParseError), without.output
