"""The README's tour in a real terminal of 80 and of 200 columns, read as a person reads it: no
address or resource id cut across lines, every suggested command pastes into a shell, the
verdict of a diagnosis on its last line; ``--no-color`` and ``NO_COLOR`` print no colour."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios

import pytest
from report.shell_text import broken_tokens, commands, plain, shell_problems

TOUR: list[list[str]] = [
    ["diagnose", "--sample", "--from", "vm-web-01", "--to", "vm-db-01", "--port", "5432"],
    ["inventory", "--sample"],
    ["diagnose", "--sample", "--from", "vm-app-01", "--to", "vm-db-02", "--port", "5432",
     "--guest", "vm-db-02=guest/vm-db-02"],
    ["diagnose", "--sample", "--from", "vm-jump-01", "--to", "vm-dc-01", "--port", "389"],
    ["diagnose", "--sample", "--from", "vm-web-01", "--to", "vm-db-01"],
    ["ip-flow-verify", "--sample", "--vm", "vm-db-01", "--direction", "inbound", "--protocol",
     "tcp", "--local", "10.2.1.4:5432", "--remote", "10.1.1.4:50000"],
    ["next-hop", "--sample", "--vm", "vm-web-01", "--source-ip", "10.1.1.4", "--dest-ip",
     "10.2.1.4"],
    ["effective-nsg", "--sample", "--vm", "vm-web-01"],
    ["matrix", "--sample", "--port", "5432", "--vms", "vm-*-0[12]"],
]
_COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-79]|9[0-7]|38;[0-9;]+)m")


def in_terminal(args: list[str], columns: int, env: dict[str, str] | None = None) -> str:
    """What ``vnetdoctor ARGS`` writes to a terminal ``columns`` wide (a pty, as a shell runs
    it), escape sequences included."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    environ.update({"TERM": "xterm-256color", **(env or {})})
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vnetdoctor", *args],
            stdin=slave, stdout=slave, stderr=slave, env=environ, close_fds=True,
        )
    finally:
        os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.wait(timeout=60)
    return b"".join(chunks).decode("utf-8", "replace")


def _known(args: list[str]) -> object:
    """The command's JSON answer and its own arguments: every address and id the text may
    name, whole."""
    asked = [args]
    if args[0] == "next-hop":  # Azure's next-hop shape holds no prefix: the route table does
        asked.append(["effective-routes", "--sample", "--vm", args[args.index("--vm") + 1]])
    answers = []
    for command in asked:
        proc = subprocess.run([sys.executable, "-m", "vnetdoctor", *command, "-o", "json"],
                              capture_output=True, text=True, timeout=60, check=False)
        answers.append(json.loads(proc.stdout))
    return {"answers": answers, "arguments": args}


@pytest.mark.parametrize("args", TOUR, ids=lambda a: "-".join(a[:1] + a[3:4]))
def test_the_tour_reads_whole_at_80_and_200_columns(args: list[str]) -> None:
    document = _known(args)
    for columns in (80, 200):
        text = plain(in_terminal(args, columns))
        assert "Traceback" not in text
        assert broken_tokens(text, document) == [], columns
        for command in commands(text):
            assert shell_problems(command) == [], (columns, command)
        framed = [line for line in text.splitlines() if line[:1] in "┏┃┡│└╭╰"]
        assert all(len(line) <= columns for line in framed), columns
        if args[0] == "diagnose":
            last = text.rstrip("\n").splitlines()[-1]
            assert last.startswith("Verdict: "), (columns, last)


def test_colour_in_a_terminal_unless_no_color() -> None:
    args = ["diagnose", "--sample", "--from", "vm-web-01", "--to", "vm-db-01", "--port", "5432"]
    assert _COLOUR.search(in_terminal(args, 120))
    uncoloured = (
        in_terminal([*args, "--no-color"], 120),
        in_terminal(args, 120, {"NO_COLOR": "1"}),
    )
    for text in uncoloured:
        assert "Verdict: BLOCKED" in plain(text)
        assert not _COLOUR.search(text)
    assert _COLOUR.search(in_terminal(["inventory", "--sample"], 120))
    plain_inventory = in_terminal(["inventory", "--sample", "--no-color"], 120)
    assert "vm-web-01" in plain_inventory
    assert not _COLOUR.search(plain_inventory)
