"""Windows readers on samples built from Microsoft's documented formats (see windows_samples:
no real Windows firewall export exists in ../shared/fixtures/guest), localised headers included."""

from __future__ import annotations

import ipaddress

import pytest

from guest import windows_samples as ws
from vnetdoctor.errors import EvidenceParseError
from vnetdoctor.guest.detect import detect_kind
from vnetdoctor.guest.load import evidence_from_texts
from vnetdoctor.guest.windows_firewall import parse_firewall_json, parse_firewall_list, parse_netsh
from vnetdoctor.model.evidence import AdapterStatus, ArtefactKind, SourceRef

REF = SourceRef(file="sample.txt")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (ws.NETSH_RULES, ArtefactKind.NETSH_FIREWALL),
        (ws.NETSH_GERMAN, ArtefactKind.NETSH_FIREWALL),
        (ws.NETSH_UNKNOWN_LANGUAGE, ArtefactKind.NETSH_FIREWALL),
        (ws.NETSH_PROFILES, ArtefactKind.NETSH_FIREWALL),
        (ws.FORMAT_LIST_RULES, ArtefactKind.WINDOWS_FIREWALL_LIST),
        (ws.FORMAT_LIST_PROFILES, ArtefactKind.WINDOWS_FIREWALL_LIST),
        (ws.JSON_PS51_RULES, ArtefactKind.WINDOWS_FIREWALL_JSON),
        (ws.JSON_PS7_JOINED, ArtefactKind.WINDOWS_FIREWALL_JSON),
        (ws.NETSTAT_GERMAN, ArtefactKind.NETSTAT_WINDOWS),
        (ws.GET_NETADAPTER, ArtefactKind.GET_NETADAPTER),
        (ws.windows_probe(), ArtefactKind.WINDOWS_PROBE),
    ],
)
def test_detected(text: str, kind: ArtefactKind) -> None:
    assert detect_kind(text, "x.txt") is kind


def test_netsh_rules() -> None:
    export = parse_netsh(ws.NETSH_RULES, REF)
    assert [r.name for r in export.rules] == [
        "Open Port 61001 for admin router",
        "SQL Server (TCP-In)",
        "Block legacy SMB from the DMZ",
        "Core Networking - Destination Unreachable (ICMPv4-In)",
    ]
    sql = export.rules[1]
    assert sql.enabled is True
    assert sql.direction == "Inbound"
    assert sql.action == "Allow"
    assert sql.profiles == ("Domain", "Private")
    assert sql.remote_addresses == ("10.1.0.0/255.255.0.0", "10.9.0.5")
    assert sql.local_ports == ("1433",)
    assert sql.program is None  # netsh without verbose does not show it
    assert sql.source is not None
    assert sql.source.line == 16
    assert export.rules[2].action == "Block"


def test_netsh_verbose_shows_program() -> None:
    (rule,) = parse_netsh(ws.NETSH_VERBOSE_RULE, REF).rules
    assert rule.program == "C:\\Program Files\\Contoso\\app.exe"
    assert rule.remote_addresses == ("LocalSubnet",)


def test_netsh_german_labels_and_values() -> None:
    (rule,) = parse_netsh(ws.NETSH_GERMAN, REF).rules
    assert rule.name == "SQL Server (TCP eingehend)"
    assert (rule.enabled, rule.direction, rule.action) == (True, "Inbound", "Allow")
    assert rule.profiles == ("Domain", "Private")
    assert rule.local_ports == ("1433",)
    assert rule.remote_addresses == ("Any",)


def test_netsh_unknown_language_read_by_position_values_stay_unknown() -> None:
    (rule,) = parse_netsh(ws.NETSH_UNKNOWN_LANGUAGE, REF).rules
    assert rule.name == "SQL Server (TCP-In)"
    assert rule.local_ports == ("1433",)
    assert rule.protocol == "TCP"
    assert rule.direction == "Inbound"  # "In" is not translated in this output
    assert rule.action is None  # "Consenti" is not a value vnetdoctor knows: unknown, not guessed


def test_netsh_profiles() -> None:
    export = parse_netsh(ws.NETSH_PROFILES, REF)
    states = {p.name: (p.enabled, p.default_inbound_action) for p in export.profiles}
    assert states == {
        "Domain": (True, "Block"),
        "Private": (True, "Block"),
        "Public": (False, "Block"),
    }


def test_format_list() -> None:
    rules = parse_firewall_list(ws.FORMAT_LIST_RULES, REF).rules
    assert [(r.name, r.direction, r.action, r.profiles) for r in rules] == [
        ("OpenSSH-Server-In-TCP", "Inbound", "Allow", ("Any",)),
        ("{A1B2C3D4-0000-4000-8000-000000000001}", "Inbound", "Block", ("Domain", "Private")),
    ]
    assert rules[0].local_ports is None  # ports live in Get-NetFirewallPortFilter: unknown here
    profiles = parse_firewall_list(ws.FORMAT_LIST_PROFILES, REF).profiles
    assert [
        (p.name, p.enabled, p.default_inbound_action, p.allow_inbound_rules) for p in profiles
    ] == [
        ("Domain", True, "Block", True),
        ("Private", True, "NotConfigured", None),
        ("Public", False, "Block", False),
    ]


