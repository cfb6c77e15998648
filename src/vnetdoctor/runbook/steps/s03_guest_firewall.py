"""Step 3: the guest firewalls: destination inbound, source outbound, appliances forwarding."""

from __future__ import annotations

from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome
from vnetdoctor.runbook.guest import firewall_outcome
from vnetdoctor.runbook.registry import step


@step(3, "guest-firewall", "Guest OS firewall blocks the traffic")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """iptables / nftables / Windows Firewall inside the destination (inbound), the source
    (outbound) and any Linux appliance on the path (forward), from guest evidence."""
    return firewall_outcome(ctx)
