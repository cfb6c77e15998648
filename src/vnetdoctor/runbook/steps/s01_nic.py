"""Step 1: is each end's NIC there, provisioned, addressed, and its VM running?"""

from __future__ import annotations

from vnetdoctor.engine.endpoints import Endpoint, EndpointKind
from vnetdoctor.engine.path import Outcome
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome
from vnetdoctor.runbook.findings import Finding, Status, finding
from vnetdoctor.runbook.guest import guest_ip_findings
from vnetdoctor.runbook.registry import step
from vnetdoctor.runbook.scaleset import instance_findings, missing_nic_hint, start_command


def _end(role: str, end: Endpoint) -> list[Finding]:
    out: list[Finding] = []
    if end.classic_vm is not None:
        cvm = end.classic_vm
        if cvm.is_running is False:
            out.append(
                finding(
                    "VM_NOT_RUNNING",
                    f"The {role} classic VM {cvm.name} is {cvm.instance_status or cvm.power_state}",
                    resource=cvm.id,
                )
            )
        return out
    vm = end.vm
    if vm is not None:
        if vm.is_running is False:
            out.append(
                finding(
                    "VM_NOT_RUNNING",
                    f"The {role} VM {vm.name} is {vm.power_state}, not running",
                    resource=vm.id,
                    pointer="/properties/instanceView/statuses",
                    command=start_command(vm),
                )
            )
        elif vm.is_running is None:
            out.append(
                finding(
                    "VM_POWER_UNKNOWN",
                    f"The snapshot has no power state for the {role} VM {vm.name}",
                    resource=vm.id,
                )
            )
        if end.missing_nic is not None:
            out.append(
                finding(
                    "NIC_NOT_FOUND",
                    f"The {role} VM {vm.name} refers to network interface "
                    f"{end.missing_nic.name!r}, which is not in the snapshot (not exported, or "
                    f"not readable by whoever exported it){missing_nic_hint(vm)}",
                    resource=vm.id,
                    pointer="/properties/networkProfile/networkInterfaces/0",
                    remediation="Add the NIC's JSON to the snapshot (or grant read "
                    "access to its resource group) and run again.",
                )
            )
        elif not vm.network_interfaces:
            out.append(
                finding(
                    "NIC_NOT_FOUND",
                    f"The {role} VM {vm.name} has no network interface",
                    resource=vm.id,
                    pointer="/properties/networkProfile/networkInterfaces",
                    status=Status.FAIL,
                )
            )
    nic = end.nic
    if nic is not None:
        state = nic.provisioning_state
        if state is not None and state.casefold() != "succeeded":
            out.append(
                finding(
                    "NIC_PROVISIONING_FAILED",
                    f"The {role} NIC {nic.name} has provisioningState {state}: its last update did "
                    "not complete; the data plane usually keeps the previous configuration",
                    resource=nic.id,
                    pointer="/properties/provisioningState",
                    command=f"az network nic update -g {nic.id.resource_group} -n {nic.name}",
                )
            )
        if not nic.private_ip_addresses:
            # An address the input could not tell (unparsable, or "known after apply" in a
            # plan) is unknown, not absent.
            unreadable = any("privateIPAddress" in c.problems for c in nic.ip_configurations)
            out.append(
                finding(
                    "NIC_NO_IP",
                    f"The {role} NIC {nic.name} has no private IP"
                    + (" that the input could tell" if unreadable else ""),
                    resource=nic.id,
                    pointer="/properties/ipConfigurations",
                    status=Status.UNKNOWN if unreadable else None,
                )
            )
    return out


@step(1, "nic", "NIC misconfigured or VM not running")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """Both VMs running, their NICs present and provisioned, the IP unique where it is routed,
    and (with guest evidence) the guest holding the IP Azure assigned."""
    findings = _end("source", ctx.source) + _end("destination", ctx.destination)
    for role, end in (("source", ctx.source), ("destination", ctx.destination)):
        if end.vm is not None:
            findings.extend(instance_findings(ctx.snapshot, role, end.vm))
    trace = ctx.trace
    dst = ctx.destination
    if trace.outcome is Outcome.WRONG_HOST and trace.delivered_to is not None and dst.ip:
        other = trace.delivered_to
        other_vm = ctx.snapshot.vm_of_nic(other)
        ipc = next((c for c in other.ip_configurations if c.private_ip_address == dst.ip), None)
        findings.append(
            finding(
                "NIC_DUPLICATE_IP",
                f"{dst.ip} is held by {dst.name} and by "
                f"{other_vm.name if other_vm else other.name} "
                f"({other.name}); from {ctx.source.name} the address is "
                f"{other_vm.name if other_vm else other.name}, so the traffic reaches the wrong VM",
                resource=other.id,
                pointer=f"/properties/ipConfigurations/{ipc.index if ipc else 0}/properties/"
                "privateIPAddress",
            )
        )
    findings.extend(guest_ip_findings(ctx))
    kinds = {EndpointKind.VM, EndpointKind.NIC, EndpointKind.CLASSIC_VM}
    ends = [e.name for e in (ctx.source, dst) if e.kind in kinds]
    summary = f"{' and '.join(ends)}: running, NICs present and provisioned" if not findings else ""
    return outcome(findings, summary)
