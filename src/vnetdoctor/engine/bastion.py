"""Azure Bastion as a source: the session is a TCP flow from an address of AzureBastionSubnet.

The host's instances take addresses in ``AzureBastionSubnet`` that no snapshot records, so the
session is traced from a stand-in interface in that subnet (:func:`session_endpoint`), through
the same tracer and NSG engine as a VM-to-VM flow; a rule decision that could differ between
addresses of the subnet is checked at both ends of the subnet's usable range
(:func:`address_dependent`). What is Bastion's own (the NSG rules Bastion requires on its subnet,
routes on that subnet, what each SKU can reach and open) is checked here, as pure functions over
the snapshot (docs/semantics/bastion.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from enum import Enum
from typing import Final, NamedTuple

from vnetdoctor.engine.endpoints import Endpoint, EndpointKind, Location
from vnetdoctor.engine.nsg.layers import NsgEngine
from vnetdoctor.engine.path.records import Issue
from vnetdoctor.errors import ResourceNotFound, UsageError
from vnetdoctor.model.bastion import BASTION_SUBNET_NAME, BastionHost, BastionSku
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import AddressPrefix, IPAddress, IPNetwork, PortRange, Protocol
from vnetdoctor.model.network import Subnet
from vnetdoctor.model.security import Access, Direction, NetworkSecurityGroup, SecurityRule
from vnetdoctor.model.snapshot import Snapshot

SESSION_PORTS: Final = frozenset({22, 3389})
_BASIC_SKUS: Final = frozenset({BastionSku.DEVELOPER, BastionSku.BASIC})
_PUBLIC_TAGS: Final = frozenset({"internet", "gatewaymanager", "azurecloud"})
_AZURE_PLATFORM: Final = ipaddress.ip_address("168.63.129.16")
_SUBNET: Final = "the Bastion subnet"  # a required flow's endpoint: AzureBastionSubnet itself


# -- finding the host ------------------------------------------------------------------------
def find_bastion(snapshot: Snapshot, text: str) -> BastionHost | None:
    """The Bastion host ``text`` names (name or id, any case), or ``None`` when it names none.
    A name that is also a VM's is ambiguous: the error lists both."""
    try:
        host = snapshot.bastion_hosts.find(text)
    except ResourceNotFound as exc:
        if exc.candidates:
            raise
        return None
    if not text.strip().startswith("/"):
        try:
            vm = snapshot.virtual_machines.find(text)
        except ResourceNotFound:
            return host
        names = sorted([str(vm.id), str(host.id)])
        raise ResourceNotFound("VM or Bastion host", text.strip(), names)
    return host


# -- the stand-in source -----------------------------------------------------------------------
def usable_range(subnet: Subnet) -> tuple[IPAddress, IPAddress] | None:
    """The first and last address Azure can give in the subnet's first IPv4 prefix (it keeps
    the first four and the last one)."""
    prefix: IPNetwork | None = next((p for p in subnet.address_prefixes if p.version == 4), None)
    if prefix is None or prefix.num_addresses < 8:
        return None
    return prefix[4], prefix[-2]


def session_endpoint(host: BastionHost, subnet: Subnet, address: IPAddress) -> Endpoint:
    """The session's source as the tracer takes it: an interface of the host (its id, its name)
    at ``address`` in its subnet, with no NSG of its own (only the subnet's applies)."""
    ipc = IpConfiguration(
        id=host.id.child("bastionHostIpConfigurations", "session"),
        name="session",
        private_ip_address=address,
        subnet=subnet.id,
        primary=True,
    )
    nic = NetworkInterface(id=host.id, name=host.name, location=host.location,
                           ip_configurations=(ipc,))
    return Endpoint(text=host.name, kind=EndpointKind.BASTION, location=Location.ESTATE,
                    ip=address, nic=nic, ip_configuration=ipc)


def check_query(host: BastionHost, protocol: Protocol, port: int | None) -> None:
    """A session is TCP to one port; refuse what Bastion cannot be asked."""
    if protocol not in (Protocol.TCP, Protocol.ANY):
        raise UsageError(f"a Bastion session is TCP, not {protocol.value}")
    if port is None:
        raise UsageError(f"--from {host.name} (a Bastion host) needs --port (22, 3389 or a "
                         "custom port)")


