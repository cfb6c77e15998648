"""What a VM resolves a name to, and why: Azure's name resolution, offline.

A pure function of the snapshot. The VM asks its first DNS server (the NIC's, else the VNet's,
else Azure-provided DNS: docs/semantics/dns.md#servers); Azure DNS in a VNet tries the
forwarding rulesets linked to it, then the private zones linked to it, then public DNS as far
as it can be known offline (docs/semantics/dns.md#azure-dns). Every decision is a typed step
with the resource behind it, so the chain is evidence; what ARM cannot show (a custom DNS
server, a public address) is ``unknown``, never guessed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from enum import StrEnum
from typing import Final

import msgspec

from vnetdoctor.codes import Status
from vnetdoctor.model.compute import NetworkInterface, VirtualMachine
from vnetdoctor.model.dns import (
    DnsRecordSet,
    ForwardingRule,
    PrivateDnsZone,
    PrivateDnsZoneLink,
    RecordType,
    ResolutionPolicy,
    dns_name,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress
from vnetdoctor.model.network import VirtualNetwork
from vnetdoctor.model.private_endpoint import PrivateEndpoint, PrivateLinkServiceConnection
from vnetdoctor.model.snapshot import Snapshot

AZURE_DNS: Final = ipaddress.IPv4Address("168.63.129.16")
AZURE_PROVIDED: Final = "azureprovideddns"
# Forwarding from a ruleset to an inbound endpoint, and on: a deeper chain is taken as a loop.
MAX_FORWARDS: Final = 4
# CNAMEs followed before the answer is given up (resolvers stop near this depth too).
MAX_CNAMES: Final = 8


class StepKind(StrEnum):
    PIN = "pin"
    SERVER = "server"
    RULESET = "ruleset"
    INBOUND_ENDPOINT = "inbound-endpoint"
    ZONE = "zone"
    AUTO_REGISTRATION = "auto-registration"
    CNAME = "cname"
    PUBLIC_CNAME = "public-cname"
    PUBLIC = "public"


class AnswerKind(StrEnum):
    ADDRESS = "address"
    NXDOMAIN = "nxdomain"
    PUBLIC_ENDPOINT = "public-endpoint"
    UNKNOWN = "unknown"


class ServerSource(StrEnum):
    NIC = "nic"
    VNET = "vnet"
    AZURE = "azure"


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One decision of the chain: the name looked up, where, and the resource that decided."""

    step: StepKind
    name: str
    detail: str
    resource: ResourceId | None = None
    link: ResourceId | None = None
    record: ResourceId | None = None
    vnet: ResourceId | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"step": self.step.value, "name": self.name,
                                  "detail": self.detail}
        for key, value in (("resource", self.resource), ("link", self.link),
                           ("record", self.record), ("vnet", self.vnet)):
            if value is not None:
                out[key] = str(value)
        return out


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """``resource`` is the private endpoint that owns the address, or the PaaS resource whose
    public endpoint answers (``None`` when the snapshot does not name one)."""

    kind: AnswerKind
    addresses: tuple[IPAddress, ...] = ()
    resource: ResourceId | None = None
    canonical_name: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "address": str(self.addresses[0]) if self.addresses else None,
            "addresses": [str(a) for a in self.addresses],
            "resource": None if self.resource is None else str(self.resource),
            "canonicalName": self.canonical_name,
        }


class DnsIssue(msgspec.Struct, frozen=True, kw_only=True):
    """A finding of name resolution: a code of the catalogue, its status here, the resource."""

    code: str
    message: str
    status: Status
    resource: ResourceId | None = None


