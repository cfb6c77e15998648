"""What the fabric trace asks of a guest, without evaluating guests itself.

A load balancer probes its backends from 168.63.129.16 (L3); whether a backend answers depends
on its guest: a listener on the probe port and a firewall that admits the probe. The trace asks
a :class:`GuestOracle` those two questions and reads the answers below; the evaluation of guest
evidence lives outside the fabric (:mod:`vnetdoctor.engine.guest.oracle`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol as Interface

import msgspec

from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction

__all__ = ["FirewallAnswer", "GuestAccess", "GuestOracle", "ListenerAnswer", "Listening"]


class Listening(StrEnum):
    """Whether the guest listens where the traffic arrives."""

    YES = "yes"
    NO = "no"  # nothing listens, or only on loopback or another address
    UNKNOWN = "unknown"  # the evidence does not settle it
    UNSEEN = "unseen"  # the evidence holds no socket list


class ListenerAnswer(msgspec.Struct, frozen=True, kw_only=True):
    listening: Listening
    reasons: tuple[str, ...] = ()
    resource: str | None = None  # the evidence line to cite


class GuestAccess(StrEnum):
    """What the guest firewall does with the flow."""

    ALLOW = "allow"
    DENY = "deny"
    UNKNOWN = "unknown"
    UNSEEN = "unseen"  # the evidence holds no firewall rules


class FirewallAnswer(msgspec.Struct, frozen=True, kw_only=True):
    access: GuestAccess
    rule: str | None = None  # the deciding rule as the evidence spells it
    reasons: tuple[str, ...] = ()
    resource: str | None = None  # the evidence line to cite


class GuestOracle(Interface):
    """Answers about the guests of VMs by name; ``None`` when there is no evidence for ``vm``."""

    def listener(
        self, vm: str, ip: IPAddress, port: int, protocol: Protocol
    ) -> ListenerAnswer | None: ...

    def firewall(self, vm: str, flow: Flow, direction: Direction) -> FirewallAnswer | None: ...
