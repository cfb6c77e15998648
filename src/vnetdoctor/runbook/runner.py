"""Run the nine steps and turn their outcomes into one verdict.

A step that raises is a bug, not an answer: it ends :attr:`Status.ERROR` with an ``INTERNAL_ERROR``
finding, the other steps still run, and the diagnosis keeps what was raised
(:attr:`Diagnosis.internal_error`). The verdict stays a statement about the network: an errored
step counts as ``unknown`` (a real failure elsewhere is still ``blocked``; nothing is
``reachable`` on a step that said nothing). The command line then exits 70
(:meth:`Diagnosis.raise_for_error`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

import vnetdoctor.runbook.steps  # noqa: F401  (registers the nine steps, in order)
from vnetdoctor.engine.dns import AnswerKind, Resolution
from vnetdoctor.engine.endpoints import Endpoint, Location
from vnetdoctor.engine.path import Hop
from vnetdoctor.errors import InternalError
from vnetdoctor.runbook.context import DiagnosisContext, Query, StepOutcome
from vnetdoctor.runbook.findings import Finding, Status, finding
from vnetdoctor.runbook.registry import REGISTRY, StepSpec

SCHEMA = "vnetdoctor.diagnosis/1"


class Verdict(StrEnum):
    REACHABLE = "reachable"
    BLOCKED = "blocked"
    INCONCLUSIVE = "inconclusive"


class StepError(msgspec.Struct, frozen=True, kw_only=True):
    """A step that raised, and what it raised (with its traceback, for ``--debug``)."""

    number: int
    id: str
    exception: Exception

    def __str__(self) -> str:
        kind = type(self.exception).__name__
        return f"step {self.number} ({self.id}) raised {kind}: {self.exception}"


class StepFailed(InternalError):
    """A step raised (a bug); ``__cause__`` is the first step's exception."""

    def __init__(self, errors: tuple[StepError, ...]) -> None:
        self.errors = errors
        others = [str(e.number) for e in errors[1:]]
        more = f"; step{'s' if len(others) > 1 else ''} {', '.join(others)} too" if others else ""
        super().__init__(f"{errors[0]}{more}")


