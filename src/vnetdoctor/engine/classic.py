"""Classic (ASM) input endpoints and endpoint ACLs (``docs/semantics/classic.md#acl-rules``, CL-1).

An endpoint ACL is evaluated first-match by ascending ``order``; with no match, the packet is
denied when the list holds any permit rule (a permit list), else permitted. No ACL permits. An
ACL that the input could not show (an ARM body, which never carries ACLs) is unknown.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from vnetdoctor.model.classic import (
    AclAction,
    ClassicEndpoint,
    ClassicVirtualMachine,
    EndpointAclRule,
)
from vnetdoctor.model.net import IPAddress, Protocol


class AclDecision(StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    UNKNOWN = "unknown"


class AclResult(msgspec.Struct, frozen=True, kw_only=True):
    decision: AclDecision
    rule: EndpointAclRule | None = None
    reason: str = ""


def find_endpoint(
    vm: ClassicVirtualMachine, port: int, protocol: Protocol
) -> ClassicEndpoint | None:
    """The input endpoint whose public port and protocol match."""
    for endpoint in vm.endpoints:
        same_protocol = (
            protocol is Protocol.ANY or endpoint.protocol.casefold() == protocol.value.casefold()
        )
        if endpoint.public_port == port and same_protocol:
            return endpoint
    return None


def evaluate_acl(endpoint: ClassicEndpoint, remotes: tuple[IPAddress, ...]) -> AclResult:
    """Decide for the remote addresses the VIP may see (all must agree, else unknown)."""
    if endpoint.acl is None:
        return AclResult(
            decision=AclDecision.UNKNOWN,
            reason=f"the ACL of endpoint {endpoint.name!r} is not in the input "
            "(only the Service Management XML carries endpoint ACLs)",
        )
    if not endpoint.acl:
        return AclResult(
            decision=AclDecision.PERMIT,
            reason=f"endpoint {endpoint.name!r} has no ACL: every source is permitted",
        )
    if not remotes:
        return AclResult(
            decision=AclDecision.UNKNOWN, reason="the source's public address is unknown"
        )
    results = [_decide(endpoint, ip) for ip in remotes]
    if len({r.decision for r in results}) == 1:
        return results[0]
    return AclResult(
        decision=AclDecision.UNKNOWN,
        reason="the ACL decides differently for the source's possible addresses",
    )


def _decide(endpoint: ClassicEndpoint, ip: IPAddress) -> AclResult:
    assert endpoint.acl is not None
    for rule in sorted(endpoint.acl, key=lambda r: r.order):
        if rule.remote_subnet.version == ip.version and ip in rule.remote_subnet:
            decision = AclDecision.PERMIT if rule.action is AclAction.PERMIT else AclDecision.DENY
            return AclResult(
                decision=decision,
                rule=rule,
                reason=f"rule order {rule.order} ({rule.action.value} "
                f"{rule.remote_subnet}) matches {ip}",
            )
    if any(r.action is AclAction.PERMIT for r in endpoint.acl):
        listed = ", ".join(
            f"{r.remote_subnet} (order {r.order})"
            for r in endpoint.acl
            if r.action is AclAction.PERMIT
        )
        return AclResult(
            decision=AclDecision.DENY,
            reason=f"{ip} matches no rule, and a list with permit rules denies "
            f"everything else (permitted: {listed})",
        )
    return AclResult(
        decision=AclDecision.PERMIT,
        reason=f"{ip} matches no rule, and a deny-only list permits the rest",
    )
