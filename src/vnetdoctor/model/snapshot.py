"""The Snapshot: every resource of an estate, indexed by id, plus what the loader noticed.

A Snapshot is immutable once built. Derived indexes (subnet by id, NIC by private IP) are computed
on first use and cached, so that loading stays cheap and lookups stay fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

import msgspec

from vnetdoctor.errors import ResourceNotFound
from vnetdoctor.model.bastion import BastionHost
from vnetdoctor.model.classic import ClassicVirtualMachine
from vnetdoctor.model.compute import (
    IpConfiguration,
    NetworkInterface,
    PublicIpAddress,
    VirtualMachine,
)
from vnetdoctor.model.dns import (
    DnsForwardingRuleset,
    DnsResolver,
    InboundEndpoint,
    PrivateDnsZone,
    PrivateDnsZoneLink,
    RulesetLink,
)
from vnetdoctor.model.firewall import AzureFirewall, FirewallPolicy, IpGroup
from vnetdoctor.model.gateway import Connection, LocalNetworkGateway, VirtualNetworkGateway
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import LoadBalancer, NatGateway
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.network import RouteTable, Subnet, VirtualNetwork, VirtualNetworkPeering
from vnetdoctor.model.network_manager import EffectiveSecurityAdminRules, SecurityAdminRule
from vnetdoctor.model.private_endpoint import PrivateEndpoint
from vnetdoctor.model.scaleset import InstanceNames, VirtualMachineScaleSet, instances_by_set
from vnetdoctor.model.security import ApplicationSecurityGroup, NetworkSecurityGroup
from vnetdoctor.model.warnings import IngestWarning

T = TypeVar("T", bound=msgspec.Struct)


class Resources(Mapping[ResourceId, T], Generic[T]):
    """A read-only id -> resource mapping that also finds resources by name (case-insensitively)."""

    __slots__ = ("_by_id", "_by_name", "_kind")

    def __init__(self, kind: str, items: Mapping[ResourceId, T]) -> None:
        self._kind = kind
        self._by_id: Mapping[ResourceId, T] = MappingProxyType(
            items if isinstance(items, dict) else dict(items)
        )
        self._by_name: dict[str, list[ResourceId]] | None = None

    def __getitem__(self, key: ResourceId | str) -> T:
        rid = key if isinstance(key, ResourceId) else ResourceId(key)
        return self._by_id[rid]

    def __iter__(self) -> Iterator[ResourceId]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            key = ResourceId(key) if key.strip() else None
        return key in self._by_id

    def get_ref(self, rid: ResourceId | None) -> T | None:
        return None if rid is None else self._by_id.get(rid)

    def find(self, name_or_id: str) -> T:
        """Resolve a name or full id; an ambiguous name lists the candidates."""
        text = name_or_id.strip()
        if text.startswith("/"):
            found = self._by_id.get(ResourceId(text))
            if found is None:
                raise ResourceNotFound(self._kind, text)
            return found
        if self._by_name is None:
            index: dict[str, list[ResourceId]] = {}
            for rid, res in self._by_id.items():
                index.setdefault(str(getattr(res, "name", rid.name)).casefold(), []).append(rid)
            self._by_name = index
        matches = self._by_name.get(text.casefold(), [])
        if len(matches) == 1:
            return self._by_id[matches[0]]
        if not matches:
            raise ResourceNotFound(self._kind, text)
        raise ResourceNotFound(self._kind, text, sorted(str(m) for m in matches))


class VirtualMachines(Resources[VirtualMachine]):
    """The VM table, which also finds a scale-set instance by the names Azure's tools give it
    (``vmss/3``, the computer name, a one-instance set's name) when no VM has the name itself."""

    __slots__ = ("_instance_names",)

    def __init__(self, items: Mapping[ResourceId, VirtualMachine]) -> None:
        super().__init__("virtual machine", items)
        self._instance_names: InstanceNames | None = None

    def find(self, name_or_id: str) -> VirtualMachine:
        try:
            return super().find(name_or_id)
        except ResourceNotFound as exc:
            if exc.candidates or name_or_id.strip().startswith("/"):
                raise
            missing = exc
        if self._instance_names is None:
            self._instance_names = InstanceNames(self)
        found = self._instance_names.lookup(name_or_id.strip())
        if not found:
            raise missing
        if len(found) > 1:
            raise ResourceNotFound(self._kind, name_or_id.strip(), sorted(str(m) for m in found))
        return self[found[0]]


class Snapshot:
    """An Azure estate as vnetdoctor sees it. Build it with :func:`vnetdoctor.load_snapshot`."""

    def __init__(
        self,
        *,
        virtual_networks: Mapping[ResourceId, VirtualNetwork] | None = None,
        network_interfaces: Mapping[ResourceId, NetworkInterface] | None = None,
        virtual_machines: Mapping[ResourceId, VirtualMachine] | None = None,
        network_security_groups: Mapping[ResourceId, NetworkSecurityGroup] | None = None,
        route_tables: Mapping[ResourceId, RouteTable] | None = None,
        application_security_groups: Mapping[ResourceId, ApplicationSecurityGroup] | None = None,
        public_ip_addresses: Mapping[ResourceId, PublicIpAddress] | None = None,
        load_balancers: Mapping[ResourceId, LoadBalancer] | None = None,
        nat_gateways: Mapping[ResourceId, NatGateway] | None = None,
        virtual_network_gateways: Mapping[ResourceId, VirtualNetworkGateway] | None = None,
        connections: Mapping[ResourceId, Connection] | None = None,
        local_network_gateways: Mapping[ResourceId, LocalNetworkGateway] | None = None,
        classic_virtual_machines: Mapping[ResourceId, ClassicVirtualMachine] | None = None,
        azure_firewalls: Mapping[ResourceId, AzureFirewall] | None = None,
        firewall_policies: Mapping[ResourceId, FirewallPolicy] | None = None,
        ip_groups: Mapping[ResourceId, IpGroup] | None = None,
        effective_admin_rules: Mapping[ResourceId, EffectiveSecurityAdminRules] | None = None,
        virtual_machine_scale_sets: Mapping[ResourceId, VirtualMachineScaleSet] | None = None,
        private_dns_zones: Mapping[ResourceId, PrivateDnsZone] | None = None,
        dns_resolvers: Mapping[ResourceId, DnsResolver] | None = None,
        dns_forwarding_rulesets: Mapping[ResourceId, DnsForwardingRuleset] | None = None,
        private_endpoints: Mapping[ResourceId, PrivateEndpoint] | None = None,
        bastion_hosts: Mapping[ResourceId, BastionHost] | None = None,
        other_resources: Mapping[str, int] | None = None,
        warnings: Iterable[IngestWarning] = (),
        sources: Iterable[str] = (),
    ) -> None:
        self.virtual_networks = Resources("virtual network", virtual_networks or {})
        self.network_interfaces = Resources("network interface", network_interfaces or {})
        self.virtual_machines = VirtualMachines(virtual_machines or {})
        self.network_security_groups = Resources(
            "network security group", network_security_groups or {}
        )
        self.route_tables = Resources("route table", route_tables or {})
        self.application_security_groups = Resources(
            "application security group", application_security_groups or {}
        )
        self.public_ip_addresses = Resources("public IP address", public_ip_addresses or {})
        self.load_balancers = Resources("load balancer", load_balancers or {})
        self.nat_gateways = Resources("NAT gateway", nat_gateways or {})
        self.virtual_network_gateways = Resources(
            "virtual network gateway", virtual_network_gateways or {}
        )
        self.connections = Resources("connection", connections or {})
        self.local_network_gateways = Resources(
            "local network gateway", local_network_gateways or {}
        )
        self.classic_virtual_machines = Resources(
            "classic virtual machine", classic_virtual_machines or {}
        )
        self.azure_firewalls = Resources("Azure Firewall", azure_firewalls or {})
        self.firewall_policies = Resources("firewall policy", firewall_policies or {})
        self.ip_groups = Resources("IP group", ip_groups or {})
        self._firewall_by_ip: dict[IPAddress, AzureFirewall] | None = None
        self.effective_admin_rules = Resources(
            "effective security admin rules", effective_admin_rules or {}
        )
        self._admin_by_vnet: dict[ResourceId, tuple[SecurityAdminRule, ...]] | None = None
        self.virtual_machine_scale_sets = Resources(
            "virtual machine scale set", virtual_machine_scale_sets or {}
        )
        self._instances: dict[ResourceId, list[VirtualMachine]] | None = None
        self.private_dns_zones = Resources("private DNS zone", private_dns_zones or {})
        self.dns_resolvers = Resources("DNS private resolver", dns_resolvers or {})
        self.dns_forwarding_rulesets = Resources(
            "DNS forwarding ruleset", dns_forwarding_rulesets or {}
        )
        self.private_endpoints = Resources("private endpoint", private_endpoints or {})
        self._dns_by_vnet: _DnsIndex | None = None
        self.bastion_hosts = Resources("Bastion host", bastion_hosts or {})
        self.other_resources: Mapping[str, int] = MappingProxyType(dict(other_resources or {}))
        self.warnings: tuple[IngestWarning, ...] = tuple(warnings)
        self.sources: tuple[str, ...] = tuple(sources)
        self._subnets: dict[ResourceId, Subnet] | None = None
        self._by_private_ip: dict[IPAddress, list[tuple[NetworkInterface, IpConfiguration]]] | None
        self._by_private_ip = None
        self._nic_to_vm: dict[ResourceId, VirtualMachine] | None = None

    def __repr__(self) -> str:
        return (
            f"<Snapshot vnets={len(self.virtual_networks)} vms={len(self.virtual_machines)} "
            f"nics={len(self.network_interfaces)} nsgs={len(self.network_security_groups)} "
            f"warnings={len(self.warnings)}>"
        )

    # -- derived indexes ------------------------------------------------------------------------
    @property
    def subnets(self) -> Mapping[ResourceId, Subnet]:
        if self._subnets is None:
            self._subnets = {s.id: s for v in self.virtual_networks.values() for s in v.subnets}
        return self._subnets

    def subnet(self, rid: ResourceId | None) -> Subnet | None:
        return None if rid is None else self.subnets.get(rid)

    def subnet_vnet(self, subnet_id: ResourceId | None) -> VirtualNetwork | None:
        parent = None if subnet_id is None else subnet_id.parent
        return self.virtual_networks.get_ref(parent)

    def peering(self, rid: ResourceId) -> VirtualNetworkPeering | None:
        vnet = self.virtual_networks.get_ref(rid.parent)
        if vnet is None:
            return None
        return next((p for p in vnet.virtual_network_peerings if p.id == rid), None)

    def nics_of(self, vm: VirtualMachine) -> list[tuple[ResourceId, NetworkInterface | None]]:
        """The VM's NICs in the VM's order; ``None`` for a NIC absent from the snapshot."""
        return [(ref.id, self.network_interfaces.get_ref(ref.id)) for ref in vm.network_interfaces]

    def primary_nic(self, vm: VirtualMachine) -> NetworkInterface | None:
        refs = vm.network_interfaces
        chosen = next((r for r in refs if r.primary), refs[0] if refs else None)
        return None if chosen is None else self.network_interfaces.get_ref(chosen.id)

    def nics_with_ip(self, ip: IPAddress) -> list[tuple[NetworkInterface, IpConfiguration]]:
        if self._by_private_ip is None:
            index: dict[IPAddress, list[tuple[NetworkInterface, IpConfiguration]]] = {}
            for nic in self.network_interfaces.values():
                for ipc in nic.ip_configurations:
                    if ipc.private_ip_address is not None:
                        index.setdefault(ipc.private_ip_address, []).append((nic, ipc))
            self._by_private_ip = index
        return list(self._by_private_ip.get(ip, ()))

    def vm_of_nic(self, nic: NetworkInterface) -> VirtualMachine | None:
        vm = self.virtual_machines.get_ref(nic.virtual_machine)
        if vm is not None:
            return vm
        if self._nic_to_vm is None:
            self._nic_to_vm = {
                ref.id: candidate
                for candidate in self.virtual_machines.values()
                for ref in candidate.network_interfaces
            }
        return self._nic_to_vm.get(nic.id)

    def instances_of(self, scale_set: ResourceId) -> tuple[VirtualMachine, ...]:
        """The instances (Uniform) or VMs (Flexible) of a scale set, by instance ID."""
        if self._instances is None:
            self._instances = instances_by_set(self.virtual_machines.values())
        return tuple(self._instances.get(scale_set, ()))

    def firewall_at(self, ip: IPAddress) -> AzureFirewall | None:
        """The Azure Firewall whose private (next-hop) address is ``ip``, if any."""
        if not self.azure_firewalls:
            return None
        if self._firewall_by_ip is None:
            self._firewall_by_ip = {
                addr: fw for fw in self.azure_firewalls.values() for addr in fw.private_ip_addresses
            }
        return self._firewall_by_ip.get(ip)

    def admin_rules_for(self, vnet_id: ResourceId | None) -> tuple[SecurityAdminRule, ...] | None:
        """The security admin rules in force on a VNet; ``None`` when the snapshot holds no
        effective list for it (which is not the same as an empty list)."""
        if vnet_id is None or not self.effective_admin_rules:
            return None
        if self._admin_by_vnet is None:
            index: dict[ResourceId, tuple[SecurityAdminRule, ...]] = {}
            for eff in self.effective_admin_rules.values():
                if eff.virtual_network is not None:
                    index[eff.virtual_network] = index.get(eff.virtual_network, ()) + eff.rules
            self._admin_by_vnet = index
        return self._admin_by_vnet.get(vnet_id)

    # -- names: private DNS zones, resolvers, rulesets, private endpoints ------------------------
    def _dns_index(self) -> _DnsIndex:
        if self._dns_by_vnet is None:
            self._dns_by_vnet = _DnsIndex(self)
        return self._dns_by_vnet

    def zone_links_of(
        self, vnet_id: ResourceId | None
    ) -> tuple[tuple[PrivateDnsZone, PrivateDnsZoneLink], ...]:
        """The private DNS zones linked to a VNet, each with its link (any link state)."""
        return () if vnet_id is None else self._dns_index().zones.get(vnet_id, ())

    def ruleset_links_of(
        self, vnet_id: ResourceId | None
    ) -> tuple[tuple[DnsForwardingRuleset, RulesetLink], ...]:
        """The DNS forwarding rulesets linked to a VNet, each with its link."""
        return () if vnet_id is None else self._dns_index().rulesets.get(vnet_id, ())

    def inbound_endpoint_at(self, ip: IPAddress) -> tuple[DnsResolver, InboundEndpoint] | None:
        """The DNS Private Resolver inbound endpoint that owns ``ip``, if any."""
        return self._dns_index().inbound.get(ip)

    def private_endpoints_to(self, target: ResourceId) -> tuple[PrivateEndpoint, ...]:
        """The private endpoints whose connection names ``target`` as its Private Link service."""
        return self._dns_index().endpoints_by_target.get(target, ())


class _DnsIndex:
    """Per-VNet views of zone links and ruleset links, inbound endpoints by address, and private
    endpoints by target: built once, on the first name lookup."""

    __slots__ = ("endpoints_by_target", "inbound", "rulesets", "zones")

    def __init__(self, s: Snapshot) -> None:
        zones: dict[ResourceId, list[tuple[PrivateDnsZone, PrivateDnsZoneLink]]] = {}
        for zone in s.private_dns_zones.values():
            for link in zone.virtual_network_links:
                if link.virtual_network is not None:
                    zones.setdefault(link.virtual_network, []).append((zone, link))
        rulesets: dict[ResourceId, list[tuple[DnsForwardingRuleset, RulesetLink]]] = {}
        for ruleset in s.dns_forwarding_rulesets.values():
            for rlink in ruleset.virtual_network_links:
                if rlink.virtual_network is not None:
                    rulesets.setdefault(rlink.virtual_network, []).append((ruleset, rlink))
        inbound: dict[IPAddress, tuple[DnsResolver, InboundEndpoint]] = {}
        for resolver in s.dns_resolvers.values():
            for endpoint in resolver.inbound_endpoints:
                for ipc in endpoint.ip_configurations:
                    if ipc.private_ip_address is not None:
                        inbound.setdefault(ipc.private_ip_address, (resolver, endpoint))
        targets: dict[ResourceId, list[PrivateEndpoint]] = {}
        for pe in s.private_endpoints.values():
            for conn in pe.connections:
                if conn.private_link_service_id is not None:
                    seen = targets.setdefault(conn.private_link_service_id, [])
                    if pe not in seen:
                        seen.append(pe)
        self.zones = {k: tuple(v) for k, v in zones.items()}
        self.rulesets = {k: tuple(v) for k, v in rulesets.items()}
        self.inbound = inbound
        self.endpoints_by_target = {k: tuple(v) for k, v in targets.items()}
