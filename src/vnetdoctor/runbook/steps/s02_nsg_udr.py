"""Step 2: every NSG layer and every routing decision on the path."""

from __future__ import annotations

from vnetdoctor.engine.path import Outcome
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome
from vnetdoctor.runbook.findings import CODES, finding
from vnetdoctor.runbook.registry import step


@step(2, "nsg-udr", "NSG or user-defined route blocks the traffic")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """Source NIC and subnet NSGs outbound, the route at each hop (UDRs, appliances and their IP
    forwarding, None routes, loops), and destination subnet and NIC NSGs inbound."""
    trace = ctx.trace
    findings = [ctx.issue_finding(i) for i in trace.issues if (i.step or CODES[i.code].step) == 2]
    if ctx.return_issue is not None:
        findings.append(ctx.issue_finding(ctx.return_issue))
    explained = bool(ctx.inter_vnet_issues)
    dst = ctx.destination
    if trace.outcome is Outcome.NO_ROUTE and not explained:
        findings.append(
            finding(
                "ROUTE_NONE",
                f"No route reaches {dst.ip}: the platform's default route for it is "
                "None (a reserved private range with no VNet, peering or gateway route)",
                resource=None if ctx.source.nic is None else ctx.source.nic.id,
                remediation="Peer the VNets, add a gateway route, or route the prefix to an "
                "appliance.",
            )
        )
    if trace.outcome is Outcome.NO_HOST and not explained:
        findings.append(
            finding(
                "DESTINATION_NOT_FOUND",
                f"The route delivers {dst.ip} into a VNet where no network interface holds it",
                resource=None if dst.nic is None else dst.nic.id,
            )
        )
    summary = ""
    if not findings and trace.outcome is not Outcome.UNKNOWN:
        nsgs = len(trace.nsg_verdicts)
        where = {
            "delivered": "deliver the packet to the destination",
            "internet": "send the packet to the Internet",
            "gateway": "send the packet to the VPN gateway",
            "azure-service": "send the packet to an Azure service endpoint",
        }.get(trace.outcome.value, f"end at {trace.outcome.value}")
        summary = f"{nsgs} NSG evaluation(s) allow the flow; the routes {where}"
    return outcome(findings, summary)
