"""Malformed and cut-off artefacts: a clear EvidenceParseError naming the file and the line,
never a traceback and never a silently partial reading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES

from vnetdoctor.errors import EvidenceParseError
from vnetdoctor.guest.detect import decode_text
from vnetdoctor.guest.load import load_guest_evidence

GUEST = FIXTURES / "guest"


@pytest.fixture(autouse=True)
def _need_fixtures(fixtures: Path) -> None:
    _ = fixtures


def _cut_at(text: str, pattern: str, keep: int) -> tuple[str, int]:
    """``text`` cut ``keep`` characters into the first line matching ``pattern`` (what a
    truncated paste or a Run Command output limit leaves), and that line's number."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if re.search(pattern, line):
            return "".join(lines[:index]) + line[:keep], index + 1
    raise AssertionError(f"no line matches {pattern!r}")


def _replace_line(text: str, pattern: str, new: str) -> tuple[str, int]:
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if re.search(pattern, line):
            lines[index] = new + ("\r\n" if line.endswith("\r\n") else "\n")
            return "".join(lines), index + 1
    raise AssertionError(f"no line matches {pattern!r}")


# (fixture, pattern of the line to cut, characters kept of it)
TRUNCATED = [
    ("linux/ss-tulpen/jc-1.txt", r"^tcp\s+LISTEN.*:9187", 30),
    ("linux/ss-a/jc-2.txt", r"^tcp\s+LISTEN.*:ssh", 33),
    ("linux/netstat-lnp/jc-2.txt", r"^tcp .*:5432 ", 23),
    ("linux/netstat-l/jc-1.txt", r"^tcp .*:ssh ", 20),
    ("windows/netstat-ano/jc-1.txt", r"TCP    0.0.0.0:445 ", 12),
    ("windows/netstat-an/jc-1.txt", r"TCP    0.0.0.0:902 ", 12),
    ("windows/ipconfig-all/jc-1.txt", r"IPv4 Address", 20),
    ("windows/route-print/jc-1.txt", r"^\s+172\.17\.96\.0 ", 30),
    ("linux/ip-addr/getmac-1.txt", r"inet 10\.0\.2\.15", 14),
    ("linux/iptables-save/iptsem-1.txt", r"ufw-user-input -p tcp -m tcp --dport 22 ", 30),
    ("linux/ip6tables-save/iptsem-2.txt", r"^-A FORWARD -s ::1/128", 20),
    ("linux/nft-j-list-ruleset/nftrs-2.json", r'"dport"', 12),
    ("linux/ip-j-addr/cloudinit-1.json", r'"prefixlen": 24', 10),
]


@pytest.mark.parametrize(("rel", "pattern", "keep"), TRUNCATED, ids=[t[0] for t in TRUNCATED])
def test_truncated_artefact_names_file_and_line(
    tmp_path: Path, rel: str, pattern: str, keep: int
) -> None:
    text, line = _cut_at(decode_text((GUEST / rel).read_bytes()), pattern, keep)
    path = tmp_path / Path(rel).name
    path.write_text(text, newline="")
    with pytest.raises(EvidenceParseError) as caught:
        load_guest_evidence(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line is not None
    # iptables-save reports the missing COMMIT at the last line; the JSON readers where the
    # decoder stopped; the line readers the cut line itself
    assert error.line >= line - 1
    assert str(path) in str(error)
    assert "\n" not in str(error)


MALFORMED = [
    (
        "linux/ss-tulpen/jc-1.txt",
        r":9187 ",
        "tcp   LISTEN   x        4096  0.0.0.0:9187  0.0.0.0:*",
    ),
    ("linux/ss-a/jc-1.txt", r"^tcp\s+LISTEN.*0\.0\.0\.0:ssh", "tcp LISTEN 0 128 0.0.0.0 0.0.0.0:*"),
    ("linux/netstat-lnp/jc-1.txt", r":22 .*sshd", "tcp        0      0 0.0.0.0:22   0.0.0.0:*"),
    (
        "windows/netstat-ano/jc-1.txt",
        r"TCP    0.0.0.0:445 ",
        "  TCP    0.0.0.0:445    0.0.0.0:0    LISTENING    x4",
    ),
    (
        "windows/ipconfig-all/jc-3.txt",
        r"IPv4 Address",
        "   IPv4 Address. . . . . . . . . . . : 192.168.23.999(Preferred)",
    ),
    (
        "windows/ipconfig-all/jc-4.txt",
        r"Subnet Mask",
        "   Subnet Mask . . . . . . . . . . . : 255.0.255.0",
    ),
    ("linux/iptables-save/iptsem-5.txt", r"^:CUSTOM", ":CUSTOM"),
    (
        "linux/iptables-save/iptsem-5.txt",
        r"^-A CUSTOM -p tcp -m tcp",
        "-A NOSUCHCHAIN -p tcp -j ACCEPT",
    ),
    (
        "linux/iptables-save/iptsem-8.txt",
        r"^-A syn_flood",
        '-A syn_flood -m comment --comment "unclosed -j DROP',
    ),
    ("linux/ip-route/jc-1.txt", r"^default", "default via 10.0.2.999 dev enp0s3"),
    (
        "linux/ip-addr/getmac-1.txt",
        r"inet 10\.0\.2\.15",
        "    inet 10.0.2.999/24 brd 10.0.2.255 scope global eth0",
    ),
]


@pytest.mark.parametrize(("rel", "pattern", "new"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_line_names_file_and_line(
    tmp_path: Path, rel: str, pattern: str, new: str
) -> None:
    text, line = _replace_line(decode_text((GUEST / rel).read_bytes()), pattern, new)
    path = tmp_path / Path(rel).name
    path.write_text(text, newline="")
    with pytest.raises(EvidenceParseError) as caught:
        load_guest_evidence(path)
    assert caught.value.path == str(path)
    assert caught.value.line == line, str(caught.value)


def test_table_without_commit_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "rules.txt"
    path.write_text("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n")
    with pytest.raises(EvidenceParseError, match=r"no COMMIT.*cut off") as caught:
        load_guest_evidence(path)
    assert caught.value.line == 3


def test_unrecognised_single_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("the firewall is probably fine\n")
    with pytest.raises(EvidenceParseError, match="not a vnetdoctor probe file"):
        load_guest_evidence(path)


def test_folder_skips_what_it_does_not_know(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("pasted on Tuesday\n")
    (tmp_path / "out.txt").write_bytes((GUEST / "linux/ss-tulpen/jc-1.txt").read_bytes())
    evidence = load_guest_evidence(tmp_path)
    assert evidence.listeners
    assert any("README" in g.what for g in evidence.gaps)


def test_empty_folder_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(EvidenceParseError, match="no recognised guest artefact"):
        load_guest_evidence(tmp_path)
    with pytest.raises(EvidenceParseError, match="no such file"):
        load_guest_evidence(tmp_path / "absent.json")


def test_utf16_powershell_redirect_is_read(tmp_path: Path) -> None:
    """Windows PowerShell 5.1 `netstat -ano > out.txt` writes UTF-16LE with a BOM."""
    raw = decode_text((GUEST / "windows/netstat-ano/jc-1.txt").read_bytes())
    path = tmp_path / "out.txt"
    path.write_bytes(b"\xff\xfe" + raw.encode("utf-16-le"))
    evidence = load_guest_evidence(path)
    assert len(evidence.sockets) == 176