# -- the subnet --------------------------------------------------------------------------------
def subnet_issues(snapshot: Snapshot, host: BastionHost) -> tuple[Subnet | None, list[Issue]]:
    """The host's subnet if it is a usable AzureBastionSubnet, and what is wrong with it."""
    rid = host.subnet
    if rid is None:
        return None, [Issue(code="BASTION_SUBNET_INVALID", status="unknown", resource=str(host.id),
                            message=f"Bastion {host.name} names no subnet (a Developer host, "
                                    "or the row is cut short): its sessions are not modelled")]
    subnet = snapshot.subnet(rid)
    if subnet is None:
        return None, [Issue(code="BASTION_SUBNET_INVALID", status="unknown", resource=str(rid),
                            message=f"Bastion {host.name}'s subnet {rid.name} is not in the "
                                    "snapshot: its sessions cannot be checked")]
    if subnet.name.casefold() != BASTION_SUBNET_NAME.casefold():
        return None, [Issue(code="BASTION_SUBNET_INVALID", status="unknown", resource=str(rid),
                            message=f"Bastion {host.name} is in subnet {subnet.name!r}, not "
                                    f"{BASTION_SUBNET_NAME} (the only subnet Azure Bastion "
                                    "runs in): its checks are unknown")]
    found: list[Issue] = []
    v4 = [p for p in subnet.address_prefixes if p.version == 4]
    if v4 and v4[0].prefixlen > 26:
        found.append(Issue(code="BASTION_SUBNET_INVALID", status="warn", resource=str(rid),
                           message=f"{BASTION_SUBNET_NAME} is /{v4[0].prefixlen}: Bastions "
                                   "deployed since November 2021 need /26 or larger (older /27 "
                                   "ones keep working)"))
    if usable_range(subnet) is None:
        return None, [*found, Issue(code="BASTION_SUBNET_INVALID", status="unknown",
                                    resource=str(rid),
                                    message=f"{BASTION_SUBNET_NAME} has no IPv4 range with "
                                            "room for Bastion instances")]
    if subnet.route_table is not None:
        found.append(Issue(code="BASTION_SUBNET_UDR", resource=str(subnet.route_table),
                           message=f"route table {subnet.route_table.name} is attached to "
                                   f"{BASTION_SUBNET_NAME}, which supports no user-defined "
                                   "routes; what the platform does with them is unknown"))
    return subnet, found


# -- required NSG flows (B2, B2a) -------------------------------------------------------------
class Required(NamedTuple):
    """One flow Bastion needs through an NSG on its subnet (Microsoft's 2026 table)."""

    rule: str  # the rule name Microsoft's table gives
    direction: Direction
    source: str
    destination: str
    ports: tuple[int, ...]

    def describe(self, port: int) -> str:
        src = "AzureBastionSubnet" if self.source == _SUBNET else self.source
        dst = "AzureBastionSubnet" if self.destination == _SUBNET else self.destination
        return f"{self.direction.value.lower()} TCP {port} from {src} to {dst} ({self.rule})"


REQUIRED: Final = (
    Required("AllowHttpsInbound", Direction.INBOUND, "Internet", _SUBNET, (443,)),
    Required("AllowGatewayManagerInbound", Direction.INBOUND, "GatewayManager", _SUBNET, (443,)),
    Required("AllowAzureLoadBalancerInbound", Direction.INBOUND, "AzureLoadBalancer", _SUBNET,
             (443,)),
    Required("AllowBastionHostCommunication", Direction.INBOUND, _SUBNET, _SUBNET, (8080, 5701)),
    Required("AllowSshRdpOutbound", Direction.OUTBOUND, _SUBNET, "VirtualNetwork", (22, 3389)),
    Required("AllowAzureCloudOutbound", Direction.OUTBOUND, _SUBNET, "AzureCloud", (443,)),
    Required("AllowBastionCommunication", Direction.OUTBOUND, _SUBNET, _SUBNET, (8080, 5701)),
    Required("AllowHttpOutbound", Direction.OUTBOUND, _SUBNET, "Internet", (80,)),
)


class Match(Enum):
    NO = 0
    MAYBE = 1
    YES = 2


