"""Load balancer frontends as destinations (``docs/semantics/load-balancers.md#decisions``).

What is modelled: private (internal) frontends and public frontends (the frontend's public IP
resource's ``ipAddress``; section 3.7 step 2); the load-balancing rule for the protocol and port
(``frontendPort`` 0 with protocol ``All`` = HA ports); inbound NAT rules, classic (one frontend
port to one NIC IP configuration) and v2 (a frontend port range over a backend pool, one mapping
per member, read from ``inboundNatRulesPortMapping``; section 3.5); backend pools by NIC
(membership on the NIC's IP configuration) and by IP address; health per L3 (the probe's port
allowed inbound from 168.63.129.16 by admin rules and NSGs, plus the guest's listener when guest
evidence exists); ILB hairpin (L2); Basic SKU over global peering. The path through them is
traced in :mod:`vnetdoctor.engine.path`.

Public IP *prefixes* on a frontend are not resolved to addresses (which address of the prefix
serves the frontend is not in the resource), so such a frontend is never found by address.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import msgspec

from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import (
    FrontendIpConfiguration,
    InboundNatRule,
    LoadBalancer,
    LoadBalancingRule,
    Probe,
)
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.scaleset import is_instance_ip_configuration
from vnetdoctor.model.snapshot import Snapshot

PROBE_SOURCE: Final = ipaddress.ip_address("168.63.129.16")


class Backend(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    ip: IPAddress
    nic: NetworkInterface | None
    ip_configuration: IpConfiguration | None
    pool: ResourceId
    admin_state: str | None = None  # Up | Down override the probe (L3)

    @property
    def label(self) -> str:
        return self.nic.name if self.nic is not None else str(self.ip)


class NatTarget(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where an inbound NAT rule sends one frontend port (section 3.5).

    ``backend`` is ``None`` when the member cannot be told: ``reason`` says why (a v2 rule
    whose per-member port mapping the snapshot lacks, or a classic rule bound to an IP
    configuration the snapshot does not have). Never a guess.
    """

    rule: InboundNatRule
    backend: Backend | None
    backend_port: int | None
    reason: str = ""


