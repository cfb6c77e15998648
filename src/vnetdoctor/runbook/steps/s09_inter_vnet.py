"""Step 9: peering and VPN connectivity between the VNets (or to on-premises)."""

from __future__ import annotations

from vnetdoctor.engine.endpoints import Location
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome, skip
from vnetdoctor.runbook.registry import step


@step(9, "inter-vnet", "Inter-VNet connectivity (peering, VPN)")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """Both peering objects Connected with access allowed, forwarded traffic where an appliance
    forwards, no transitivity assumed, no overlapping address spaces, gateway connections up and
    gateway transit set."""
    issues = ctx.inter_vnet_issues
    findings = [ctx.issue_finding(i) for i in issues]
    if findings:
        return outcome(findings)
    dst = ctx.destination
    src_vnet = ctx.vnet_of(ctx.source)
    if src_vnet is None:
        return skip("the source VNet is unknown")
    if dst.location is Location.INTERNET or dst.classic_vm is not None:
        return skip("the destination is reached over the Internet, not a peering or VPN")
    if dst.location is Location.ON_PREMISES:
        return outcome([], "the gateway path to on-premises is connected")
    dst_vnet = ctx.vnet_of(dst)
    if dst_vnet is None:
        return skip("the destination VNet is unknown")
    if dst_vnet.id == src_vnet.id:
        return outcome([], f"both ends are in {src_vnet.name}")
    return outcome([], f"{src_vnet.name} and {dst_vnet.name} are connected")