def covers(spec: AddressPrefix, endpoint: str, subnet: IPNetwork) -> Match:
    """Whether a rule's address ``spec`` covers a required flow's ``endpoint`` (a tag, or the
    Bastion subnet) for every address of it (B2a)."""
    if spec.is_any:
        return Match.YES
    target = endpoint.casefold()
    if spec.tag is not None:
        tag = spec.tag.casefold()
        if tag == target:
            return Match.YES
        if tag == "internet" and target in _PUBLIC_TAGS:
            return Match.YES
        if tag == "azurecloud" and target == "gatewaymanager":
            return Match.YES  # assumed: GatewayManager's prefixes lie within AzureCloud
        if tag == "virtualnetwork" and target in ("virtualnetwork", "azureloadbalancer",
                                                  _SUBNET.casefold()):
            return Match.YES
        return Match.NO  # two different tags: assumed disjoint
    network = spec.network
    if network is None:
        return Match.MAYBE
    if target == "azureloadbalancer":
        return Match.YES if _AZURE_PLATFORM in network else Match.NO
    if target == _SUBNET.casefold():
        if network.version != subnet.version:
            return Match.NO
        lo, hi = int(network.network_address), int(network.broadcast_address)
        sub_lo, sub_hi = int(subnet.network_address), int(subnet.broadcast_address)
        if lo <= sub_lo and sub_hi <= hi:
            return Match.YES
        return Match.NO if hi < sub_lo or sub_hi < lo else Match.MAYBE
    if target in _PUBLIC_TAGS and network.is_private:
        return Match.NO
    return Match.MAYBE  # a public prefix against a public tag, a prefix against VirtualNetwork


def _any_of(specs: Sequence[AddressPrefix], asgs: Sequence[ResourceId], endpoint: str,
            subnet: IPNetwork) -> Match:
    best = Match.MAYBE if asgs else Match.NO  # an ASG's members may or may not be there
    for spec in specs:
        found = covers(spec, endpoint, subnet)
        if found.value > best.value:
            best = found
    return best


def _ports(ranges: Sequence[PortRange], port: int) -> Match:
    return Match.YES if any(port in r for r in ranges) else Match.NO


def rule_matches(rule: SecurityRule, req: Required, port: int, subnet: IPNetwork) -> Match:
    """Whether ``rule`` surely, maybe or surely not applies to ``req`` on ``port`` over TCP."""
    if rule.direction is not req.direction or rule.access is None or rule.priority is None:
        return Match.NO if rule.direction is not req.direction else Match.MAYBE
    if rule.protocol not in (Protocol.TCP, Protocol.ANY):
        return Match.MAYBE if rule.protocol is None else Match.NO
    parts = (
        _any_of(rule.source_address_prefixes, rule.source_application_security_groups,
                req.source, subnet),
        _any_of(rule.destination_address_prefixes, rule.destination_application_security_groups,
                req.destination, subnet),
        _ports(rule.destination_port_ranges, port),
        Match.YES if any(r.is_any for r in rule.source_port_ranges) else Match.MAYBE,
    )
    worst = min(parts, key=lambda m: m.value)
    return Match.MAYBE if worst is Match.YES and rule.problems else worst


class Decision(NamedTuple):
    """What the NSG does to one required flow: allowed, denied (by ``rule``) or unknown."""

    required: Required
    port: int
    access: Access | None  # None: unknown
    rule: SecurityRule | None


def _ordered(nsg: NetworkSecurityGroup, direction: Direction) -> list[SecurityRule]:
    rules = [r for r in (*nsg.security_rules, *nsg.default_security_rules)
             if r.direction is direction]
    return sorted(rules, key=lambda r: (r.priority if r.priority is not None else -1))


def required_flow(nsg: NetworkSecurityGroup, req: Required, port: int,
                  subnet: IPNetwork) -> Decision:
    """The first rule in priority order that surely matches decides; an uncertain rule before it
    with the other access leaves the flow unknown (B2a)."""
    uncertain: set[Access | None] = set()
    for rule in _ordered(nsg, req.direction):
        found = rule_matches(rule, req, port, subnet)
        if found is Match.MAYBE:
            uncertain.add(rule.access)
        elif found is Match.YES:
            if uncertain - {rule.access}:
                return Decision(req, port, None, rule)
            return Decision(req, port, rule.access, rule)
    return Decision(req, port, None, None)


def required_flows(nsg: NetworkSecurityGroup, subnet: IPNetwork) -> Iterator[Decision]:
    for req in REQUIRED:
        for port in req.ports:
            yield required_flow(nsg, req, port, subnet)


