"""The guest API for diagnose: listeners (step 4), guest IP vs Azure NIC (step 1), ghost NICs and
SMB (step 8), and the findings with their evidence file and line."""

from __future__ import annotations

import ipaddress

import msgspec
import pytest
from guest import windows_samples as ws

from vnetdoctor.codes import CODES
from vnetdoctor.engine.guest import (
    GhostNicCheck,
    GhostStatus,
    GuestVerdict,
    ListenerStatus,
    NicIpStatus,
    connect_result,
    ghost_nic_check,
    listener_check,
    nic_ip_check,
    smb_check,
)
from vnetdoctor.guest.load import evidence_from_texts
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.net import Flow, Protocol
from vnetdoctor.runbook.findings import finding
from vnetdoctor.runbook.guest_findings import _ghost_finding, guest_findings

ip = ipaddress.ip_address

SS = """Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=10,fd=3))
tcp   LISTEN 0      128        127.0.0.1:5432      0.0.0.0:*    users:(("postgres",pid=20,fd=5))
tcp   LISTEN 0      128            [::1]:5432         [::]:*    users:(("postgres",pid=20,fd=6))
tcp   LISTEN 0      128         10.0.0.9:8080      0.0.0.0:*    users:(("java",pid=30,fd=7))
tcp   LISTEN 0      128                *:9090            *:*    users:(("prom",pid=40,fd=3))
tcp   LISTEN 0      128             [::]:9100         [::]:*    users:(("node",pid=50,fd=3))
tcp   LISTEN 0      128      0.0.0.0%eth1:9200      0.0.0.0:*    users:(("es",pid=60,fd=3))
udp   UNCONN 0      0            0.0.0.0:53        0.0.0.0:*    users:(("dns",pid=70,fd=3))
"""
NETSTAT_V6 = """Active Internet connections (only servers)
Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name
tcp6       0      0 :::443                  :::*                    LISTEN      100/nginx
"""
ADDR = """1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN
    inet 127.0.0.1/8 scope host lo
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP
    inet 10.0.0.4/24 brd 10.0.0.255 scope global dynamic eth0
"""
STATIC = ADDR.replace(
    "10.0.0.4/24 brd 10.0.0.255 scope global dynamic", "10.0.0.40/24 scope global"
)


def ev(*texts: str) -> GuestEvidence:
    return evidence_from_texts([(f"f{i}.txt", t, None) for i, t in enumerate(texts)], source="vm")


@pytest.mark.parametrize(
    ("port", "status"),
    [
        (22, ListenerStatus.LISTENING),
        (5432, ListenerStatus.LOOPBACK_ONLY),
        (8080, ListenerStatus.OTHER_ADDRESS),
        (9090, ListenerStatus.LISTENING),  # `*` accepts IPv4 in every ss version
        (9100, ListenerStatus.OTHER_ADDRESS),  # [::] in ss is IPv6-only
        (9200, ListenerStatus.OTHER_ADDRESS),  # bound to eth1, traffic arrives on eth0
        (3306, ListenerStatus.NOT_LISTENING),
    ],
)
def test_listener_statuses(port: int, status: ListenerStatus) -> None:
    check = listener_check(ev(SS, ADDR), ip("10.0.0.4"), port)
    assert check.status is status
    if status is not ListenerStatus.NOT_LISTENING:
        assert check.source is not None
        assert check.source.line is not None


def test_other_address_says_why() -> None:
    v6_only = listener_check(ev(SS, ADDR), ip("10.0.0.4"), 9100)
    assert "IPv6 only" in v6_only.reasons[0]
    scoped = listener_check(ev(SS, ADDR), ip("10.0.0.4"), 9200)
    assert "interface eth1 only" in scoped.reasons[0]


def test_listener_cites_the_socket_line() -> None:
    check = listener_check(ev(SS), ip("10.0.0.4"), 5432)
    assert check.source is not None
    assert check.source.line == 3
    assert check.socket is not None
    assert check.socket.process == "postgres"


