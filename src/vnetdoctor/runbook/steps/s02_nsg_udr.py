"""Step 2: every NSG layer and every routing decision on the path."""

from __future__ import annotations

from vnetdoctor.engine.path import Outcome
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome
from vnetdoctor.runbook.findings import CODES, Finding, finding
from vnetdoctor.runbook.private_endpoint import approval_findings
from vnetdoctor.runbook.registry import step


@step(2, "nsg-udr", "NSG or user-defined route blocks the traffic")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """Source NIC and subnet NSGs outbound, the route at each hop (UDRs, appliances and their IP
    forwarding, None routes, loops), and destination subnet and NIC NSGs inbound."""
    trace = ctx.trace
    findings = [ctx.issue_finding(i) for i in trace.issues if (i.step or CODES[i.code].step) == 2]
    findings += approval_findings(ctx)
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
    findings += _flow_log_findings(ctx)
    summary = ""
    if not [f for f in findings if f.code != "PRIVATE_ENDPOINT_NSG_NOT_APPLIED"] \
            and trace.outcome is not Outcome.UNKNOWN:
        nsgs = len(trace.nsg_verdicts)
        where = {
            "delivered": "deliver the packet to the destination",
            "internet": "send the packet to the Internet",
            "gateway": "send the packet to the VPN gateway",
            "azure-service": "send the packet to an Azure service endpoint",
        }.get(trace.outcome.value, f"end at {trace.outcome.value}")
        summary = f"{nsgs} NSG evaluation(s) allow the flow; the routes {where}"
    return outcome(findings, summary)


def _flow_log_findings(ctx: DiagnosisContext) -> list[Finding]:
    """Real traffic that a rule dropped, from the flow logs: corroborates an NSG_DENY, or warns
    that the recorded history disagrees with the configuration in the snapshot."""
    evidence = ctx.flow_evidence
    if evidence is None:
        return []
    from vnetdoctor.flowlogs import format_ms

    out = []
    for denied in evidence.denied[:5]:
        nsg = (
            ResourceId(denied.acl).name if denied.acl and denied.acl.startswith("/") else denied.acl
        )
        out.append(
            finding(
                "FLOW_LOG_DENIED",
                f"Flow logs: {denied.count} {denied.protocol} flow(s) {denied.src} -> "
                f"{denied.dst}:{denied.dst_port} denied by rule {denied.rule or '?'} of "
                f"{nsg or 'an NSG'} between {format_ms(denied.first_seen)} and "
                f"{format_ms(denied.last_seen)}",
                resource=denied.file,
                pointer=denied.acl,
            )
        )
    return out
