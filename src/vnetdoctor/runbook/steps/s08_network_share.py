"""Step 8: network shares (SMB, TCP 445) and unavailable ("ghost") network adapters."""

from __future__ import annotations

from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome
from vnetdoctor.runbook.guest import share_outcome
from vnetdoctor.runbook.private_endpoint import no_guest
from vnetdoctor.runbook.registry import step


@step(8, "network-share", "Network share fails or unavailable NICs")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """For TCP 445: whatever blocks the flow on the path blocks SMB; hidden Hyper-V adapters
    left behind by a resize (ghost NICs) from the guest's adapter list."""
    return no_guest(ctx) or share_outcome(ctx)
