"""What a step sees: the question, the snapshot, the evidence, and engine results computed once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import msgspec

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.endpoints import Endpoint, Location
from vnetdoctor.engine.nsg import NsgEngine
from vnetdoctor.engine.path import Issue, Outcome, Trace, Tracer
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.findings import Finding, Status, finding

if TYPE_CHECKING:  # the flow-log readers (DuckDB) load only when flow logs are given
    from vnetdoctor.engine.dns import Resolution
    from vnetdoctor.flowlogs import PairEvidence
    from vnetdoctor.flowlogs.api import PathArg


class Query(msgspec.Struct, frozen=True, kw_only=True):
    source: Endpoint
    destination: Endpoint
    protocol: Protocol
    port: int | None
    concurrent: int | None = None
    # How a destination given as a DNS name was resolved from the source (step 0); ``None``
    # when the destination was a VM, NIC, IP or private endpoint of the snapshot.
    resolution: Resolution | None = None


class StepOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A step's result: ``status`` and the findings behind it (``summary`` says why in a line)."""

    status: Status
    findings: tuple[Finding, ...] = ()
    summary: str = ""


def outcome(
    findings: list[Finding], summary: str = "", *, status: Status | None = None
) -> StepOutcome:
    from vnetdoctor.runbook.findings import worst

    chosen = status or worst([f.status for f in findings])
    return StepOutcome(status=chosen, findings=tuple(findings), summary=summary)


def skip(reason: str) -> StepOutcome:
    return StepOutcome(status=Status.SKIP, summary=reason)


class DiagnosisContext:
    """Read-only inputs of one diagnosis; the trace and other engine results are cached."""

    def __init__(
        self,
        snapshot: Snapshot,
        query: Query,
        tracer: Tracer,
        guest: Mapping[str, GuestEvidence] | None = None,
        flow_logs: Sequence[PathArg] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.query = query
        self.tracer = tracer
        self.guest: Mapping[str, GuestEvidence] = guest or {}
        self.flow_logs = flow_logs
        # The guest evaluators' findings of this flow, for steps 1, 3, 4 and 8 (computed once).
        self.guest_findings: tuple[Finding, ...] | None = None

    @property
    def nsgs(self) -> NsgEngine:
        return self.tracer.nsgs

    @cached_property
    def trace(self) -> Trace:
        q = self.query
        return self.tracer.trace(q.source, q.destination, q.protocol, q.port)

    @cached_property
    def return_issue(self) -> Issue | None:
        return self.tracer.return_asymmetry(self.trace, self.query.source)

    @cached_property
    def inter_vnet_issues(self) -> tuple[Issue, ...]:
        """Step 9's issues: forwarded-traffic drops seen by the trace, and the peering or gateway
        reasons why the two VNets (or the VNet and on-premises) cannot talk."""
        from vnetdoctor.engine import intervnet
        from vnetdoctor.runbook.findings import CODES

        found = [i for i in self.trace.issues if (i.step or CODES[i.code].step) == 9]
        src_vnet = self.vnet_of(self.source)
        dst = self.destination
        if src_vnet is not None and dst.ip is not None:
            if dst.location is Location.ON_PREMISES:
                found.extend(intervnet.to_on_premises(self.snapshot, src_vnet, dst.ip))
            else:
                dst_vnet = self.vnet_of(dst)
                if dst_vnet is not None:
                    found.extend(
                        intervnet.between_vnets(self.snapshot, src_vnet, dst_vnet, self.trace)
                    )
        return tuple(found)

    @cached_property
    def flow_evidence(self) -> PairEvidence | None:
        """What the flow logs (``--flowlogs``) say about this pair: a
        :class:`vnetdoctor.flowlogs.PairEvidence`, or ``None`` without flow logs."""
        if not self.flow_logs or self.source.ip is None or self.destination.ip is None:
            return None
        from vnetdoctor.errors import UsageError
        from vnetdoctor.flowlogs import MissingEngine, pair_evidence

        try:
            return pair_evidence(
                list(self.flow_logs),
                self.source.ip,
                self.destination.ip,
                self.query.port,
                self.query.protocol.value,
            )
        except MissingEngine as exc:
            raise UsageError(f"--flowlogs needs DuckDB: {exc}") from None

    @property
    def source(self) -> Endpoint:
        return self.query.source

    @property
    def destination(self) -> Endpoint:
        return self.query.destination

    def vnet_of(self, end: Endpoint) -> VirtualNetwork | None:
        if end.ip_configuration is None:
            return None
        return self.snapshot.subnet_vnet(end.ip_configuration.subnet)

    @property
    def leaves_azure(self) -> bool:
        """True when the traffic goes to the Internet (incl. classic VIPs) or on-premises."""
        return self.trace.outcome in (
            Outcome.INTERNET,
            Outcome.GATEWAY,
        ) or self.destination.location in (Location.INTERNET, Location.ON_PREMISES)

    def source_public_ips(self) -> tuple[IPAddress, ...]:
        """The addresses the Internet sees for the source (its SNAT addresses)."""
        from vnetdoctor.engine.outbound import outbound_for

        nic, ipc = self.source.nic, self.source.ip_configuration
        if nic is None or ipc is None:
            return ()
        return outbound_for(self.snapshot, nic, ipc).public_ips

    def issue_finding(self, issue: Issue) -> Finding:
        return finding(
            issue.code,
            issue.message,
            step=issue.step,
            resource=issue.resource,
            pointer=issue.pointer,
            command=issue.command,
            status=Status(issue.status) if issue.status else None,
        )

    def guest_for(self, name: str | None) -> GuestEvidence | None:
        if not name:
            return None
        return self.guest.get(name.casefold())

    def route_table(self, end: Endpoint) -> routing.EffectiveRouteTable | None:
        if end.nic is None:
            return None
        return routing.effective_routes(
            self.snapshot, end.nic, self.tracer.profile, ip_configuration=end.ip_configuration
        )
