"""Step 7: a classic VM is reachable from outside only through an input endpoint."""

from __future__ import annotations

from vnetdoctor.engine.classic import find_endpoint
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome, skip
from vnetdoctor.runbook.findings import Status, finding
from vnetdoctor.runbook.registry import step


@step(7, "classic-endpoint", "Classic VM endpoint missing")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """An input endpoint must exist for the port and protocol."""
    cvm = ctx.destination.classic_vm
    if cvm is None:
        return skip("the destination is not a classic VM")
    port = ctx.query.port
    if port is None:
        return skip("no port given")
    endpoint = find_endpoint(cvm, port, ctx.query.protocol)
    if endpoint is not None:
        return outcome(
            [],
            f"endpoint {endpoint.name!r}: {endpoint.protocol} "
            f"{endpoint.public_port} -> {endpoint.local_port}",
        )
    listed = (
        ", ".join(f"{e.name} {e.protocol} {e.public_port}->{e.local_port}" for e in cvm.endpoints)
        or "none"
    )
    status = None if cvm.endpoints_complete else Status.UNKNOWN
    return outcome(
        [
            finding(
                "CLASSIC_ENDPOINT_MISSING",
                f"{cvm.name} (cloud service {cvm.cloud_service}) has no input endpoint for "
                f"{ctx.query.protocol.value} {port}; its endpoints: {listed}",
                resource=cvm.path or cvm.id,
                pointer="InputEndpoints",
                status=status,
                command=f"Add-AzureEndpoint -Name port{port} "
                f"-Protocol {ctx.query.protocol.value.lower()} "
                f"-PublicPort {port} -LocalPort {port} (Azure PowerShell, Service Management)",
            )
        ]
    )
