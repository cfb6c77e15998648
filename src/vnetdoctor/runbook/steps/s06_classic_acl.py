"""Step 6: a classic VM's endpoint ACL for the source's address."""

from __future__ import annotations

from vnetdoctor.engine.classic import AclDecision, evaluate_acl, find_endpoint
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome, skip
from vnetdoctor.runbook.findings import finding
from vnetdoctor.runbook.registry import step


@step(6, "classic-acl", "Classic VM endpoint ACL blocks the traffic")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """Endpoint ACL rules, first match by order; a list with permit rules denies the rest."""
    cvm = ctx.destination.classic_vm
    if cvm is None:
        return skip("the destination is not a classic VM")
    if ctx.query.port is None:
        return skip("no port given")
    endpoint = find_endpoint(cvm, ctx.query.port, ctx.query.protocol)
    if endpoint is None:
        return skip("no endpoint for the port (step 7)")
    remotes = ctx.source_public_ips()
    result = evaluate_acl(endpoint, remotes)
    pointer = f"InputEndpoints/InputEndpoint[{endpoint.index}]/EndpointAcl"
    seen = ", ".join(str(ip) for ip in remotes) or "unknown"
    if result.decision is AclDecision.DENY:
        return outcome(
            [
                finding(
                    "CLASSIC_ACL_DENY",
                    f"Endpoint {endpoint.name!r} of {cvm.name} ({endpoint.protocol} "
                    f"{endpoint.public_port}): {result.reason}; {ctx.source.name} reaches the "
                    "VIP from "
                    f"{seen}",
                    resource=cvm.path or cvm.id,
                    pointer=pointer,
                )
            ]
        )
    if result.decision is AclDecision.UNKNOWN:
        return outcome(
            [
                finding(
                    "CLASSIC_ACL_UNKNOWN",
                    f"Endpoint {endpoint.name!r} of {cvm.name}: {result.reason}",
                    resource=cvm.path or cvm.id,
                    pointer=pointer,
                )
            ]
        )
    return outcome([], f"endpoint {endpoint.name!r}: {result.reason}")
