"""The NSG library functions: IP flow verify, effective security rules, security group view.

Each builds an :class:`~.layers.NsgEngine` for the call, unless given the ``fabric`` of the
snapshot (:class:`vnetdoctor.engine.fabric.Fabric`), whose engines keep what they compiled
between calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vnetdoctor.engine.nsg.layers import FlowVerdict, NsgEngine
from vnetdoctor.engine.nsg.rules import parse_endpoint
from vnetdoctor.engine.nsg.shapes import EffectiveSecurityRules, SecurityGroupView
from vnetdoctor.engine.tags import ServiceTagSource
from vnetdoctor.errors import UsageError
from vnetdoctor.model.compute import NetworkInterface, VirtualMachine
from vnetdoctor.model.net import MAX_PORT, IPAddress, Protocol, parse_ip
from vnetdoctor.model.security import Direction
from vnetdoctor.model.snapshot import Snapshot

if TYPE_CHECKING:
    from vnetdoctor.engine.fabric import Fabric


def _engine(snapshot: Snapshot, service_tags: ServiceTagSource | None,
            fabric: Fabric | None) -> NsgEngine:
    if fabric is None:
        return NsgEngine(snapshot, service_tags)
    return fabric.check(snapshot).nsgs(service_tags)


def interface_holding(snapshot: Snapshot, vm: VirtualMachine | str,
                      ip: IPAddress) -> NetworkInterface:
    """The NIC of ``vm`` that holds private IP ``ip`` (how Network Watcher picks the NIC when
    the request names only the VM). Raises :class:`~vnetdoctor.errors.UsageError` when no NIC
    or several hold it."""
    machine = vm if isinstance(vm, VirtualMachine) else snapshot.virtual_machines.find(vm)
    nics = snapshot.nics_of(machine)
    holding = [n for _, n in nics if n is not None and ip in n.private_ip_addresses]
    if len(holding) == 1:
        return holding[0]
    if holding:
        names = ", ".join(n.name for n in holding)
        raise UsageError(f"IP {ip} is on several network interfaces of VM {machine.name!r} "
                         f"({names}); choose one with --nic")
    held = ", ".join(str(a) for _, n in nics if n is not None for a in n.private_ip_addresses)
    missing = [rid.name for rid, n in nics if n is None]
    extra = (f"; its network interfaces {', '.join(missing)} are not in the snapshot"
             if missing else "")
    raise UsageError(f"local IP {ip} is not a private IP of VM {machine.name!r} "
                     f"(its IPs: {held or 'none'}){extra}")


def _nic(snapshot: Snapshot, nic: NetworkInterface | str) -> NetworkInterface:
    return nic if isinstance(nic, NetworkInterface) else snapshot.network_interfaces.find(nic)


def _direction(direction: Direction | str) -> Direction:
    if isinstance(direction, Direction):
        return direction
    for d in Direction:
        if d.value.casefold() == direction.strip().casefold():
            return d
    raise UsageError(f"unknown direction {direction!r} (expected Inbound or Outbound)")


def _endpoint(value: tuple[IPAddress | str, int | str | None] | str,
              which: str) -> tuple[IPAddress, int | None]:
    try:
        if isinstance(value, str):
            return parse_endpoint(value)
        ip_value, port = value
        ip = parse_ip(ip_value) if isinstance(ip_value, str) else ip_value
        if port is None or port == "*":
            return ip, None
        number = int(port)
        if not 0 <= number <= MAX_PORT:
            raise ValueError(f"port {port!r} is outside 0-65535")
        return ip, number
    except ValueError as exc:
        raise UsageError(f"{which}: {exc}") from None


def ip_flow_verify(
    snapshot: Snapshot,
    nic: NetworkInterface | str,
    direction: Direction | str,
    protocol: Protocol | str,
    local: tuple[IPAddress | str, int | str | None] | str,
    remote: tuple[IPAddress | str, int | str | None] | str,
    service_tags: ServiceTagSource | None = None,
    *,
    explain: bool = False,
    fabric: Fabric | None = None,
) -> FlowVerdict:
    """Network Watcher's IP flow verify, from a snapshot.

    ``nic`` is a :class:`NetworkInterface` or its name or id. ``direction`` is ``Inbound`` or
    ``Outbound`` (relative to the NIC); ``local`` is an address of the NIC and ``remote`` the
    other end, each ``"IP:PORT"`` or ``(ip, port)`` with ``*``/``None`` for every port.
    ``service_tags`` is a loaded service tags file (:func:`vnetdoctor.ingest.servicetags.
    load_service_tags`) for tags other than VirtualNetwork, AzureLoadBalancer and Internet.

    Returns a :class:`FlowVerdict`: ``access`` Allow/Deny/Unknown, the deciding ``rule``
    (``rule_name`` as ``securityRules/NAME`` or ``defaultSecurityRules/NAME``, ``pointer``) and
    each layer (with every rule's field-by-field match when ``explain``). When both layers allow,
    the rule of the last NSG evaluated is named. Raises :class:`~vnetdoctor.errors.UsageError`
    when ``local`` is not an IP of the NIC or an argument is malformed, and
    :class:`~vnetdoctor.errors.ResourceNotFound` for an unknown NIC. ``fabric``: the snapshot's
    :class:`~vnetdoctor.engine.fabric.Fabric`, to keep the compiled NSGs between calls.
    """
    engine = _engine(snapshot, service_tags, fabric)
    proto = protocol if isinstance(protocol, Protocol) else _protocol(protocol)
    return engine.verify(_nic(snapshot, nic), _direction(direction), proto,
                         _endpoint(local, "local"), _endpoint(remote, "remote"), explain=explain)


def _protocol(text: str) -> Protocol:
    try:
        return Protocol.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def effective_security_rules(
    snapshot: Snapshot,
    nic: NetworkInterface | str,
    service_tags: ServiceTagSource | None = None,
    *,
    fabric: Fabric | None = None,
) -> EffectiveSecurityRules:
    """``az network nic list-effective-nsg``: the NSGs applied to ``nic`` (its own first, then
    its subnet's), each rule in Azure's effective form.

    Effective form (``docs/semantics/nsg.md#effective-view``): ``name`` is ``securityRules/NAME`` or
    ``defaultSecurityRules/NAME``; protocol ``Tcp``/``Udp``/``All``; ``*`` addresses are
    ``0.0.0.0/0``; ports are always ``a-b``; a tag keeps its name and gains
    ``expandedSourceAddressPrefix``/``expandedDestinationAddressPrefix``; each NSG entry has a
    ``tagMap``. ``to_azure()`` gives ``{"value": [...]}``.
    """
    return _engine(snapshot, service_tags, fabric).effective(_nic(snapshot, nic))


def security_group_view(
    snapshot: Snapshot,
    vm: VirtualMachine | str,
    service_tags: ServiceTagSource | None = None,
    *,
    fabric: Fabric | None = None,
) -> SecurityGroupView:
    """Network Watcher's security group view: per NIC of ``vm``, the rules of the NIC's and the
    subnet's NSG in ARM form, the default rules, and the effective rules (``UserRule_NAME``,
    ``DefaultRule_NAME`` and the legacy ``Default*DenyAll`` Azure still lists)."""
    machine = vm if isinstance(vm, VirtualMachine) else snapshot.virtual_machines.find(vm)
    return _engine(snapshot, service_tags, fabric).security_group_view(machine)