def test_listener_udp_and_unknowns() -> None:
    assert (
        listener_check(ev(SS), ip("10.0.0.4"), 53, Protocol.UDP).status is ListenerStatus.LISTENING
    )
    # netstat's :::443 may or may not be dual-stack: unknown for IPv4, listening for IPv6
    check = listener_check(ev(NETSTAT_V6), ip("10.0.0.4"), 443)
    assert check.status is ListenerStatus.UNKNOWN
    assert "dual-stack" in check.reasons[0]
    assert listener_check(ev(NETSTAT_V6), ip("fd00::4"), 443).status is ListenerStatus.LISTENING
    # without socket evidence, or with netstat that shows connections only: unknown
    assert listener_check(ev(ADDR), ip("10.0.0.4"), 22).status is ListenerStatus.UNKNOWN
    no_a = (
        "\nActive Connections\n\n  Proto  Local Address          Foreign Address        State\n"
        "  TCP    10.0.0.4:50000         10.0.0.9:443           ESTABLISHED\n"
    )
    assert listener_check(ev(no_a), ip("10.0.0.4"), 22).status is ListenerStatus.UNKNOWN


def test_nic_ip_check() -> None:
    assert nic_ip_check(ev(ADDR), [ip("10.0.0.4")]).status is NicIpStatus.MATCH
    check = nic_ip_check(ev(STATIC), [ip("10.0.0.4")])
    assert check.status is NicIpStatus.MISMATCH
    assert check.missing == (ip("10.0.0.4"),)
    assert check.static is True
    assert "10.0.0.40" in check.reasons[0]
    assert check.source is not None
    assert check.source.line == 4
    assert nic_ip_check(ev(SS), [ip("10.0.0.4")]).status is NicIpStatus.UNKNOWN


def test_duplicate_address_state_is_a_mismatch() -> None:
    ipconfig = (
        "\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : VM1\n\n"
        "Ethernet adapter Ethernet:\n\n   DHCP Enabled. . . . . . . . . . . : No\n"
        "   IPv4 Address. . . . . . . . . . . : 10.0.0.4(Duplicate)\n"
        "   Autoconfiguration IPv4 Address. . : 169.254.10.20(Preferred)\n"
        "   Subnet Mask . . . . . . . . . . . : 255.255.0.0\n"
    )
    check = nic_ip_check(ev(ipconfig), [ip("10.0.0.4")])
    assert check.status is NicIpStatus.MISMATCH
    assert any("Duplicate" in r for r in check.reasons)
    assert any("APIPA" in r for r in check.reasons)


def test_ghost_nics() -> None:
    windows = evidence_from_texts([("p.json", ws.windows_probe(), None)], source="vm")
    check = ghost_nic_check(windows, [ip("10.0.0.4")])
    assert check.status is GhostStatus.PRESENT
    assert not check.holds_azure_ip
    assert [g.name for g in check.ghosts] == ["Ethernet"]
    ipconfig_only = ev("\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : VM1\n")
    assert ghost_nic_check(ipconfig_only).status is GhostStatus.UNKNOWN
    assert ghost_nic_check(ev(ADDR)).status is GhostStatus.NOT_APPLICABLE


def test_smb() -> None:
    rules = [
        {
            "Name": "SMB",
            "DisplayName": "File and Printer Sharing (SMB-In)",
            "Enabled": "True",
            "Direction": "Inbound",
            "Action": "Allow",
            "Profile": "Any",
            "Protocol": "TCP",
            "LocalPort": ["445"],
            "RemotePort": ["Any"],
            "LocalAddress": ["Any"],
            "RemoteAddress": ["Any"],
            "Program": "System",
            "Service": "Any",
            "InterfaceType": "Any",
        }
    ]
    listening = (
        ws.windows_probe(rules=rules)
        .replace('"LocalPort": 5000', '"LocalPort": 445')
        .replace('"ProcessName": "agent"', '"ProcessName": "System"')
        .replace('"127.0.0.1"', '"0.0.0.0"')
    )
    dst = evidence_from_texts([("p.json", listening, None)], source="fs")
    f = Flow(ip("10.0.1.9"), ip("10.0.0.4"), Protocol.TCP, 445)
    assert smb_check(f, destination=dst).status is GuestVerdict.ALLOW
    blocked = evidence_from_texts([("p.json", ws.windows_probe(rules=[]), None)], source="fs")
    check = smb_check(f, destination=blocked)
    assert check.status is GuestVerdict.DENY
    assert check.source is not None


