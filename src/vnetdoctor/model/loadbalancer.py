"""Load balancers and NAT gateways: what decides inbound frontends and outbound SNAT."""

from __future__ import annotations

import msgspec

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress


class FrontendIpConfiguration(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    private_ip_address: IPAddress | None = None
    public_ip_address: ResourceId | None = None
    public_ip_prefix: ResourceId | None = None
    subnet: ResourceId | None = None
    zones: tuple[str, ...] = ()


class NatRulePortMapping(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One member's share of a v2 inbound NAT rule (``inboundNatRulesPortMapping``, read-only;
    also what ``queryInboundNatRulePortMapping`` returns):
    ``docs/semantics/load-balancers.md#inbound-nat-rules``."""

    inbound_nat_rule_name: str | None = None
    frontend_port: int | None = None
    backend_port: int | None = None


class LoadBalancerBackendAddress(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A backend pool member given by IP (pools by IP) or by NIC ip configuration."""

    name: str | None = None
    ip_address: IPAddress | None = None
    virtual_network: ResourceId | None = None
    subnet: ResourceId | None = None
    network_interface_ip_configuration: ResourceId | None = None
    admin_state: str | None = None  # None | Up | Down: overrides the health probe (L3)
    # Port mappings of v2 inbound NAT rules for this member; ``None`` when the snapshot does
    # not carry the (read-only) property, ``()`` when it says there are none.
    inbound_nat_rules_port_mapping: tuple[NatRulePortMapping, ...] | None = None


class BackendAddressPool(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    backend_ip_configurations: tuple[ResourceId, ...] = ()
    load_balancer_backend_addresses: tuple[LoadBalancerBackendAddress, ...] = ()


class Probe(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    protocol: str | None = None
    port: int | None = None
    request_path: str | None = None
    interval_in_seconds: int | None = None
    number_of_probes: int | None = None
    probe_threshold: int | None = None
    no_healthy_backends_behavior: str | None = None  # AllProbedDown (assumed default) | AllProbedUp


class LoadBalancingRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    frontend_ip_configuration: ResourceId | None = None
    backend_address_pools: tuple[ResourceId, ...] = ()
    probe: ResourceId | None = None
    protocol: str | None = None
    frontend_port: int | None = None
    backend_port: int | None = None
    enable_floating_ip: bool = False
    disable_outbound_snat: bool = False
    enable_tcp_reset: bool = False
    idle_timeout_in_minutes: int | None = None
    load_distribution: str | None = None
    index: int = 0


class OutboundRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    frontend_ip_configurations: tuple[ResourceId, ...] = ()
    backend_address_pool: ResourceId | None = None
    protocol: str | None = None
    allocated_outbound_ports: int | None = None
    idle_timeout_in_minutes: int | None = None
    enable_tcp_reset: bool = False
    index: int = 0


class InboundNatRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    frontend_ip_configuration: ResourceId | None = None
    backend_ip_configuration: ResourceId | None = None
    backend_address_pool: ResourceId | None = None
    protocol: str | None = None
    frontend_port: int | None = None
    backend_port: int | None = None
    frontend_port_range_start: int | None = None
    frontend_port_range_end: int | None = None
    enable_floating_ip: bool = False
    index: int = 0


class LoadBalancer(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    sku: str | None = None
    frontend_ip_configurations: tuple[FrontendIpConfiguration, ...] = ()
    backend_address_pools: tuple[BackendAddressPool, ...] = ()
    load_balancing_rules: tuple[LoadBalancingRule, ...] = ()
    outbound_rules: tuple[OutboundRule, ...] = ()
    probes: tuple[Probe, ...] = ()
    inbound_nat_rules: tuple[InboundNatRule, ...] = ()
    provisioning_state: str | None = None


class NatGateway(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId
    name: str
    location: str | None = None
    sku: str | None = None
    public_ip_addresses: tuple[ResourceId, ...] = ()
    public_ip_prefixes: tuple[ResourceId, ...] = ()
    subnets: tuple[ResourceId, ...] = ()
    idle_timeout_in_minutes: int | None = None
    provisioning_state: str | None = None
