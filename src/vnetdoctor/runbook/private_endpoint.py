"""What a private endpoint destination changes in the steps: its approval (step 2) and the
absence of a guest (steps 3, 4, 8); docs/semantics/private-endpoints.md."""

from __future__ import annotations

from typing import Final

from vnetdoctor.engine.endpoints import Endpoint
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome
from vnetdoctor.runbook.findings import Finding, Status, finding

NO_GUEST: Final = "a private endpoint has no guest; the PaaS service answers"


def is_private_endpoint(end: Endpoint) -> bool:
    return end.private_endpoint is not None


def approval_findings(ctx: DiagnosisContext) -> list[Finding]:
    """A private endpoint carries traffic only when its connection of record is Approved
    (docs/semantics/private-endpoints.md#pe-approval)."""
    pe = ctx.destination.private_endpoint
    if pe is None:
        return []
    conn = pe.connection
    if conn is not None and conn.is_approved:
        return []
    state = "no connection" if conn is None else f"connection state {conn.status or '(none)'}"
    kind = "manual " if conn is not None and conn.manual else ""
    where = "" if conn is None else (
        f"/properties/{'manualP' if conn.manual else 'p'}rivateLinkServiceConnections/"
        f"{conn.index}/properties/privateLinkServiceConnectionState/status")
    target = (f" to {conn.private_link_service_id.name}"
              if conn is not None and conn.private_link_service_id is not None else "")
    return [finding(
        "PRIVATE_ENDPOINT_NOT_APPROVED",
        f"Private endpoint {pe.name}{target} has {state} on its {kind}connection: only an "
        "Approved private endpoint carries traffic",
        resource=pe.id,
        pointer=where or None,
    )]


def no_guest(ctx: DiagnosisContext) -> StepOutcome | None:
    """Steps 4 and 8 at a private endpoint: nothing to look into, nothing to ask for."""
    if not is_private_endpoint(ctx.destination):
        return None
    return StepOutcome(status=Status.SKIP, summary=NO_GUEST)
