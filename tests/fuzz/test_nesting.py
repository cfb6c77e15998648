"""JSON and YAML nested 1,000 levels or more, through the CLI in a fresh interpreter: every reader
refuses with exit 2 and one line naming the file, never a RecursionError (exit 70)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEPTH = 5000
PAIR = ["--from", "vm-app-01", "--to", "vm-db-01", "--port", "5432"]


def deep_json(head: str = "", tail: str = "") -> str:
    """``head`` + an array nested DEPTH levels + ``tail``."""
    return head + "[" * DEPTH + "]" * DEPTH + tail


def deep_yaml() -> str:
    return "intents:\n  - " + "[" * DEPTH + "]" * DEPTH + "\n"


# name -> (file text, arguments around the file)
CASES: dict[str, tuple[str, list[str]]] = {
    "snapshot": (deep_json(), ["diagnose", "-s", "{}", *PAIR]),
    "snapshot-resource": (
        deep_json('[{"id": "/x", "type": "t", "properties": ', "}]"),
        ["diagnose", "-s", "{}", *PAIR],
    ),
    "plan": (
        deep_json('{"format_version": "1.2", "resource_changes": ', "}"),
        ["diagnose", "--sample", "--plan", "{}", *PAIR],
    ),
    "probe-file": (
        deep_json('{"schema": "vnetdoctor.probe/1", "x": ', "}"),
        ["diagnose", "--sample", *PAIR, "--guest", "vm-db-01={}"],
    ),
    "windows-probe": (
        deep_json('{"schema": "vnetdoctor.windows-probe/1", "x": ', "}"),
        ["diagnose", "--sample", *PAIR, "--guest", "vm-db-01={}"],
    ),
    "nft-json": (
        deep_json('{"nftables": ', "}"),
        ["diagnose", "--sample", *PAIR, "--guest", "vm-db-01={}"],
    ),
    "ip-addr-json": (
        deep_json('[{"ifname": "eth0", "x": ', "}]"),
        ["diagnose", "--sample", *PAIR, "--guest", "vm-db-01={}"],
    ),
    "ip-route-json": (
        deep_json('[{"dst": "default", "x": ', "}]"),
        ["diagnose", "--sample", *PAIR, "--guest", "vm-db-01={}"],
    ),
    "windows-firewall-json": (
        deep_json('{"DefaultInboundAction": 1, "x": ', "}"),
        ["diagnose", "--sample", *PAIR, "--guest", "vm-db-01={}"],
    ),
    "intents-yaml": (deep_yaml(), ["verify", "{}", "--sample"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_deep_nesting_is_one_line_exit_2_naming_the_file(tmp_path: Path, name: str) -> None:
    text, template = CASES[name]
    path = tmp_path / ("deep.yaml" if name.endswith("yaml") else "deep.json")
    path.write_text(text, encoding="utf-8")
    args = [a.replace("{}", str(path)) for a in template]
    done = subprocess.run([sys.executable, "-m", "vnetdoctor", *args], capture_output=True,
                          text=True, timeout=120, check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-500:]
    assert len(lines) == 1, done.stderr[-500:]
    assert str(path) in lines[0]
    assert "nested too deeply" in lines[0]
