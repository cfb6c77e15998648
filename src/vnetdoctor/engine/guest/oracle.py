"""Loaded guest evidence as the fabric trace's :class:`~vnetdoctor.engine.path.GuestOracle`.

The trace asks whether a load balancer's backend answers its health probe (L3); this module
answers from the evidence with the guest evaluators, so that the fabric never imports them.
"""

from __future__ import annotations

from collections.abc import Mapping

from vnetdoctor.engine.guest.common import GuestVerdict
from vnetdoctor.engine.guest.firewall import firewall_verdict
from vnetdoctor.engine.guest.sockets import ListenerStatus, listener_check
from vnetdoctor.engine.path.oracle import (
    FirewallAnswer,
    GuestAccess,
    ListenerAnswer,
    Listening,
)
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction

__all__ = ["EvidenceOracle"]

_LISTENING = {
    ListenerStatus.LISTENING: Listening.YES,
    ListenerStatus.NOT_LISTENING: Listening.NO,
    ListenerStatus.LOOPBACK_ONLY: Listening.NO,
    ListenerStatus.OTHER_ADDRESS: Listening.NO,
    ListenerStatus.UNKNOWN: Listening.UNKNOWN,
}
_ACCESS = {
    GuestVerdict.ALLOW: GuestAccess.ALLOW,
    GuestVerdict.DENY: GuestAccess.DENY,
    GuestVerdict.UNKNOWN: GuestAccess.UNKNOWN,
}


class EvidenceOracle:
    """Guest evidence by VM name (matched case-insensitively, as Azure names are)."""

    def __init__(self, evidence: Mapping[str, GuestEvidence]) -> None:
        self.evidence = {name.casefold(): e for name, e in evidence.items()}

    def listener(
        self, vm: str, ip: IPAddress, port: int, protocol: Protocol
    ) -> ListenerAnswer | None:
        evidence = self.evidence.get(vm.casefold())
        if evidence is None:
            return None
        if evidence.listeners is None:  # the evidence says nothing about sockets
            return ListenerAnswer(listening=Listening.UNSEEN)
        check = listener_check(evidence, ip, port, protocol)
        return ListenerAnswer(
            listening=_LISTENING[check.status], reasons=check.reasons, resource=check.resource
        )

    def firewall(self, vm: str, flow: Flow, direction: Direction) -> FirewallAnswer | None:
        evidence = self.evidence.get(vm.casefold())
        if evidence is None:
            return None
        if (
            evidence.iptables is None
            and evidence.nftables is None
            and evidence.windows_firewall is None
        ):
            return FirewallAnswer(access=GuestAccess.UNSEEN)
        wall = firewall_verdict(evidence, flow, direction)
        return FirewallAnswer(
            access=_ACCESS[wall.verdict],
            rule=wall.rule,
            reasons=wall.reasons,
            resource=None if wall.source is None else str(wall.source),
        )
