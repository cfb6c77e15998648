"""Exit codes a script can trust: a reader that stops early (``| head``) does not change the
answer's code, and ip-flow-verify says how its codes differ from az's."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from vnetdoctor.cli import cli

REACHABLE = [
    "diagnose", "--sample", "--from", "vm-app-01", "--to", "vm-db-01", "--port", "5432",
    "--guest", "vm-app-01=guest/vm-app-01/ip-addr.txt",
    "--guest", "vm-app-01=guest/vm-app-01/iptables-save.txt",
    "--guest", "vm-db-01=guest/vm-db-01/ip-addr.txt",
    "--guest", "vm-db-01=guest/vm-db-01/iptables-save.txt",
    "--guest", "vm-db-01=guest/vm-db-01/ss-tulpen.txt",
    "--guest", "nva-fw-01=guest/nva-fw-01/iptables-save.txt",
    "--guest", "nva-fw-01=guest/nva-fw-01/sysctl-ip-forward.txt",
    "--guest", "nva-fw-01=guest/nva-fw-01/ip-addr.txt",
]
BLOCKED = ["diagnose", "--sample", "--from", "vm-web-01", "--to", "vm-db-01", "--port", "5432"]


def _first_line_then_close(args: list[str]) -> tuple[int, bytes, bytes]:
    """``vnetdoctor ARGS | head -1``: read one line, close the pipe, return the exit code."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnetdoctor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    return proc.wait(timeout=60), first, err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (REACHABLE, 0),
        ([*REACHABLE, "-o", "json"], 0),
        (BLOCKED, 1),
        ([*BLOCKED, "-o", "jsonc"], 1),
        (["matrix", "--sample", "--port", "5432", "-o", "csv"], 0),
        (["matrix", "--sample", "--port", "5432"], 0),
    ],
    ids=[
        "reachable-text", "reachable-json", "blocked-text", "blocked-jsonc", "matrix-csv",
        "matrix-text",
    ],
)
def test_a_closed_pipe_keeps_the_answers_exit_code(args: list[str], code: int) -> None:
    exit_code, first, err = _first_line_then_close(args)
    assert first
    assert exit_code == code, err.decode()
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err


def test_ip_flow_verify_says_its_exit_codes_differ_from_az() -> None:
    result = CliRunner().invoke(cli, ["ip-flow-verify", "--help"])
    help_text = " ".join(result.output.split())
    assert "0 Allow, 1 Deny" in help_text
    assert "az network watcher test-ip-flow" in help_text
    assert "exits 0 on a Deny answer" in help_text


@pytest.mark.parametrize(
    ("local", "remote", "access", "code"),
    [
        ("10.2.1.4:5432", "10.1.1.4:50000", "Deny", 1),
        ("10.2.1.4:5432", "10.1.2.4:50000", "Allow", 0),
    ],
)
def test_ip_flow_verify_exit_code_is_the_answer(
    local: str, remote: str, access: str, code: int
) -> None:
    args = ["ip-flow-verify", "--sample", "--vm", "vm-db-01", "--direction", "inbound",
            "--protocol", "tcp", "--local", local, "--remote", remote]
    result = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert result.exit_code == code
    assert f'"access": "{access}"' in result.stdout
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == code
    assert text.stdout.splitlines()[0].split() == ["Access", access]
