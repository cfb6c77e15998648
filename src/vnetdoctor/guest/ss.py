"""``ss`` output (iproute2): ``ss -ltnup``, ``ss -tulpen``, ``ss -a``, with or without ``-H``.

Only TCP sockets in ``LISTEN`` and bound UDP sockets (``UNCONN``) are kept: they are what a
remote client can reach. Other socket kinds (``nl``, ``u_str``, ``p_raw``, ``v_str``...) are
skipped. Address forms: ``0.0.0.0:22``; ``[::]:22`` is an IPv6-only
wildcard; ``*:22`` is a dual-stack wildcard in iproute2 >= 4 but the IPv4 wildcard in older
releases (CentOS 7), so it certainly accepts IPv4 and IPv6 only maybe (``dual_stack=None``);
``127.0.0.53%lo:53`` is bound to an interface
(``docs/semantics/guest.md#listeners``).
"""

from __future__ import annotations

import re
from typing import Final

from vnetdoctor.guest._text import ends_mid_line, ip_or_none, numbered, port_of, split_endpoint
from vnetdoctor.model.evidence import ListenerTable, ListeningSocket, SourceRef
from vnetdoctor.model.net import Protocol

__all__ = ["looks_like_ss", "parse_ss"]

_NETIDS: Final = {"tcp": Protocol.TCP, "udp": Protocol.UDP}
_OTHER_NETIDS: Final = frozenset(
    {
        "nl",
        "p_raw",
        "p_dgr",
        "raw",
        "icmp6",
        "u_str",
        "u_dgr",
        "u_seq",
        "v_str",
        "v_dgr",
        "sctp",
        "mptcp",
        "tipc",
        "xdp",
        "dccp",
        "???",
    }
)
_STATES: Final = frozenset(
    {
        "LISTEN",
        "UNCONN",
        "ESTAB",
        "SYN-SENT",
        "SYN-RECV",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "CLOSE-WAIT",
        "LAST-ACK",
        "CLOSING",
        "CLOSED",
        "UNKNOWN",
    }
)
_HEADER = re.compile(r"^\s*(Netid\s+)?State\s+Recv-Q\s+Send-Q\s+Local Address:Port", re.I)
_PROCESS = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+)')


def looks_like_ss(text: str) -> bool:
    for _, line in numbered(text):
        if not line.strip():
            continue
        if _HEADER.match(line):
            return True
        first = line.split()[0]
        return first in _NETIDS or (first in _OTHER_NETIDS and len(line.split()) >= 5)
    return False


def parse_ss(text: str, source: SourceRef) -> ListenerTable:
    """The listening sockets in ``ss`` output. Raises :class:`EvidenceParseError` naming the
    line for a row that cannot be read (a cut-off paste, a mangled column)."""
    has_netid: bool | None = None
    sockets: list[ListeningSocket] = []
    last = max((n for n, line in numbered(text) if line.strip()), default=0)
    cut = ends_mid_line(text)
    seen_row = False
    for number, line in numbered(text):
        if not line.strip():
            continue
        header = _HEADER.match(line)
        if header:
            has_netid = header.group(1) is not None
            continue
        tokens = line.split()
        if has_netid is None:
            if tokens[0] in _NETIDS or tokens[0] in _OTHER_NETIDS:
                has_netid = True
            elif tokens[0] in _STATES:
                has_netid = False
            else:
                raise source.error(f"not ss output: unexpected line {line.strip()[:60]!r}", number)
        seen_row = True
        if has_netid:
            netid = tokens[0]
            if netid in _OTHER_NETIDS:
                continue
            if netid not in _NETIDS:
                raise source.error(f"unknown socket kind {netid!r}", number)
            protocol: Protocol | None = _NETIDS[netid]
            rest = tokens[1:]
        else:
            protocol = None
            rest = tokens
        if len(rest) < 5 or not (rest[1].isdigit() and rest[2].isdigit()):
            hint = " (the output looks cut off)" if number == last and cut else ""
            raise source.error(f"malformed ss row: {line.strip()[:80]!r}{hint}", number)
        state = rest[0]
        if state not in _STATES:
            raise source.error(f"unknown socket state {state!r}", number)
        if protocol is None:
            # ss without a Netid column: LISTEN is TCP; UNCONN may be UDP or raw, unknowable.
            if state != "LISTEN":
                continue
            protocol = Protocol.TCP
        if not (
            (protocol is Protocol.TCP and state == "LISTEN")
            or (protocol is Protocol.UDP and state == "UNCONN")
        ):
            continue
        process_text = " ".join(rest[5:])
        if process_text.count("(") != process_text.count(")"):
            raise source.error(
                f"unbalanced process column {process_text[:60]!r} (the output looks cut off)",
                number,
            )
        sockets.append(_socket(protocol, state, rest[3], process_text, source.at(number), number))
    if not seen_row and has_netid is None:
        raise source.error("empty ss output", 1)
    return ListenerTable(sockets=tuple(sockets), complete=True, source=source)


def _socket(
    protocol: Protocol, state: str, local: str, process_text: str, ref: SourceRef, number: int
) -> ListeningSocket:
    try:
        host, port_text, scope = split_endpoint(local)
    except ValueError as exc:
        raise ref.error(str(exc), number) from None
    if not port_text:
        raise ref.error(f"address {local!r} has no port (the output looks cut off)", number)
    address = ip_or_none(host)
    if address is None and host != "*" and not _is_name(host):
        raise ref.error(f"malformed local address {local!r}", number)
    dual: bool | None = None
    if address is not None and address.version == 6 and address.is_unspecified:
        dual = False
    process = pid = None
    found = _PROCESS.search(process_text)
    if found:
        process, pid = found.group(1), int(found.group(2))
    return ListeningSocket(
        protocol=protocol,
        address=address,
        address_text=host,
        port=port_of(port_text),
        port_text=port_text,
        interface=scope,
        dual_stack=dual,
        state=state,
        process=process,
        pid=pid,
        source=ref,
    )


def _is_name(host: str) -> bool:
    return bool(host) and all(c.isalnum() or c in "-._" for c in host)
