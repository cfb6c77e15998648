"""Real Linux networking for the guest evaluators: network namespaces joined by a veth pair,
real iptables / nftables rules, real listening sockets, real TCP connects.

Needs root and ``ip``, ``iptables``, ``ip6tables``, ``nft``; every test here is skipped with the
reason otherwise. Namespaces and interfaces are named ``vnd<pid><n>…`` so that parallel runs do
not collide, and are deleted even when a test fails (``Lab.close`` in a ``finally``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

TOOLS = ("ip", "iptables", "ip6tables", "nft", "iptables-legacy")
RESULTS: list[dict[str, Any]] = []  # one row per scenario, printed after the run


def _why_not() -> str | None:
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces, iptables and nftables need root (run as root, as .ci/run does)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return (
            f"missing {', '.join(missing)} (Debian: apt-get install -y iptables nftables iproute2)"
        )
    probe = f"vndchk{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


@pytest.fixture(scope="session")
def netns_ready() -> None:
    reason = _why_not()
    if reason:
        pytest.skip(reason)


@dataclass
class Lab:
    """Two namespaces, ``src`` (10.77.0.1, fd77::1) and ``dst`` (10.77.0.2, fd77::2), on one
    veth pair, like two VMs in one subnet."""

    tag: str
    workdir: Path
    listeners: list[subprocess.Popen[bytes]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    @property
    def src(self) -> str:
        return f"vnd{self.tag}s"

    @property
    def dst(self) -> str:
        return f"vnd{self.tag}d"

    @property
    def src_if(self) -> str:
        return f"vnd{self.tag}a"

    @property
    def dst_if(self) -> str:
        return f"vnd{self.tag}b"

    def run(self, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
        return done

    def sh(self, ns: str, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("ip", "netns", "exec", ns, *argv, stdin=stdin)

    def up(self) -> None:
        for ns in (self.src, self.dst):
            self.run("ip", "netns", "add", ns)
            self.created.append(ns)
            self.sh(ns, "ip", "link", "set", "lo", "up")
        self.run("ip", "link", "add", self.src_if, "type", "veth", "peer", "name", self.dst_if)
        self.run("ip", "link", "set", self.src_if, "netns", self.src)
        self.run("ip", "link", "set", self.dst_if, "netns", self.dst)
        for ns, iface, last in ((self.src, self.src_if, 1), (self.dst, self.dst_if, 2)):
            self.sh(ns, "ip", "addr", "add", f"10.77.0.{last}/24", "dev", iface)
            self.sh(ns, "ip", "-6", "addr", "add", f"fd77::{last}/64", "dev", iface, "nodad")
            self.sh(ns, "ip", "link", "set", iface, "up")

    @property
    def router(self) -> str:
        return f"vnd{self.tag}r"

    def up_routed(self, forwarding: bool = True) -> None:
        """``src`` 10.78.1.1 -- ``router`` (10.78.1.254 / 10.78.2.254) -- ``dst`` 10.78.2.1: an
        appliance (NVA) between two subnets."""
        for ns in (self.src, self.router, self.dst):
            self.run("ip", "netns", "add", ns)
            self.created.append(ns)
            self.sh(ns, "ip", "link", "set", "lo", "up")
        links = (
            (self.src, f"vnd{self.tag}a", self.router, f"vnd{self.tag}c", 1),
            (self.dst, f"vnd{self.tag}b", self.router, f"vnd{self.tag}e", 2),
        )
        for end, end_if, hub, hub_if, net in links:
            self.run("ip", "link", "add", end_if, "type", "veth", "peer", "name", hub_if)
            self.run("ip", "link", "set", end_if, "netns", end)
            self.run("ip", "link", "set", hub_if, "netns", hub)
            self.sh(end, "ip", "addr", "add", f"10.78.{net}.1/24", "dev", end_if)
            self.sh(hub, "ip", "addr", "add", f"10.78.{net}.254/24", "dev", hub_if)
            self.sh(end, "ip", "link", "set", end_if, "up")
            self.sh(hub, "ip", "link", "set", hub_if, "up")
            self.sh(end, "ip", "route", "add", "default", "via", f"10.78.{net}.254")
        self.sh(self.router, "sysctl", "-q", "-w", f"net.ipv4.ip_forward={int(forwarding)}")

    def nft(self, ns: str, ruleset: str) -> None:
        self.sh(ns, "nft", "-f", "-", stdin=ruleset)

    def listen(self, ns: str, host: str, port: int) -> None:
        family = "AF_INET6" if ":" in host else "AF_INET"
        code = (
            "import signal, socket, sys\n"
            f"s = socket.socket(socket.{family}, socket.SOCK_STREAM)\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            + ("s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)\n" if ":" in host else "")
            + f"s.bind(({host!r}, {port}))\n"
            "s.listen(16)\n"
            "print('ready', flush=True)\n"
            "while True:\n"
            "    c, _ = s.accept()\n"
            "    c.close()\n"
        )
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.listeners.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == b"ready", proc.stderr.read() if proc.stderr else line

    def probe(self, ns: str, name: str, *args: str) -> tuple[Path, float]:
        out = self.workdir / f"{name}.json"
        started = time.monotonic()
        self.sh(ns, sys.executable, "-m", "vnetdoctor", "probe", "--out", str(out), *args)
        return out, time.monotonic() - started

    def connect(self, ns: str, host: str, port: int, timeout: float = 1.5) -> tuple[bool, str]:
        code = (
            "import socket, sys\n"
            "try:\n"
            f"    socket.create_connection(({host!r}, {port}), timeout={timeout}).close()\n"
            "except OSError as exc:\n"
            "    print(type(exc).__name__, exc); sys.exit(1)\n"
            "print('connected')\n"
        )
        done = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return done.returncode == 0, (done.stdout + done.stderr).strip()

    def close(self) -> None:
        for proc in self.listeners:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        for ns in self.created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


_COUNTER = iter(range(1000))


@pytest.fixture
def bare_lab(netns_ready: None, tmp_path: Path) -> Iterator[Lab]:
    """A lab whose namespaces the test creates itself (``up_routed``)."""
    made = Lab(tag=f"{os.getpid() % 1000}{next(_COUNTER)}", workdir=tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def lab(netns_ready: None, tmp_path: Path) -> Iterator[Lab]:
    made = Lab(tag=f"{os.getpid() % 1000}{next(_COUNTER)}", workdir=tmp_path)
    try:
        made.up()
        yield made
    finally:
        made.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write("netns scenarios: real TCP connect vs vnetdoctor's verdict from probe evidence")
    write(f"{'scenario':36} {'real connect':34} {'verdict':12} {'finding':30} probe s")
    for row in RESULTS:
        write(
            f"{row['scenario']:36} {row['real']:34.34} {row['verdict']:12} "
            f"{row['finding']:30.30} {row['probe_seconds']:.2f}"
        )
    target = os.environ.get("VND_NETNS_REPORT")
    if target:
        Path(target).write_text(json.dumps(RESULTS, indent=2))
