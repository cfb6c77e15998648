"""Guest evidence in the runbook: which VM's evidence each step needs, and what it says.

The evaluators live in :mod:`vnetdoctor.engine.guest`; here they are asked the right question for
each end of the path (source outbound, destination inbound, appliances forwarding) and their
answers become findings of steps 1, 3, 4 and 8. An end without evidence makes the step unknown
and says which command gathers it.
"""

from __future__ import annotations

from typing import Any

from vnetdoctor.engine import guest as evaluate
from vnetdoctor.engine.endpoints import Endpoint, EndpointKind
from vnetdoctor.model.net import Flow, Protocol
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome, skip
from vnetdoctor.runbook.findings import Finding, Status, finding
from vnetdoctor.runbook.guest_findings import GuestFinding, guest_findings
from vnetdoctor.runbook.private_endpoint import NO_GUEST

SMB_PORT = 445


def probe_command(ctx: DiagnosisContext, end: Endpoint) -> str:
    port = "" if ctx.query.port is None else f" --port {ctx.query.port}"
    return (
        f"vnetdoctor probe{port} --out {end.name}.json  # inside {end.name}, then: "
        f"--guest {end.name}={end.name}.json"
    )


def missing(
    ctx: DiagnosisContext,
    end: Endpoint,
    what: str,
    code: str = "GUEST_EVIDENCE_MISSING",
    step: int | None = None,
) -> Finding:
    where = end.vm.id if end.vm is not None else None
    return finding(
        code,
        f"No guest evidence for {end.name}: {what} is unknown",
        step=step,
        resource=where,
        remediation=f"Run `vnetdoctor probe` inside {end.name} and pass the file with --guest.",
        command=probe_command(ctx, end),
    )


def _is_guest(end: Endpoint) -> bool:
    """An end whose OS vnetdoctor could look into (an ARM or classic VM, or a NIC of one; not
    a private endpoint's NIC)."""
    return end.private_endpoint is None and end.kind in (
        EndpointKind.VM, EndpointKind.NIC, EndpointKind.CLASSIC_VM)


def _evidence(ctx: DiagnosisContext, end: Endpoint) -> Any:
    return ctx.guest_for(end.name) if _is_guest(end) else None


def _flow(ctx: DiagnosisContext) -> Flow | None:
    src, dst = ctx.source.ip, ctx.destination.ip
    if src is None or dst is None or src.version != dst.version:
        return None
    return Flow(src, dst, ctx.query.protocol, ctx.query.port)


def _as_finding(g: GuestFinding) -> Finding:
    return finding(
        g.code,
        g.message,
        step=g.step,
        resource=g.resource,
        pointer=g.pointer,
        remediation=g.remediation or None,
        command=g.command,
        status=Status(g.status),
    )


def _guest_findings(ctx: DiagnosisContext) -> list[Finding]:
    """Every finding the evaluators give for this flow, computed once per diagnosis."""
    if ctx.guest_findings is not None:
        return list(ctx.guest_findings)
    flow = _flow(ctx)
    src_ev, dst_ev = _evidence(ctx, ctx.source), _evidence(ctx, ctx.destination)
    found: list[Finding] = []
    if flow is not None and (src_ev is not None or dst_ev is not None):
        src_nic, dst_nic = ctx.source.nic, ctx.destination.nic
        results = guest_findings(
            flow,
            source=src_ev,
            destination=dst_ev,
            source_nic_ips=src_nic.private_ip_addresses if src_nic else (),
            destination_nic_ips=dst_nic.private_ip_addresses if dst_nic else (),
        )
        found = [_as_finding(g) for g in results]
    ctx.guest_findings = tuple(found)
    return found


def _of_step(ctx: DiagnosisContext, step: int) -> list[Finding]:
    return [f for f in _guest_findings(ctx) if f.step == step]


def guest_ip_findings(ctx: DiagnosisContext) -> list[Finding]:
    """Step 1's guest part: the guest holds the IP Azure gave its NIC."""
    return [f for f in _of_step(ctx, 1) if f.status is not Status.PASS]