def test_json_windows_powershell_51_numeric_enums() -> None:
    export = parse_firewall_json(ws.JSON_PS51_RULES, REF)
    rdp, telnet = export.rules
    assert (rdp.enabled, rdp.direction, rdp.action, rdp.profiles) == (
        True,
        "Inbound",
        "Allow",
        ("Any",),
    )
    assert (telnet.enabled, telnet.action, telnet.profiles) == (
        False,
        "Block",
        ("Private", "Public"),
    )
    assert export.rules_have_filters is False
    assert rdp.source is not None
    assert rdp.source.line == 2
    assert rdp.source.pointer == "/0"


def test_json_powershell_7_joined_with_filters() -> None:
    export = parse_firewall_json(ws.JSON_PS7_JOINED, REF)
    web, deny = export.rules
    assert web.local_ports == ("80", "443")
    assert web.remote_addresses == ("10.0.0.0/255.0.0.0",)
    assert deny.profiles == ("Domain", "Private", "Public")
    assert export.profiles[0].name == "Domain"
    assert export.rules_have_filters


def test_german_netstat_listening_by_foreign_address() -> None:
    evidence = evidence_from_texts([("netstat.txt", ws.NETSTAT_GERMAN, None)], source="netstat.txt")
    listening = {(s.protocol.value, s.address_text, s.port) for s in evidence.sockets}
    assert listening == {
        ("Tcp", "0.0.0.0", 135),
        ("Tcp", "0.0.0.0", 1433),
        ("Tcp", "::", 1433),
        ("Udp", "0.0.0.0", 123),
    }


def test_get_netadapter_table_merged_with_ipconfig() -> None:
    ipconfig = (
        "\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : VM1\n\n"
        "Ethernet adapter Ethernet 2:\n\n"
        "   Description . . . . . . . . . . . : Microsoft Hyper-V Network Adapter #2\n"
        "   DHCP Enabled. . . . . . . . . . . : Yes\n"
        "   IPv4 Address. . . . . . . . . . . : 10.0.0.4(Preferred)\n"
        "   Subnet Mask . . . . . . . . . . . : 255.255.255.0\n"
    )
    evidence = evidence_from_texts(
        [("adapters.txt", ws.GET_NETADAPTER, None), ("ipconfig.txt", ipconfig, None)], source="vm1"
    )
    adapters = {a.name: a for a in evidence.adapters or ()}
    assert adapters["Ethernet 2"].addresses[0].address == ipaddress.ip_address("10.0.0.4")
    assert adapters["Ethernet 2"].status is AdapterStatus.UP
    assert adapters["Ethernet"].is_ghost
    assert evidence.adapters_include_hidden
    assert adapters["Ethernet"].source is not None
    assert adapters["Ethernet"].source.line == 5


def test_windows_probe_sections() -> None:
    evidence = evidence_from_texts(
        [("probe.json", ws.windows_probe(errors={"udp_endpoints": "Access denied"}), None)],
        source="probe.json",
    )
    assert evidence.hostname == "VM-SQL-01"
    assert evidence.privileged is True
    ghost = next(a for a in evidence.adapters or () if a.is_ghost)
    assert ghost.description == "Microsoft Hyper-V Network Adapter"
    assert evidence.windows_firewall is not None
    assert evidence.windows_firewall.interface_categories == (("Ethernet 2", "Public"),)
    assert [g.what for g in evidence.gaps] == ["windows:udp_endpoints"]
    sql = next(s for s in evidence.sockets if s.port == 1433)
    assert sql.process == "sqlservr"
    assert sql.source is not None
    assert sql.source.line is not None


@pytest.mark.parametrize(
    ("text", "parser"),
    [
        (ws.NETSH_RULES.split("Action:")[0], parse_netsh),
        (ws.FORMAT_LIST_RULES.split("Direction")[0], parse_firewall_list),
        (ws.JSON_PS7_JOINED[: len(ws.JSON_PS7_JOINED) // 2], parse_firewall_json),
    ],
    ids=["netsh", "format-list", "json"],
)
def test_cut_off_exports_are_errors_or_unknown(text: str, parser: object) -> None:
    assert callable(parser)
    try:
        export = parser(text, REF)
    except EvidenceParseError as exc:
        assert exc.path == "sample.txt"
        return
    # A netsh block cut before its Action line reads as a rule whose action is unknown.
    assert all(r.action is None for r in export.rules[-1:])


def test_evidence_serialises_to_json() -> None:
    import json

    from vnetdoctor.model.evidence import evidence_to_json

    evidence = evidence_from_texts([("p.json", ws.windows_probe(), None)], source="vm")
    body = json.loads(json.dumps(evidence_to_json(evidence)))
    assert body["schema"] == "vnetdoctor.guest-evidence/1"
    assert body["adapters"][0]["addresses"][0]["address"] == "10.0.0.4"
