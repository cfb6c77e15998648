"""How many flows were open at once: the observed demand on SNAT ports.

A flow (source port, destination port, protocol) is open from its begin tuple (``B``) to its end
tuple (``E``); continuing tuples (``C``) extend it. The same 5-tuple may be reused for a new
connection after it ends, which is exactly what happens under SNAT pressure, so a flow is split
into intervals at each ``E``, and a ``B`` while one is open starts a new one. A flow whose end was
not logged stays open until its last tuple (a lower bound). At equal timestamps ``E`` comes before
``C`` before ``B``: Azure logs the end of one connection and the begin of the next in the same
millisecond.

Pure functions, no I/O; both engines feed them the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Final

_RANK: Final = {"E": 0, "C": 1, "B": 2}

Observation = tuple[int, int, str, str | None, int]
"""(source port, destination port, protocol, state, timestamp in ms)."""


Span = tuple[int, str, int, int]
"""(destination port, protocol, start ms, end ms)."""


def intervals(observations: Iterable[Observation]) -> list[Span]:
    """The intervals during which each flow was open."""
    by_flow: dict[tuple[int, int, str], list[tuple[int, int, str | None]]] = defaultdict(list)
    for sport, dport, proto, state, ts in observations:
        by_flow[(sport, dport, proto)].append((ts, _RANK.get(state or "", 1), state))
    out: list[Span] = []
    for (_, dport, proto), events in by_flow.items():
        events.sort(key=lambda e: (e[0], e[1]))
        start: int | None = None
        last = 0
        for ts, _, state in events:
            if start is not None and state == "B" and ts > start:
                out.append((dport, proto, start, last))
                start = None
            if start is None:
                start = ts
            last = ts
            if state == "E":
                out.append((dport, proto, start, ts))
                start = None
        if start is not None:
            out.append((dport, proto, start, last))
    return out


def max_concurrent(spans: Iterable[Span]) -> int:
    """The largest number of flows open at one instant to one destination port and protocol
    (SNAT needs a distinct port for each of those), over all ports and protocols."""
    by_service: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for dport, proto, start, end in spans:
        by_service[(dport, proto)].append((start, end))
    return max((_peak(found) for found in by_service.values()), default=0)


def _peak(spans: Iterable[tuple[int, int]]) -> int:
    events = []
    for start, end in spans:
        events.append((start, 0))  # opens sort before closes at the same instant
        events.append((end, 1))
    events.sort()
    current = peak = 0
    for _, kind in events:
        current += 1 if kind == 0 else -1
        peak = max(peak, current)
    return peak
