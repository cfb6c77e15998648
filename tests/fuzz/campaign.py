"""The fuzz campaign's parts: seeded mutations of the bundled estate and its guest evidence, and
the one rule every harness applies to what vnetdoctor does with them.

The rule: an answer (a verdict, exit 0, 1 or 3) or one line naming the bad input (exit 2). Never
exit 70, never a ``Traceback``, never ``INTERNAL_ERROR`` anywhere in an output (a step that
crashed inside the runbook shows as that finding and exit 3: a bug all the same), never longer
than :data:`CASE_SECONDS`.

Case ``n`` is generated from ``random.Random(n)`` alone, so a failure is replayed by its number.
``VNETDOCTOR_FUZZ_LONG=1`` runs the long campaign (thousands of cases); ``VNETDOCTOR_FUZZ_CASES``
sets the number of snapshot cases (guest cases are a fifth of it).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from types import FrameType
from typing import Any

from builders import LINE_EDITS, ODD_LINES, ODD_VALUES, locations, put

from vnetdoctor.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "vnetdoctor" / "samples" / "contoso"
DOCUMENTS = sorted(path.name for path in SAMPLE.glob("*.json"))
PAIRS = [("vm-web-01", "vm-db-01", "5432"), ("vm-app-01", "vm-db-02", "5432"),
         ("vm-web-01", "52.178.190.12", "443"), ("vm-jump-01", "vm-files-01", "445"),
         ("vm-fwclient-01", "vm-svc-01", "22")]
GUESTS = {"vm-db-01": ("vm-web-01", "5432"), "vm-db-02": ("vm-app-01", "5432"),
          "vm-db-03": ("vm-app-01", "5432"), "vm-crm-01": ("vm-web-01", "443"),
          "vm-files-01": ("vm-web-01", "445"), "vm-api-01": ("vm-web-01", "8080")}
LONG = os.environ.get("VNETDOCTOR_FUZZ_LONG") == "1"
SNAPSHOT_CASES = int(os.environ.get("VNETDOCTOR_FUZZ_CASES") or (5000 if LONG else 200))
GUEST_CASES = max(SNAPSHOT_CASES // 5, 20)
CASE_SECONDS = 30
FORBIDDEN = ("Traceback", "INTERNAL_ERROR")


def odd_value(rng: Random) -> Any:
    """A value no field expects: wrong type, out of range, hostile text, empty containers."""
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(ODD_VALUES)
    if kind == 1:
        return rng.choice([None, True, False, [], {}, [None], {"id": None}, {"": {}}])
    if kind == 2:
        return rng.choice([0, -1, 65536, 2**63, -(2**70), 4097, 99, 65001])
    if kind == 3:
        return rng.choice([0.5, 1e2, -0.0, 1e308, math.inf, -math.inf, math.nan])
    if kind == 4:
        chars = "aZ0 /-*.:,\u202e\x00\n\"'{}[]"
        return "".join(rng.choice(chars) for _ in range(rng.randrange(12)))
    if kind == 5:
        return [odd_value(rng) for _ in range(rng.randrange(3))]
    if kind == 6:
        return {rng.choice(["id", "name", "properties", "type", "x"]): odd_value(rng)}
    if kind == 7:
        return rng.choice(["10.0.0.0/8", "0.0.0.0/0", "::/0", "10.1.1.4", "fe80::1%eth0",
                           "1-65535", "80,443", "Tcp", "*", "Deny", "Allow", "Inbound"])
    return "x" * rng.choice([0, 1, 255, 4096])


def mutate_document(document: Any, rng: Random) -> tuple[Any, list[str]]:
    """A copy of ``document`` with one to three places spoiled (a value replaced, a key or item
    dropped or repeated, a string's case flipped), and what was done."""
    spoiled = copy.deepcopy(document)
    done: list[str] = []
    for _ in range(rng.randint(1, 3)):
        places = locations(spoiled)
        place = places[rng.randrange(len(places))]
        action = rng.randrange(4)
        parent_at, last = place[:-1], place[-1] if place else None
        parent = _at(spoiled, parent_at) if place else None
        if action == 1 and isinstance(parent, dict):
            del parent[last]
            done.append(f"del {place}")
        elif action == 2 and isinstance(parent, list):
            parent.insert(int(last), copy.deepcopy(parent[int(last)]))
            done.append(f"repeat {place}")
        elif action == 3 and isinstance(_at(spoiled, place), str):
            value = _at(spoiled, place)
            spoiled = put(spoiled, place, value.swapcase() if rng.random() < 0.5 else value[:-1])
            done.append(f"edit {place}")
        else:
            new = odd_value(rng)
            spoiled = put(spoiled, place, new)
            done.append(f"{place} = {new!r}"[:300])
    return spoiled, done


def _at(value: Any, place: tuple[Any, ...]) -> Any:
    for step in place:
        value = value[step]
    return value


def guest_edits(rng: Random) -> list[tuple[str, str]]:
    return [(rng.choice(LINE_EDITS), rng.choice(ODD_LINES)) for _ in range(rng.randint(1, 4))]


class CaseTimeout(Exception):
    """A case ran longer than :data:`CASE_SECONDS`."""


@contextlib.contextmanager
def deadline(seconds: float = CASE_SECONDS) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout(f"longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """``vnetdoctor ARGS`` in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def cli_problem(code: int, out: str, err: str) -> str | None:
    """Why a CLI run broke the rule, or None."""
    if code not in (0, 1, 2, 3):
        return f"exit {code}: {err.strip()[-300:]}"
    for word in FORBIDDEN:
        if word in out or word in err:
            where = out if word in out else err
            at = where.index(word)
            return f"{word} in the output: {where[max(0, at - 200):at + 200]!r}"
    if code == 2 and len(err.strip().splitlines()) != 1:
        return f"exit 2 without one line: {err[-300:]!r}"
    return None


def json_problem(text: str) -> str | None:
    """Why an API answer (encoded) broke the rule, or None."""
    if "INTERNAL_ERROR" in text:
        at = text.index("INTERNAL_ERROR")
        return f"INTERNAL_ERROR in the answer: {text[max(0, at - 300):at + 300]!r}"
    return None


@dataclass
class Tally:
    """What a campaign ran and what broke the rule (case number, input, command, problem)."""

    name: str
    cases: int = 0
    cli_runs: int = 0
    api_runs: int = 0
    refused: int = 0
    slowest: float = 0.0
    slowest_case: str = ""
    failures: list[str] = field(default_factory=list)

    def timed(self, case: int, what: str, run: Callable[[], str | None]) -> None:
        start = time.perf_counter()
        try:
            with deadline():
                problem = run()
        except CaseTimeout as exc:
            problem = str(exc)
        except Exception as exc:
            problem = f"raised {type(exc).__name__}: {exc}"[:500]
        took = time.perf_counter() - start
        if took > self.slowest:
            self.slowest, self.slowest_case = took, f"case {case}: {what}"[:300]
        if problem is not None:
            self.failures.append(f"case {case}: {what}: {problem}")

    def summary(self) -> str:
        return (f"{self.name}: {self.cases} cases ({self.api_runs} through the API, "
                f"{self.cli_runs} through the CLI, {self.refused} refused as bad input), "
                f"slowest {self.slowest:.2f} s ({self.slowest_case}), "
                f"{len(self.failures)} failures")


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, allow_nan=True), encoding="utf-8")