class StepResult(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    id: str
    title: str
    status: Status
    summary: str
    findings: tuple[Finding, ...]


class Diagnosis(msgspec.Struct, frozen=True, kw_only=True):
    """The answer: a verdict, all nine steps, every blocker with its evidence, and the path."""

    query: Query
    verdict: Verdict
    steps: tuple[StepResult, ...]
    path: tuple[Hop, ...]
    inputs: tuple[str, ...] = ()
    errors: tuple[StepError, ...] = ()  # steps that raised (not in the JSON: their findings are)

    @property
    def blockers(self) -> list[Finding]:
        """Every failing finding, in path (step) order."""
        return [f for s in self.steps for f in s.findings if f.status is Status.FAIL]

    @property
    def internal_error(self) -> StepError | None:
        """The first step that raised, or ``None``: then the diagnosis is complete."""
        return self.errors[0] if self.errors else None

    @property
    def exit_code(self) -> int:
        if self.errors:
            return InternalError.exit_code
        return {Verdict.REACHABLE: 0, Verdict.BLOCKED: 1, Verdict.INCONCLUSIVE: 3}[self.verdict]

    def raise_for_error(self) -> None:
        """Raise :class:`StepFailed` (from the first step's exception) when a step raised."""
        if self.errors:
            raise StepFailed(self.errors) from self.errors[0].exception

    def step(self, key: int | str) -> StepResult:
        return next(s for s in self.steps if key in (s.number, s.id))

    def codes(self) -> list[str]:
        return [f.code for s in self.steps for f in s.findings]

    def to_json(self) -> dict[str, Any]:
        q = self.query

        def end(e: Any) -> dict[str, Any]:
            return {
                "name": e.name,
                "kind": e.kind.value,
                "location": e.location.value,
                "ip": None if e.ip is None else str(e.ip),
                "resource": (
                    str(e.vm.id)
                    if e.vm is not None
                    else str(e.classic_vm.id)
                    if e.classic_vm is not None
                    else str(e.nic.id)
                    if e.nic is not None
                    else None
                ),
            }

        destination = end(q.destination)
        if q.resolution is not None:
            destination["resolution"] = destination_resolution(q.resolution, q.destination)
        return {
            "schema": SCHEMA,
            "query": {
                "source": end(q.source),
                "destination": destination,
                "protocol": q.protocol.value,
                "port": q.port,
                "concurrent": q.concurrent,
            },
            "verdict": self.verdict.value,
            "blockers": [f.to_json() for f in self.blockers],
            "steps": [
                {
                    "number": s.number,
                    "id": s.id,
                    "title": s.title,
                    "status": s.status.value,
                    "summary": s.summary,
                    "findings": [f.to_json() for f in s.findings],
                }
                for s in self.steps
            ],
            "path": [h.to_json() for h in self.path],
            "inputs": list(self.inputs),
        }


def destination_resolution(resolution: Resolution, dst: Endpoint) -> dict[str, Any]:
    """``query.destination.resolution`` of a name destination (docs/resolve.md)."""
    answer = resolution.answer
    if dst.private_endpoint is not None:
        kind = "private-endpoint"
    elif dst.vm is not None:
        kind = "vm"
    elif answer.kind is AnswerKind.PUBLIC_ENDPOINT:
        kind = "paas-public"
    elif dst.ip is not None and dst.location is Location.INTERNET:
        kind = "internet"
    elif dst.ip is not None:
        kind = "address"
    else:
        kind = "unknown"
    return {
        "name": resolution.name,
        "resolvedBy": resolution.resolved_by,
        "answer": answer.kind.value,
        "address": None if dst.ip is None else str(dst.ip),
        "kind": kind,
    }


def verdict_of(statuses: list[Status]) -> Verdict:
    """Blocked when any step fails; reachable when every applicable step passes (a warning is a
    pass with a remark); otherwise inconclusive."""
    if Status.FAIL in statuses:
        return Verdict.BLOCKED
    if Status.UNKNOWN in statuses or Status.ERROR in statuses:
        return Verdict.INCONCLUSIVE
    return Verdict.REACHABLE


def _unresolved(spec: StepSpec) -> StepResult:
    """A path step when the destination name gave no address: there is nothing to trace."""
    return StepResult(number=spec.number, id=spec.id, title=spec.title, status=Status.SKIP,
                      summary="the destination name resolved to no address (step 0)",
                      findings=())


def run(ctx: DiagnosisContext, inputs: tuple[str, ...] = ()) -> Diagnosis:
    results = []
    errors: list[StepError] = []
    resolution = ctx.query.resolution
    for spec in REGISTRY:
        if spec.number == 0 and resolution is None:
            continue  # step 0 appears only when --to is a name (docs/runbook.md)
        if spec.number != 0 and resolution is not None and ctx.destination.ip is None:
            results.append(_unresolved(spec))
            continue
        try:
            out = spec.func(ctx)
        except Exception as exc:  # a bug must not hide the other eight steps
            errors.append(StepError(number=spec.number, id=spec.id, exception=exc))
            out = StepOutcome(
                status=Status.ERROR,
                findings=(
                    finding(
                        "INTERNAL_ERROR",
                        f"step {spec.number} failed: {type(exc).__name__}: {exc}",
                        step=spec.number,
                    ),
                ),
            )
        findings = tuple(
            f if f.step == spec.number else msgspec.structs.replace(f, step=spec.number)
            for f in out.findings
        )
        results.append(
            StepResult(
                number=spec.number,
                id=spec.id,
                title=spec.title,
                status=out.status,
                summary=out.summary,
                findings=findings,
            )
        )
    verdict = verdict_of([r.status for r in results])
    return Diagnosis(
        query=ctx.query,
        verdict=verdict,
        steps=tuple(results),
        path=ctx.trace.hops,
        inputs=inputs,
        errors=tuple(errors),
    )
