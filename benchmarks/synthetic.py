"""Generate realistic synthetic Azure estates as ARM JSON, for benchmarking vnetdoctor.

The recorded fixtures hold a handful of resources each; load-time and memory targets
only mean something on an estate of enterprise size.  This module builds one: a hub
VNet with an NVA, spoke VNets peered to it in both directions, NSGs of 20-200 rules,
ASGs, route tables with UDRs, one NIC per VM, public IPs and VMs with an instance
view.  Every body has the shape Azure's GET responses have (keys, nesting, casing
quirks such as upper-cased back-references), so the loader is exercised on what it
will really parse.  Output is deterministic for a given seed.

CLI: ``python benchmarks/synthetic.py --vms 10000 [--seed 0] --out FILE``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
LOCATION = "westeurope"

Resource = dict[str, Any]
Endpoint = tuple[str, Any]  # ("prefix", str) | ("prefixes", list[str]) | ("asg", list[str])

_NET = "Microsoft.Network"
_SPACE = ipaddress.IPv4Network("10.0.0.0/8")
_BLOCK = 4096  # every VNet gets a /20: the hub the first, spoke i the (i+1)-th
_SPOKE_SUBNET_ROLES = ("web", "app", "data", "mgmt", "batch", "int")
_ROLE_WEIGHTS = {"web": 5, "app": 6, "data": 3, "mgmt": 1, "batch": 3, "int": 2}
_PORTS = ("22", "80", "443", "1433", "3389", "5432", "6379", "8080", "8443", "9092", "5671")
_PORT_RANGES = ("8000-8100", "30000-32767", "49152-65535", "1024-2047", "9000-9010")
_IN_TAGS = ("VirtualNetwork", "AzureLoadBalancer", "Internet", "AzureCloud", "GatewayManager")
_OUT_TAGS = (
    "Storage",
    "Storage.WestEurope",
    "Sql",
    "Sql.WestEurope",
    "AzureMonitor",
    "AzureActiveDirectory",
    "AzureKeyVault",
    "Internet",
    "VirtualNetwork",
    "EventHub",
)
_PUBLIC_CIDRS = (
    "203.0.113.0/24",
    "198.51.100.0/24",
    "192.0.2.0/24",
    "52.178.0.0/17",
    "40.74.0.0/18",
)
_KMS_ROUTES = ("20.118.99.224/32", "40.83.235.53/32", "23.102.135.246/32")
_VM_SIZES = (
    "Standard_D2s_v5",
    "Standard_D4s_v5",
    "Standard_B2ms",
    "Standard_E4s_v5",
    "Standard_F4s_v2",
)

_DEFAULT_RULES: tuple[tuple[str, str, str, str, str, int, str], ...] = (
    (
        "AllowVnetInBound",
        "Allow inbound traffic from all VMs in VNET",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        65000,
        "Inbound",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        "Allow inbound traffic from azure load balancer",
        "AzureLoadBalancer",
        "*",
        "Allow",
        65001,
        "Inbound",
    ),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    (
        "AllowVnetOutBound",
        "Allow outbound traffic from all VMs to all VMs in VNET",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        65000,
        "Outbound",
    ),
    (
        "AllowInternetOutBound",
        "Allow outbound traffic from all VMs to Internet",
        "*",
        "Internet",
        "Allow",
        65001,
        "Outbound",
    ),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
)


def rid(resource_group: str, rtype: str, name: str, provider: str = _NET) -> str:
    """Build an ARM id under the benchmark subscription."""
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group}"
    return f"{group}/providers/{provider}/{rtype}/{name}"


def ref(resource_id: str) -> dict[str, str]:
    """An ARM sub-resource reference, ``{"id": ...}``."""
    return {"id": resource_id}


@dataclass
class _VmPlan:
    name: str
    role: str
    ips: list[str]
    public_ip: bool
    forwarding: bool = False
    nic_nsg: str | None = None
    asgs: list[str] = field(default_factory=list)


@dataclass
class _SubnetPlan:
    name: str
    id: str
    network: ipaddress.IPv4Network
    vms: list[_VmPlan] = field(default_factory=list)
    nsg: str | None = None
    route_table: str | None = None
    storage_endpoint: bool = False


@dataclass
class _VnetPlan:
    key: str  # "hub" or "spoke-007"
    name: str
    rg: str
    compute_rg: str
    space: ipaddress.IPv4Network
    subnets: list[_SubnetPlan] = field(default_factory=list)

    @property
    def id(self) -> str:
        return rid(self.rg, "virtualNetworks", self.name)


class _Generator:
    """Stateful builder: the one Random drives every choice, so a seed fixes the output."""

    def __init__(self, n_vms: int, seed: int) -> None:
        self.n_vms = n_vms
        self.rng = random.Random(seed)
        self.epoch = datetime(2024, 1, 8, tzinfo=UTC)
        self.public_ips: set[str] = set()
        self.nsgs: list[Resource] = []
        self.asgs: list[Resource] = []
        self.route_tables: list[Resource] = []
        self.nsg_by_id: dict[str, Resource] = {}
        self.rt_by_id: dict[str, Resource] = {}

    # -- small helpers ----------------------------------------------------------------

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def etag(self) -> str:
        return f'W/"{self.guid()}"'

    def timestamp(self) -> str:
        moment = self.epoch + timedelta(seconds=self.rng.randrange(200 * 86400))
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{self.rng.randrange(10**7):07d}+00:00"

    def tags(self, env: str, owner: str) -> dict[str, str]:
        tags = {"environment": env, "owner": owner}
        if self.rng.random() < 0.5:
            tags["costCenter"] = f"CC-{self.rng.randint(1000, 9999)}"
        return tags

    def public_ip_address(self) -> str:
        while True:
            r = self.rng
            addr = f"20.{r.randint(16, 126)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
            if addr not in self.public_ips:
                self.public_ips.add(addr)
                return addr

    # -- planning: address space, subnets, private IPs ---------------------------------

    def split_counts(self) -> tuple[int, int, list[int]]:
        """Hub NVAs, hub shared-service VMs, then spokes of 50-200 VMs each."""
        nva = min(2, self.n_vms)
        shared = min(self.n_vms - nva, 40, self.n_vms // 100)
        rest = self.n_vms - nva - shared
        spokes: list[int] = []
        while rest > 0:
            size = min(rest, self.rng.randint(50, 200))
            spokes.append(size)
            rest -= size
        return nva, shared, spokes

    def place(self, vnet: _VnetPlan, layout: list[tuple[str, int | None, list[_VmPlan]]]) -> None:
        """Carve subnets out of the VNet's /20 (aligned, sized to fit) and pick their IPs.

        IPs are a random sample of host offsets from .4 up (Azure reserves .0-.3 and the
        broadcast), as dynamic allocation leaves holes over time; unique by construction.
        """
        cursor = int(vnet.space.network_address)
        end = int(vnet.space.broadcast_address) + 1
        for name, fixed_prefixlen, vms in layout:
            slots = sum(len(vm.ips) for vm in vms)
            # About half full, as subnets are planned with headroom; /27 at the smallest.
            prefixlen = fixed_prefixlen or min(27, 32 - (2 * slots + 4).bit_length())
            size = 2 ** (32 - prefixlen)
            while size - 5 < slots:
                prefixlen, size = prefixlen - 1, size * 2
            cursor = -(-cursor // size) * size
            if cursor + size > end:
                msg = f"{vnet.name}: address space {vnet.space} exhausted"
                raise RuntimeError(msg)
            network = ipaddress.IPv4Network((cursor, prefixlen))
            cursor += size
            offsets = sorted(self.rng.sample(range(4, size - 1), slots))
            hosts = iter(str(network.network_address + off) for off in offsets)
            for vm in vms:
                vm.ips = [next(hosts) for _ in vm.ips]
            subnet = _SubnetPlan(name, f"{vnet.id}/subnets/{name}", network, vms)
            vnet.subnets.append(subnet)

    def vm_plan(self, name: str, role: str, public_prob: float) -> _VmPlan:
        n_ips = 2 if self.rng.random() < 0.08 else 1
        return _VmPlan(name, role, [""] * n_ips, self.rng.random() < public_prob)

    def plan(self) -> tuple[_VnetPlan, list[_VnetPlan]]:
        nva, shared, spoke_sizes = self.split_counts()
        if len(spoke_sizes) + 1 > _SPACE.num_addresses // _BLOCK:
            msg = "too many spokes for 10.0.0.0/8"
            raise ValueError(msg)

        def block(i: int) -> ipaddress.IPv4Network:
            return ipaddress.IPv4Network((int(_SPACE.network_address) + i * _BLOCK, 20))

        hub = _VnetPlan("hub", "vnet-hub-weu", "rg-hub-network", "rg-hub-compute", block(0))
        nvas = [
            _VmPlan(f"vm-hub-nva-{i + 1:02d}", "nva", [""], True, forwarding=True)
            for i in range(nva)
        ]
        shared_vms = [
            self.vm_plan(
                f"vm-hub-{'jump' if i < 2 else 'dns'}-{i + 1:02d}", "shared", 1.0 if i == 0 else 0.0
            )
            for i in range(shared)
        ]
        self.place(
            hub,
            [
                ("snet-nva", 26, nvas),
                ("AzureBastionSubnet", 26, []),
                ("GatewaySubnet", 27, []),
                ("snet-shared", 24, shared_vms),
            ],
        )

        spokes: list[_VnetPlan] = []
        for i, size in enumerate(spoke_sizes, start=1):
            key = f"spoke-{i:03d}"
            vnet = _VnetPlan(
                key, f"vnet-{key}-weu", f"rg-{key}-network", f"rg-{key}-compute", block(i)
            )
            roles = [
                "web",
                "app",
                "data",
                *self.rng.sample(_SPOKE_SUBNET_ROLES[3:], self.rng.randint(0, 3)),
            ]
            weights = [_ROLE_WEIGHTS[r] for r in roles]
            by_role: dict[str, list[_VmPlan]] = {r: [] for r in roles}
            for j in range(size):
                role = self.rng.choices(roles, weights)[0]
                by_role[role].append(self.vm_plan(f"vm-{key[6:]}-{role}-{j + 1:04d}", role, 0.03))
            self.place(vnet, [(f"snet-{r}", None, by_role[r]) for r in roles])
            spokes.append(vnet)
        return hub, spokes

    # -- NSGs, ASGs, route tables --------------------------------------------------------

    def asg(self, rg: str, name: str) -> str:
        asg_id = rid(rg, "applicationSecurityGroups", name)
        self.asgs.append(
            {
                "name": name,
                "id": asg_id,
                "etag": self.etag(),
                "type": f"{_NET}/applicationSecurityGroups",
                "location": LOCATION,
                "properties": {"resourceGuid": self.guid(), "provisioningState": "Succeeded"},
            }
        )
        return asg_id

    def endpoint(
        self, direction: str, local: list[str], remote: list[str], asgs: list[str], side: str
    ) -> Endpoint:
        """Pick one rule side: the "near" side is the NSG's own subnets, the far side elsewhere."""
        near = (direction == "Inbound") == (side == "destination")
        tags = _IN_TAGS if direction == "Inbound" else _OUT_TAGS
        roll = self.rng.random()
        if asgs and roll < 0.18:
            return ("asg", [self.rng.choice(asgs)])
        if roll < 0.42:
            pool = local if near else remote + local
            return ("prefix", self.rng.choice(pool))
        if roll < 0.55 and not near:
            return ("prefix", self.rng.choice(tags))
        if roll < 0.62 and near:
            return ("prefix", "VirtualNetwork" if self.rng.random() < 0.5 else "*")
        if roll < 0.75:
            ips = [
                str(ipaddress.IPv4Network(p).network_address + self.rng.randint(4, 30))
                for p in self.rng.choices(
                    local if near else remote + local, k=self.rng.randint(1, 3)
                )
            ]
            return ("prefix", ips[0]) if len(ips) == 1 else ("prefixes", sorted(set(ips)))
        if roll < 0.88 or near:
            k = self.rng.randint(2, 8)
            pool = local if near else remote + list(_PUBLIC_CIDRS)
            return ("prefixes", sorted(set(self.rng.choices(pool, k=k))))
        return ("prefix", "*")

    @staticmethod
    def priorities(rng: random.Random, k: int) -> list[int]:
        """k distinct priorities in 100..4096: mostly multiples of 10, some nudged by 1-9."""
        grid = sorted(rng.sample(range(100, 4097, 10), k))
        return [p + rng.randint(1, 9) if rng.random() < 0.1 and p + 9 <= 4096 else p for p in grid]

    def rules(
        self, nsg_id: str, n_rules: int, local: list[str], remote: list[str], asgs: list[str]
    ) -> list[Resource]:
        n_in = max(1, round(n_rules * self.rng.uniform(0.55, 0.8)))
        etag = self.nsg_by_id[nsg_id]["etag"]
        out: list[Resource] = []
        for direction, count in (("Inbound", n_in), ("Outbound", n_rules - n_in)):
            for priority in self.priorities(self.rng, count):
                access = "Deny" if self.rng.random() < 0.15 else "Allow"
                protocol = self.rng.choices(("Tcp", "Udp", "*", "Icmp"), (14, 3, 4, 1))[0]
                src = self.endpoint(direction, local, remote, asgs, "source")
                dst = self.endpoint(direction, local, remote, asgs, "destination")
                port_roll = self.rng.random()
                ports: Endpoint
                if protocol == "Icmp" or port_roll < 0.12:
                    ports = ("prefix", "*")
                elif port_roll < 0.55:
                    ports = ("prefix", self.rng.choice(_PORTS))
                elif port_roll < 0.7:
                    ports = ("prefix", self.rng.choice(_PORT_RANGES))
                else:
                    mix = self.rng.sample(_PORTS, self.rng.randint(2, 5)) + self.rng.sample(
                        _PORT_RANGES, 1
                    )
                    ports = ("prefixes", sorted(mix))
                name = f"{access}-{protocol.strip('*') or 'Any'}-{direction[:-5]}-{priority}"
                props: Resource = {"provisioningState": "Succeeded"}
                if self.rng.random() < 0.3:
                    change = self.rng.randint(10000, 99999)
                    props["description"] = f"{access} {protocol} {direction.lower()} (CHG{change})"
                props["protocol"] = protocol
                props["sourcePortRange"] = "*"
                if ports[0] == "prefix":
                    props["destinationPortRange"] = ports[1]
                for key, ep in (("source", src), ("destination", dst)):
                    if ep[0] == "prefix":
                        props[f"{key}AddressPrefix"] = ep[1]
                props.update(
                    {
                        "access": access,
                        "priority": priority,
                        "direction": direction,
                        "sourcePortRanges": [],
                        "destinationPortRanges": ports[1] if ports[0] == "prefixes" else [],
                    }
                )
                for key, ep in (("source", src), ("destination", dst)):
                    props[f"{key}AddressPrefixes"] = ep[1] if ep[0] == "prefixes" else []
                for key, ep in (("source", src), ("destination", dst)):
                    if ep[0] == "asg":
                        props[f"{key}ApplicationSecurityGroups"] = [ref(a) for a in ep[1]]
                out.append(
                    {
                        "name": name,
                        "id": f"{nsg_id}/securityRules/{name}",
                        "etag": etag,
                        "type": f"{_NET}/networkSecurityGroups/securityRules",
                        "properties": props,
                    }
                )
        return out

    def nsg(
        self, rg: str, name: str, n_rules: int, local: list[str], remote: list[str], asgs: list[str]
    ) -> str:
        nsg_id = rid(rg, "networkSecurityGroups", name)
        etag = self.etag()
        body: Resource = {
            "name": name,
            "id": nsg_id,
            "etag": etag,
            "type": f"{_NET}/networkSecurityGroups",
            "location": LOCATION,
            "tags": self.tags("prod", "netops"),
            "properties": {"provisioningState": "Succeeded", "resourceGuid": self.guid()},
        }
        self.nsgs.append(body)
        self.nsg_by_id[nsg_id] = body
        props = body["properties"]
        props["securityRules"] = self.rules(nsg_id, n_rules, local, remote, asgs)
        props["defaultSecurityRules"] = [
            {
                "name": rule_name,
                "id": f"{nsg_id}/defaultSecurityRules/{rule_name}",
                "etag": etag,
                "type": f"{_NET}/networkSecurityGroups/defaultSecurityRules",
                "properties": {
                    "provisioningState": "Succeeded",
                    "description": description,
                    "protocol": "*",
                    "sourcePortRange": "*",
                    "destinationPortRange": "*",
                    "sourceAddressPrefix": src,
                    "destinationAddressPrefix": dst,
                    "access": access,
                    "priority": priority,
                    "direction": direction,
                    "sourcePortRanges": [],
                    "destinationPortRanges": [],
                    "sourceAddressPrefixes": [],
                    "destinationAddressPrefixes": [],
                },
            }
            for rule_name, description, src, dst, access, priority, direction in _DEFAULT_RULES
        ]
        return nsg_id

    def n_rules(self) -> int:
        """20-200 rules, most NSGs at the low end as in real estates."""
        return round(self.rng.triangular(20, 200, 45))

    def route_table(
        self, rg: str, name: str, routes: list[tuple[str, str, str, str | None]]
    ) -> str:
        rt_id = rid(rg, "routeTables", name)
        etag = self.etag()
        body: Resource = {
            "name": name,
            "id": rt_id,
            "etag": etag,
            "type": f"{_NET}/routeTables",
            "location": LOCATION,
            "tags": self.tags("prod", "netops"),
            "properties": {
                "provisioningState": "Succeeded",
                "resourceGuid": self.guid(),
                "disableBgpRoutePropagation": self.rng.random() < 0.7,
                "routes": [
                    {
                        "name": route_name,
                        "id": f"{rt_id}/routes/{route_name}",
                        "etag": etag,
                        "properties": {
                            "provisioningState": "Succeeded",
                            "addressPrefix": prefix,
                            "nextHopType": hop,
                            **({"nextHopIpAddress": hop_ip} if hop_ip else {}),
                            "hasBgpOverride": False,
                        },
                        "type": f"{_NET}/routeTables/routes",
                    }
                    for route_name, prefix, hop, hop_ip in routes
                ],
            },
        }
        self.route_tables.append(body)
        self.rt_by_id[rt_id] = body
        return rt_id

    def udrs(
        self, own: _VnetPlan, others: list[_VnetPlan], hub: _VnetPlan, nva_ip: str | None
    ) -> list[tuple[str, str, str, str | None]]:
        """5-50 UDRs: default and spoke-to-spoke via the NVA, blackholes, KMS to Internet."""
        wanted = self.rng.randint(5, 50)
        routes: dict[str, tuple[str, str, str, str | None]] = {}

        def add(name: str, prefix: str, hop: str) -> None:
            if prefix not in routes and len(routes) < wanted:
                ip = nva_ip if hop == "VirtualAppliance" else None
                if hop != "VirtualAppliance" or ip:
                    routes[prefix] = (name, prefix, hop, ip)

        add("udr-default-to-nva", "0.0.0.0/0", "VirtualAppliance")
        add("udr-blackhole-172-16", "172.16.0.0/12", "None")
        add("udr-blackhole-192-168", "192.168.0.0/16", "None")
        for i, prefix in enumerate(_KMS_ROUTES):
            add(f"udr-kms-{i + 1}", prefix, "Internet")
        if hub is not own:
            add("udr-hub-shared", str(hub.subnets[-1].network), "VirtualAppliance")
        add("udr-own-vnet-local", str(own.space), "VnetLocal")
        for other in self.rng.sample(others, min(len(others), wanted)):
            if other is not own:
                add(f"udr-{other.key}", str(other.space), "VirtualAppliance")
        i = 0
        while len(routes) < wanted:
            i += 1
            add(
                f"udr-onprem-{i:02d}",
                f"172.{self.rng.randint(16, 31)}.{self.rng.randint(0, 255)}.0/24",
                self.rng.choice(("VirtualAppliance", "VirtualAppliance", "None")),
            )
        return list(routes.values())

    def security(self, hub: _VnetPlan, spokes: list[_VnetPlan]) -> None:
        """Attach ASGs, subnet and NIC NSGs and route tables to the planned subnets and VMs."""
        everyone = [hub, *spokes]
        nva_ip = hub.subnets[0].vms[0].ips[0] if hub.subnets[0].vms else None
        spaces = [str(v.space) for v in everyone]
        hub_shared = hub.subnets[-1]
        if hub_shared.vms or spokes:
            local = [str(hub_shared.network)]
            hub_shared.nsg = self.nsg(hub.rg, "nsg-hub-shared", self.n_rules(), local, spaces, [])
            hub_shared.route_table = self.route_table(
                hub.rg, "rt-hub-shared", self.udrs(hub, spokes, hub, nva_ip)
            )
        for spoke in spokes:
            roles = [s.name[5:] for s in spoke.subnets]
            asg_ids = {r: self.asg(spoke.rg, f"asg-{spoke.key}-{r}") for r in roles if r != "mgmt"}
            for subnet in spoke.subnets:
                asg_id = asg_ids.get(subnet.name[5:])
                for vm in subnet.vms:
                    if asg_id and self.rng.random() < 0.6:
                        vm.asgs.append(asg_id)
            local = [str(s.network) for s in spoke.subnets]
            remote = [str(hub_shared.network), *self.rng.sample(spaces, min(6, len(spaces)))]
            asg_list = list(asg_ids.values())
            n_subnet_nsgs = self.rng.randint(1, 2)
            nsg_ids = [
                self.nsg(
                    spoke.rg,
                    f"nsg-{spoke.key}-{'front' if k == 0 else 'back'}",
                    self.n_rules(),
                    local,
                    remote,
                    asg_list,
                )
                for k in range(n_subnet_nsgs)
            ]
            rt_id = self.route_table(
                spoke.rg, f"rt-{spoke.key}", self.udrs(spoke, spokes, hub, nva_ip)
            )
            for k, subnet in enumerate(spoke.subnets):
                if k == 0 or self.rng.random() < 0.85:
                    subnet.nsg = nsg_ids[0 if subnet.name in ("snet-web", "snet-int") else -1]
                if k == 0 or self.rng.random() < 0.9:
                    subnet.route_table = rt_id
                subnet.storage_endpoint = subnet.name == "snet-data"
            if spoke is spokes[0] or self.rng.random() < 0.5:
                nic_nsg = self.nsg(
                    spoke.rg,
                    f"nsg-{spoke.key}-nic",
                    round(self.rng.triangular(20, 60, 25)),
                    local,
                    remote,
                    asg_list,
                )
                vms = [vm for s in spoke.subnets for vm in s.vms]
                for vm in self.rng.sample(vms, max(1, len(vms) // 20)):
                    vm.nic_nsg = nic_nsg

    # -- resource bodies ------------------------------------------------------------------

    def vnet_body(
        self, vnet: _VnetPlan, peers: list[_VnetPlan], is_hub: bool, dns: list[str]
    ) -> Resource:
        etag = self.etag()
        subnets: list[Resource] = []
        for s in vnet.subnets:
            props: Resource = {"provisioningState": "Succeeded", "addressPrefix": str(s.network)}
            if s.nsg:
                props["networkSecurityGroup"] = ref(s.nsg)
            if s.route_table:
                props["routeTable"] = ref(s.route_table)
            if s.storage_endpoint:
                props["serviceEndpoints"] = [
                    {
                        "provisioningState": "Succeeded",
                        "service": "Microsoft.Storage",
                        "locations": [LOCATION, "northeurope"],
                    }
                ]
            if s.vms:
                # Azure upper-cases the resource group and NIC segments of these back-references.
                props["ipConfigurations"] = [
                    ref(
                        rid(vnet.compute_rg.upper(), "networkInterfaces", f"NIC-{vm.name.upper()}")
                        + f"/ipConfigurations/IPCONFIG{k + 1}"
                    )
                    for vm in s.vms
                    for k in range(len(vm.ips))
                ]
            props.update(
                {
                    "delegations": [],
                    "privateEndpointNetworkPolicies": "Disabled",
                    "privateLinkServiceNetworkPolicies": "Enabled",
                }
            )
            subnets.append(
                {
                    "name": s.name,
                    "id": s.id,
                    "etag": etag,
                    "properties": props,
                    "type": f"{_NET}/virtualNetworks/subnets",
                }
            )
        peerings: list[Resource] = []
        for peer in peers:
            name = f"peer-{vnet.key}-to-{peer.key}"
            space = {"addressPrefixes": [str(peer.space)]}
            peerings.append(
                {
                    "name": name,
                    "id": f"{vnet.id}/virtualNetworkPeerings/{name}",
                    "etag": etag,
                    "properties": {
                        "provisioningState": "Succeeded",
                        "resourceGuid": self.guid(),
                        "peeringState": "Connected",
                        "peeringSyncLevel": "FullyInSync",
                        "remoteVirtualNetwork": ref(peer.id),
                        "allowVirtualNetworkAccess": True,
                        "allowForwardedTraffic": True,
                        "allowGatewayTransit": False,
                        "useRemoteGateways": False,
                        "doNotVerifyRemoteGateways": False,
                        "peerCompleteVnets": True,
                        "remoteAddressSpace": space,
                        "remoteVirtualNetworkAddressSpace": space,
                        "routeServiceVips": {},
                    },
                    "type": f"{_NET}/virtualNetworks/virtualNetworkPeerings",
                }
            )
        props = {
            "provisioningState": "Succeeded",
            "resourceGuid": self.guid(),
            "addressSpace": {"addressPrefixes": [str(vnet.space)]},
            **({"dhcpOptions": {"dnsServers": dns}} if dns and not is_hub else {}),
            "subnets": subnets,
            "virtualNetworkPeerings": peerings,
            "enableDdosProtection": False,
        }
        return {
            "name": vnet.name,
            "id": vnet.id,
            "etag": etag,
            "type": f"{_NET}/virtualNetworks",
            "location": LOCATION,
            "tags": self.tags("prod", "netops"),
            "properties": props,
        }

    def compute(self, vnet: _VnetPlan, subnet: _SubnetPlan, vm: _VmPlan) -> list[Resource]:
        """The public IP (if any), NIC and VM of one planned VM."""
        out: list[Resource] = []
        rg = vnet.compute_rg
        vm_id = rid(rg, "virtualMachines", vm.name, "Microsoft.Compute")
        nic_name = f"nic-{vm.name}"
        nic_id = rid(rg, "networkInterfaces", nic_name)
        etag = self.etag()
        env = self.rng.choice(("prod", "prod", "test", "dev"))
        ip_configs: list[Resource] = []
        for k, ip in enumerate(vm.ips):
            name = f"ipconfig{k + 1}"
            props: Resource = {
                "provisioningState": "Succeeded",
                "privateIPAddress": ip,
                "privateIPAllocationMethod": self.rng.choice(("Dynamic", "Dynamic", "Static")),
            }
            if vm.public_ip and k == 0:
                pip_name = f"pip-{vm.name}"
                pip_id = rid(rg, "publicIPAddresses", pip_name)
                props["publicIPAddress"] = ref(pip_id)
                out.append(
                    {
                        "name": pip_name,
                        "id": pip_id,
                        "etag": self.etag(),
                        "location": LOCATION,
                        "tags": self.tags(env, "platform"),
                        "properties": {
                            "provisioningState": "Succeeded",
                            "resourceGuid": self.guid(),
                            "ipAddress": self.public_ip_address(),
                            "publicIPAddressVersion": "IPv4",
                            "publicIPAllocationMethod": "Static",
                            "idleTimeoutInMinutes": 4,
                            "ipTags": [],
                            "ipConfiguration": ref(f"{nic_id}/ipConfigurations/{name}"),
                        },
                        "type": f"{_NET}/publicIPAddresses",
                        "sku": {"name": "Standard", "tier": "Regional"},
                        "zones": ["1", "2", "3"],
                    }
                )
            props.update(
                {"subnet": ref(subnet.id), "primary": k == 0, "privateIPAddressVersion": "IPv4"}
            )
            if vm.asgs:
                props["applicationSecurityGroups"] = [ref(a) for a in vm.asgs]
            ip_configs.append(
                {
                    "name": name,
                    "id": f"{nic_id}/ipConfigurations/{name}",
                    "etag": etag,
                    "type": f"{_NET}/networkInterfaces/ipConfigurations",
                    "properties": props,
                }
            )
        mac = "-".join(f"{b:02X}" for b in (0x00, 0x22, 0x48, *self.rng.randbytes(3)))
        nic_props: Resource = {
            "provisioningState": "Succeeded",
            "resourceGuid": self.guid(),
            "ipConfigurations": ip_configs,
            "dnsSettings": {
                "dnsServers": [],
                "appliedDnsServers": [],
                "internalDomainNameSuffix": f"{vnet.key.replace('-', '')}.ax.internal.cloudapp.net",
            },
            "macAddress": mac,
            "enableAcceleratedNetworking": self.rng.random() < 0.7,
            "vnetEncryptionSupported": False,
            "enableIPForwarding": vm.forwarding,
        }
        if vm.nic_nsg:
            nic_props["networkSecurityGroup"] = ref(vm.nic_nsg)
            self.nsg_by_id[vm.nic_nsg]["properties"].setdefault("networkInterfaces", []).append(
                ref(nic_id)
            )
        nic_props.update(
            {
                "primary": True,
                "virtualMachine": ref(vm_id),
                "hostedWorkloads": [],
                "tapConfigurations": [],
                "nicType": "Standard",
                "allowPort25Out": False,
                "auxiliaryMode": "None",
            }
        )
        out.append(
            {
                "name": nic_name,
                "id": nic_id,
                "etag": etag,
                "tags": self.tags(env, "platform"),
                "properties": nic_props,
                "type": f"{_NET}/networkInterfaces",
                "location": LOCATION,
                "kind": "Regular",
            }
        )
        out.append(self.vm_body(vm, rg, vm_id, nic_id, env))
        return out

    def vm_body(self, vm: _VmPlan, rg: str, vm_id: str, nic_id: str, env: str) -> Resource:
        windows = vm.role not in ("nva", "web", "batch") and self.rng.random() < 0.35
        created = self.timestamp()
        power = self.rng.choices(("running", "deallocated", "stopped"), (95, 4, 1))[0]
        if vm.forwarding:
            power = "running"
        disk = f"{vm.name}_OsDisk_1_{self.rng.getrandbits(128):032x}"
        if windows:
            image = {
                "publisher": "MicrosoftWindowsServer",
                "offer": "WindowsServer",
                "sku": "2022-datacenter-azure-edition",
                "version": "latest",
                "exactVersion": "20348.2340.240303",
            }
            os_config: Resource = {
                "windowsConfiguration": {
                    "provisionVMAgent": True,
                    "enableAutomaticUpdates": True,
                    "patchSettings": {
                        "patchMode": "AutomaticByOS",
                        "assessmentMode": "ImageDefault",
                    },
                }
            }
            os_name, os_version = "Windows Server 2022 Datacenter Azure Edition", "10.0.20348.2340"
        else:
            image = {
                "publisher": "Canonical",
                "offer": "0001-com-ubuntu-server-jammy",
                "sku": "22_04-lts-gen2",
                "version": "latest",
                "exactVersion": "22.04.202403010",
            }
            os_config = {
                "linuxConfiguration": {
                    "disablePasswordAuthentication": True,
                    "provisionVMAgent": True,
                    "patchSettings": {
                        "patchMode": "ImageDefault",
                        "assessmentMode": "ImageDefault",
                    },
                }
            }
            os_name, os_version = "ubuntu", "22.04"
        statuses: list[Resource] = [
            {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "time": created,
            },
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"},
        ]
        instance_view: Resource = {}
        if power == "running":
            instance_view = {
                "computerName": vm.name[:15],
                "osName": os_name,
                "osVersion": os_version,
                "vmAgent": {
                    "vmAgentVersion": "2.10.0.8",
                    "statuses": [
                        {
                            "code": "ProvisioningState/succeeded",
                            "level": "Info",
                            "displayStatus": "Ready",
                            "message": "Guest Agent is running",
                            "time": self.timestamp(),
                        }
                    ],
                },
            }
        instance_view.update(
            {
                "disks": [
                    {
                        "name": disk,
                        "statuses": [
                            {
                                "code": "ProvisioningState/succeeded",
                                "level": "Info",
                                "displayStatus": "Provisioning succeeded",
                                "time": created,
                            }
                        ],
                    }
                ],
                "hyperVGeneration": "V2",
                "statuses": statuses,
            }
        )
        return {
            "name": vm.name,
            "id": vm_id,
            "type": "Microsoft.Compute/virtualMachines",
            "location": LOCATION,
            "tags": self.tags(env, f"team-{vm.role}"),
            "properties": {
                "vmId": self.guid(),
                "hardwareProfile": {"vmSize": self.rng.choice(_VM_SIZES)},
                "storageProfile": {
                    "imageReference": image,
                    "osDisk": {
                        "osType": "Windows" if windows else "Linux",
                        "name": disk,
                        "createOption": "FromImage",
                        "caching": "ReadWrite",
                        "managedDisk": {
                            "storageAccountType": "Premium_LRS",
                            "id": rid(rg, "disks", disk, "Microsoft.Compute"),
                        },
                        "deleteOption": "Delete",
                        "diskSizeGB": 127 if windows else 30,
                    },
                    "dataDisks": [],
                },
                "osProfile": {
                    "computerName": vm.name[:15],
                    "adminUsername": "azureadmin",
                    **os_config,
                    "secrets": [],
                    "allowExtensionOperations": True,
                    "requireGuestProvisionSignal": True,
                },
                "networkProfile": {"networkInterfaces": [ref(nic_id)]},
                "provisioningState": "Succeeded",
                "instanceView": instance_view,
                "timeCreated": created,
            },
            "etag": f'"{self.rng.randint(1, 9)}"',
        }

    def build(self) -> list[Resource]:
        hub, spokes = self.plan()
        self.security(hub, spokes)
        dns = [vm.ips[0] for vm in hub.subnets[-1].vms if "-dns-" in vm.name][:2]
        vnets = [self.vnet_body(hub, spokes, True, dns)]
        vnets += [self.vnet_body(spoke, [hub], False, dns) for spoke in spokes]
        compute: list[Resource] = []
        for vnet in (hub, *spokes):
            for subnet in vnet.subnets:
                if subnet.nsg:
                    self.nsg_by_id[subnet.nsg]["properties"].setdefault("subnets", []).append(
                        ref(subnet.id)
                    )
                if subnet.route_table:
                    self.rt_by_id[subnet.route_table]["properties"].setdefault(
                        "subnets", []
                    ).append(ref(subnet.id))
                for vm in subnet.vms:
                    compute += self.compute(vnet, subnet, vm)
        return [*vnets, *self.nsgs, *self.asgs, *self.route_tables, *compute]


def generate_estate(n_vms: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Return a hub-and-spoke estate with exactly ``n_vms`` VMs as a list of ARM resources."""
    if n_vms < 0:
        msg = "n_vms must be >= 0"
        raise ValueError(msg)
    return _Generator(n_vms, seed).build()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: write a compact JSON estate and report its size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--vms", type=int, default=10_000, help="number of VMs (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output JSON file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    estate = generate_estate(args.vms, seed=args.seed)
    data = json.dumps(estate, separators=(",", ":")).encode()
    args.out.write_bytes(data)
    elapsed = time.perf_counter() - start
    print(
        f"{args.out}: {len(data):,} bytes ({len(data) / 1e6:.1f} MB), {len(estate):,} resources, "
        f"{args.vms:,} VMs, seed {args.seed}, generated in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
