"""Open flows over time: intervals from B/C/E tuples, and the peak of concurrent flows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vnetdoctor.flowlogs.concurrency import Span, intervals, max_concurrent


def test_begin_continue_end() -> None:
    assert intervals([(1, 443, "Tcp", "B", 10), (1, 443, "Tcp", "C", 20),
                      (1, 443, "Tcp", "E", 30)]) == [(443, "Tcp", 10, 30)]


def test_reuse_after_end_is_a_new_flow() -> None:
    spans = intervals([(1, 443, "Tcp", "B", 10), (1, 443, "Tcp", "E", 20),
                       (1, 443, "Tcp", "B", 40), (1, 443, "Tcp", "E", 50)])
    assert spans == [(443, "Tcp", 10, 20), (443, "Tcp", 40, 50)]


def test_begin_while_open_starts_a_new_flow() -> None:
    spans = intervals([(1, 443, "Tcp", "B", 10), (1, 443, "Tcp", "C", 20),
                       (1, 443, "Tcp", "B", 40)])
    assert spans == [(443, "Tcp", 10, 20), (443, "Tcp", 40, 40)]


def test_end_and_begin_in_the_same_millisecond() -> None:
    """Azure logs the end of one connection and the begin of the next together."""
    spans = intervals([(1, 443, "Tcp", "B", 10), (1, 443, "Tcp", "E", 30),
                       (1, 443, "Tcp", "B", 30), (1, 443, "Tcp", "E", 60)])
    assert spans == [(443, "Tcp", 10, 30), (443, "Tcp", 30, 60)]


def test_peak_is_per_destination_port() -> None:
    spans: list[Span] = [(443, "Tcp", 0, 10), (443, "Tcp", 5, 15), (80, "Tcp", 5, 15)]
    assert max_concurrent(spans) == 2
    assert max_concurrent([]) == 0


def _brute(spans: list[tuple[int, int]]) -> int:
    return max((sum(1 for s, e in spans if s <= t <= e) for t, _ in spans), default=0)


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 30)), max_size=40))
def test_peak_equals_brute_force(raw: list[tuple[int, int]]) -> None:
    spans = [(start, start + length) for start, length in raw]
    assert max_concurrent([(443, "Tcp", s, e) for s, e in spans]) == _brute(spans)
