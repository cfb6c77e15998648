"""Steps 1 (guest side), 3, 4 and 8 of the runbook: what the VMs' own operating systems say.

Pure functions over :class:`~vnetdoctor.model.evidence.GuestEvidence` (read it with
:func:`vnetdoctor.guest.load.load_guest_evidence`). The API for ``diagnose``::

    from vnetdoctor.guest.load import load_guest_evidence
    from vnetdoctor.engine.guest import firewall_verdict, listener_check
    from vnetdoctor.model.net import Flow, Protocol
    from vnetdoctor.model.security import Direction

    src = load_guest_evidence("web.probe.json")        # the source VM (optional)
    dst = load_guest_evidence("db-artefacts/")         # the destination VM (optional)
    flow = Flow(parse_ip("10.0.1.4"), parse_ip("10.0.2.5"), Protocol.TCP, 5432)

    firewall_verdict(dst, flow, Direction.INBOUND)     # GuestFirewallDecision: verdict allow|
                                                       # deny|unknown, rule, source (file:line),
                                                       # reasons
    firewall_verdict(src, flow, Direction.OUTBOUND)
    forward_verdict(nva, flow)                         # a Linux appliance on the path (FORWARD)
    listener_check(dst, flow.destination, 5432)        # ListenerCheck: status, socket, source
    nic_ip_check(dst, destination_nic_ips)             # NicIpCheck: status, missing, addresses
    ghost_nic_check(dst, destination_nic_ips)          # GhostNicCheck: status, ghosts
    smb_check(flow, destination=dst, source=src)       # SmbCheck: status, decisions

Every result carries the evidence it rests on as a :class:`~vnetdoctor.model.evidence.SourceRef`
(``str(ref)`` is ``file[artefact]:line``, the ``resource`` of a guest finding). An answer the
evidence cannot give is ``unknown`` with its reasons, never a guess. The runbook turns these
answers into findings (:func:`vnetdoctor.runbook.guest_findings.guest_findings`).

Modules: :mod:`.firewall` (step 3) asks :mod:`.windows` (Windows Firewall) or :mod:`.hooks`
(netfilter's base chains, walked by :mod:`.iptables` and :mod:`.nftables`, which share
:mod:`.chains`); :mod:`.sockets` (step 4), :mod:`.adapters` (step 1 and ghost NICs), :mod:`.smb`
(step 8); :mod:`.common` holds the types they share.
"""

from __future__ import annotations

from vnetdoctor.engine.guest.adapters import (
    GhostNicCheck,
    GhostStatus,
    NicIpCheck,
    NicIpStatus,
    ghost_nic_check,
    nic_ip_check,
)
from vnetdoctor.engine.guest.common import Decision, GuestFirewallDecision, GuestVerdict
from vnetdoctor.engine.guest.firewall import firewall_verdict, forward_verdict
from vnetdoctor.engine.guest.smb import SMB_PORT, SmbCheck, smb_check
from vnetdoctor.engine.guest.sockets import (
    ListenerCheck,
    ListenerStatus,
    connect_result,
    listener_check,
)

__all__ = [
    "SMB_PORT",
    "Decision",
    "GhostNicCheck",
    "GhostStatus",
    "GuestFirewallDecision",
    "GuestVerdict",
    "ListenerCheck",
    "ListenerStatus",
    "NicIpCheck",
    "NicIpStatus",
    "SmbCheck",
    "connect_result",
    "firewall_verdict",
    "forward_verdict",
    "ghost_nic_check",
    "listener_check",
    "nic_ip_check",
    "smb_check",
]
