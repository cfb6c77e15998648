"""The pairs of docs/sample.md, parsed from its table (for the sample-pair and golden tests)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

DOC = Path(__file__).resolve().parents[1] / "docs" / "sample.md"


class Pair(NamedTuple):
    number: int
    source: str
    destination: str
    port: int
    protocol: str
    guest: list[tuple[str, str]]
    concurrent: int | None
    verdict: str
    steps: set[int]
    codes: list[str]


def pairs() -> list[Pair]:
    out = []
    for line in DOC.read_text().splitlines():
        if not re.match(r"\| \d+ \|", line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        number, src, dst, port_proto, extra, _what, verdict, steps, codes = cells
        port, proto = port_proto.split("/")
        guest = re.findall(r"--guest ([\w-]+)=([\w./-]+)", extra)
        concurrent = re.search(r"--concurrent (\d+)", extra)
        out.append(
            Pair(
                int(number),
                src,
                dst,
                int(port),
                proto,
                guest,
                int(concurrent.group(1)) if concurrent else None,
                verdict,
                {int(s) for s in re.findall(r"\d+", steps)},
                re.findall(r"`([A-Z_]+)`", codes),
            )
        )
    return out


PAIRS = pairs()
