"""How a VM reaches the Internet, and how many SNAT ports it has (``docs/semantics/outbound.md``).

Precedence (decision 7): a route decides first; when the next hop is Internet, the subnet's NAT
gateway wins, then an instance-level public IP on the IP configuration, then a load balancer
outbound rule, then load-balancing-rule SNAT (unless ``disableOutboundSnat``), then default
outbound access, which a subnet with ``defaultOutboundAccess: false`` does not have.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec

from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import LoadBalancer
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.snapshot import Snapshot

NAT_GATEWAY_PORTS_PER_IP: Final = 64_512
NAT_GATEWAY_SAME_DESTINATION_PER_IP: Final = 50_000
INSTANCE_IP_PORTS: Final = 64_000
LB_PORTS_PER_FRONTEND_IP: Final = 64_000
# Default SNAT ports per IP configuration by backend pool size (no outbound rule), §4.2.
DEFAULT_ALLOCATION: Final = ((50, 1024), (100, 512), (200, 256), (400, 128), (800, 64), (1000, 32))
RISK_THRESHOLD: Final = 0.8


class OutboundMethod(StrEnum):
    NAT_GATEWAY = "NAT gateway"
    INSTANCE_PUBLIC_IP = "instance-level public IP"
    LB_OUTBOUND_RULE = "load balancer outbound rule"
    LB_RULE_SNAT = "load balancer rule SNAT"
    DEFAULT_OUTBOUND = "default outbound access"
    NONE = "none"


class Outbound(msgspec.Struct, frozen=True, kw_only=True):
    """The method a NIC uses to reach the Internet and its SNAT budget to one destination.

    ``ports`` is the number of simultaneous TCP connections to one destination IP:port the method
    allows (``None`` when Azure does not publish it, as for default outbound access).
    ``public_ips`` are the source addresses the Internet sees (empty when unknown).
    """

    method: OutboundMethod
    resource: ResourceId | None = None
    pointer: str | None = None
    ports: int | None = None
    public_ips: tuple[IPAddress, ...] = ()
    detail: str = ""


def default_allocation(pool_size: int) -> int | None:
    for limit, ports in DEFAULT_ALLOCATION:
        if pool_size <= limit:
            return ports
    return None


def _public_ips(snapshot: Snapshot, ids: tuple[ResourceId | None, ...]) -> tuple[IPAddress, ...]:
    out = []
    for rid in ids:
        pip = snapshot.public_ip_addresses.get_ref(rid)
        if pip is not None and pip.ip_address is not None:
            out.append(pip.ip_address)
    return tuple(out)


def _frontend_ips(
    snapshot: Snapshot, lb: LoadBalancer, ids: tuple[ResourceId, ...]
) -> tuple[IPAddress, ...]:
    pips = tuple(f.public_ip_address for f in lb.frontend_ip_configurations if f.id in ids)
    return _public_ips(snapshot, pips)


def _pool_size(lb: LoadBalancer, pool_id: ResourceId) -> int:
    pool = next((p for p in lb.backend_address_pools if p.id == pool_id), None)
    if pool is None:
        return 0
    return len(pool.backend_ip_configurations) + len(pool.load_balancer_backend_addresses)


def outbound_for(snapshot: Snapshot, nic: NetworkInterface, ipc: IpConfiguration) -> Outbound:
    """The outbound method of an IP configuration, by Azure's precedence."""
    subnet = snapshot.subnet(ipc.subnet)
    if subnet is not None and subnet.nat_gateway is not None:
        gateway = snapshot.nat_gateways.get_ref(subnet.nat_gateway)
        if gateway is not None:
            ips = _public_ips(snapshot, gateway.public_ip_addresses)
            count = len(gateway.public_ip_addresses) or 1
            return Outbound(
                method=OutboundMethod.NAT_GATEWAY,
                resource=gateway.id,
                ports=min(NAT_GATEWAY_PORTS_PER_IP, NAT_GATEWAY_SAME_DESTINATION_PER_IP) * count,
                public_ips=ips,
                detail=f"NAT gateway {gateway.name!r} with {count} public IP(s): "
                f"{NAT_GATEWAY_PORTS_PER_IP:,} SNAT ports per IP on demand, at most "
                f"{NAT_GATEWAY_SAME_DESTINATION_PER_IP:,} connections per IP to one "
                "destination",
            )
    if ipc.public_ip_address is not None:
        ips = _public_ips(snapshot, (ipc.public_ip_address,))
        return Outbound(
            method=OutboundMethod.INSTANCE_PUBLIC_IP,
            resource=ipc.public_ip_address,
            ports=INSTANCE_IP_PORTS,
            public_ips=ips,
            detail="instance-level public IP: every ephemeral port is available",
        )
    primary = nic.primary_ip_configuration
    if primary is not None and primary.id == ipc.id:
        found = _load_balancer_outbound(snapshot, ipc)
        if found is not None:
            return found
    if subnet is not None and subnet.default_outbound_access is False:
        return Outbound(
            method=OutboundMethod.NONE,
            resource=subnet.id.parent,
            pointer=f"/properties/subnets/{subnet.index}/properties/defaultOutboundAccess",
            detail=f"subnet {subnet.name!r} is private (defaultOutboundAccess false) "
            "and has no NAT gateway, public IP or load balancer outbound",
        )
    return Outbound(
        method=OutboundMethod.DEFAULT_OUTBOUND,
        detail="default outbound access (an implicit Microsoft-owned IP; its SNAT "
        "allocation is not published)",
    )


