"""``netstat`` output, Linux (net-tools: ``netstat -l``, ``-lnp``, ``-tulpn``) and Windows
(``netstat -ano``, ``-an``, ``-aonb``, plain ``netstat``).

Linux rows: ``Proto Recv-Q Send-Q Local Foreign [State] [PID/Program name]``; UDP rows have no
state, and the program name may contain spaces (``600/sshd: /usr/sbin``). Without ``-n`` ports
are service names (``ssh``) and addresses may be host names (``localhost``).

Windows rows: ``Proto Local Foreign State [PID]``; UDP rows have no state; headers and the
``LISTENING`` word are localised (``Aktive Verbindungen``, ``ABHÖREN``), so a TCP row is taken as
listening by its foreign address (``0.0.0.0:0`` / ``[::]:0``), never by the state word.
``-b`` adds owner lines (``[svchost.exe]``, a service name, or "Can not obtain ownership
information") under a row. Plain ``netstat`` (no ``-a``) lists connections only: the table is
then marked incomplete, since it cannot show that nothing listens.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from vnetdoctor.guest._text import ends_mid_line, ip_or_none, numbered, port_of, split_endpoint
from vnetdoctor.model.evidence import ListenerTable, ListeningSocket, SourceRef
from vnetdoctor.model.net import Protocol

__all__ = [
    "looks_like_linux_netstat",
    "looks_like_windows_netstat",
    "parse_linux_netstat",
    "parse_windows_netstat",
]

_LINUX_PROTOS: Final = {
    "tcp": Protocol.TCP,
    "tcp6": Protocol.TCP,
    "udp": Protocol.UDP,
    "udp6": Protocol.UDP,
}
_LINUX_SKIPPED: Final = frozenset({"raw", "raw6", "udpl", "udpl6", "unix", "sctp", "sctp6"})
_LINUX_HEADER = re.compile(r"^Proto\s+Recv-Q\s+Send-Q\s+Local Address", re.I)
_LINUX_TITLE = re.compile(r"^Active (Internet|UNIX domain|Bluetooth)", re.I)
_WIN_ROW = re.compile(r"^\s+(TCP|UDP)\s+(\S+)\s+(\S+)(?:\s+(\S+))?(?:\s+(\S+))?\s*$")
_WIN_HEADER = re.compile(r"^\s+Proto\s+\S", re.I)


# ---------------------------------------------------------------------------------------------
# Linux
# ---------------------------------------------------------------------------------------------
def looks_like_linux_netstat(text: str) -> bool:
    for _, line in numbered(text):
        if not line.strip():
            continue
        if _LINUX_TITLE.match(line) or _LINUX_HEADER.match(line):
            return True
        tokens = line.split()
        return tokens[0] in _LINUX_PROTOS and len(tokens) >= 5 and tokens[1].isdigit()
    return False


def parse_linux_netstat(text: str, source: SourceRef) -> ListenerTable:
    sockets: list[ListeningSocket] = []
    in_inet = True
    complete = True
    note = None
    cut = ends_mid_line(text)
    last = max((n for n, line in numbered(text) if line.strip()), default=0)
    rows = 0
    for number, line in numbered(text):
        if not line.strip():
            continue
        if _LINUX_TITLE.match(line):
            in_inet = line.casefold().startswith("active internet")
            if in_inet and "w/o servers" in line:
                complete, note = False, "netstat without -l/-a shows no listening sockets"
            continue
        if _LINUX_HEADER.match(line) or not in_inet:
            continue
        tokens = line.split()
        proto = tokens[0]
        if proto in _LINUX_SKIPPED:
            continue
        if proto not in _LINUX_PROTOS:
            raise source.error(f"not a netstat row: {line.strip()[:60]!r}", number)
        rows += 1
        if len(tokens) < 5 or not (tokens[1].isdigit() and tokens[2].isdigit()):
            hint = " (the output looks cut off)" if number == last and cut else ""
            raise source.error(f"malformed netstat row: {line.strip()[:80]!r}{hint}", number)
        protocol = _LINUX_PROTOS[proto]
        rest = tokens[5:]
        state = None
        if rest and rest[0].isupper() and "/" not in rest[0] and rest[0] != "-":
            state, rest = rest[0], rest[1:]
        if protocol is Protocol.TCP and state is None:
            raise source.error(f"TCP row without a state: {line.strip()[:80]!r}", number)
        if protocol is Protocol.TCP and state != "LISTEN":
            continue
        if protocol is Protocol.UDP and state not in (None, "CLOSE"):
            continue  # a connected UDP socket is not a listener
        process = pid = None
        owner = " ".join(rest)
        if owner and owner != "-":
            pid_text, _, name = owner.partition("/")
            if pid_text.isdigit():
                pid, process = int(pid_text), name.strip() or None
        sockets.append(
            _linux_socket(protocol, proto, tokens[3], state, process, pid, source, number)
        )
    if rows == 0 and not sockets and complete:
        note = "no TCP/UDP rows in this netstat output"
    return ListenerTable(sockets=tuple(sockets), complete=complete, note=note, source=source)


def _linux_socket(
    protocol: Protocol,
    proto: str,
    local: str,
    state: str | None,
    process: str | None,
    pid: int | None,
    source: SourceRef,
    number: int,
) -> ListeningSocket:
    try:
        host, port_text, scope = split_endpoint(local)
    except ValueError as exc:
        raise source.error(str(exc), number) from None
    if not port_text:
        raise source.error(f"address {local!r} has no port (the output looks cut off)", number)
    address = ip_or_none(host)
    dual: bool | None = None
    if address is not None and address.version == 6 and address.is_unspecified:
        dual = None  # netstat prints :::22 for v6only and dual-stack sockets alike
    elif proto in ("tcp", "udp") and host == "*":
        dual = False
    return ListeningSocket(
        protocol=protocol,
        address=address,
        address_text=host,
        port=port_of(port_text),
        port_text=port_text,
        interface=scope,
        dual_stack=dual,
        state=state or "UNCONN",
        process=process,
        pid=pid,
        source=source.at(number),
    )


# ---------------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------------
def looks_like_windows_netstat(text: str) -> bool:
    for _, line in numbered(text):
        match = _WIN_ROW.match(line)
        if match and ":" in match.group(2):
            return True
        if line.strip() and line.split()[0] in _LINUX_PROTOS:
            return False
    return False


def parse_windows_netstat(text: str, source: SourceRef) -> ListenerTable:
    sockets: list[ListeningSocket] = []
    rows = listening_rows = 0
    header_seen = False
    after_row = False
    cut = ends_mid_line(text)
    last = max((n for n, line in numbered(text) if line.strip()), default=0)
    pending: list[ListeningSocket] = []  # sockets waiting for a -b owner line

    def flush_owner(owner: str | None) -> None:
        for sock in pending:
            sockets.append(sock if owner is None else msgspec.structs.replace(sock, process=owner))
        pending.clear()

    for number, line in numbered(text):
        if not line.strip():
            continue
        if _WIN_HEADER.match(line) and not _WIN_ROW.match(line):
            header_seen = True
            continue
        match = _WIN_ROW.match(line)
        if match is None:
            stripped = line.strip()
            if stripped.split()[0] in ("TCP", "UDP"):
                hint = " (the output looks cut off)" if number == last and cut else ""
                raise source.error(f"malformed netstat row: {stripped[:80]!r}{hint}", number)
            if not header_seen:
                continue  # the localised title line ("Active Connections")
            if not after_row:
                raise source.error(f"unexpected line in netstat output: {stripped[:60]!r}", number)
            if stripped.startswith("[") and stripped.endswith("]"):
                flush_owner(stripped[1:-1])
            # service names and "Can not obtain ownership information" carry no executable
            continue
        flush_owner(None)
        after_row = True
        rows += 1
        proto, local, foreign, fourth, fifth = match.groups()
        protocol = Protocol.TCP if proto == "TCP" else Protocol.UDP
        if protocol is Protocol.TCP:
            state, pid_text = fourth, fifth
            if state is None:
                hint = " (the output looks cut off)" if number == last and cut else ""
                raise source.error(f"TCP row without a state: {line.strip()[:80]!r}{hint}", number)
            if foreign not in ("0.0.0.0:0", "[::]:0", "*:*"):
                continue
        else:
            if fifth is not None:
                raise source.error(f"malformed UDP row: {line.strip()[:80]!r}", number)
            state, pid_text = None, fourth
        if pid_text is not None and not pid_text.isdigit():
            raise source.error(f"malformed PID {pid_text!r}", number)
        listening_rows += 1
        pending.append(_windows_socket(protocol, local, state, pid_text, source, number))
    flush_owner(None)
    if not header_seen and rows == 0:
        raise source.error("no netstat rows found", 1)
    complete = listening_rows > 0
    note = None
    if not complete:
        note = "this netstat output shows no listening sockets (run netstat -ano, with -a)"
    return ListenerTable(sockets=tuple(sockets), complete=complete, note=note, source=source)


def _windows_socket(
    protocol: Protocol,
    local: str,
    state: str | None,
    pid_text: str | None,
    source: SourceRef,
    number: int,
) -> ListeningSocket:
    try:
        host, port_text, scope = split_endpoint(local)
    except ValueError as exc:
        raise source.error(str(exc), number) from None
    # An unparsable host (scrubbed samples print "fe80::asda:...") stays text: its address is
    # then unknown to the evaluators, which say so.
    address = ip_or_none(host)
    if not port_text:
        raise source.error(f"address {local!r} has no port (the output looks cut off)", number)
    return ListeningSocket(
        protocol=protocol,
        address=address,
        address_text=host,
        port=port_of(port_text),
        port_text=port_text,
        interface=scope,
        dual_stack=False if address is not None and address.version == 6 else None,
        state=state or "UNCONN",
        pid=int(pid_text) if pid_text else None,
        source=source.at(number),
    )
