"""Helpers shared by the guest artefact parsers: numbered lines, ``host:port`` splitting and the
service names that ``netstat``/``ss`` print without ``-n``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Final

from vnetdoctor.model.net import IPAddress

# IANA names that netstat / ss print instead of numbers when run without -n (the common ones on
# servers; a name missing here leaves the port unknown, it is never guessed).
SERVICES: Final[dict[str, int]] = {
    "ftp-data": 20,
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "bootps": 67,
    "bootpc": 68,
    "tftp": 69,
    "http": 80,
    "www": 80,
    "kerberos": 88,
    "pop3": 110,
    "sunrpc": 111,
    "ntp": 123,
    "epmap": 135,
    "loc-srv": 135,
    "netbios-ns": 137,
    "netbios-dgm": 138,
    "netbios-ssn": 139,
    "imap": 143,
    "imap2": 143,
    "snmp": 161,
    "snmp-trap": 162,
    "ldap": 389,
    "https": 443,
    "microsoft-ds": 445,
    "isakmp": 500,
    "syslog": 514,
    "submission": 587,
    "ipp": 631,
    "ldaps": 636,
    "rsync": 873,
    "imaps": 993,
    "pop3s": 995,
    "openvpn": 1194,
    "ms-sql-s": 1433,
    "ms-sql-m": 1434,
    "nfs": 2049,
    "mysql": 3306,
    "ms-wbt-server": 3389,
    "ipsec-nat-t": 4500,
    "postgresql": 5432,
    "mdns": 5353,
    "winrm": 5985,
    "wsman": 5985,
    "wsmans": 5986,
    "x11": 6000,
    "redis": 6379,
    "http-alt": 8080,
    "webcache": 8080,
    "https-alt": 8443,
    "mongodb": 27017,
    "ipv6-icmp": 0,
    "icmp": 0,
}


def numbered(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` from 1, with CR (Windows line endings) removed."""
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.rstrip("\r")


def ends_mid_line(text: str) -> bool:
    """True when the text does not end with a newline (a paste may legitimately do that too)."""
    return bool(text) and not text.endswith("\n")


def port_of(text: str) -> int | None:
    """A port number or a known service name; ``None`` for ``*`` and unknown names."""
    raw = text.strip()
    if raw.isdigit():
        value = int(raw)
        return value if value <= 65535 else None
    return SERVICES.get(raw.casefold())


def split_endpoint(text: str) -> tuple[str, str, str | None]:
    """``host``, ``port`` and the ``%interface`` scope of ``HOST:PORT``.

    Handles ``0.0.0.0:22``, ``[::]:22``, ``:::22`` (Linux netstat), ``::1:25``, ``*:22``,
    ``127.0.0.53%lo:53``, ``[fe80::1%eth0]:22``, ``[fe80::1]%eth0:123`` and
    ``localhost:smtp``. Raises ``ValueError``
    when there is no ``:PORT``."""
    raw = text.strip()
    scope = None
    if raw.startswith("["):
        close = raw.find("]")
        tail = raw[close + 1 :] if close >= 0 else ""
        if tail.startswith("%"):  # ss prints [fe80::1]%eth0:123
            scope_text, sep, port = tail[1:].rpartition(":")
            if not sep:
                raise ValueError(f"malformed address {text!r}")
            return raw[1:close], port, scope_text
        if close < 0 or not tail.startswith(":"):
            raise ValueError(f"malformed address {text!r}")
        host, port = raw[1:close], tail[1:]
    else:
        host, sep, port = raw.rpartition(":")
        if not sep:
            raise ValueError(f"address {text!r} has no port")
    if "%" in host:
        host, _, scope = host.partition("%")
    return host, port, scope


def ip_or_none(host: str) -> IPAddress | None:
    """The IP literal in ``host`` (``::ffff:1.2.3.4`` included), or ``None`` (``*``, names)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def json_element_lines(text: str, start: int, count: int) -> list[int | None]:
    """The 1-based line on which each of ``count`` elements of the JSON array whose ``[`` is at
    ``start`` begins (all ``None`` when the text does not scan cleanly)."""
    import json

    decoder = json.JSONDecoder()
    index = start + 1
    found: list[int | None] = []
    line = text.count("\n", 0, index) + 1
    cursor = index
    while len(found) < count:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            break
        line += text.count("\n", cursor, index)
        cursor = index
        found.append(line)
        try:
            _, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            break
    return found if len(found) == count else [None] * count


def json_pointer_lines(text: str, max_depth: int = 4) -> dict[str, int]:
    """``JSON pointer -> line`` for every value down to ``max_depth`` in a JSON text that
    :func:`json.loads` accepts (call it after a successful parse). Used to cite a line of a
    pretty-printed JSON artefact; a one-line JSON gives line 1 for everything."""
    import json

    scan_string = json.decoder.scanstring  # type: ignore[attr-defined]
    decoder = json.JSONDecoder()
    lines: dict[str, int] = {}
    length = len(text)

    def skip(index: int) -> int:
        while index < length and text[index] in " \t\r\n":
            index += 1
        return index

    def value(index: int, pointer: str, depth: int) -> int:
        index = skip(index)
        lines[pointer or "/"] = text.count("\n", 0, index) + 1
        char = text[index] if index < length else ""
        if depth >= max_depth or char not in "[{":
            _, end = decoder.raw_decode(text, index)
            return int(end)
        closing = "]" if char == "[" else "}"
        index = skip(index + 1)
        position = 0
        while index < length and text[index] != closing:
            if char == "{":
                key, index = scan_string(text, index + 1)
                index = skip(index)
                index = skip(index + 1)  # the colon
                token = str(key).replace("~", "~0").replace("/", "~1")
            else:
                token = str(position)
            index = skip(value(index, f"{pointer}/{token}", depth + 1))
            position += 1
            if index < length and text[index] == ",":
                index = skip(index + 1)
        return index + 1

    try:
        value(0, "", 0)
    except (ValueError, IndexError):
        return {}
    return lines