def nsg_issues(snapshot: Snapshot, subnet: Subnet) -> list[Issue]:
    """``BASTION_SUBNET_NSG_INVALID`` for each required flow the subnet's NSG denies, an unknown
    for each it may deny; nothing without an NSG (none is fine)."""
    if subnet.network_security_group is None:
        return []
    nsg = snapshot.network_security_groups.get(subnet.network_security_group)
    prefix = next((p for p in subnet.address_prefixes if p.version == 4), None)
    if nsg is None or prefix is None:
        return [Issue(code="NSG_UNKNOWN", resource=str(subnet.network_security_group),
                      message=f"the NSG {subnet.network_security_group.name} on "
                              f"{BASTION_SUBNET_NAME} is not in the snapshot: the flows Bastion "
                              "requires through it are unknown")]
    found: list[Issue] = []
    for d in required_flows(nsg, prefix):
        what = d.required.describe(d.port)
        if d.access is Access.ALLOW:
            continue
        if d.access is Access.DENY and d.rule is not None:
            found.append(Issue(
                code="BASTION_SUBNET_NSG_INVALID", resource=str(nsg.id), pointer=d.rule.pointer,
                message=f"NSG {nsg.name} on {BASTION_SUBNET_NAME} denies the required {what} "
                        f"with rule {d.rule.name} (priority {d.rule.priority}); assumption: "
                        "Bastion does not work behind such an NSG (Azure refuses to attach it)"))
        else:
            at = f" (rule {d.rule.name} or one before it may match)" if d.rule else ""
            found.append(Issue(
                code="BASTION_SUBNET_NSG_INVALID", status="unknown", resource=str(nsg.id),
                pointer=None if d.rule is None else d.rule.pointer,
                message=f"whether NSG {nsg.name} on {BASTION_SUBNET_NAME} allows the required "
                        f"{what} is unknown{at}: a rule names an address range or group "
                        "that cannot be compared with the tag, or has a field that could not "
                        "be read"))
    return found


# -- SKU (B6, B7) ------------------------------------------------------------------------------
def sku_issues(host: BastionHost, port: int, same_vnet: bool | None) -> list[Issue]:
    """What the host's SKU cannot do for this session: a port other than 22/3389 below Standard,
    a target outside its VNet with the Developer SKU."""
    found: list[Issue] = []
    sku = host.sku
    if sku is None:
        found.append(Issue(code="BASTION_SKU_UNSUPPORTED_PORT", status="unknown",
                           resource=str(host.id),
                           message=f"Bastion {host.name}'s SKU is "
                                   f"{host.sku_text or 'not in the snapshot'}: what it can open "
                                   "is unknown"))
        return found
    if port not in SESSION_PORTS and sku in _BASIC_SKUS:
        found.append(Issue(code="BASTION_SKU_UNSUPPORTED_PORT", resource=str(host.id),
                           pointer="/sku/name",
                           message=f"Bastion {host.name} is {sku.value}: it opens sessions on "
                                   f"22 and 3389 only, not {port} (custom ports, native client "
                                   "and IP connect need Standard or Premium)"))
    if sku is BastionSku.DEVELOPER and same_vnet is False:
        found.append(Issue(code="BASTION_SKU_NO_PEERING", resource=str(host.id),
                           pointer="/sku/name",
                           message=f"Bastion {host.name} is Developer: it reaches VMs in its own "
                                   "virtual network only, not in peered ones"))
    return found


# -- every address of the subnet (B1) ----------------------------------------------------------
def address_dependent(nsgs: NsgEngine, subnet: Subnet, host: BastionHost,
                      destination: Endpoint, port: int) -> list[Issue]:
    """An unknown when the session's NSG decisions differ between the first and the last usable
    address of the Bastion subnet: which instance opens the session is not recorded."""
    ends = usable_range(subnet)
    dst_nic, dst_ipc, dst_ip = destination.nic, destination.ip_configuration, destination.ip
    if ends is None:
        return []
    verdicts = []
    for address in ends:
        src = session_endpoint(host, subnet, address)
        assert src.nic is not None
        out = nsgs.verify(src.nic, Direction.OUTBOUND, Protocol.TCP, (address, None),
                          (dst_ip, port)) if dst_ip is not None else None
        inbound = (nsgs.verify(dst_nic, Direction.INBOUND, Protocol.TCP, (dst_ip, port),
                               (address, None), ip_configuration=dst_ipc)
                   if dst_nic is not None and dst_ipc is not None and dst_ip is not None
                   else None)
        verdicts.append(tuple(None if v is None else (v.access, v.rule_name)
                              for v in (out, inbound)))
    if verdicts[0] == verdicts[1]:
        return []
    first, last = ends
    return [Issue(code="NSG_UNKNOWN", status="unknown",
                  message=f"the NSGs decide the session differently from {first} and {last}, "
                          f"both addresses of {BASTION_SUBNET_NAME}: which Bastion instance "
                          "opens it is not in the snapshot")]
