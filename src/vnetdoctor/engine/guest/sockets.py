"""Step 4 of the runbook: does something listen on the port, at an address the traffic
reaches (docs/semantics/guest.md#listeners-and-address-forms-step-4)? And the guest's own connect
tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

import msgspec

from vnetdoctor.engine.guest.common import Tri, gap_reasons
from vnetdoctor.model.evidence import (
    ConnectTest,
    GuestAdapter,
    GuestEvidence,
    ListenerTable,
    ListeningSocket,
    SourceRef,
)
from vnetdoctor.model.net import IPAddress, Protocol

__all__ = ["ListenerCheck", "ListenerStatus", "connect_result", "listener_check"]


class ListenerStatus(StrEnum):
    LISTENING = "listening"
    LOOPBACK_ONLY = "loopback-only"
    OTHER_ADDRESS = "other-address"
    NOT_LISTENING = "not-listening"
    UNKNOWN = "unknown"


class ListenerCheck(msgspec.Struct, frozen=True, kw_only=True):
    """``socket`` is the listener that decided (or the loopback / other-address one);
    ``sockets`` every socket on the port; ``source`` the line to cite."""

    status: ListenerStatus
    address: IPAddress
    port: int
    protocol: Protocol
    socket: ListeningSocket | None = None
    sockets: tuple[ListeningSocket, ...] = ()
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()

    @property
    def resource(self) -> str | None:
        return str(self.source) if self.source is not None else None


def listener_check(
    evidence: GuestEvidence,
    address: IPAddress,
    port: int,
    protocol: Protocol = Protocol.TCP,
) -> ListenerCheck:
    """Is something listening on ``port`` at an address that traffic to ``address`` (the NIC
    IP) reaches: the wildcard of its family, ``::`` when it is dual-stack, or ``address``
    itself? A listener on 127.0.0.1 only is :attr:`ListenerStatus.LOOPBACK_ONLY`."""
    asked = _Question(address, port, protocol)
    if evidence.listeners is None:
        return asked.answer(
            ListenerStatus.UNKNOWN,
            reasons=(
                "no listening-socket evidence: run vnetdoctor probe, or give `ss -ltnup` / "
                "`netstat -ano` output",
                *gap_reasons(evidence, ("ss", "netstat-linux", "netstat-windows", "windows-probe")),
            ),
        )
    candidates = [s for s in evidence.sockets if s.protocol is protocol and s.port == port]
    if candidates:
        return _bound_on_the_port(asked, candidates, evidence.adapter_with(address))
    return _nothing_on_the_port(asked, evidence, evidence.listeners)


class _Question(NamedTuple):
    """The listener asked for; :meth:`answer` gives the check with it."""

    address: IPAddress
    port: int
    protocol: Protocol

    def answer(
        self,
        status: ListenerStatus,
        *,
        socket: ListeningSocket | None = None,
        sockets: Sequence[ListeningSocket] = (),
        source: SourceRef | None = None,
        reasons: Sequence[str] = (),
    ) -> ListenerCheck:
        return ListenerCheck(
            status=status,
            address=self.address,
            port=self.port,
            protocol=self.protocol,
            socket=socket,
            sockets=tuple(sockets),
            source=source,
            reasons=tuple(reasons),
        )


def _bound_on_the_port(
    asked: _Question, candidates: Sequence[ListeningSocket], adapter: GuestAdapter | None
) -> ListenerCheck:
    """Sockets are bound to the port: does one take traffic to the NIC's address?"""
    address, port, protocol = asked
    reach = [(s, _reaches(s, address, adapter)) for s in candidates]
    yes = next((s for s, r in reach if r[0] is Tri.YES), None)
    if yes is not None:
        return asked.answer(
            ListenerStatus.LISTENING,
            socket=yes,
            sockets=tuple(candidates),
            source=yes.source,
        )
    maybe = next(((s, r[1]) for s, r in reach if r[0] is Tri.MAYBE), None)
    if maybe is not None:
        sock, why = maybe
        return asked.answer(
            ListenerStatus.UNKNOWN,
            socket=sock,
            sockets=tuple(candidates),
            source=sock.source,
            reasons=(why or "cannot tell",),
        )
    loopback = next((s for s in candidates if s.is_loopback), None)
    if loopback is not None:
        return asked.answer(
            ListenerStatus.LOOPBACK_ONLY,
            socket=loopback,
            sockets=tuple(candidates),
            source=loopback.source,
            reasons=(
                f"{_proto(protocol)} {port} is bound to {loopback.address_text} only, which "
                "traffic from another machine never reaches",
            ),
        )
    other = candidates[0]
    return asked.answer(
        ListenerStatus.OTHER_ADDRESS,
        socket=other,
        sockets=tuple(candidates),
        source=other.source,
        reasons=(
            f"{_proto(protocol)} {port} is bound to "
            f"{', '.join(sorted({_bound(s) for s in candidates}))}, which traffic "
            f"to {address} does not reach",
        ),
    )


