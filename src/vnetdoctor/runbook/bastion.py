"""A diagnosis whose source is an Azure Bastion host: the nine steps over the session flow, with
Bastion's own checks added to the steps they belong to (docs/semantics/bastion.md).

The session is traced from an address of AzureBastionSubnet (engine/bastion.py), so the steps
see the Bastion subnet's NSG outbound, its routes, the peering to the target's VNet and the
target's NSGs inbound exactly as for a VM; a target NSG that denies the session is reported as
``BASTION_TARGET_NSG_DENY``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import msgspec

from vnetdoctor.engine import bastion
from vnetdoctor.engine.endpoints import Endpoint, EndpointKind, Location
from vnetdoctor.engine.path import Issue, Tracer
from vnetdoctor.model.bastion import BastionHost
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import Protocol
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.context import DiagnosisContext, Query
from vnetdoctor.runbook.findings import CODES, Finding, Status, worst
from vnetdoctor.runbook.runner import Diagnosis, StepResult, run, verdict_of

if TYPE_CHECKING:
    from vnetdoctor.flowlogs.api import PathArg


def diagnose_session(
    snapshot: Snapshot,
    host: BastionHost,
    destination: Endpoint,
    protocol: Protocol,
    port: int | None,
    tracer: Tracer,
    *,
    concurrent: int | None = None,
    guest: Mapping[str, GuestEvidence] | None = None,
    flow_logs: Sequence[PathArg] | None = None,
    inputs: tuple[str, ...] = (),
) -> Diagnosis:
    """The session from ``host`` to ``destination`` on ``port`` (B1-B7)."""
    bastion.check_query(host, protocol, port)
    assert port is not None
    subnet, issues = bastion.subnet_issues(snapshot, host)
    ends = None if subnet is None else bastion.usable_range(subnet)
    if subnet is None or ends is None:
        source = Endpoint(text=host.name, kind=EndpointKind.BASTION, location=Location.ESTATE)
        host_vnet = host.virtual_network
    else:
        source = bastion.session_endpoint(host, subnet, ends[0])
        host_vnet = subnet.virtual_network_id
        issues += bastion.nsg_issues(snapshot, subnet)
        issues += bastion.address_dependent(tracer.nsgs, subnet, host, destination, port)
    dst_vnet = (None if destination.ip_configuration is None
                else snapshot.subnet_vnet(destination.ip_configuration.subnet))
    same_vnet = None if host_vnet is None or dst_vnet is None else host_vnet == dst_vnet.id
    issues += bastion.sku_issues(host, port, same_vnet)
    query = Query(source=source, destination=destination, protocol=Protocol.TCP, port=port,
                  concurrent=concurrent)
    ctx = DiagnosisContext(snapshot, query, tracer, guest, flow_logs)
    return _with_issues(run(ctx, inputs), ctx, issues, _target_nsgs(snapshot, destination))


def _target_nsgs(snapshot: Snapshot, destination: Endpoint) -> frozenset[str]:
    """The ids of the NSGs on the target's subnet and NIC."""
    found: set[ResourceId | None] = set()
    if destination.nic is not None:
        found.add(destination.nic.network_security_group)
    if destination.ip_configuration is not None:
        sub = snapshot.subnet(destination.ip_configuration.subnet)
        found.add(None if sub is None else sub.network_security_group)
    return frozenset(str(n) for n in found if n is not None)


def _renamed(f: Finding, targets: frozenset[str]) -> Finding:
    """An NSG deny on the target side is the Bastion finding for it (B4)."""
    if f.code != "NSG_DENY" or f.resource not in targets:
        return f
    spec = CODES["BASTION_TARGET_NSG_DENY"]
    return msgspec.structs.replace(f, code="BASTION_TARGET_NSG_DENY",
                                   remediation=spec.remediation or f.remediation)


def _with_issues(d: Diagnosis, ctx: DiagnosisContext, issues: list[Issue],
                 targets: frozenset[str]) -> Diagnosis:
    by_step: dict[int, list[Finding]] = {}
    for issue in issues:
        number = issue.step if issue.step is not None else CODES[issue.code].step
        made = ctx.issue_finding(issue)
        by_step.setdefault(number, []).append(msgspec.structs.replace(made, step=number))
    steps = []
    for s in d.steps:
        findings = tuple(_renamed(f, targets) for f in s.findings)
        extra = by_step.get(s.number, [])
        if extra:
            findings = (*extra, *findings)
            status = worst([s.status, *(f.status for f in extra)])
            summary = s.summary if s.status is not Status.SKIP else extra[0].message
            steps.append(msgspec.structs.replace(s, findings=findings, status=status,
                                                 summary=summary))
        else:
            steps.append(msgspec.structs.replace(s, findings=findings))
    results: tuple[StepResult, ...] = tuple(steps)
    return msgspec.structs.replace(d, steps=results,
                                   verdict=verdict_of([s.status for s in results]))
