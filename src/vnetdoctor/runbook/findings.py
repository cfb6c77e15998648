"""Findings: facts about the network, each with a stable code, its evidence and its fix.

The catalogue of codes lives in :mod:`vnetdoctor.codes` (re-exported here); :func:`finding`
refuses an unknown code.
"""

from __future__ import annotations

from typing import Any

import msgspec

from vnetdoctor.codes import CODES, CodeSpec, Severity, Status

__all__ = ["CODES", "CodeSpec", "Finding", "Severity", "Status", "finding", "worst"]


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One fact, with the resource and JSON pointer (or guest file and line) behind it."""

    code: str
    step: int
    status: Status
    severity: Severity
    message: str
    resource: str | None = None
    pointer: str | None = None
    remediation: str | None = None
    command: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "step": self.step,
            "status": self.status.value,
            "message": self.message,
            "resource": self.resource,
            "pointer": self.pointer,
            "remediation": self.remediation,
            "command": self.command,
        }


_SEVERITY = {
    Status.FAIL: Severity.ERROR,
    Status.WARN: Severity.WARNING,
    Status.ERROR: Severity.ERROR,
}


def finding(
    code: str,
    message: str,
    *,
    step: int | None = None,
    resource: object = None,
    pointer: str | None = None,
    remediation: str | None = None,
    command: str | None = None,
    status: Status | None = None,
) -> Finding:
    """Build a finding from the catalogue; ``step``/``status`` override the code's defaults."""
    spec = CODES.get(code)
    if spec is None:
        raise KeyError(f"unknown finding code {code!r}")
    chosen = status or spec.status
    return Finding(
        code=code,
        step=step if step is not None else spec.step,
        status=chosen,
        severity=_SEVERITY.get(chosen, Severity.INFO),
        message=message,
        resource=None if resource is None else str(resource),
        pointer=pointer,
        remediation=remediation if remediation is not None else (spec.remediation or None),
        command=command,
    )


_RANK = {
    Status.ERROR: 5,
    Status.FAIL: 4,
    Status.UNKNOWN: 3,
    Status.WARN: 2,
    Status.PASS: 1,
    Status.SKIP: 0,
}


def worst(statuses: list[Status], default: Status = Status.PASS) -> Status:
    """The status that dominates: error > fail > unknown > warn > pass."""
    return max(statuses, key=_RANK.__getitem__, default=default)
