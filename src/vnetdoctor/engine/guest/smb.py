"""Step 8 of the runbook: can the source open SMB (TCP 445) to the destination? The guest
firewalls on both ends and the destination's listener
(docs/semantics/guest.md#network-shares-step-8)."""

from __future__ import annotations

from typing import Final

import msgspec

from vnetdoctor.engine.guest.common import GuestFirewallDecision, GuestVerdict
from vnetdoctor.engine.guest.firewall import firewall_verdict
from vnetdoctor.engine.guest.sockets import ListenerCheck, ListenerStatus, listener_check
from vnetdoctor.model.evidence import GuestEvidence, SourceRef
from vnetdoctor.model.net import Flow, Protocol
from vnetdoctor.model.security import Direction

__all__ = ["SMB_PORT", "SmbCheck", "smb_check"]

SMB_PORT: Final = 445


class SmbCheck(msgspec.Struct, frozen=True, kw_only=True):
    status: GuestVerdict
    decisions: tuple[GuestFirewallDecision, ...] = ()
    listener: ListenerCheck | None = None
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()


def smb_check(
    flow: Flow, *, destination: GuestEvidence | None, source: GuestEvidence | None = None
) -> SmbCheck:
    """Can the source open SMB (TCP 445) to the destination: the destination's firewall and
    listener, the source's outbound firewall."""
    smb = Flow(flow.source, flow.destination, Protocol.TCP, SMB_PORT, flow.source_port)
    decisions: list[GuestFirewallDecision] = []
    listener = None
    if destination is not None:
        decisions.append(firewall_verdict(destination, smb, Direction.INBOUND))
        listener = listener_check(destination, flow.destination, SMB_PORT)
    if source is not None:
        decisions.append(firewall_verdict(source, smb, Direction.OUTBOUND))
    deny = next((d for d in decisions if d.verdict is GuestVerdict.DENY), None)
    if deny is not None:
        return SmbCheck(
            status=GuestVerdict.DENY,
            decisions=tuple(decisions),
            listener=listener,
            source=deny.source,
            reasons=(f"TCP 445 is blocked by {deny.rule}",),
        )
    if listener is not None and listener.status in (
        ListenerStatus.NOT_LISTENING,
        ListenerStatus.LOOPBACK_ONLY,
        ListenerStatus.OTHER_ADDRESS,
    ):
        return SmbCheck(
            status=GuestVerdict.DENY,
            decisions=tuple(decisions),
            listener=listener,
            source=listener.source,
            reasons=("nothing serves SMB on TCP 445 (is the Server service running?)",),
        )
    if (
        destination is None
        or any(d.verdict is GuestVerdict.UNKNOWN for d in decisions)
        or (listener is not None and listener.status is ListenerStatus.UNKNOWN)
    ):
        return SmbCheck(
            status=GuestVerdict.UNKNOWN,
            decisions=tuple(decisions),
            listener=listener,
            reasons=("not all of the SMB path is in the evidence",),
        )
    return SmbCheck(status=GuestVerdict.ALLOW, decisions=tuple(decisions), listener=listener)