class Resolution(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    nic: ResourceId
    vm: ResourceId | None
    vnet: ResourceId | None
    dns_servers: tuple[str, ...]
    server_source: ServerSource
    resolved_by: str  # pin | azure-dns | resolver-inbound | unknown
    chain: tuple[Step, ...]
    answer: Answer
    issues: tuple[DnsIssue, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def is_unknown(self) -> bool:
        return self.answer.kind is AnswerKind.UNKNOWN or any(
            i.status is Status.UNKNOWN for i in self.issues
        )


# Documented zones of Private Link services (docs/semantics/dns.md#privatelink-zones).
class PaasZone(msgspec.Struct, frozen=True):
    public_suffix: str  # e.g. blob.core.windows.net
    private_suffix: str  # e.g. privatelink.blob.core.windows.net
    resource_types: tuple[str, ...]
    group_ids: tuple[str, ...]


def _storage(sub: str) -> PaasZone:
    return PaasZone(f"{sub}.core.windows.net", f"privatelink.{sub}.core.windows.net",
                    ("microsoft.storage/storageaccounts",), (sub,))


_BUS: Final = ("microsoft.eventhub/namespaces", "microsoft.servicebus/namespaces",
               "microsoft.relay/namespaces")
PAAS_ZONES: Final[tuple[PaasZone, ...]] = (
    *(_storage(s) for s in ("blob", "file", "queue", "table", "web", "dfs")),
    PaasZone("database.windows.net", "privatelink.database.windows.net",
             ("microsoft.sql/servers",), ("sqlServer",)),
    PaasZone("documents.azure.com", "privatelink.documents.azure.com",
             ("microsoft.documentdb/databaseaccounts",), ("Sql",)),
    *(PaasZone(f"{api}.cosmos.azure.com", f"privatelink.{api}.cosmos.azure.com",
               ("microsoft.documentdb/databaseaccounts",), (group,))
      for api, group in (("mongo", "MongoDB"), ("cassandra", "Cassandra"),
                         ("gremlin", "Gremlin"), ("table", "Table"))),
    PaasZone("vault.azure.net", "privatelink.vaultcore.azure.net",
             ("microsoft.keyvault/vaults",), ("vault",)),
    PaasZone("vaultcore.azure.net", "privatelink.vaultcore.azure.net",
             ("microsoft.keyvault/vaults",), ("vault",)),
    PaasZone("azurecr.io", "privatelink.azurecr.io",
             ("microsoft.containerregistry/registries",), ("registry",)),
    PaasZone("azurewebsites.net", "privatelink.azurewebsites.net",
             ("microsoft.web/sites",), ("sites",)),
    PaasZone("servicebus.windows.net", "privatelink.servicebus.windows.net", _BUS, ("namespace",)),
)


def _under(name: str, suffix: str) -> bool:
    """``name`` equals the DNS suffix or lies below it (``''`` is the root and holds all)."""
    return not suffix or name == suffix or name.endswith("." + suffix)


def _relative(name: str, zone: str) -> str:
    return "@" if name == zone else name[: -len(zone) - 1]


def _paas_of(name: str) -> tuple[PaasZone, str, bool] | None:
    """(zone, resource label, secondary) for ``label[.privatelink].suffix``; one label only."""
    for zone in PAAS_ZONES:
        for suffix in (zone.private_suffix, zone.public_suffix):
            if name.endswith("." + suffix):
                label = name[: -len(suffix) - 1]
                if label and "." not in label:
                    secondary = label.endswith("-secondary")
                    return zone, label.removesuffix("-secondary") if secondary else label, secondary
    return None


def server_of(
    snapshot: Snapshot, nic: NetworkInterface, vnet: VirtualNetwork | None
) -> tuple[tuple[str, ...], ServerSource]:
    """The servers the VM is given and where they come from (docs/semantics/dns.md#servers):
    ``appliedDnsServers``, else the NIC's, else the VNet's; ``AzureProvidedDNS`` means Azure's."""
    for servers in (nic.applied_dns_servers, nic.dns_servers):
        listed = tuple(s for s in servers if s.strip())
        if listed:
            if any(s.strip().casefold() == AZURE_PROVIDED for s in listed):
                return (), ServerSource.AZURE
            return listed, ServerSource.NIC
    listed = () if vnet is None else tuple(s for s in vnet.dns_servers if s.strip())
    if listed:
        return listed, ServerSource.VNET
    return (), ServerSource.AZURE


_ORIGIN: Final = {
    ServerSource.NIC: " (set on the NIC)",
    ServerSource.VNET: " (set on the VNet)",
    ServerSource.AZURE: " (no DNS servers set on the NIC or the VNet)",
}


class _Walk:
    """The state of one resolution: the chain so far, findings, assumptions, loop guards."""

    def __init__(self, snapshot: Snapshot, pins: Mapping[str, IPAddress]) -> None:
        self.s = snapshot
        self.pins = {dns_name(k): v for k, v in pins.items()}
        self.chain: list[Step] = []
        self.issues: list[DnsIssue] = []
        self.assumptions: list[str] = []
        self.names: list[str] = []  # CNAME targets followed
        self.asked: str = ""

    def issue(self, code: str, message: str, status: Status,
              resource: ResourceId | None = None) -> None:
        self.issues.append(DnsIssue(code=code, message=message, status=status, resource=resource))

    def step(self, kind: StepKind, name: str, detail: str, **refs: ResourceId | None) -> None:
        self.chain.append(Step(step=kind, name=name, detail=detail, **refs))

    # -- Azure DNS in one VNet (docs/semantics/dns.md#azure-dns) --------------------------------
    def azure_dns(self, vnet: VirtualNetwork, name: str, forwards: int) -> Answer:
        pinned = self.pins.get(name)
        if pinned is not None and name != self.asked:
            self.step(StepKind.PIN, name, f"pinned to {pinned} (--resolve)")
            return Answer(kind=AnswerKind.ADDRESS, addresses=(pinned,), canonical_name=name)
        rule = self.matching_rule(vnet, name)
        zone = self.authoritative_zone(vnet, name)
        if rule is not None:
            ruleset_id, chosen = rule
            if zone is not None:
                self.assumptions.append(
                    f"forwarding rule {chosen.name!r} is taken before the linked zone "
                    f"{zone[0].name!r} for {name} (the order is not documented)")
            return self.forward(vnet, name, ruleset_id, chosen, forwards)
        if zone is not None:
            return self.in_zone(vnet, name, zone[0], zone[1], forwards)
        return self.public(vnet, name, forwards, redirected=None)

    def matching_rule(
        self, vnet: VirtualNetwork, name: str
    ) -> tuple[ResourceId, ForwardingRule] | None:
        best: tuple[int, ResourceId, ForwardingRule] | None = None
        for ruleset, _link in sorted(self.s.ruleset_links_of(vnet.id), key=lambda x: x[1].id):
            for rule in ruleset.forwarding_rules:
                domain = dns_name(rule.domain_name)
                if not rule.is_enabled or "properties.domainName" in rule.problems:
                    continue
                if _under(name, domain):
                    length = len(domain.split(".")) if domain else 0
                    if best is None or length > best[0]:
                        best = (length, ruleset.id, rule)
        return None if best is None else (best[1], best[2])

    def authoritative_zone(
        self, vnet: VirtualNetwork, name: str
    ) -> tuple[PrivateDnsZone, PrivateDnsZoneLink] | None:
        best: tuple[PrivateDnsZone, PrivateDnsZoneLink] | None = None
        for zone, link in sorted(self.s.zone_links_of(vnet.id), key=lambda x: x[1].id):
            if link.is_in_force is False or not _under(name, zone.dns_name):
                continue
            if best is None or len(zone.dns_name) > len(best[0].dns_name):
                best = (zone, link)
        return best

    def forward(self, vnet: VirtualNetwork, name: str, ruleset_id: ResourceId,
                rule: ForwardingRule, forwards: int) -> Answer:
        target = rule.target_dns_servers[0] if rule.target_dns_servers else None
        where = "no target" if target is None else f"{target.ip_address}:{target.port}"
        self.step(StepKind.RULESET, name, f"{rule.domain_name or '.'} -> {where} "
                  f"(ruleset {ruleset_id.name}, linked to {vnet.name})",
                  resource=rule.id, vnet=vnet.id)
        if target is None or target.ip_address is None:
            self.issue("DNS_CUSTOM_SERVER_UNKNOWN",
                       f"forwarding rule {rule.name!r} has no readable target DNS server",
                       Status.UNKNOWN, rule.id)
            return Answer(kind=AnswerKind.UNKNOWN)
        inbound = self.s.inbound_endpoint_at(target.ip_address)
        if inbound is None:
            self.issue("DNS_CUSTOM_SERVER_UNKNOWN",
                       f"forwarding rule {rule.name!r} sends {name} to {target.ip_address}, a DNS "
                       "server whose answers ARM cannot show", Status.UNKNOWN, rule.id)
            return Answer(kind=AnswerKind.UNKNOWN)
        return self.via_inbound(name, target.ip_address, forwards + 1)

    def via_inbound(self, name: str, ip: IPAddress, forwards: int) -> Answer:
        found = self.s.inbound_endpoint_at(ip)
        assert found is not None
        resolver, endpoint = found
        target_vnet = self.s.virtual_networks.get_ref(resolver.virtual_network)
        seen_from = resolver.virtual_network.name if resolver.virtual_network else "?"
        self.step(StepKind.INBOUND_ENDPOINT, name,
                  f"inbound endpoint {endpoint.name} ({ip}) of resolver {resolver.name}: Azure DNS "
                  f"as seen from {seen_from}",
                  resource=endpoint.id, vnet=resolver.virtual_network)
        if target_vnet is None:
            self.issue("DNS_NAME_UNKNOWN",
                       f"the virtual network of resolver {resolver.name!r} is not in the snapshot",
                       Status.UNKNOWN, resolver.id)
            return Answer(kind=AnswerKind.UNKNOWN)
        if forwards > MAX_FORWARDS:
            self.issue("DNS_NAME_UNKNOWN",
                       f"forwarding of {name} goes round through resolver inbound endpoints "
                       f"more than {MAX_FORWARDS} times (a loop)", Status.UNKNOWN, endpoint.id)
            return Answer(kind=AnswerKind.UNKNOWN)
        return self.azure_dns(target_vnet, name, forwards)

    def in_zone(self, vnet: VirtualNetwork, name: str, zone: PrivateDnsZone,
                link: PrivateDnsZoneLink, forwards: int) -> Answer:
        relative = _relative(name, zone.dns_name)
        if link.is_in_force is None:
            self.step(StepKind.ZONE, name, f"zone {zone.name}, link {link.name} not complete "
                      f"({link.virtual_network_link_state or link.provisioning_state})",
                      resource=zone.id, link=link.id, vnet=vnet.id)
            self.issue("DNS_NAME_UNKNOWN", f"the link {link.name!r} of zone {zone.name!r} to "
                       f"{vnet.name} is still in progress", Status.UNKNOWN, link.id)
            return Answer(kind=AnswerKind.UNKNOWN)
        records = [r for r in zone.record_sets if dns_name(r.name) == relative]
        cname = next((r for r in records if r.type is RecordType.CNAME), None)
        if cname is not None:
            return self.follow_cname(vnet, name, zone, link, cname, forwards)
        addresses = tuple(a for r in records if r.type is not RecordType.CNAME
                          for a in r.addresses)
        if records:
            self.step(StepKind.ZONE, name, f"zone {zone.name} ({relative}), linked to "
                      f"{vnet.name} by {link.name}: " + (
                          ", ".join(str(a) for a in addresses) or "record set with no records"),
                      resource=zone.id, link=link.id, record=records[0].id, vnet=vnet.id)
            if not addresses:
                self.issue("DNS_RECORD_MISSING", f"record set {relative!r} of zone "
                           f"{zone.name!r} has no records: {name} has no address",
                           Status.FAIL, records[0].id)
                return Answer(kind=AnswerKind.NXDOMAIN, canonical_name=name)
            return self.address(name, addresses)
        registered = self.auto_registered(zone, relative)
        if registered is not None:
            found, vm_id, note = registered
            if not found:
                self.step(StepKind.AUTO_REGISTRATION, name, note, resource=zone.id,
                          link=link.id, vnet=vnet.id)
                self.issue("DNS_NAME_UNKNOWN", note, Status.UNKNOWN, vm_id)
                return Answer(kind=AnswerKind.UNKNOWN)
            self.step(StepKind.AUTO_REGISTRATION, name, f"zone {zone.name}: {note}",
                      resource=zone.id, link=link.id, record=vm_id, vnet=vnet.id)
            return self.address(name, found)
        if (link.resolution_policy is ResolutionPolicy.NX_DOMAIN_REDIRECT
                and zone.dns_name.startswith("privatelink.")):
            self.step(StepKind.ZONE, name, f"zone {zone.name} has no {relative}; link "
                      f"{link.name} falls back to public resolution (NxDomainRedirect)",
                      resource=zone.id, link=link.id, vnet=vnet.id)
            return self.public(vnet, self.asked, forwards, redirected=link)
        self.step(StepKind.ZONE, name, f"zone {zone.name}, linked to {vnet.name} by "
                  f"{link.name}, has no record {relative}: NXDOMAIN",
                  resource=zone.id, link=link.id, vnet=vnet.id)
        self.issue("DNS_RECORD_MISSING", f"zone {zone.name!r}, linked to {vnet.name} by "
                   f"{link.name!r}, has no record {relative!r}: {name} does not resolve "
                   "(NXDOMAIN)", Status.FAIL, zone.id)
        return Answer(kind=AnswerKind.NXDOMAIN, canonical_name=name)

    def auto_registered(
        self, zone: PrivateDnsZone, relative: str
    ) -> tuple[tuple[IPAddress, ...], ResourceId, str] | None:
        """The platform's A record for a VM of a VNet linked with registration
        (docs/semantics/dns.md#dns-7)."""
        if "." in relative or relative == "@":
            return None
        for link in zone.virtual_network_links:
            if not link.registration_enabled or link.virtual_network is None:
                continue
            for vm in sorted(self.s.virtual_machines.values(), key=lambda v: v.id):
                nic = self.s.primary_nic(vm)
                ipc = None if nic is None else nic.primary_ip_configuration
                if ipc is None or ipc.subnet is None or ipc.subnet.parent != link.virtual_network:
                    continue
                names = {dns_name(vm.name)} | (
                    {dns_name(vm.computer_name)} if vm.computer_name else set())
                if relative not in names:
                    continue
                if len(names) > 1:
                    return ((), vm.id, f"VM {vm.name} is registered under its resource name or "
                            f"its computer name {vm.computer_name}: which one is not documented")
                if ipc.private_ip_address is None or ipc.private_ip_address.version != 4:
                    continue
                return ((ipc.private_ip_address,), vm.id,
                        f"{relative} -> {ipc.private_ip_address}, registered for VM {vm.name} "
                        f"(link {link.name} has auto-registration)")
        return None

    def follow_cname(self, vnet: VirtualNetwork, name: str, zone: PrivateDnsZone,
                     link: PrivateDnsZoneLink, record: DnsRecordSet, forwards: int) -> Answer:
        target = dns_name(record.cname or "")
        self.step(StepKind.CNAME, name, f"zone {zone.name}: CNAME {target or '(empty)'}",
                  resource=zone.id, link=link.id, record=record.id, vnet=vnet.id)
        if not target:
            self.issue("DNS_RECORD_MISSING", f"CNAME record set {record.name!r} of zone "
                       f"{zone.name!r} has no target", Status.FAIL, record.id)
            return Answer(kind=AnswerKind.NXDOMAIN, canonical_name=name)
        return self.cname_target(vnet, target, forwards, record.id)

    def cname_target(self, vnet: VirtualNetwork, target: str, forwards: int,
                     evidence: ResourceId | None) -> Answer:
        if target in self.names or target == self.asked:
            loop = " -> ".join([self.asked, *self.names, target])
            self.issue("DNS_NAME_UNKNOWN", f"CNAME loop: {loop} (resolvers answer SERVFAIL)",
                       Status.UNKNOWN, evidence)
            return Answer(kind=AnswerKind.UNKNOWN)
        if len(self.names) >= MAX_CNAMES:
            self.issue("DNS_NAME_UNKNOWN", f"more than {MAX_CNAMES} CNAMEs from {self.asked}",
                       Status.UNKNOWN, evidence)
            return Answer(kind=AnswerKind.UNKNOWN)
        self.names.append(target)
        return self.azure_dns(vnet, target, forwards)

    def address(self, name: str, addresses: tuple[IPAddress, ...]) -> Answer:
        owner = next((pe.id for a in addresses for pe in self.endpoints_at(a)), None)
        return Answer(kind=AnswerKind.ADDRESS, addresses=addresses, resource=owner,
                      canonical_name=name)

    def endpoints_at(self, ip: IPAddress) -> list[PrivateEndpoint]:
        nics = {nic.id for nic, _ in self.s.nics_with_ip(ip)}
        return [pe for pe in self.s.private_endpoints.values()
                if any(n in nics for n in pe.network_interfaces)
                or any(c.private_ip_address == ip for c in pe.ip_configurations)]

    # -- public DNS, offline (docs/semantics/dns.md#public) -------------------------------------
    def public(self, vnet: VirtualNetwork, name: str, forwards: int,
               redirected: PrivateDnsZoneLink | None) -> Answer:
        paas = _paas_of(name)
        if paas is not None:
            return self.public_paas(vnet, name, paas, forwards, redirected)
        holder = self.private_only_zone(name)
        if holder is not None:
            self.step(StepKind.PUBLIC, name, f"only private zone {holder.name} holds {name}, and "
                      f"{vnet.name} neither links nor forwards to it: NXDOMAIN",
                      resource=holder.id, vnet=vnet.id)
            self.issue("DNS_ZONE_NOT_LINKED", f"{name} exists only in private zone "
                       f"{holder.name!r}, which is not linked to {vnet.name} (assumption: no "
                       "public zone of that name)", Status.FAIL, holder.id)
            return Answer(kind=AnswerKind.NXDOMAIN, canonical_name=name)
        self.step(StepKind.PUBLIC, name, "public DNS: not known offline", vnet=vnet.id)
        self.issue("DNS_NAME_UNKNOWN", f"no private zone or ruleset answers {name}; its public "
                   "answer is not known offline", Status.UNKNOWN)
        return Answer(kind=AnswerKind.UNKNOWN, canonical_name=name)

    def private_only_zone(self, name: str) -> PrivateDnsZone | None:
        zones = [z for z in self.s.private_dns_zones.values() if _under(name, z.dns_name)]
        return max(zones, key=lambda z: (len(z.dns_name), z.id), default=None) if zones else None

    def public_paas(self, vnet: VirtualNetwork, name: str, paas: tuple[PaasZone, str, bool],
                    forwards: int, redirected: PrivateDnsZoneLink | None) -> Answer:
        zone, label, secondary = paas
        endpoints = self.endpoints_for(zone, label, secondary)
        target_id = next((c.private_link_service_id for pe, c in endpoints
                          if c.private_link_service_id is not None), None)
        private_name = f"{label}{'-secondary' if secondary else ''}.{zone.private_suffix}"
        if endpoints and redirected is None and name != private_name:
            states = sorted({c.status or "?" for _, c in endpoints})
            if states != ["Approved"]:
                self.assumptions.append(
                    f"public DNS is taken to publish the privatelink CNAME for {label} with a "
                    f"private endpoint connection in state {', '.join(states)}")
            self.step(StepKind.PUBLIC_CNAME, name, f"public DNS: CNAME {private_name} "
                      f"({label} has a private endpoint)", resource=target_id)
            return self.cname_target(vnet, private_name, forwards, target_id)
        self.step(StepKind.PUBLIC, name, f"public endpoint of {label} ({zone.public_suffix}); "
                  "its address is not known offline", resource=target_id, vnet=vnet.id)
        if target_id is None:
            self.issue("PAAS_TARGET_UNKNOWN", f"{label} ({zone.public_suffix}) has no private "
                       "endpoint in the snapshot, and the resource itself is not read: its "
                       "public endpoint's rules are unknown", Status.UNKNOWN)
            return Answer(kind=AnswerKind.PUBLIC_ENDPOINT, canonical_name=name)
        approved = [pe for pe, c in endpoints if c.is_approved]
        if approved:
            because = (f"link {redirected.name!r} falls back to public resolution "
                       "(NxDomainRedirect)" if redirected is not None
                       else f"nothing private in {vnet.name} answers {private_name}")
            self.issue("DNS_RESOLVES_PUBLIC", f"{self.asked} resolves to the public endpoint of "
                       f"{label} although private endpoint {approved[0].name!r} is approved: "
                       f"{because}", Status.WARN,
                       redirected.id if redirected is not None else approved[0].id)
            held = [z for z in self.s.private_dns_zones.values()
                    if z.dns_name == zone.private_suffix]
            if redirected is None and held:
                self.issue("DNS_ZONE_NOT_LINKED", f"zone {held[0].name!r} is neither linked to "
                           f"{vnet.name} nor reached through a forwarding ruleset",
                           Status.WARN, held[0].id)
        return Answer(kind=AnswerKind.PUBLIC_ENDPOINT, resource=target_id, canonical_name=name)

    def endpoints_for(
        self, zone: PaasZone, label: str, secondary: bool
    ) -> list[tuple[PrivateEndpoint, PrivateLinkServiceConnection]]:
        wanted = {g.casefold() + ("_secondary" if secondary else "") for g in zone.group_ids}
        out = []
        for pe in sorted(self.s.private_endpoints.values(), key=lambda p: p.id):
            for conn in pe.connections:
                target = conn.private_link_service_id
                if (target is None or (target.type or "").casefold() not in zone.resource_types
                        or target.name.casefold() != label):
                    continue
                if wanted & {g.casefold() for g in conn.group_ids}:
                    out.append((pe, conn))
        return out


def resolve(
    snapshot: Snapshot,
    source: VirtualMachine | NetworkInterface,
    name: str,
    pins: Mapping[str, IPAddress] | None = None,
) -> Resolution:
    """What ``source`` (a VM: its primary NIC; or a NIC) resolves ``name`` to, and why."""
    if isinstance(source, VirtualMachine):
        nic = snapshot.primary_nic(source)
        vm_id: ResourceId | None = source.id
        if nic is None:
            raise ValueError(f"VM {source.name!r} has no network interface in the snapshot")
    else:
        nic = source
        owner = snapshot.vm_of_nic(nic)
        vm_id = None if owner is None else owner.id
    ipc = nic.primary_ip_configuration
    vnet = snapshot.subnet_vnet(None if ipc is None else ipc.subnet)
    servers, origin = server_of(snapshot, nic, vnet)
    walk = _Walk(snapshot, pins or {})
    asked = walk.asked = dns_name(name)
    resolved_by = "azure-dns"

    def done(answer: Answer) -> Resolution:
        return Resolution(
            name=asked, nic=nic.id, vm=vm_id, vnet=None if vnet is None else vnet.id,
            dns_servers=servers, server_source=origin,
            resolved_by=resolved_by if answer.kind is not AnswerKind.UNKNOWN else "unknown",
            chain=tuple(walk.chain), answer=answer, issues=tuple(walk.issues),
            assumptions=tuple(walk.assumptions),
        )

    pinned = walk.pins.get(asked)
    if pinned is not None:
        resolved_by = "pin"
        walk.step(StepKind.PIN, asked, f"pinned to {pinned} (--resolve)")
        return done(walk.address(asked, (pinned,)))
    first = servers[0].strip() if servers else None
    server_ip: IPAddress | None = AZURE_DNS
    if first is not None:
        try:
            server_ip = ipaddress.ip_address(first)
        except ValueError:
            server_ip = None
    where = "?" if vnet is None else vnet.name
    if server_ip == AZURE_DNS:
        walk.step(StepKind.SERVER, asked, f"Azure-provided DNS ({AZURE_DNS}) in {where}"
                  + _ORIGIN[origin], resource=nic.id if origin is ServerSource.NIC
                  else (vnet.id if vnet is not None and origin is ServerSource.VNET else None),
                  vnet=None if vnet is None else vnet.id)
        if vnet is None:
            walk.issue("DNS_NAME_UNKNOWN", f"the virtual network of NIC {nic.name!r} is not in "
                       "the snapshot", Status.UNKNOWN, nic.id)
            return done(Answer(kind=AnswerKind.UNKNOWN))
        return done(walk.azure_dns(vnet, asked, 0))
    walk.step(StepKind.SERVER, asked, f"DNS server {first}" + _ORIGIN[origin],
              resource=nic.id if origin is ServerSource.NIC else
              (None if vnet is None else vnet.id), vnet=None if vnet is None else vnet.id)
    if server_ip is not None and snapshot.inbound_endpoint_at(server_ip) is not None:
        resolved_by = "resolver-inbound"
        return done(walk.via_inbound(asked, server_ip, 1))
    walk.issue("DNS_CUSTOM_SERVER_UNKNOWN", f"{where} asks DNS server {first}, whose answers "
               "ARM cannot show; pin the answer with --resolve NAME=IP (what nslookup prints on "
               "the VM), or point the VNet at a DNS Private Resolver inbound endpoint",
               Status.UNKNOWN, nic.id if origin is ServerSource.NIC else
               (None if vnet is None else vnet.id))
    return done(Answer(kind=AnswerKind.UNKNOWN))
