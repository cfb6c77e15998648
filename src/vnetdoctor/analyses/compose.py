"""The reachability matrix, each cell composed from parts that are each diagnosed once.

A cell's answer is the nine steps' statuses and findings. Each step depends on few parts of the
pair (:mod:`vnetdoctor.analyses.equivalence` computes them, vectorised, for every group pair):

* step 1 on each end's own state (and, for an address held twice, on the route walk);
* step 2 on the source's outbound NSG answer, the route walk, the destination's inbound NSG
  answer (only when the walk delivers to it) and the return route, in that order: the trace
  evaluates them in that order and step 2 lists the trace's issues as they come;
* steps 3 to 9 on the route walk (its appliances, outcome and VNets), step 8 on the NSG answers
  too when the port is SMB's.

So each part is read off one real diagnosis (of the first pair that has it), and a cell is the
concatenation of its parts, its verdict the runner's rule over the step statuses. A VM with guest
evidence is a group of its own whose cells share nothing with others (its guest answers steps
1, 3, 4 and 8 for its own flows); an appliance's or a backend's evidence reaches every cell
through the real diagnoses.
``tests/matrix`` checks composed cells against per-pair ``diagnose`` (1,000 random pairs of the
10,000-VM synthetic estate, every pair of the sample).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vnetdoctor.analyses.equivalence import Interner
from vnetdoctor.analyses.matrix import (
    Cell,
    Item,
    Matrix,
    endpoint_ends,
    item_of,
    layered_keys,
    make_cell,
    reference_matrix,
)
from vnetdoctor.api import check_guest_names, parse_protocol
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.engine.guest.oracle import EvidenceOracle
from vnetdoctor.engine.nsg import Verdict
from vnetdoctor.engine.path import Outcome, Tracer
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.net import Protocol
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.context import DiagnosisContext, Query
from vnetdoctor.runbook.findings import CODES, Finding, Status
from vnetdoctor.runbook.guest import SMB_PORT
from vnetdoctor.runbook.runner import Diagnosis, run, verdict_of

__all__ = ["build_matrix"]

_NSG_STEP = 2

StepPart = tuple[str, tuple[Item, ...]]  # status, items
Ends = list[tuple[str, str]]  # an end's own resource ids and their labels (see endpoint_ends)


def build_matrix(
    snapshot: Snapshot,
    port: int | None = None,
    protocol: str = "tcp",
    vms: str | None = None,
    *,
    compute: bool = True,
    guest: Mapping[str, GuestEvidence] | None = None,
    fabric: Fabric | None = None,
) -> Matrix:
    """Group the VMs in scope (``vms``: a glob on names) and, with ``compute``, fill every cell
    by composition (see the module doc). ``guest`` maps VM names to guest evidence (see
    :func:`vnetdoctor.api.load_guest`); a name that is no VM of the snapshot is refused.
    ``fabric``: the snapshot's :class:`~vnetdoctor.engine.fabric.Fabric` (a new one otherwise),
    shared by every diagnosis and part of the matrix."""
    guest = check_guest_names(snapshot, guest or {})
    fabric = Fabric(snapshot) if fabric is None else fabric.check(snapshot)
    matrix = reference_matrix(
        snapshot, port, protocol, vms, compute=False, guest=guest, fabric=fabric
    )
    if compute:
        _Composer(snapshot, matrix, fabric).fill()
    return matrix


class _Composer:
    def __init__(self, snapshot: Snapshot, matrix: Matrix, fabric: Fabric) -> None:
        self.snapshot = snapshot
        self.matrix = matrix
        self.protocol = parse_protocol(matrix.protocol)
        self.tracer = Tracer(snapshot, fabric, oracle=EvidenceOracle(matrix.guest))
        self.keys = layered_keys(snapshot, matrix, self.tracer)
        self.smb = matrix.port == SMB_PORT and self.protocol is Protocol.TCP
        self._diagnoses: dict[tuple[int, int], tuple[Diagnosis, DiagnosisContext, Ends]] = {}
        self._walks: dict[tuple[int, ...], int] = {}
        # Step 1's parts, and what the walk and return route give the other steps, interned.
        self._step1 = Interner()
        self._step1_ids: dict[tuple[int, ...], int] = {}
        self._routes = Interner()
        self._route_ids: dict[tuple[int, ...], int] = {}
        self._nsg_items: dict[int, tuple[Item, ...]] = {}

    # -- real diagnoses -------------------------------------------------------------------------
    def _diagnose(self, i: int, j: int) -> tuple[Diagnosis, DiagnosisContext, Ends]:
        found = self._diagnoses.get((i, j))
        if found is None:
            pair = self.matrix.pair(i, j)
            assert pair is not None
            src_vm, dst_vm = pair
            query = Query(
                source=resolve_endpoint(self.snapshot, str(src_vm.id)),
                destination=resolve_endpoint(self.snapshot, str(dst_vm.id)),
                protocol=self.protocol,
                port=self.matrix.port,
            )
            ctx = DiagnosisContext(self.snapshot, query, self.tracer, self.matrix.guest)
            found = (run(ctx), ctx, endpoint_ends(self.snapshot, src_vm, dst_vm))
            self._diagnoses[(i, j)] = found
        return found

    def _step_part(self, i: int, j: int, number: int) -> StepPart:
        diagnosis, _, ends = self._diagnose(i, j)
        step = diagnosis.steps[number - 1]
        assert step.number == number
        items = tuple(item_of(f, ends) for f in step.findings if f.status is not Status.PASS)
        return str(step.status), items

    # -- parts ----------------------------------------------------------------------------------
    def _nsg(self, answer: int) -> tuple[Item, ...]:
        """An NSG answer's issues as step-2 items (NSG ids are never an end's own id)."""
        if answer < 0:
            return ()  # no address to evaluate: the trace stops before any NSG
        found = self._nsg_items.get(answer)
        if found is None:
            items = []
            for code, resource, pointer, status, step in self.keys.nsg_issues(answer):
                spec = CODES[code]
                assert (step or spec.step) == _NSG_STEP, code
                items.append(
                    (
                        code,
                        _NSG_STEP,
                        str(status or spec.status),
                        (resource or "").casefold(),
                        pointer or "",
                    )
                )
            found = self._nsg_items[answer] = tuple(items)
        return found

    def _route_part(
        self, i: int, j: int, out: int, inbound: int
    ) -> tuple[tuple[Item, ...], bool, tuple[Item, ...]]:
        """Step 2's items from the walk (between the two NSG answers), whether the walk
        delivers to the destination (so its inbound NSGs count), and the items after (return
        route, no route, no host), read off the diagnosis of pair (``i``, ``j``)."""
        diagnosis, ctx, ends = self._diagnose(i, j)
        if diagnosis.step(_NSG_STEP).status is Status.ERROR:
            # Step 2 said nothing to compose from: the matrix cannot be built, say why.
            diagnosis.raise_for_error()
        trace = ctx.trace
        issues = [x for x in trace.issues if (x.step or CODES[x.code].step) == _NSG_STEP]
        # A firewall that SNATs hands the destination's NSGs its own address, not the source's:
        # their answer is then the walk's (the walk's key holds the destination's inbound
        # answer to the firewall's address), not the cell's inbound answer.
        snat = any(d.snat and d.access is Verdict.ALLOW for d in trace.firewalls)
        delivered = trace.outcome is Outcome.DELIVERED and not snat
        first = len(self._nsg(out))
        last = len(issues) - (len(self._nsg(inbound)) if delivered else 0)
        findings = diagnosis.steps[_NSG_STEP - 1].findings
        if [f.code for f in findings[: len(issues)]] != [x.code for x in issues]:
            raise AssertionError("step 2 no longer lists the trace's issues first, in order")

        def items(fs: Sequence[Finding]) -> tuple[Item, ...]:
            return tuple(item_of(f, ends) for f in fs if f.status is not Status.PASS)

        return items(findings[first:last]), delivered, items(findings[len(issues) :])

    def _route_result(self, walk: int, back: int, out: int, inbound: int, i: int, j: int) -> int:
        """The id of what the walk and the return route give every step but 1 (step 2: the
        items around the inbound NSG answer, and whether it counts)."""
        key = (walk, back, out, inbound) if self.smb else (walk, back)
        found = self._route_ids.get(key)
        if found is None:
            middle, delivered, tail = self._route_part(i, j, out, inbound)
            rest = tuple(self._step_part(i, j, s) for s in range(3, 10))
            found = self._route_ids[key] = self._routes((middle, delivered, tail, rest))
        return found

    def _step1_id(self, i: int, j: int, key: tuple[int, ...]) -> int:
        found = self._step1_ids.get(key)
        if found is None:
            found = self._step1_ids[key] = self._step1(self._step_part(i, j, 1))
        return found

    # -- cells ----------------------------------------------------------------------------------
    def fill(self) -> None:
        keys, matrix = self.keys, self.matrix
        n = len(matrix.groups)
        table = np.full((n, n), -1, dtype=np.int32)
        cells: list[Cell] = []
        composite: dict[tuple[int, ...], int] = {}
        source_bound = np.fromiter(keys.source_bound, dtype=np.int64, count=len(keys.source_bound))
        states = keys.state
        n_states = int(states.max()) + 1 if n else 0
        step1 = np.full((n_states, n_states), -1, dtype=np.int64)  # by state pair
        for i in range(n):
            out, forward, inbound, back = keys.row(i)
            # The route walk: from i's VNet and classes, by the first route, to j's side.
            on_own = np.where(np.isin(forward, source_bound), i, -1)
            firewall = keys.firewall_row(i)
            first_w, inv_w = _unique_rows([forward, keys.column_walk, on_own, firewall])
            row_walk = int(keys.row_walk[i])
            lut = np.fromiter(
                (
                    self._walks.setdefault(
                        (
                            row_walk,
                            int(forward[j]),
                            int(keys.column_walk[j]),
                            int(on_own[j]),
                            int(firewall[j]),
                        ),
                        len(self._walks),
                    )
                    for j in first_w.tolist()
                ),
                dtype=np.int64,
                count=len(first_w),
            )
            walk = lut[inv_w]
            alone = len(matrix.groups[i].members) < 2
            if alone:
                walk = walk.copy()
                walk[i] = -1
            # What the walk and the return route give the steps (one diagnosis per new pair).
            parts = [walk, back, out, inbound] if self.smb else [walk, back]
            first_r, inv_r = _unique_rows(parts)
            lut = np.empty(len(first_r), dtype=np.int64)
            for c, j in enumerate(first_r.tolist()):
                lut[c] = (
                    -1
                    if alone and j == i
                    else self._route_result(
                        int(walk[j]), int(back[j]), int(out[j]), int(inbound[j]), i, j
                    )
                )
            route = lut[inv_r]
            # The destination's inbound answer counts only where the walk delivers to it.
            delivered = np.fromiter(
                (r >= 0 and self._routes.values[r][1] for r in lut.tolist()), bool, len(lut)
            )
            inbound = np.where(delivered[inv_r], inbound, -1)
            # Step 1: each end's own state (an ambiguous end: the pair itself).
            s_i = int(states[i])
            row1 = step1[s_i, states]
            special = keys.special | keys.special[i]
            for j in np.flatnonzero((row1 < 0) & ~special).tolist():
                if not (alone and j == i) and step1[s_i, states[j]] < 0:
                    step1[s_i, states[j]] = self._step1_id(i, j, (s_i, int(states[j])))
            row1 = step1[s_i, states].copy()
            for j in np.flatnonzero(special).tolist():
                if not (alone and j == i):
                    row1[j] = self._step1_id(i, j, (s_i, int(states[j]), i, j))
            if alone:
                row1[i] = -1
            first, inverse = _unique_rows([row1, out, inbound, route])
            ids = np.empty(len(first), dtype=np.int32)
            for c, j in enumerate(first.tolist()):
                if alone and j == i:
                    ids[c] = -1
                    continue
                key = (int(row1[j]), int(out[j]), int(inbound[j]), int(route[j]))
                found = composite.get(key)
                if found is None:
                    cells.append(self._compose(*key))
                    found = composite[key] = len(cells) - 1
                ids[c] = found
            table[i] = ids[inverse]
        matrix.set_table(table, cells, len(self._diagnoses))

    def _compose(self, step1: int, out: int, inbound: int, route: int) -> Cell:
        middle, _, tail, rest = self._routes.values[route]
        items2 = (*self._nsg(out), *middle, *self._nsg(inbound), *tail)
        status2 = max((_RANK[s] for _, _, s, _, _ in items2), default=_RANK["pass"])
        parts = [self._step1.values[step1], (_BY_RANK[status2], items2), *rest]
        statuses = tuple((k + 1, status) for k, (status, _) in enumerate(parts))
        items = tuple(item for _, part in parts for item in part)
        verdict = verdict_of([Status(s) for _, s in statuses])
        return make_cell(verdict.value, statuses, items)


_RANK = {
    str(s): r
    for r, s in enumerate(
        (Status.SKIP, Status.PASS, Status.WARN, Status.UNKNOWN, Status.FAIL, Status.ERROR)
    )
}
_BY_RANK = {r: s for s, r in _RANK.items()}


def _unique_rows(columns: list[Any]) -> tuple[Any, Any]:
    """(first row of each distinct combination, combination of each row), packing the columns
    into one integer when they fit (much faster than a row-wise unique)."""
    shifted = [np.asarray(c, dtype=np.int64) + 2 for c in columns]
    widths = [max(int(c.max()).bit_length(), 1) if len(c) else 1 for c in shifted]
    if sum(widths) <= 62:
        packed = np.zeros(len(shifted[0]), dtype=np.int64)
        for c, w in zip(shifted, widths, strict=True):
            packed = (packed << w) | c
        _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(
            np.stack(shifted, axis=1), axis=0, return_index=True, return_inverse=True
        )
    return first, inverse.reshape(-1)
