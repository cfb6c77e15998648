"""``vnetdoctor probe``: the Linux and Windows code paths with recorded outputs, the command
runner (fixed argv, timeouts, reasons), connect tests, the probe file, and a live run here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from guest import windows_samples as ws

from vnetdoctor.cli import cli
from vnetdoctor.errors import EvidenceParseError, UsageError
from vnetdoctor.guest.load import evidence_from_probe, load_guest_evidence
from vnetdoctor.model.evidence import (
    PROBE_SCHEMA,
    Capture,
    OsFamily,
    ProbeFile,
    decode_probe,
    encode_probe,
)
from vnetdoctor.probe import collect_probe, parse_peer
from vnetdoctor.probe.runner import Command, SubprocessRunner

GUEST = FIXTURES / "guest"
SS_HEADER = "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"


class FakeRunner:
    """Answers each command kind with a recorded output; records what was run."""

    def __init__(self, outputs: dict[str, Capture]) -> None:
        self.outputs = outputs
        self.ran: list[Command] = []

    def run(self, command: Command) -> Capture:
        self.ran.append(command)
        found = self.outputs.get(command.kind)
        if found is None:
            return Capture(kind=command.kind, argv=command.argv, error="not installed: test")
        return Capture(
            kind=command.kind,
            argv=command.recorded,
            exit_code=found.exit_code,
            stdout=found.stdout,
            stderr=found.stderr,
            error=found.error,
        )


def ok(text: str) -> Capture:
    return Capture(kind="", exit_code=0, stdout=text)


def no_files(kind: str, path: str) -> Capture:
    return Capture(kind=kind, argv=("read", path), exit_code=0, stdout="nameserver 168.63.129.16\n")


@pytest.fixture
def linux_outputs(fixtures: Path) -> dict[str, Capture]:
    _ = fixtures
    save = (GUEST / "linux/iptables-save/brentgroves-nft-1.txt").read_text()
    return {
        "ip-addr-json": ok((GUEST / "linux/ip-j-addr/cloudinit-1.json").read_text()),
        "ip-route-json": ok('[{"dst":"default","gateway":"192.168.2.1","dev":"enp0s25"}]'),
        "ss": ok((GUEST / "linux/ss-tulpen/jc-1.txt").read_text()),
        "iptables-save": ok(save),
        "ip6tables-save": Capture(
            kind="",
            exit_code=1,
            stderr="ip6tables-save: Permission denied",
            error="permission denied: ip6tables-save: Permission denied",
        ),
        "iptables-legacy-save": ok(""),
        "sysctl": ok("net.ipv4.ip_forward = 0\nnet.ipv6.conf.all.forwarding = 0\n"),
        "ip6tables-legacy-save": ok(""),
    }


def test_linux_path(linux_outputs: dict[str, Capture]) -> None:
    runner = FakeRunner(linux_outputs)
    probe = collect_probe([5432], [], runner=runner, os_family=OsFamily.LINUX, read_file=no_files)
    kinds = [c.kind for c in probe.captures]
    assert kinds[:7] == [
        "ip-addr-json",
        "ip-route-json",
        "ip-route-json",
        "ss",
        "iptables-save",
        "ip6tables-save",
        "nft-json",
    ]
    # the nft-backed iptables-save warned about legacy tables: they were collected too
    assert "iptables-legacy-save" in kinds
    assert "ip6tables-legacy-save" in kinds
    assert {c.argv[0] for c in runner.ran} <= {
        "ip",
        "ss",
        "iptables-save",
        "ip6tables-save",
        "nft",
        "iptables-legacy-save",
        "ip6tables-legacy-save",
        "sysctl",
    }
    gaps = {g.what: g.reason for g in probe.gaps}
    assert gaps["nft-json"].startswith("not installed")
    assert gaps["ip6tables-save"].startswith("permission denied")
    evidence = evidence_from_probe(probe, "vm.json")
    assert evidence.nft_absent
    assert evidence.legacy_families == (4, 6)
    assert evidence.ipv4_forwarding is False
    assert evidence.adapters
    assert evidence.listeners
    assert evidence.iptables
    assert evidence.dns_servers is not None
    assert len(evidence.dns_servers) == 1
    rule = (evidence.iptables or ())[0].rules[0]
    assert rule.source is not None
    assert str(rule.source) == "vm.json[iptables-save]:6"


def test_netstat_when_ss_is_missing(linux_outputs: dict[str, Capture], fixtures: Path) -> None:
    _ = fixtures
    outputs = {k: v for k, v in linux_outputs.items() if k != "ss"}
    outputs["netstat-linux"] = ok((GUEST / "linux/netstat-lnp/jc-1.txt").read_text())
    probe = collect_probe(runner=FakeRunner(outputs), os_family=OsFamily.LINUX, read_file=no_files)
    assert any(c.kind == "netstat-linux" and c.usable for c in probe.captures)
    assert evidence_from_probe(probe, "vm.json").listeners


def test_windows_path(fixtures: Path) -> None:
    _ = fixtures
    outputs = {
        "windows-probe": ok(ws.windows_probe()),
        "ipconfig-all": ok((GUEST / "windows/ipconfig-all/jc-4.txt").read_text()),
        "netstat-windows": ok((GUEST / "windows/netstat-ano/jc-1.txt").read_text()),
    }
    runner = FakeRunner(outputs)
    probe = collect_probe([1433], [], runner=runner, os_family=OsFamily.WINDOWS)
    script = next(c for c in runner.ran if c.kind == "windows-probe")
    assert script.argv[0] == "powershell.exe"
    assert "-EncodedCommand" in script.argv
    assert script.timeout >= 60
    recorded = next(c for c in probe.captures if c.kind == "windows-probe")
    assert recorded.argv[-1] == "<vnetdoctor.probe.windows.POWERSHELL_SCRIPT>"
    evidence = evidence_from_probe(probe, "vm.json")
    assert evidence.windows_firewall is not None
    assert evidence.adapters_include_hidden
    assert any(a.is_ghost for a in evidence.adapters or ())


def test_powershell_script_is_fixed_text() -> None:
    from vnetdoctor.probe.windows import POWERSHELL_SCRIPT, encoded_script

    assert "Get-NetAdapter -IncludeHidden" in POWERSHELL_SCRIPT
    assert "PolicyStore = 'ActiveStore'" in POWERSHELL_SCRIPT
    assert "vnetdoctor.windows-probe/1" in POWERSHELL_SCRIPT
    import base64

    assert base64.b64decode(encoded_script()).decode("utf-16-le") == POWERSHELL_SCRIPT


def test_runner_reasons(tmp_path: Path) -> None:
    runner = SubprocessRunner()
    done = runner.run(Command("x", (sys.executable, "-c", "print('hi')")))
    assert done.exit_code == 0
    assert done.stdout.strip() == "hi"
    assert done.error is None
    missing = runner.run(Command("x", ("vnd-no-such-tool",)))
    assert missing.error is not None
    assert missing.error.startswith("not installed")
    slow = runner.run(
        Command("x", (sys.executable, "-c", "import time; time.sleep(5)"), timeout=0.3)
    )
    assert slow.error == "timed out after 0.3 s"
    denied = runner.run(
        Command(
            "x",
            (
                sys.executable,
                "-c",
                "import sys; sys.stderr.write('Permission denied (you must be root)'); sys.exit(4)",
            ),
        )
    )
    assert denied.error is not None
    assert denied.error.startswith("permission denied")
    failed = runner.run(Command("x", (sys.executable, "-c", "import sys; sys.exit(3)")))
    assert failed.error == "exit code 3: exit code 3"
    _ = tmp_path


def test_peers() -> None:
    assert parse_peer("10.0.0.4:5432", []) == [("10.0.0.4", 5432)]
    assert parse_peer("[fd00::4]:443", []) == [("fd00::4", 443)]
    assert parse_peer("10.0.0.4", [22, 80]) == [("10.0.0.4", 22), ("10.0.0.4", 80)]
    assert parse_peer("fd00::4", [22]) == [("fd00::4", 22)]
    for bad in ("10.0.0.4", "10.0.0.4:99999", ":80", "[fd00::4"):
        with pytest.raises(UsageError):
            parse_peer(bad, [])


def test_connect_tests_against_real_sockets() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    try:
        probe = collect_probe(
            [],
            [f"127.0.0.1:{port}", f"127.0.0.1:{free}"],
            runner=FakeRunner({}),
            os_family=OsFamily.UNKNOWN,
        )
    finally:
        server.close()
    good, bad = probe.connects
    assert good.succeeded is True
    assert good.source_address == "127.0.0.1"
    assert bad.succeeded is False
    assert bad.error is not None
    assert "refused" in bad.error
    assert probe.gaps[0].what == "os"


def test_probe_file_round_trip_and_errors(tmp_path: Path) -> None:
    probe = ProbeFile(
        tool_version="0.1.0",
        collected_at="2026-11-26T10:00:00+00:00",
        hostname="vm1",
        os_family=OsFamily.LINUX,
        ports=(22,),
        captures=(Capture(kind="ss", argv=("ss",), exit_code=0, stdout=SS_HEADER),),
    )
    data = encode_probe(probe)
    assert decode_probe(data, path="p.json") == probe
    assert json.loads(data)["schema"] == PROBE_SCHEMA
    with pytest.raises(EvidenceParseError, match=r"p\.json:4: not valid JSON"):
        decode_probe(data[: data.index(b'"collected_at"') + 5], path="p.json")
    future = data.replace(b"vnetdoctor.probe/1", b"vnetdoctor.probe/2")
    with pytest.raises(EvidenceParseError, match=r"schema 'vnetdoctor\.probe/2' is not supported"):
        decode_probe(future, path="p.json")
    wrong = json.dumps({"schema": "vnetdoctor.probe/1", "captures": "nope"}).encode()
    with pytest.raises(EvidenceParseError, match=r"malformed probe file"):
        decode_probe(wrong, path="p.json")
    path = tmp_path / "p.json"
    path.write_bytes(data)
    assert load_guest_evidence(path).hostname == "vm1"


def test_cli_help_and_bad_peer() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["probe", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "--peer" in result.output
    bad = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", "probe", "--peer", "10.0.0.4"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "has no port" in bad.stderr


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the live probe test runs on Linux"
)
def test_live_probe_on_this_machine_is_complete_and_fast(tmp_path: Path) -> None:
    out = tmp_path / "here.json"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", "probe", "--port", "22", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert seconds < 5.0, f"probe took {seconds:.2f} s"
    probe = decode_probe(out.read_bytes(), path=str(out))
    kinds = {c.kind for c in probe.captures}
    assert {
        "ip-addr-json",
        "ip-route-json",
        "ss",
        "iptables-save",
        "ip6tables-save",
        "nft-json",
        "resolv-conf",
        "os-release",
    } <= kinds
    evidence = load_guest_evidence(out)
    assert evidence.adapters
    assert evidence.listeners is not None
    assert evidence.routes is not None
    if os.geteuid() == 0:
        broken = [c for c in probe.captures if c.error and not c.error.startswith("not installed")]
        assert broken == [], broken