def firewall_outcome(ctx: DiagnosisContext) -> StepOutcome:
    """Destination inbound, source outbound, and each appliance on the path forwarding."""
    findings = _of_step(ctx, 3)
    dst, src = ctx.destination, ctx.source
    at_endpoint = dst.private_endpoint is not None  # no guest: the PaaS service answers
    if _evidence(ctx, dst) is None and not at_endpoint:
        what = (
            "the guest firewall"
            if _is_guest(dst)
            else "the firewall of the destination (outside the estate)"
        )
        findings.append(missing(ctx, dst, what))
    if _evidence(ctx, src) is None and _is_guest(src):
        findings.append(missing(ctx, src, "its outbound guest firewall"))
    findings += _appliance_findings(ctx)
    passes = [f for f in findings if f.status is Status.PASS]
    summary = (
        f"{len(passes)} guest firewall check(s) pass the flow"
        f" ({', '.join(sorted({_role(f) for f in passes}))})"
        if passes
        else ""
    )
    if at_endpoint and not findings:
        return StepOutcome(status=Status.PASS, summary=NO_GUEST)
    return outcome(findings, summary if len(passes) == len(findings) else "")


def _role(f: Finding) -> str:
    text = f.message.casefold()
    if text.startswith("appliance"):
        return f.message.split(":", 1)[0]
    return "source" if "the source" in text else "destination"


def _appliance_findings(ctx: DiagnosisContext) -> list[Finding]:
    """A Linux appliance forwards only what its FORWARD hook accepts."""
    out: list[Finding] = []
    flow = _flow(ctx)
    for nic_id in ctx.trace.appliances:
        nic = ctx.snapshot.network_interfaces.get_ref(nic_id)
        vm = ctx.snapshot.vm_of_nic(nic) if nic is not None else None
        name = vm.name if vm is not None else nic_id.name
        evidence = ctx.guest_for(name)
        if evidence is None or flow is None:
            out.append(
                finding(
                    "APPLIANCE_GUEST_UNKNOWN",
                    f"What {name}'s operating system does with forwarded packets (its forwarding "
                    "setting and FORWARD firewall) is unknown",
                    resource=vm.id if vm is not None else nic_id,
                    command=f"vnetdoctor probe --out {name}.json  # inside {name}, then: "
                    f"--guest {name}={name}.json",
                )
            )
            continue
        decision = evaluate.forward_verdict(evidence, flow)
        status = {"allow": Status.PASS, "deny": Status.FAIL}.get(
            decision.verdict.value, Status.UNKNOWN
        )
        code = {Status.PASS: "APPLIANCE_GUEST_FORWARDS", Status.FAIL: "GUEST_FIREWALL_DENY"}.get(
            status, "APPLIANCE_GUEST_UNKNOWN"
        )
        reason = "; ".join(decision.reasons) or "no reason given"
        ref = decision.source
        out.append(
            finding(
                code,
                f"Appliance {name}: {reason}",
                status=status,
                resource=None if ref is None else str(ref),
            )
        )
    return out


def listener_outcome(ctx: DiagnosisContext) -> StepOutcome:
    dst = ctx.destination
    if ctx.query.port is None or ctx.query.protocol not in (Protocol.TCP, Protocol.UDP):
        return skip("no port to listen on (ICMP or no port given)")
    if _evidence(ctx, dst) is None:
        what = (
            "what listens on the port"
            if _is_guest(dst)
            else "what listens on the port (the destination is outside the estate)"
        )
        return outcome([missing(ctx, dst, what, code="LISTENER_UNKNOWN")])
    findings = _of_step(ctx, 4)
    passes = [f.message for f in findings if f.status is Status.PASS]
    return outcome(findings, passes[0] if len(passes) == len(findings) == 1 else "")


def share_outcome(ctx: DiagnosisContext) -> StepOutcome:
    """SMB: whatever blocks TCP 445 on the path blocks the share; plus ghost NICs."""
    if ctx.query.port != SMB_PORT or ctx.query.protocol is not Protocol.TCP:
        return skip("not SMB (TCP 445)")
    findings = [f for f in _of_step(ctx, 8) if f.status is not Status.PASS]
    codes = {f.code for f in findings}
    denied = [i for i in ctx.trace.issues if i.code == "NSG_DENY"]
    if denied and "SMB_BLOCKED" not in codes:
        findings.append(
            finding(
                "SMB_BLOCKED",
                f"TCP 445 is denied on the Azure path: {denied[0].message}",
                resource=denied[0].resource,
                pointer=denied[0].pointer,
                command=denied[0].command,
            )
        )
    if _evidence(ctx, ctx.destination) is None:
        findings.append(
            missing(
                ctx,
                ctx.destination,
                "whether its adapters include ghost NICs",
                code="GHOST_NIC_UNKNOWN",
            )
        )
    return outcome(findings, "TCP 445 is open on the path and no ghost NICs")