class LoadBalancerIndex:
    """Frontend address -> (load balancer, frontend) and pool -> NIC members, computed once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._frontends: dict[IPAddress, tuple[LoadBalancer, FrontendIpConfiguration]] | None
        self._frontends = None
        self._pool_members: dict[ResourceId, list[tuple[NetworkInterface, IpConfiguration]]] | None
        self._pool_members = None
        self._public: dict[IPAddress, tuple[LoadBalancer, FrontendIpConfiguration]] | None = None
        self._ipconfigs: dict[ResourceId, tuple[NetworkInterface, IpConfiguration]] | None = None

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

    def public_frontend_at(
        self, ip: IPAddress
    ) -> tuple[LoadBalancer, FrontendIpConfiguration] | None:
        """The frontend whose public IP resource holds ``ip`` (frontend ``publicIPAddress`` ->
        the public IP's ``ipAddress``; section 3.7 step 2)."""
        if not self.snapshot.load_balancers:
            return None
        if self._public is None:
            found: dict[IPAddress, tuple[LoadBalancer, FrontendIpConfiguration]] = {}
            for lb in self.snapshot.load_balancers.values():
                for fe in lb.frontend_ip_configurations:
                    pip = self.snapshot.public_ip_addresses.get_ref(fe.public_ip_address)
                    if pip is not None and pip.ip_address is not None:
                        found.setdefault(pip.ip_address, (lb, fe))
            self._public = found
        return self._public.get(ip)

    def ip_configuration(
        self, ipc_id: ResourceId | None
    ) -> tuple[NetworkInterface, IpConfiguration] | None:
        if ipc_id is None:
            return None
        if self._ipconfigs is None:
            self._ipconfigs = {
                c.id: (nic, c)
                for nic in self.snapshot.network_interfaces.values()
                for c in nic.ip_configurations
            }
        return self._ipconfigs.get(ipc_id)

    def nat_target(self, lb: LoadBalancer, rule: InboundNatRule, port: int | None) -> NatTarget:
        """The member an inbound NAT rule sends frontend ``port`` to (section 3.5).

        Classic rule: the IP configuration named by the rule's ``backendIPConfiguration`` or,
        failing that, the NIC IP configuration whose ``loadBalancerInboundNatRules`` lists the
        rule. v2 rule (``backendAddressPool`` + ``frontendPortRangeStart/End``): the member
        whose ``inboundNatRulesPortMapping`` maps ``port``; without mappings in the snapshot the
        member is unknown.
        """
        if rule.backend_address_pool is None:
            found = self.ip_configuration(rule.backend_ip_configuration)
            if found is None:
                found = next(
                    (
                        (nic, c)
                        for nic in self.snapshot.network_interfaces.values()
                        for c in nic.ip_configurations
                        if rule.id in c.load_balancer_inbound_nat_rules
                    ),
                    None,
                )
            if found is None or found[1].private_ip_address is None:
                missing = (
                    f"its backendIPConfiguration {rule.backend_ip_configuration} is not in "
                    "the snapshot"
                    if rule.backend_ip_configuration is not None
                    else "no IP configuration in the snapshot is bound to it"
                )
                return NatTarget(rule=rule, backend=None, backend_port=None, reason=missing)
            nic, ipc = found
            assert ipc.private_ip_address is not None
            return NatTarget(
                rule=rule,
                backend=Backend(
                    ip=ipc.private_ip_address,
                    nic=nic,
                    ip_configuration=ipc,
                    pool=rule.id,
                ),
                backend_port=rule.backend_port,
            )
        pool = next(
            (p for p in lb.backend_address_pools if p.id == rule.backend_address_pool), None
        )
        if pool is None:
            return NatTarget(
                rule=rule,
                backend=None,
                backend_port=None,
                reason=f"its backend pool {rule.backend_address_pool} is not in the snapshot",
            )
        unknown = False
        for address in pool.load_balancer_backend_addresses:
            mappings = address.inbound_nat_rules_port_mapping
            if mappings is None:
                unknown = True
                continue
            for m in mappings:
                if (m.inbound_nat_rule_name or "").casefold() != rule.name.casefold():
                    continue
                if port is None or m.frontend_port != port:
                    continue
                backend = self._member(
                    address.ip_address, address.network_interface_ip_configuration, pool.id
                )
                if backend is None:
                    return NatTarget(
                        rule=rule,
                        backend=None,
                        backend_port=m.backend_port or rule.backend_port,
                        reason=f"the member {address.name or '?'} mapped to port {port} is held "
                        "by no IP configuration in the snapshot",
                    )
                return NatTarget(
                    rule=rule,
                    backend=msgspec.structs.replace(backend, admin_state=address.admin_state),
                    backend_port=m.backend_port or rule.backend_port,
                )
        if unknown or not pool.load_balancer_backend_addresses:
            return NatTarget(
                rule=rule,
                backend=None,
                backend_port=rule.backend_port,
                reason=f"the snapshot lacks the per-member port mappings of pool {pool.name} "
                "(inboundNatRulesPortMapping; az network lb inbound-nat-rule show-backend-port-"
                "mapping / queryInboundNatRulePortMapping gives them), so which member frontend "
                f"port {port} reaches is unknown",
            )
        return NatTarget(
            rule=rule,
            backend=None,
            backend_port=rule.backend_port,
            reason=f"no member of pool {pool.name} is mapped to frontend port {port}",
        )

    def _member(
        self, ip: IPAddress | None, ipc_id: ResourceId | None, pool: ResourceId
    ) -> Backend | None:
        found = self.ip_configuration(ipc_id)
        if found is not None and found[1].private_ip_address is not None:
            return Backend(
                ip=found[1].private_ip_address, nic=found[0], ip_configuration=found[1], pool=pool
            )
        if ip is None:
            return None
        holders = self.snapshot.nics_with_ip(ip)
        if not holders:
            return None
        return Backend(ip=ip, nic=holders[0][0], ip_configuration=holders[0][1], pool=pool)

    def _add_instance_members(
        self, index: dict[ResourceId, list[tuple[NetworkInterface, IpConfiguration]]]
    ) -> None:
        """Scale-set instance ipconfigs a pool lists (``backendIPConfigurations``, or a
        member's ``networkInterfaceIPConfiguration``) whose NIC row does not list the pool:
        Azure records the membership on the pool (docs/semantics/scale-sets.md#vmss-6)."""
        for lb in self.snapshot.load_balancers.values():
            for pool in lb.backend_address_pools:
                listed = [
                    *pool.backend_ip_configurations,
                    *(
                        a.network_interface_ip_configuration
                        for a in pool.load_balancer_backend_addresses
                        if a.network_interface_ip_configuration is not None
                        and a.ip_address is None
                    ),
                ]
                for ipc_id in listed:
                    if not is_instance_ip_configuration(ipc_id):
                        continue
                    found = self.ip_configuration(ipc_id)
                    members = index.setdefault(pool.id, [])
                    if found is not None and all(c.id != ipc_id for _, c in members):
                        members.append(found)

    def backends(self, lb: LoadBalancer, rule: LoadBalancingRule) -> list[Backend]:
        if self._pool_members is None:
            index: dict[ResourceId, list[tuple[NetworkInterface, IpConfiguration]]] = {}
            for nic in self.snapshot.network_interfaces.values():
                for ipc in nic.ip_configurations:
                    for pool_ref in ipc.load_balancer_backend_address_pools:
                        index.setdefault(pool_ref, []).append((nic, ipc))
            self._add_instance_members(index)
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


def nat_rule_for(
    lb: LoadBalancer, frontend: FrontendIpConfiguration, protocol: Protocol, port: int | None
) -> InboundNatRule | None:
    """The inbound NAT rule of ``frontend`` for ``protocol``/``port``: a classic rule whose
    ``frontendPort`` is ``port``, or a v2 rule whose ``frontendPortRangeStart..End`` holds it
    (section 3.5). NAT rules are TCP or UDP (``All`` accepted as both)."""
    if port is None:
        return None
    for rule in lb.inbound_nat_rules:
        if rule.frontend_ip_configuration != frontend.id:
            continue
        proto = (rule.protocol or "").casefold()
        if proto not in ("all", protocol.value.casefold()):
            continue
        if rule.backend_address_pool is not None:
            start, end = rule.frontend_port_range_start, rule.frontend_port_range_end
            if start is not None and end is not None and start <= port <= end:
                return rule
        elif rule.frontend_port == port:
            return rule
    return None


def probe_of(lb: LoadBalancer, rule: LoadBalancingRule) -> Probe | None:
    return next((p for p in lb.probes if p.id == rule.probe), None)


def is_basic(lb: LoadBalancer) -> bool:
    return (lb.sku or "").casefold() == "basic"
