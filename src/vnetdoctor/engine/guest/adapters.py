"""The guest's network adapters: does it hold the IP Azure gave its NIC (step 1, guest side),
and does it keep unavailable ("ghost") Hyper-V adapters (step 8)? See
docs/semantics/guest.md#the-guests-address-against-the-nics-step-1 and
docs/semantics/guest.md#hidden-ghost-network-adapters-step-8."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from enum import StrEnum

import msgspec

from vnetdoctor.model.evidence import GuestAdapter, GuestEvidence, OsFamily, SourceRef
from vnetdoctor.model.net import IPAddress

__all__ = [
    "GhostNicCheck",
    "GhostStatus",
    "NicIpCheck",
    "NicIpStatus",
    "ghost_nic_check",
    "nic_ip_check",
]


class NicIpStatus(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"


class NicIpCheck(msgspec.Struct, frozen=True, kw_only=True):
    """``missing``: Azure's IPs the guest does not hold (or holds as ``Duplicate``);
    ``guest_addresses``: the guest's own global addresses, to show what it uses instead."""

    status: NicIpStatus
    azure_addresses: tuple[IPAddress, ...] = ()
    missing: tuple[IPAddress, ...] = ()
    guest_addresses: tuple[IPAddress, ...] = ()
    static: bool | None = None
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()

    @property
    def resource(self) -> str | None:
        return str(self.source) if self.source is not None else None


def nic_ip_check(evidence: GuestEvidence, azure_ips: Iterable[IPAddress]) -> NicIpCheck:
    """Does the guest hold the private IPs Azure assigned to its NICs?
    (``docs/semantics/guest.md#guest-ip``)"""
    wanted = tuple(dict.fromkeys(azure_ips))
    if evidence.adapters is None:
        return NicIpCheck(
            status=NicIpStatus.UNKNOWN,
            azure_addresses=wanted,
            reasons=("no adapter evidence (ip -j addr, ipconfig /all, or vnetdoctor probe)",),
        )
    present = [a for a in evidence.adapters if not a.is_ghost and not a.is_loopback]
    held: dict[IPAddress, tuple[GuestAdapter, str | None]] = {}
    for adapter in present:
        for configured in adapter.addresses:
            held.setdefault(configured.address, (adapter, configured.state))
    guest = tuple(
        a for a in held if not a.is_link_local and not a.is_loopback and not a.is_multicast
    )
    missing: list[IPAddress] = []
    reasons: list[str] = []
    for ip in wanted:
        found = held.get(ip)
        if found is None:
            missing.append(ip)
            continue
        adapter, state = found
        if state is not None and state.casefold() in ("duplicate", "tentative"):
            missing.append(ip)
            reasons.append(
                f"Windows marks {ip} on {adapter.name} as {state}: another machine uses it"
            )
        elif adapter.status.value in ("Disconnected", "Down", "Disabled"):
            missing.append(ip)
            reasons.append(f"{ip} is on adapter {adapter.name}, which is {adapter.status.value}")
    if not wanted:
        return NicIpCheck(
            status=NicIpStatus.UNKNOWN,
            guest_addresses=guest,
            reasons=("no Azure NIC IPs to compare with",),
        )
    if not missing:
        holder = held[wanted[0]][0]
        return NicIpCheck(
            status=NicIpStatus.MATCH,
            azure_addresses=wanted,
            guest_addresses=guest,
            source=holder.source,
        )
    suspect = next(
        (a for a in present if a.addresses and any(not x.is_link_local for x in a.addresses)), None
    )
    static = None
    if suspect is not None:
        origins = {x.origin for x in suspect.addresses if not x.is_link_local}
        static = True if "static" in origins else False if origins == {"dhcp"} else None
        if suspect.dhcp_enabled is False:
            static = True
    apipa = [a for a in held if a.version == 4 and a in ipaddress.ip_network("169.254.0.0/16")]
    if apipa:
        reasons.append(f"{apipa[0]} is an automatic (APIPA) address: the guest got no DHCP lease")
    if not reasons:
        shown = ", ".join(str(a) for a in guest) or "no address"
        reasons.append(
            f"Azure assigned {', '.join(str(m) for m in missing)}, but the guest has {shown}"
            + (" (configured statically)" if static else "")
        )
    cited = suspect.source if suspect is not None else None
    if suspect is not None:
        first = next(
            (x.source for x in suspect.addresses if not x.is_link_local and x.source), None
        )
        cited = first or cited
    return NicIpCheck(
        status=NicIpStatus.MISMATCH,
        azure_addresses=wanted,
        missing=tuple(missing),
        guest_addresses=guest,
        static=static,
        source=cited,
        reasons=tuple(reasons),
    )


class GhostStatus(StrEnum):
    NONE = "none"
    PRESENT = "present"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not-applicable"


class GhostNicCheck(msgspec.Struct, frozen=True, kw_only=True):
    """``ghosts``: not-present "Microsoft Hyper-V Network Adapter" devices (the only ones the
    guide says to uninstall); ``holds_azure_ip``: one of them still carries the NIC's IP."""

    status: GhostStatus
    ghosts: tuple[GuestAdapter, ...] = ()
    other_hidden: tuple[GuestAdapter, ...] = ()
    holds_azure_ip: bool = False
    source: SourceRef | None = None
    reasons: tuple[str, ...] = ()


def ghost_nic_check(evidence: GuestEvidence, azure_ips: Iterable[IPAddress] = ()) -> GhostNicCheck:
    if evidence.os_family is OsFamily.LINUX:
        return GhostNicCheck(
            status=GhostStatus.NOT_APPLICABLE, reasons=("Linux has no hidden network adapters",)
        )
    if evidence.adapters is None or not evidence.adapters_include_hidden:
        return GhostNicCheck(
            status=GhostStatus.UNKNOWN,
            reasons=(
                "the evidence does not list hidden adapters (ipconfig never shows them): run "
                "vnetdoctor probe, or give `Get-NetAdapter -IncludeHidden`",
            ),
        )
    not_present = [a for a in evidence.adapters if a.is_ghost]
    ghosts = tuple(
        a for a in not_present if "hyper-v network adapter" in (a.description or a.name).casefold()
    )
    others = tuple(a for a in not_present if a not in ghosts)
    wanted = set(azure_ips)
    holds = any(x.address in wanted for a in ghosts for x in a.addresses)
    if not ghosts:
        return GhostNicCheck(status=GhostStatus.NONE, other_hidden=others)
    return GhostNicCheck(
        status=GhostStatus.PRESENT,
        ghosts=ghosts,
        other_hidden=others,
        holds_azure_ip=holds,
        source=ghosts[0].source,
        reasons=(
            f"{len(ghosts)} unavailable Hyper-V network adapter(s): "
            + ", ".join(a.description or a.name for a in ghosts),
        ),
    )
