"""What a trace records: hops, issues, the outcome, and the recorder a trace writes them with."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from enum import StrEnum

import msgspec

from vnetdoctor.engine.firewall import FirewallDecision
from vnetdoctor.engine.nsg import FlowVerdict
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId

__all__ = ["Hop", "Issue", "Outcome", "Recorder", "Trace", "port_arg", "port_text"]


class Outcome(StrEnum):
    """Where the packet ends up (its *disposition*)."""

    DELIVERED = "delivered"  # reached the destination NIC (NSG decisions are separate issues)
    WRONG_HOST = "wrong-host"  # reached a NIC, but not the one asked about (duplicate IP)
    NO_HOST = "no-host"  # the route leads into a VNet where no NIC holds the address
    INTERNET = "internet"  # left Azure for the Internet
    GATEWAY = "gateway"  # left through a virtual network gateway
    AZURE_SERVICE = "azure-service"  # a service endpoint route
    NO_ROUTE = "no-route"  # a platform None route: no route to the destination
    DROPPED = "dropped"  # a user None route, a missing appliance, a loop
    UNKNOWN = "unknown"


class Hop(msgspec.Struct, frozen=True, kw_only=True):
    """One decision on the path, for people and for the report's diagram."""

    kind: str
    name: str
    decision: str
    detail: str = ""
    resource: str | None = None
    pointer: str | None = None
    status: str = "pass"
    # Labelled facts for the report's diagram, e.g. (("frontend", "fe-svc 10.0.5.10"),
    # ("rule", "rule-https Tcp 443 -> 443")) on a load-balancer hop, or the deciding rule
    # collection and rule on a firewall hop. Empty on most hops.
    facts: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "name": self.name,
            "decision": self.decision,
            "detail": self.detail,
            "resource": self.resource,
            "pointer": self.pointer,
            "status": self.status,
        }
        if self.facts:
            out["facts"] = dict(self.facts)
        return out


class Issue(msgspec.Struct, frozen=True, kw_only=True):
    """Something on the path that blocks or may block the packet, with a finding code."""

    code: str
    message: str
    resource: str | None = None
    pointer: str | None = None
    command: str | None = None
    status: str | None = None  # overrides the code's default status
    step: int | None = None  # overrides the code's default step


class Trace(msgspec.Struct, frozen=True, kw_only=True):
    hops: tuple[Hop, ...]
    issues: tuple[Issue, ...]
    outcome: Outcome
    delivered_to: NetworkInterface | None = None
    appliances: tuple[ResourceId, ...] = ()
    egress_ipc: IpConfiguration | None = None
    egress_nic: NetworkInterface | None = None
    nsg_verdicts: tuple[FlowVerdict, ...] = ()
    # Azure Firewalls crossed, in path order, with what each decided (F1-F6).
    firewalls: tuple[FirewallDecision, ...] = ()


def port_text(port: int | None) -> str:
    return "*" if port is None else str(port)


def port_arg(port: int | None) -> str:
    """A suggested rule's port, for a shell: without a port asked about, a quoted placeholder
    (never ``*``, which opens every port and which a shell expands)."""
    return shlex.quote("<port>") if port is None else str(port)


class Recorder:
    """The hops, issues and decisions of one trace as it goes; :meth:`trace` freezes them.

    Lists, not tuples: a load balancer inserts its own hop before its members' hops and turns
    a backend's blockers into warnings once another backend is known to admit the flow."""

    def __init__(self) -> None:
        self.hops: list[Hop] = []
        self.issues: list[Issue] = []
        self.verdicts: list[FlowVerdict] = []
        self.firewalls: list[FirewallDecision] = []

    def hop(
        self,
        *,
        kind: str,
        name: str,
        decision: str,
        detail: str = "",
        resource: str | None = None,
        pointer: str | None = None,
        status: str = "pass",
        facts: tuple[tuple[str, str], ...] = (),
        at: int | None = None,
    ) -> None:
        """Record a hop, last or (``at``) before the hop at that index."""
        hop = Hop(
            kind=kind,
            name=name,
            decision=decision,
            detail=detail,
            resource=resource,
            pointer=pointer,
            status=status,
            facts=facts,
        )
        self.hops.insert(len(self.hops) if at is None else at, hop)

    def fail_first(self, kind: str, start: int, why: str) -> None:
        """Mark the first ``kind`` hop from index ``start`` on failed, ``why`` added to its
        detail: where the packet is lost, once that is known."""
        for i in range(start, len(self.hops)):
            if self.hops[i].kind == kind:
                hop = self.hops[i]
                self.hops[i] = msgspec.structs.replace(
                    hop, status="fail", detail=f"{hop.detail}; {why}"
                )
                return

    def issue(
        self,
        *,
        code: str,
        message: str,
        resource: str | None = None,
        pointer: str | None = None,
        command: str | None = None,
        status: str | None = None,
        step: int | None = None,
    ) -> None:
        self.issues.append(
            Issue(
                code=code,
                message=message,
                resource=resource,
                pointer=pointer,
                command=command,
                status=status,
                step=step,
            )
        )

    def trace(
        self,
        outcome: Outcome,
        appliances: Iterable[ResourceId] = (),
        delivered_to: NetworkInterface | None = None,
        egress: tuple[NetworkInterface, IpConfiguration] | None = None,
    ) -> Trace:
        return Trace(
            hops=tuple(self.hops),
            issues=tuple(self.issues),
            outcome=outcome,
            delivered_to=delivered_to,
            appliances=tuple(appliances),
            egress_nic=None if egress is None else egress[0],
            egress_ipc=None if egress is None else egress[1],
            nsg_verdicts=tuple(self.verdicts),
            firewalls=tuple(self.firewalls),
        )
