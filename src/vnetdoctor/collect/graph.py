"""Which resources a resource needs: the reference edges the collector follows.

A diagnosis of one pair of VMs needs their NICs, the NSGs, subnets, VNets, route tables, public
IPs, application security groups and load balancers those refer to, the peered VNets (one hop, as
peering is not transitive) and the gateways of all these VNets. :func:`references` lists, for one
Resource Graph row, the top-level resources it points at, each marked when the edge is a peering,
so that the collector can stop after one peering hop. Pure functions over plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from vnetdoctor.collect.scope import COLLECTED_TYPES, NETWORK_INTERFACES, VIRTUAL_MACHINES
from vnetdoctor.model.ids import ResourceId

Json = Mapping[str, Any]
_COLLECTED: Final = frozenset(COLLECTED_TYPES)


def _props(obj: Any) -> Json:
    props = obj.get("properties") if isinstance(obj, Mapping) else None
    return props if isinstance(props, Mapping) else {}


def _ref(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    ref = value.get("id") if isinstance(value, Mapping) else None
    return ref if isinstance(ref, str) and ref.strip() else None


def _refs(obj: Any, key: str) -> Iterator[str]:
    items = obj.get(key) if isinstance(obj, Mapping) else None
    for item in items if isinstance(items, list) else ():
        ref = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(ref, str) and ref.strip():
            yield ref


def _items(obj: Any, key: str) -> Iterator[Json]:
    items = obj.get(key) if isinstance(obj, Mapping) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping):
            yield item


def top_level(ref: str) -> str:
    """The top-level resource of an id (a subnet's VNet, a rule's NSG), in its own spelling."""
    rid = ResourceId(ref)
    while rid.parent is not None:
        rid = rid.parent
    return str(rid)


def row_type(row: Json) -> str:
    value = row.get("type")
    if isinstance(value, str) and value:
        return value.casefold()
    rid_type = ResourceId(str(row.get("id") or "?")).type
    return (rid_type or "").casefold()


def _direct(row: Json, kind: str) -> Iterator[str]:
    p = _props(row)
    if kind == VIRTUAL_MACHINES:
        yield from _refs(_props(row).get("networkProfile"), "networkInterfaces")
    elif kind == NETWORK_INTERFACES:
        yield from filter(None, (_ref(p, "networkSecurityGroup"), _ref(p, "virtualMachine")))
        for ipc in _items(p, "ipConfigurations"):
            q = _props(ipc)
            yield from filter(None, (_ref(q, "subnet"), _ref(q, "publicIPAddress")))
            yield from filter(None, (_ref(q, "gatewayLoadBalancer"),))
            for key in (
                "applicationSecurityGroups",
                "loadBalancerBackendAddressPools",
                "loadBalancerInboundNatRules",
            ):
                yield from _refs(q, key)
    elif kind == "microsoft.network/virtualnetworks":
        for subnet in _items(p, "subnets"):
            q = _props(subnet)
            for key in ("networkSecurityGroup", "routeTable", "natGateway"):
                ref = _ref(q, key)
                if ref:
                    yield ref
            # Gateways and firewalls live in their subnets; NICs there are not followed.
            for ref in _refs(q, "ipConfigurations"):
                if "/virtualnetworkgateways/" in ref.casefold() or (
                    "/azurefirewalls/" in ref.casefold()
                ):
                    yield ref
    elif kind == "microsoft.network/networksecuritygroups":
        for rule in _items(p, "securityRules"):
            q = _props(rule)
            yield from _refs(q, "sourceApplicationSecurityGroups")
            yield from _refs(q, "destinationApplicationSecurityGroups")
    elif kind in ("microsoft.network/loadbalancers", "microsoft.network/virtualnetworkgateways",
                  "microsoft.network/azurefirewalls"):
        key = "frontendIPConfigurations" if kind.endswith("loadbalancers") else "ipConfigurations"
        for ipc in _items(p, key):
            q = _props(ipc)
            yield from filter(None, (_ref(q, "subnet"), _ref(q, "publicIPAddress")))
    elif kind == "microsoft.network/natgateways":
        yield from _refs(p, "publicIpAddresses")
    elif kind == "microsoft.network/connections":
        for key in ("virtualNetworkGateway1", "virtualNetworkGateway2", "localNetworkGateway2"):
            ref = _ref(p, key)
            if ref:
                yield ref
    elif kind == "microsoft.network/privateendpoints":
        yield from filter(None, (_ref(p, "subnet"),))
        yield from _refs(p, "networkInterfaces")


def references(row: Json) -> Iterator[tuple[str, bool]]:
    """Top-level resources ``row`` refers to, as ``(id, via_peering)``; never ``row`` itself."""
    kind = row_type(row)
    own = ResourceId(str(row.get("id") or "?"))
    seen = {own}
    found: list[tuple[str, bool]] = [(ref, False) for ref in _direct(row, kind)]
    if kind == "microsoft.network/virtualnetworks":
        for peering in _items(_props(row), "virtualNetworkPeerings"):
            ref = _ref(_props(peering), "remoteVirtualNetwork")
            if ref:
                found.append((ref, True))
    for ref, via_peering in found:
        try:
            target = ResourceId(top_level(ref))
        except ValueError:
            continue
        if target in seen or (target.type or "").casefold() not in _COLLECTED:
            continue
        seen.add(target)
        yield str(target), via_peering


def appliance_addresses(row: Json) -> list[str]:
    """Next-hop IP addresses of a route table's ``VirtualAppliance`` routes."""
    out = []
    for route in _items(_props(row), "routes"):
        q = _props(route)
        if str(q.get("nextHopType", "")).casefold() == "virtualappliance":
            ip = q.get("nextHopIpAddress")
            if isinstance(ip, str) and ip.strip():
                out.append(ip.strip())
    return out


def private_addresses(row: Json) -> list[str]:
    """Private IP addresses of a network interface's IP configurations."""
    out = []
    for ipc in _items(_props(row), "ipConfigurations"):
        ip = _props(ipc).get("privateIPAddress")
        if isinstance(ip, str) and ip.strip():
            out.append(ip.strip())
    return out


def attached_vm(row: Json) -> str | None:
    """The VM a network interface is attached to."""
    return _ref(_props(row), "virtualMachine")


def network_interfaces(row: Json) -> list[str]:
    """The network interfaces of a VM, in the VM's order."""
    return list(_refs(_props(row).get("networkProfile"), "networkInterfaces"))


def power_state(row: Json) -> str | None:
    """A VM's power state code (``PowerState/running``) as Resource Graph or an instance view
    gives it, or ``None``."""
    p = _props(row)
    extended = p.get("extended")
    views = [extended.get("instanceView") if isinstance(extended, Mapping) else None]
    views.append(p.get("instanceView"))
    for view in views:
        if not isinstance(view, Mapping):
            continue
        state = view.get("powerState")
        code = state.get("code") if isinstance(state, Mapping) else None
        if isinstance(code, str) and code:
            return code
        for status in _items(view, "statuses"):
            code = status.get("code")
            if isinstance(code, str) and code.casefold().startswith("powerstate/"):
                return code
    return None


__all__ = [
    "appliance_addresses",
    "attached_vm",
    "network_interfaces",
    "power_state",
    "private_addresses",
    "references",
    "row_type",
    "top_level",
]
