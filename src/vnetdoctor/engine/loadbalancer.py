"""Load balancer frontends as destinations (decisions L1-L6 of ``azure-semantics-2.md``).

What is modelled: private (internal) frontends; the load-balancing rule for the protocol and
port (``frontendPort`` 0 with protocol ``All`` = HA ports); backend pools by NIC (membership on
the NIC's IP configuration) and by IP address; health per L3 (the probe's port allowed inbound
from 168.63.129.16 by admin rules and NSGs); ILB hairpin (L2); Basic SKU over global peering.
Public frontends and inbound NAT rules are not traced yet.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import msgspec

from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import (
    FrontendIpConfiguration,
    LoadBalancer,
    LoadBalancingRule,
    Probe,
)
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.snapshot import Snapshot

PROBE_SOURCE: Final = ipaddress.ip_address("168.63.129.16")


class Backend(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    ip: IPAddress
    nic: NetworkInterface | None
    ip_configuration: IpConfiguration | None
    pool: ResourceId
    admin_state: str | None = None  # Up | Down override the probe (L3)


class LoadBalancerIndex:
    """Frontend address -> (load balancer, frontend) and pool -> NIC members, computed once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._frontends: dict[IPAddress, tuple[LoadBalancer, FrontendIpConfiguration]] | None
        self._frontends = None
        self._pool_members: dict[ResourceId, list[tuple[NetworkInterface, IpConfiguration]]] | None
        self._pool_members = None

    def frontend_at(self, ip: IPAddress) -> tuple[LoadBalancer, FrontendIpConfiguration] | None:
        if not self.snapshot.load_balancers:
            return None
        if self._frontends is None:
            self._frontends = {
                fe.private_ip_address: (lb, fe)
                for lb in self.snapshot.load_balancers.values()
                for fe in lb.frontend_ip_configurations
                if fe.private_ip_address is not None
            }
        return self._frontends.get(ip)

    def backends(self, lb: LoadBalancer, rule: LoadBalancingRule) -> list[Backend]:
        if self._pool_members is None:
            index: dict[ResourceId, list[tuple[NetworkInterface, IpConfiguration]]] = {}
            for nic in self.snapshot.network_interfaces.values():
                for ipc in nic.ip_configurations:
                    for pool_ref in ipc.load_balancer_backend_address_pools:
                        index.setdefault(pool_ref, []).append((nic, ipc))
            self._pool_members = index
        out: list[Backend] = []
        for pool_id in dict.fromkeys(rule.backend_address_pools):
            for nic, ipc in self._pool_members.get(pool_id, []):
                if ipc.private_ip_address is not None:
                    out.append(
                        Backend(
                            ip=ipc.private_ip_address, nic=nic, ip_configuration=ipc, pool=pool_id
                        )
                    )
            pool = next((p for p in lb.backend_address_pools if p.id == pool_id), None)
            for address in () if pool is None else pool.load_balancer_backend_addresses:
                if address.ip_address is None:
                    continue
                holders = self.snapshot.nics_with_ip(address.ip_address)
                out.append(
                    Backend(
                        ip=address.ip_address,
                        nic=holders[0][0] if holders else None,
                        ip_configuration=holders[0][1] if holders else None,
                        pool=pool_id,
                        admin_state=address.admin_state,
                    )
                )
        return out


def rule_for(
    lb: LoadBalancer, frontend: FrontendIpConfiguration, protocol: Protocol, port: int | None
) -> LoadBalancingRule | None:
    """The load-balancing rule of ``frontend`` for ``protocol``/``port`` (HA ports: All/0)."""
    for rule in lb.load_balancing_rules:
        if rule.frontend_ip_configuration != frontend.id:
            continue
        proto = (rule.protocol or "").casefold()
        if proto not in ("all", protocol.value.casefold()):
            continue
        if rule.frontend_port == 0 or (port is not None and rule.frontend_port == port):
            return rule
    return None


def probe_of(lb: LoadBalancer, rule: LoadBalancingRule) -> Probe | None:
    return next((p for p in lb.probes if p.id == rule.probe), None)
