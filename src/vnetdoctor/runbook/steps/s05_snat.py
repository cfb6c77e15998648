"""Step 5: outbound SNAT: the method by Azure's precedence, its port budget, and the demand."""

from __future__ import annotations

from vnetdoctor.engine.outbound import RISK_THRESHOLD, OutboundMethod, outbound_for
from vnetdoctor.engine.path import Outcome
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome, skip
from vnetdoctor.runbook.findings import finding
from vnetdoctor.runbook.registry import step


@step(5, "snat", "SNAT port exhaustion")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """For traffic to the Internet: the outbound method (NAT gateway, instance public IP, load
    balancer outbound rule or rule SNAT, default outbound) and whether ``--concurrent`` connections
    to one destination fit its SNAT ports."""
    trace = ctx.trace
    if (
        trace.outcome not in (Outcome.INTERNET, Outcome.DROPPED)
        or trace.egress_nic is None
        or trace.egress_ipc is None
    ):
        return skip("the traffic does not leave Azure for the Internet")
    out = outbound_for(ctx.snapshot, trace.egress_nic, trace.egress_ipc)
    where = trace.egress_nic.name
    if out.method is OutboundMethod.NONE:
        return outcome(
            [
                finding(
                    "NO_OUTBOUND",
                    f"{where}: {out.detail}",
                    resource=out.resource,
                    pointer=out.pointer,
                )
            ]
        )
    demand = ctx.query.concurrent
    observed = ""
    if demand is None and ctx.flow_evidence is not None:
        demand = ctx.flow_evidence.concurrent
        observed = " (peak observed in the flow logs)"
    budget = out.ports
    if demand is None or budget is None:
        missing = (
            "the number of concurrent connections (give --concurrent N, or flow logs "
            "with --flowlogs)"
            if demand is None
            else f"the SNAT allocation of {out.method.value}, which Azure does not publish"
        )
        return outcome(
            [
                finding(
                    "SNAT_UNKNOWN",
                    f"{where} goes out through {out.detail}; unknown: {missing}",
                    resource=out.resource,
                    pointer=out.pointer,
                )
            ]
        )
    share = demand / budget
    text = (
        f"{demand} concurrent connection(s){observed} to one destination need {demand} "
        "SNAT ports; "
        f"{where} has {budget} ({out.detail}): {share:.0%}"
    )
    if demand > budget:
        return outcome(
            [finding("SNAT_EXHAUSTION", text, resource=out.resource, pointer=out.pointer)]
        )
    if share >= RISK_THRESHOLD:
        return outcome([finding("SNAT_RISK", text, resource=out.resource, pointer=out.pointer)])
    return outcome([], text)
