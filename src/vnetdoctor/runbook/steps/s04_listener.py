"""Step 4: something listens on the port, on an address the traffic reaches."""

from __future__ import annotations

from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome
from vnetdoctor.runbook.guest import listener_outcome
from vnetdoctor.runbook.private_endpoint import no_guest
from vnetdoctor.runbook.registry import step


@step(4, "listener", "Nothing listens on the port")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """A listening socket on 0.0.0.0, ::, or the NIC's IP (not only loopback), from guest
    evidence of the destination."""
    return no_guest(ctx) or listener_outcome(ctx)
