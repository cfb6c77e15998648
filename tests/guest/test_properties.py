"""Property tests for the readers: round trips through generated output, and cut or mangled real
artefacts that must give a result or an EvidenceParseError, never another exception."""

from __future__ import annotations

import contextlib
import ipaddress
import shlex
from pathlib import Path

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guest import windows_samples as ws
from vnetdoctor.errors import EvidenceParseError
from vnetdoctor.guest._text import split_endpoint
from vnetdoctor.guest.detect import decode_text, detect_kind
from vnetdoctor.guest.iptables import parse_iptables_save
from vnetdoctor.guest.load import evidence_from_texts
from vnetdoctor.guest.ss import parse_ss
from vnetdoctor.model.evidence import ArtefactKind, SourceRef
from vnetdoctor.model.net import Protocol

REF = SourceRef(file="gen.txt")

v4 = st.ip_addresses(v=4)
v6 = st.ip_addresses(v=6)
ports = st.integers(min_value=1, max_value=65535)


@given(address=st.one_of(v4, v6), port=ports, scope=st.sampled_from([None, "eth0", "lo"]))
def test_split_endpoint_round_trip(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int, scope: str | None
) -> None:
    host = f"{address}%{scope}" if scope else str(address)
    text = f"[{host}]:{port}" if address.version == 6 else f"{host}:{port}"
    parsed_host, parsed_port, parsed_scope = split_endpoint(text)
    assert ipaddress.ip_address(parsed_host) == address
    assert int(parsed_port) == port
    assert parsed_scope == scope
    if address.version == 6 and scope is None:  # netstat's bracket-less form
        assert split_endpoint(f"{address}:{port}")[:2] == (str(address), str(port))


socket_st = st.tuples(
    st.sampled_from(["tcp", "udp"]),
    st.one_of(v4, v6, st.just("*")),
    ports,
    st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)),
    st.integers(min_value=1, max_value=4_000_000),
)


@settings(max_examples=80)
@given(sockets=st.lists(socket_st, max_size=12), width=st.integers(min_value=0, max_value=20))
def test_ss_round_trip(sockets: list[tuple[str, object, int, str | None, int]], width: int) -> None:
    lines = ["Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess"]
    for netid, address, port, process, pid in sockets:
        state = "LISTEN" if netid == "tcp" else "UNCONN"
        shown = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
        users = f'users:(("{process}",pid={pid},fd=3))' if process else ""
        lines.append(
            f"{netid}   {state} 0 128 {' ' * width}{shown}:{port}   *:*   {users}".rstrip()
        )
    table = parse_ss("\n".join(lines) + "\n", REF)
    assert len(table.sockets) == len(sockets)
    for sock, (netid, address, port, process, pid) in zip(table.sockets, sockets, strict=True):
        assert sock.protocol is (Protocol.TCP if netid == "tcp" else Protocol.UDP)
        assert sock.port == port
        assert sock.address == (None if address == "*" else address)
        assert (sock.process, sock.pid) == ((process, pid) if process else (None, None))


token_st = st.one_of(
    st.sampled_from(["-p", "tcp", "-m", "--dport", "22", "-s", "10.0.0.0/8", "!", "-j", "ACCEPT"]),
    st.text(
        alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1, max_size=8
    ),
)


@settings(max_examples=80)
@given(rules=st.lists(st.lists(token_st, min_size=1, max_size=8), max_size=10))
def test_iptables_save_tokens_round_trip(rules: list[list[str]]) -> None:
    body = "".join(f"-A INPUT {shlex.join(tokens)}\n" for tokens in rules)
    text = f"*filter\n:INPUT ACCEPT [0:0]\n{body}COMMIT\n"
    (table,) = parse_iptables_save(text, REF).tables
    assert [list(r.tokens) for r in table.rules] == rules
    assert [r.source.line for r in table.rules if r.source] == list(range(3, 3 + len(rules)))


def _samples() -> list[tuple[str, str, ArtefactKind]]:
    found = []
    guest = FIXTURES / "guest"
    if guest.is_dir():
        for path in sorted(guest.glob("*/*/*")):
            text = decode_text(path.read_bytes())
            if len(text) > 40_000:
                continue  # keep the fuzz quick; the large files are read whole elsewhere
            found.append((path.name, text, detect_kind(text, path.name)))
    for name in (
        "NETSH_RULES",
        "NETSH_GERMAN",
        "FORMAT_LIST_RULES",
        "FORMAT_LIST_PROFILES",
        "JSON_PS7_JOINED",
        "NETSTAT_GERMAN",
        "GET_NETADAPTER",
    ):
        text = getattr(ws, name)
        found.append((name, text, detect_kind(text, name)))
    text = ws.windows_probe()
    found.append(("windows_probe", text, detect_kind(text, "p.json")))
    return found


SAMPLES = _samples()


@pytest.mark.skipif(not SAMPLES, reason="no samples")
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_cut_or_mangled_artefacts_never_crash(data: st.DataObject) -> None:
    name, text, kind = data.draw(st.sampled_from(SAMPLES))
    start = data.draw(st.integers(min_value=0, max_value=len(text)))
    mode = data.draw(st.sampled_from(["cut", "drop", "insert"]))
    if mode == "cut":
        mutated = text[:start]
    elif mode == "drop":
        end = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 40)))
        mutated = text[:start] + text[end:]
    else:
        junk = data.draw(st.text(max_size=20))
        mutated = text[:start] + junk + text[start:]
    try:
        evidence_from_texts([(name, mutated, kind)], source=name)
    except EvidenceParseError as exc:
        assert exc.path == name
        assert "\n" not in str(exc)


@given(text=st.text(max_size=300))
def test_random_text_is_rejected_cleanly(text: str) -> None:
    kind = detect_kind(text, "x")
    if kind is ArtefactKind.UNKNOWN:
        return
    with contextlib.suppress(EvidenceParseError):
        evidence_from_texts([("x", text, kind)], source="x")


def test_samples_cover_every_reader() -> None:
    kinds = {kind for _, _, kind in SAMPLES}
    if not (FIXTURES / "guest").is_dir():
        pytest.skip("no fixtures")
    assert {
        ArtefactKind.SS,
        ArtefactKind.NETSTAT_LINUX,
        ArtefactKind.NETSTAT_WINDOWS,
        ArtefactKind.IPTABLES_SAVE,
        ArtefactKind.NFT_JSON,
        ArtefactKind.IPCONFIG,
        ArtefactKind.NETSH_FIREWALL,
        ArtefactKind.WINDOWS_FIREWALL_LIST,
        ArtefactKind.WINDOWS_FIREWALL_JSON,
        ArtefactKind.WINDOWS_PROBE,
        ArtefactKind.GET_NETADAPTER,
        ArtefactKind.IP_ADDR,
        ArtefactKind.IP_ADDR_JSON,
        ArtefactKind.IP_ROUTE,
        ArtefactKind.ROUTE_PRINT,
        ArtefactKind.TEST_NETCONNECTION,
    } <= kinds


def test_fixture_dir_is_where_conftest_says(fixtures: Path) -> None:
    assert (fixtures / "guest").is_dir()