def _nothing_on_the_port(
    asked: _Question, evidence: GuestEvidence, tables: Sequence[ListenerTable]
) -> ListenerCheck:
    """No socket shows the port: nothing listens, unless the evidence cannot show it."""
    unresolved = [s for s in evidence.sockets if s.protocol is asked.protocol and s.port is None]
    if unresolved:
        return asked.answer(
            ListenerStatus.UNKNOWN,
            sockets=unresolved,
            source=unresolved[0].source,
            reasons=(
                "some listeners are shown by service name vnetdoctor cannot map to a port "
                "(give `ss -ltn` / `netstat -ln`, with -n)",
            ),
        )
    incomplete = [t for t in tables if not t.complete]
    if incomplete and len(incomplete) == len(tables):
        return asked.answer(
            ListenerStatus.UNKNOWN,
            source=incomplete[0].source,
            reasons=(incomplete[0].note or "the socket list is incomplete",),
        )
    return asked.answer(
        ListenerStatus.NOT_LISTENING,
        source=next((t.source for t in tables if t.source), None),
        reasons=(f"nothing listens on {_proto(asked.protocol)} port {asked.port}",),
    )


def _bound(sock: ListeningSocket) -> str:
    if sock.interface:
        return f"{sock.address_text}%{sock.interface} (interface {sock.interface} only)"
    if sock.address is not None and sock.address.is_unspecified:
        return f"{sock.address_text} (IPv{sock.address.version} only)"
    return sock.address_text


def _proto(protocol: Protocol) -> str:
    return protocol.value.upper()


def _reaches(
    sock: ListeningSocket, address: IPAddress, adapter: GuestAdapter | None
) -> tuple[Tri, str | None]:
    if sock.interface and not (sock.address is not None and sock.address.is_loopback):
        if adapter is None:
            return (
                Tri.MAYBE,
                f"the socket is bound to interface {sock.interface}, and the NIC holding "
                f"{address} is not known",
            )
        if adapter.name != sock.interface:
            return Tri.NO, None
    if sock.address is None:
        text = sock.address_text
        if text == "*":
            if address.version == 4:
                return Tri.YES, None
            return (
                Tri.MAYBE,
                "ss prints `*` for an IPv4 wildcard (older iproute2) and for a dual-stack one",
            )
        if text.casefold() in ("localhost", "ip6-localhost"):
            return Tri.NO, None
        return Tri.MAYBE, f"the socket's address is printed as {text!r}, not as an IP"
    bound = sock.address
    if isinstance(bound, ipaddress.IPv6Address) and bound.ipv4_mapped is not None:
        bound = bound.ipv4_mapped
    if bound.is_unspecified:
        if bound.version == address.version:
            return Tri.YES, None
        if bound.version == 6 and address.version == 4:
            if sock.dual_stack is True:
                return Tri.YES, None
            if sock.dual_stack is None:
                return Tri.MAYBE, (
                    "netstat prints an IPv6 wildcard (:::port) for IPv6-only and "
                    "dual-stack sockets alike"
                )
        return Tri.NO, None
    return (Tri.YES if bound == address else Tri.NO), None


def connect_result(evidence: GuestEvidence, address: IPAddress, port: int) -> ConnectTest | None:
    """The guest's own TCP connect test to ``address:port`` (``vnetdoctor probe --peer``,
    ``Test-NetConnection -Port``), if there is one."""
    for test in evidence.connects:
        if test.port == port and test.address == str(address):
            return test
    return None
