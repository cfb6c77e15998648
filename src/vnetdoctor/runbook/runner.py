"""Run the nine steps and turn their outcomes into one verdict."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

import vnetdoctor.runbook.steps  # noqa: F401  (registers the nine steps, in order)
from vnetdoctor.engine.path import Hop
from vnetdoctor.runbook.context import DiagnosisContext, Query, StepOutcome
from vnetdoctor.runbook.findings import Finding, Status, finding
from vnetdoctor.runbook.registry import REGISTRY

SCHEMA = "vnetdoctor.diagnosis/1"


class Verdict(StrEnum):
    REACHABLE = "reachable"
    BLOCKED = "blocked"
    INCONCLUSIVE = "inconclusive"


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

    @property
    def blockers(self) -> list[Finding]:
        """Every failing finding, in path (step) order."""
        return [f for s in self.steps for f in s.findings if f.status is Status.FAIL]

    @property
    def exit_code(self) -> int:
        return {Verdict.REACHABLE: 0, Verdict.BLOCKED: 1, Verdict.INCONCLUSIVE: 3}[self.verdict]

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

        return {
            "schema": SCHEMA,
            "query": {
                "source": end(q.source),
                "destination": end(q.destination),
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


def verdict_of(statuses: list[Status]) -> Verdict:
    """Blocked when any step fails; reachable when every applicable step passes (a warning is a
    pass with a remark); otherwise inconclusive."""
    if Status.FAIL in statuses:
        return Verdict.BLOCKED
    if Status.UNKNOWN in statuses:
        return Verdict.INCONCLUSIVE
    return Verdict.REACHABLE


def run(ctx: DiagnosisContext, inputs: tuple[str, ...] = ()) -> Diagnosis:
    results = []
    for spec in REGISTRY:
        try:
            out = spec.func(ctx)
        except Exception as exc:  # a bug must not hide the other eight steps
            out = StepOutcome(
                status=Status.UNKNOWN,
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
        query=ctx.query, verdict=verdict, steps=tuple(results), path=ctx.trace.hops, inputs=inputs
    )
