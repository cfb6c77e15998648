"""Every real artefact in ../shared/fixtures/guest: detected by content, read without error, and
what is read agrees with an independent count taken from the raw text."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from conftest import FIXTURES

from vnetdoctor.guest.detect import decode_text, detect_kind
from vnetdoctor.guest.load import load_guest_evidence
from vnetdoctor.model.evidence import AdapterStatus, ArtefactKind
from vnetdoctor.model.net import Protocol

GUEST = FIXTURES / "guest"

# folder -> the kind its files must be detected as
KIND_OF_FOLDER = {
    "firewall-cmd-list-all": ArtefactKind.FIREWALLD,
    "ip-addr": ArtefactKind.IP_ADDR,
    "ip-j-addr": ArtefactKind.IP_ADDR_JSON,
    "ip-route": ArtefactKind.IP_ROUTE,
    "ip6tables-save": ArtefactKind.IP6TABLES_SAVE,
    "iptables-save": ArtefactKind.IPTABLES_SAVE,
    "netstat-l": ArtefactKind.NETSTAT_LINUX,
    "netstat-lnp": ArtefactKind.NETSTAT_LINUX,
    "nft-j-list-ruleset": ArtefactKind.NFT_JSON,
    "nft-list-ruleset": ArtefactKind.NFT_TEXT,
    "ss-a": ArtefactKind.SS,
    "ss-tulpen": ArtefactKind.SS,
    "ufw-status-verbose": ArtefactKind.UFW_STATUS,
    "ipconfig-all": ArtefactKind.IPCONFIG,
    "netstat-an": ArtefactKind.NETSTAT_WINDOWS,
    "netstat-ano": ArtefactKind.NETSTAT_WINDOWS,
    "netstat": ArtefactKind.NETSTAT_WINDOWS,
    "route-print": ArtefactKind.ROUTE_PRINT,
    "test-netconnection": ArtefactKind.TEST_NETCONNECTION,
}


def _files() -> list[Path]:
    if not GUEST.is_dir():
        return []
    return sorted(p for p in GUEST.glob("*/*/*") if p.is_file())


FILES = _files()
IDS = [str(p.relative_to(GUEST)) for p in FILES]


def text_of(path: Path) -> str:
    return decode_text(path.read_bytes())


@pytest.fixture(autouse=True)
def _need_fixtures(fixtures: Path) -> None:
    _ = fixtures


def test_every_folder_is_covered() -> None:
    folders = {p.parent.name for p in FILES}
    assert folders, "no guest fixtures found"
    assert folders <= set(KIND_OF_FOLDER), folders - set(KIND_OF_FOLDER)
    assert len(FILES) == 63  # the README's count


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_detected_by_content(path: Path) -> None:
    expected = KIND_OF_FOLDER[path.parent.name]
    # the name must not matter: detect with a meaningless one
    kind = detect_kind(text_of(path), "pasted.txt")
    if expected is ArtefactKind.IPTABLES_SAVE and kind is ArtefactKind.IPTABLES_LEGACY_SAVE:
        kind = ArtefactKind.IPTABLES_SAVE
    assert kind is expected


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_loads(path: Path) -> None:
    evidence = load_guest_evidence(path)
    assert len(evidence.artefacts) == 1
    assert evidence.artefacts[0].source.file == str(path)


# ---------------------------------------------------------------------------------------------
# What is read agrees with counts taken from the raw text
# ---------------------------------------------------------------------------------------------
def _rows(path: Path, pattern: str) -> int:
    return sum(1 for line in text_of(path).splitlines() if re.match(pattern, line))


IPTABLES = [p for p in FILES if p.parent.name in ("iptables-save", "ip6tables-save")]


@pytest.mark.parametrize("path", IPTABLES, ids=[p.name for p in IPTABLES])
def test_iptables_every_rule_line_is_a_rule(path: Path) -> None:
    evidence = load_guest_evidence(path)
    tables = evidence.iptables or ()
    rules = [r for t in tables for r in t.rules]
    assert len(rules) == _rows(path, r"^(\[\d+:\d+\] )?-A ")
    assert {t.family for t in tables} == ({6} if "ip6tables" in str(path) else {4})
    for rule in rules:
        assert rule.source is not None
        assert rule.source.line is not None
        line = text_of(path).splitlines()[rule.source.line - 1]
        assert line.endswith(rule.text)


SS = [p for p in FILES if p.parent.name.startswith("ss-")]


@pytest.mark.parametrize("path", SS, ids=[p.name for p in SS])
def test_ss_every_listener(path: Path) -> None:
    evidence = load_guest_evidence(path)
    expected = _rows(path, r"^tcp\s+LISTEN\s") + _rows(path, r"^udp\s+UNCONN\s")
    assert len(evidence.sockets) == expected
    for sock in evidence.sockets:
        assert sock.source is not None
        assert sock.source.line is not None
        assert sock.port is not None or not sock.port_text.isdigit()


LINUX_NETSTAT = [p for p in FILES if p.parent.name.startswith("netstat-l")]


@pytest.mark.parametrize("path", LINUX_NETSTAT, ids=[p.name for p in LINUX_NETSTAT])
def test_linux_netstat_every_listener(path: Path) -> None:
    evidence = load_guest_evidence(path)
    tcp = _rows(path, r"^tcp6?\s+\d+\s+\d+\s+\S+\s+\S+\s+LISTEN\b")
    udp = _rows(path, r"^udp6?\s")
    assert len(evidence.sockets) == tcp + udp


WINDOWS_NETSTAT = [p for p in FILES if p.parent.name.startswith("netstat") and "windows" in str(p)]


@pytest.mark.parametrize("path", WINDOWS_NETSTAT, ids=[p.name for p in WINDOWS_NETSTAT])
def test_windows_netstat_every_listener(path: Path) -> None:
    evidence = load_guest_evidence(path)
    tcp = _rows(path, r"^\s+TCP\s+\S+\s+(0\.0\.0\.0:0|\[::\]:0)\s")
    udp = _rows(path, r"^\s+UDP\s")
    assert len(evidence.sockets) == tcp + udp
    (table,) = evidence.listeners or ()
    assert table.complete is (tcp + udp > 0)


def test_netstat_without_a_cannot_say_nothing_listens() -> None:
    evidence = load_guest_evidence(GUEST / "windows/netstat/jc-1.txt")
    (table,) = evidence.listeners or ()
    assert table.complete is False
    assert "no listening sockets" in (table.note or "")


def test_netstat_aonb_owner_lines() -> None:
    evidence = load_guest_evidence(GUEST / "windows/netstat-ano/jc-2.txt")
    by_port = {(s.address_text, s.port): s for s in evidence.sockets}
    assert by_port[("0.0.0.0", 135)].process == "svchost.exe"
    assert by_port[("0.0.0.0", 135)].pid == 1712
    assert by_port[("0.0.0.0", 445)].process is None  # "Can not obtain ownership information"


def test_ss_scoped_and_dual_stack_addresses() -> None:
    evidence = load_guest_evidence(GUEST / "linux/ss-tulpen/jc-1.txt")
    scoped = [s for s in evidence.sockets if s.interface]
    assert any(s.address_text == "127.0.0.53" and s.interface == "lo" for s in scoped)
    assert any(s.address_text == "0.0.0.0" and s.interface == "virbr0" for s in scoped)
    resolved = [s for s in evidence.sockets if s.process == "systemd-resolve"]
    assert resolved
    assert resolved[0].pid == 1117


def test_netstat_service_names_and_host_names() -> None:
    evidence = load_guest_evidence(GUEST / "linux/netstat-l/jc-1.txt")
    ssh = [s for s in evidence.sockets if s.port == 22 and s.protocol is Protocol.TCP]
    assert {s.address_text for s in ssh} == {"0.0.0.0", "::"}
    named = next(s for s in evidence.sockets if s.address_text == "kbrazil-ubuntu")
    assert named.address is None
    assert named.port == 68


NFT = [p for p in FILES if p.parent.name == "nft-j-list-ruleset"]


@pytest.mark.parametrize("path", NFT, ids=[p.name for p in NFT])
def test_nft_every_rule_with_its_line(path: Path) -> None:
    import json

    document = json.loads(text_of(path))
    kinds = [next(iter(item)) for item in document["nftables"]]
    evidence = load_guest_evidence(path)
    ruleset = evidence.nftables
    assert ruleset is not None
    assert len(ruleset.rules) == kinds.count("rule")
    assert len(ruleset.chains) == kinds.count("chain")
    assert len(ruleset.sets) == kinds.count("set") + kinds.count("map")
    lines = text_of(path).splitlines()
    for rule in ruleset.rules:
        assert rule.source is not None
        assert rule.source.pointer is not None
        index = int(rule.source.pointer.rsplit("/", 1)[1])
        assert kinds[index] == "rule"
        assert rule.source.line is not None
        assert lines[rule.source.line - 1].strip() == "{"  # jq prints the element's brace


IPCONFIG = [p for p in FILES if p.parent.name == "ipconfig-all"]


@pytest.mark.parametrize("path", IPCONFIG, ids=[p.name for p in IPCONFIG])
def test_ipconfig_every_adapter_and_address(path: Path) -> None:
    evidence = load_guest_evidence(path)
    adapters = evidence.adapters or ()
    assert len(adapters) == _rows(path, r"^\S.* adapter .*:\s*$")
    assert evidence.hostname
    v4 = [a.address for ad in adapters for a in ad.addresses if a.address.version == 4]
    expected = re.findall(r"IP(?:v4)? Address[. ]*: ([\d.]+)", text_of(path))
    assert [str(a) for a in v4] == expected
    for adapter in adapters:
        disconnected = adapter.status is AdapterStatus.DISCONNECTED
        assert disconnected == (not adapter.addresses and disconnected)


def test_ipconfig_xp_address_and_mask() -> None:
    evidence = load_guest_evidence(GUEST / "windows/ipconfig-all/jc-6.txt")
    (adapter,) = evidence.adapters or ()
    (address,) = adapter.addresses
    assert address.address == ipaddress.ip_address("192.168.22.135")
    assert address.prefix_length == 24
    assert adapter.gateways == (ipaddress.ip_address("192.168.22.1"),)
    assert address.source is not None
    assert address.source.line == 19


def test_ipconfig_server_static_ip_is_flagged_static() -> None:
    evidence = load_guest_evidence(GUEST / "windows/ipconfig-all/jc-3.txt")
    adapter = (evidence.adapters or ())[0]
    assert adapter.dhcp_enabled is False
    assert {a.origin for a in adapter.addresses if not a.is_link_local} == {"static"}


ROUTES = [p for p in FILES if p.parent.name in ("route-print", "ip-route")]


@pytest.mark.parametrize("path", ROUTES, ids=[p.name for p in ROUTES])
def test_routes_default_route(path: Path) -> None:
    evidence = load_guest_evidence(path)
    routes = evidence.routes or ()
    assert routes
    defaults = [r for r in routes if r.destination.prefixlen == 0]
    raw = text_of(path)
    has_default = bool(re.search(r"^(default|\s+0\.0\.0\.0\s+0\.0\.0\.0)\s", raw, re.M)) or (
        "::/0" in raw
    )
    assert bool(defaults) == has_default


def test_route_print_wrapped_ipv6_rows() -> None:
    evidence = load_guest_evidence(GUEST / "windows/route-print/jc-1.txt")
    wrapped = [
        r for r in evidence.routes or () if str(r.destination) == "fe80::244e:2f1e:2096:62b2/128"
    ]
    assert len(wrapped) == 1
    assert wrapped[0].gateway is None
    assert wrapped[0].interface == "9"


IPADDR = [p for p in FILES if p.parent.name in ("ip-addr", "ip-j-addr")]


@pytest.mark.parametrize("path", IPADDR, ids=[p.name for p in IPADDR])
def test_ip_addr_interfaces(path: Path) -> None:
    evidence = load_guest_evidence(path)
    adapters = evidence.adapters or ()
    assert adapters[0].name == "lo"
    assert adapters[0].is_loopback
    assert any(a.address == ipaddress.ip_address("127.0.0.1") for a in adapters[0].addresses)
    assert all(a.source is not None for ad in adapters for a in ad.addresses)


def test_ip_addr_down_veth() -> None:
    evidence = load_guest_evidence(GUEST / "linux/ip-addr/cloudinit-2.txt")
    eth0 = (evidence.adapters or ())[1]
    assert eth0.name == "eth0"
    assert eth0.status is AdapterStatus.DOWN
    assert not eth0.addresses


def test_test_netconnection_tcp_result() -> None:
    evidence = load_guest_evidence(GUEST / "windows/test-netconnection/msdocs-2.txt")
    (test,) = evidence.connects
    assert test.succeeded is True
    assert test.port == 80
    assert test.address == "2a01:111:2003::52"
    ping = load_guest_evidence(GUEST / "windows/test-netconnection/msdocs-1.txt")
    assert ping.connects == ()  # a ping is not a TCP test


def test_summaries_are_recognised_but_not_evaluated() -> None:
    for rel in (
        "linux/ufw-status-verbose/jc-1.txt",
        "linux/firewall-cmd-list-all/firewalld-site-1.txt",
    ):
        evidence = load_guest_evidence(GUEST / rel)
        assert evidence.iptables is None
        assert evidence.nftables is None
        assert "not evaluated" in evidence.gaps[0].reason
    text = load_guest_evidence(GUEST / "linux/nft-list-ruleset/brentgroves-1.txt")
    assert text.firewall_unreadable  # makes every firewall answer unknown, never "allow"


def test_a_folder_of_all_fixtures_of_one_vm() -> None:
    evidence = load_guest_evidence(
        [
            GUEST / "linux/ip-j-addr/cloudinit-1.json",
            GUEST / "linux/iptables-save/iptsem-1.txt",
            GUEST / "linux/ss-tulpen/jc-1.txt",
            GUEST / "linux/ip-route/cloudinit-1.txt",
        ]
    )
    assert evidence.adapters
    assert evidence.iptables
    assert evidence.listeners
    assert evidence.routes
    assert evidence.os_family.value == "Linux"
