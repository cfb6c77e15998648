"""The destination of a diagnosis as typed: a VM, NIC or IP (engine/endpoints.py), a private
endpoint's name, or a DNS name, resolved with the source VM's DNS configuration (engine/dns.py).

A name becomes an address only through the source: the same name may answer privately from one
VNet and publicly (or not at all) from another, so the resolution is part of the answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import msgspec

from vnetdoctor.engine.dns import AnswerKind, Resolution, resolve
from vnetdoctor.engine.endpoints import Endpoint, EndpointKind, Location, resolve_endpoint
from vnetdoctor.engine.private_endpoints import endpoint_of_nic, find_endpoint
from vnetdoctor.errors import ResourceNotFound, UsageError
from vnetdoctor.model.dns import dns_name
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.private_endpoint import PrivateEndpoint
from vnetdoctor.model.snapshot import Snapshot


def is_dns_name(text: str) -> bool:
    """An FQDN as ``--to`` takes it: has a dot, is no IP address and no resource id."""
    stripped = text.strip()
    if "." not in stripped.rstrip(".") or stripped.startswith("/") or not dns_name(stripped):
        return False
    try:
        ipaddress.ip_address(stripped)
    except ValueError:
        return True
    return False


def resolve_destination(
    snapshot: Snapshot,
    source: Endpoint,
    text: str,
    pins: Mapping[str, IPAddress] | None = None,
) -> tuple[Endpoint, Resolution | None]:
    """The destination end, and the name resolution behind it when ``text`` is a DNS name.

    Resources of the snapshot win over DNS: a VM, classic VM or NIC name (or an IP) as before,
    then a private endpoint's name (its NIC's address, no DNS). Anything else with a dot is a
    name, resolved from the source's NIC."""
    try:
        end = resolve_endpoint(snapshot, text)
    except ResourceNotFound as exc:
        if exc.candidates:
            raise
        pe = find_endpoint(snapshot, text)
        if pe is not None:
            return _endpoint_of_pe(snapshot, text, pe), None
        if not is_dns_name(text):
            raise
        return _by_name(snapshot, source, text, pins or {})
    return mark_private_endpoint(snapshot, end), None


def mark_private_endpoint(snapshot: Snapshot, end: Endpoint) -> Endpoint:
    """``end`` with its private endpoint set when its NIC is one."""
    if end.nic is None or end.vm is not None:
        return end
    pe = endpoint_of_nic(snapshot, end.nic)
    return end if pe is None else msgspec.structs.replace(end, private_endpoint=pe)


def _endpoint_of_pe(snapshot: Snapshot, text: str, pe: PrivateEndpoint) -> Endpoint:
    nic = next(
        (n for rid in pe.network_interfaces
         if (n := snapshot.network_interfaces.get_ref(rid)) is not None),
        None,
    )
    if nic is not None:
        end = resolve_endpoint(snapshot, str(nic.id))
        return msgspec.structs.replace(end, text=text, private_endpoint=pe)
    ip = next((c.private_ip_address for c in pe.ip_configurations
               if c.private_ip_address is not None), None)
    if ip is None:
        raise UsageError(
            f"private endpoint {pe.name!r}: its network interface is not in the snapshot and it "
            "has no static IP configuration, so its address is unknown"
        )
    end = resolve_endpoint(snapshot, str(ip))
    return msgspec.structs.replace(end, text=text, private_endpoint=pe)


def _by_name(
    snapshot: Snapshot, source: Endpoint, text: str, pins: Mapping[str, IPAddress]
) -> tuple[Endpoint, Resolution]:
    if source.nic is None:
        raise UsageError(
            f"--to {text}: a name is resolved with the source's DNS settings; give a source VM "
            "or NIC of the snapshot (--from)"
        )
    result = resolve(snapshot, source.nic, text, pins)
    answer = result.answer
    if answer.kind is AnswerKind.ADDRESS and answer.addresses:
        end = resolve_endpoint(snapshot, str(answer.addresses[0]))
        return mark_private_endpoint(snapshot, msgspec.structs.replace(end, text=text)), result
    location = Location.INTERNET if answer.kind is AnswerKind.PUBLIC_ENDPOINT else Location.UNKNOWN
    return Endpoint(text=text, kind=EndpointKind.ADDRESS, location=location), result
