"""The nine steps of Microsoft's guide, declared explicitly and kept in the guide's order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome

StepFunc = Callable[["DiagnosisContext"], "StepOutcome"]


class StepSpec(msgspec.Struct, frozen=True):
    number: int
    id: str
    title: str
    func: StepFunc
    doc: str


REGISTRY: list[StepSpec] = []


def step(number: int, step_id: str, title: str) -> Callable[[StepFunc], StepFunc]:
    """Register a step function; returns it unchanged. Numbers and ids must be unique."""

    def register(func: StepFunc) -> StepFunc:
        if any(s.number == number or s.id == step_id for s in REGISTRY):
            raise ValueError(f"step {number} {step_id!r} registered twice")
        REGISTRY.append(StepSpec(number, step_id, title, func, (func.__doc__ or "").strip()))
        REGISTRY.sort(key=lambda s: s.number)
        return func

    return register