def _load_balancer_outbound(snapshot: Snapshot, ipc: IpConfiguration) -> Outbound | None:
    pools = set(ipc.load_balancer_backend_address_pools)
    if not pools:
        return None
    rule_snat: Outbound | None = None
    for lb in snapshot.load_balancers.values():
        for rule in lb.outbound_rules:
            if rule.backend_address_pool in pools:
                ips = _frontend_ips(snapshot, lb, rule.frontend_ip_configurations)
                size = _pool_size(lb, rule.backend_address_pool)
                if rule.allocated_outbound_ports:
                    ports = rule.allocated_outbound_ports
                    how = f"allocatedOutboundPorts {ports}"
                else:
                    frontends = len(rule.frontend_ip_configurations) or 1
                    ports = (LB_PORTS_PER_FRONTEND_IP * frontends) // max(size, 1)
                    how = f"{frontends} frontend IP(s) x 64,000 / {size} backend instance(s)"
                return Outbound(
                    method=OutboundMethod.LB_OUTBOUND_RULE,
                    resource=lb.id,
                    pointer=f"/properties/outboundRules/{rule.index}",
                    ports=ports,
                    public_ips=ips,
                    detail=f"outbound rule {rule.name!r} of {lb.name!r}: {how} per instance",
                )
        for lb_rule in lb.load_balancing_rules:
            if (
                rule_snat is None
                and not lb_rule.disable_outbound_snat
                and pools.intersection(lb_rule.backend_address_pools)
            ):
                frontend = next(
                    (
                        f
                        for f in lb.frontend_ip_configurations
                        if f.id == lb_rule.frontend_ip_configuration
                    ),
                    None,
                )
                if frontend is None or frontend.public_ip_address is None:
                    continue
                pool = next(p for p in lb_rule.backend_address_pools if p in pools)
                size = _pool_size(lb, pool)
                rule_snat = Outbound(
                    method=OutboundMethod.LB_RULE_SNAT,
                    resource=lb.id,
                    pointer=f"/properties/loadBalancingRules/{lb_rule.index}",
                    ports=default_allocation(size),
                    public_ips=_public_ips(snapshot, (frontend.public_ip_address,)),
                    detail=f"load-balancing rule {lb_rule.name!r} of {lb.name!r}: default "
                    f"allocation for a pool of {size}",
                )
    return rule_snat