def test_findings_shape_and_order() -> None:
    flow = Flow(ip("10.0.1.9"), ip("10.0.0.4"), Protocol.TCP, 5432)
    rules = (
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    )
    found = guest_findings(
        flow, destination=ev(SS, STATIC, rules), destination_nic_ips=[ip("10.0.0.4")]
    )
    codes = [(f.code, f.step, f.status) for f in found]
    assert codes == [
        ("NIC_GUEST_IP_MISMATCH", 1, "fail"),
        ("GUEST_FIREWALL_DENY", 3, "fail"),
        ("LISTENER_LOOPBACK_ONLY", 4, "fail"),
    ]
    deny = found[1]
    assert deny.resource == "f2.txt:2"
    assert "INPUT policy DROP" in deny.message
    assert deny.command == "iptables -I INPUT -s 10.0.1.9 -p tcp --dport 5432 -j ACCEPT"
    assert "Assumption" in deny.message  # no nft ruleset was given
    assert set(deny.to_json()) == {
        "code",
        "severity",
        "step",
        "status",
        "message",
        "resource",
        "pointer",
        "remediation",
        "command",
    }


def test_findings_for_smb_and_connect_results() -> None:
    f = Flow(ip("10.0.1.9"), ip("10.0.0.4"), Protocol.TCP, 445)
    dst = evidence_from_texts([("p.json", ws.windows_probe(rules=[]), None)], source="fs")
    codes = {
        x.code for x in guest_findings(f, destination=dst, destination_nic_ips=[ip("10.0.0.4")])
    }
    assert {"GUEST_FIREWALL_DENY", "SMB_BLOCKED", "GHOST_NIC", "NIC_GUEST_IP_MATCH"} <= codes
    tnc = (
        "ComputerName           : db\nRemoteAddress          : 10.0.0.4\n"
        "RemotePort             : 5432\n"
        "InterfaceAlias         : Ethernet\nSourceAddress          : 10.0.1.9\n"
        "TcpTestSucceeded       : False\n"
    )
    test = connect_result(ev(tnc), ip("10.0.0.4"), 5432)
    assert test is not None
    assert test.succeeded is False


def test_findings_take_step_status_and_severity_from_the_catalogue() -> None:
    flow = Flow(ip("10.0.1.9"), ip("10.0.0.4"), Protocol.TCP, 445)
    windows = evidence_from_texts([("p.json", ws.windows_probe(rules=[]), None)], source="fs")
    unknown = ev(SS)  # sockets, but no firewall rules: the firewall's answer is unknown
    found = [
        *guest_findings(flow, destination=windows, destination_nic_ips=[ip("10.0.0.4")]),
        *guest_findings(flow, source=unknown, destination=unknown),
    ]
    severity = {"fail": "error", "warn": "warning"}
    assert {"GUEST_FIREWALL_UNKNOWN", "GHOST_NIC", "SMB_BLOCKED"} <= {f.code for f in found}
    for f in found:
        spec = CODES[f.code]
        assert (f.step, f.status) == (spec.step, spec.status.value), f.code
        assert f.severity == severity.get(f.status, "info"), f.code
        assert f.severity == finding(f.code, f.message).severity.value


def test_a_ghost_nic_holding_the_azure_ip_fails_the_step() -> None:
    holding = GhostNicCheck(status=GhostStatus.PRESENT, holds_azure_ip=True, reasons=("1 ghost",))
    ghost = _ghost_finding(holding, "destination")
    assert (ghost.code, ghost.step, ghost.status, ghost.severity) == (
        "GHOST_NIC",
        8,
        "fail",
        "error",
    )
    assert "still holds the NIC's IP" in ghost.message
    quiet = _ghost_finding(msgspec.structs.replace(holding, holds_azure_ip=False), "destination")
    assert (quiet.status, quiet.severity) == ("warn", "warning")
