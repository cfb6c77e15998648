"""One hostile line of megabytes in an ``iptables-save``: read in time linear in its length."""

from __future__ import annotations

import shlex
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnetdoctor.guest.iptables import parse_iptables_save, split_words
from vnetdoctor.model.evidence import SourceRef

REF = SourceRef(file="iptables-save.txt")


def _dump(width: int) -> str:
    comment = "x" * width
    return ("*filter\n:INPUT ACCEPT [0:0]\n"
            f'-A INPUT -p tcp --dport 22 -m comment --comment "{comment}\\"{comment}" -j ACCEPT\n'
            f"-A INPUT -m comment --comment {comment} -j DROP\nCOMMIT\n")


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        dump = parse_iptables_save(text, REF)
        best = min(best, time.perf_counter() - start)
    assert len(dump.tables[0].rules) == 2
    return best


def test_a_long_line_takes_time_linear_in_its_length() -> None:
    short, long = _seconds(_dump(100_000)), _seconds(_dump(1_000_000))  # 200 kB and 2 MB lines
    # linear: about 10x; shlex's quadratic splitting took 100x (17 s for 800 kB)
    assert long < 30 * short + 0.5, (short, long)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab -=\t\r\n'\"\\\x0bé")), max_size=16))
def test_split_words_is_shlex_split(text: str) -> None:
    try:
        expected: list[str] | None = shlex.split(text, posix=True)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match=r"No closing quotation|No escaped character"):
            split_words(text)
    else:
        assert split_words(text) == expected
