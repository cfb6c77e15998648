"""Parsing what people type for filters: addresses, times, protocols, decisions."""

from __future__ import annotations

import ipaddress
import re
import time
from datetime import UTC, datetime
from typing import Final

from vnetdoctor.errors import UsageError
from vnetdoctor.flowlogs.formats import PROTOCOLS, Decision
from vnetdoctor.flowlogs.model import FlowFilter, IPNetwork

_DURATION: Final = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|min|h|d|w)$", re.IGNORECASE)
_UNIT_MS: Final = {"s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000,
                   "w": 604_800_000}
_PROTOCOL_NAMES: Final = {name.casefold(): name for name in PROTOCOLS.values()}


def parse_network(text: str, flag: str = "address") -> IPNetwork:
    """An address or CIDR. IPv6 is accepted as a single address only."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected an IP address or a CIDR prefix") from None
    if isinstance(network, ipaddress.IPv6Network) and network.num_addresses != 1:
        raise UsageError(f"{flag} {text!r}: IPv6 filters take a single address, not a prefix")
    return network


def parse_moment(text: str, flag: str = "time", *, now_ms: int | None = None) -> int:
    """A point in time as milliseconds since the epoch (UTC).

    Accepts ISO 8601 (``2025-03-14T09:30``, ``2025-03-14 09:30:00Z``, ``2025-03-14``; without a
    zone it is UTC), epoch seconds or milliseconds (a value above 10^12 is milliseconds, as in the
    logs), or a duration before now (``90m``, ``2h``, ``7d``).
    """
    raw = text.strip()
    if not raw:
        raise UsageError(f"{flag}: empty time")
    if raw.isdigit():
        value = int(raw)
        return value if value > 10**12 else value * 1000
    duration = _DURATION.match(raw)
    if duration:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        return now - int(float(duration["n"]) * _UNIT_MS[duration["unit"].lower()])
    try:
        moment = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"{flag} {text!r}: expected ISO 8601 (2025-03-14T09:30Z), epoch seconds or "
            "milliseconds, or a duration before now (90m, 2h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_protocol(text: str) -> str:
    """``tcp``/``6``/``T`` -> ``Tcp``: the spelling the normalised tuples use."""
    raw = text.strip()
    if raw in PROTOCOLS:
        return PROTOCOLS[raw]
    named = _PROTOCOL_NAMES.get(raw.casefold())
    if named is not None:
        return named
    if raw.isdigit() and 0 <= int(raw) <= 255:
        return raw
    raise UsageError(f"protocol {text!r}: expected tcp, udp, icmp or an IANA protocol number")


def parse_decision(text: str) -> Decision:
    folded = text.strip().casefold()
    for decision in Decision:
        if decision.value.casefold() == folded or decision.value[0].casefold() == folded:
            return decision
    raise UsageError(f"decision {text!r}: expected allow or deny")


def build_filter(
    *,
    src: str | None = None,
    dst: str | None = None,
    port: int | None = None,
    protocol: str | None = None,
    decision: str | None = None,
    since: str | None = None,
    until: str | None = None,
    now_ms: int | None = None,
) -> FlowFilter:
    """A :class:`FlowFilter` from text, as the command line gives it."""
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"port {port}: expected 0-65535")
    flt = FlowFilter(
        src=parse_network(src, "--src") if src else None,
        dst=parse_network(dst, "--dst") if dst else None,
        port=port,
        protocol=parse_protocol(protocol) if protocol else None,
        decision=parse_decision(decision) if decision else None,
        since=parse_moment(since, "--since", now_ms=now_ms) if since else None,
        until=parse_moment(until, "--until", now_ms=now_ms) if until else None,
    )
    if flt.since is not None and flt.until is not None and flt.since > flt.until:
        raise UsageError("--since is after --until")
    return flt
