"""A flow from the Internet into the estate: it enters only through a public address the
snapshot holds (docs/semantics/internet.md).

Two ways in are followed: a NIC's instance-level public IP (the NIC's NSG layers judge the flow
inbound with the real Internet source, which the ``Internet`` service tag covers), and a public
load balancer frontend (its load-balancing or inbound NAT rule, then the load balancer's own leg:
Standard closed unless an NSG allows, Basic open). Azure Firewall DNAT and classic endpoints are
not followed here: a destination reachable only that way is unknown, never reachable.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import msgspec

from vnetdoctor.engine.endpoints import Endpoint, Location
from vnetdoctor.engine.loadbalancer import nat_rule_for, rule_for
from vnetdoctor.engine.path import lb
from vnetdoctor.engine.path.records import Outcome, Recorder, Trace, port_text
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface, PublicIpAddress
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import FrontendIpConfiguration, LoadBalancer
from vnetdoctor.model.net import IPAddress, IPNetwork, Protocol
from vnetdoctor.model.security import Access, Direction, SecurityRule

if TYPE_CHECKING:
    from vnetdoctor.engine.path.tracer import Tracer

# The address that stands for "any Internet address" when the question names none (--from
# Internet): a documentation address inside Azure's Internet tag in every recorded expansion.
ANY_INTERNET: Final = ipaddress.ip_address("203.0.113.7")
# Never Internet in any recorded expansion of the tag (docs/semantics/nsg.md): a source there is
# no Internet client.
_NEVER_INTERNET: Final = tuple(ipaddress.ip_network(p) for p in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
))


def is_internet_source(source: Endpoint) -> bool:
    """``--from Internet``, or an address that no NIC or classic VM of the estate holds and that
    the Internet tag covers (documentation ranges such as 203.0.113.0/24 included)."""
    if source.nic is not None or source.classic_vm is not None or source.vm is not None:
        return False
    if source.location is Location.INTERNET:
        return True
    ip = source.ip
    if ip is None or source.location is not Location.UNKNOWN:
        return False
    if ip.version == 6:
        return ip.is_global
    return not any(ip in n for n in _NEVER_INTERNET)


@dataclass(frozen=True)
class _Entry:
    """One public address through which the flow may enter."""

    address: IPAddress
    nic: tuple[NetworkInterface, IpConfiguration, PublicIpAddress] | None = None
    frontend: tuple[LoadBalancer, FrontendIpConfiguration] | None = None

    def describe(self) -> str:
        if self.nic is not None:
            nic, ipc, pip = self.nic
            return f"public IP {pip.name} ({self.address}) of {nic.name}/{ipc.name}"
        assert self.frontend is not None
        return f"{self.frontend[0].name} public frontend {self.frontend[1].name} ({self.address})"


def _nic_entries(t: Tracer, nics: list[NetworkInterface]) -> list[_Entry]:
    out = []
    for nic in nics:
        for ipc in nic.ip_configurations:
            pip = t.snapshot.public_ip_addresses.get_ref(ipc.public_ip_address)
            if pip is not None and pip.ip_address is not None:
                out.append(_Entry(address=pip.ip_address, nic=(nic, ipc, pip)))
    return out


def _frontend_entries(
    t: Tracer, nics: list[NetworkInterface], protocol: Protocol, port: int | None
) -> list[_Entry]:
    """Public frontends with a rule for the flow whose pool or NAT target holds one of ``nics``."""
    wanted = {n.id for n in nics}
    out = []
    for balancer in t.snapshot.load_balancers.values():
        for fe in balancer.frontend_ip_configurations:
            pip = t.snapshot.public_ip_addresses.get_ref(fe.public_ip_address)
            if pip is None or pip.ip_address is None:
                continue
            nat = nat_rule_for(balancer, fe, protocol, port)
            if nat is not None:
                member = t.lbs.nat_target(balancer, nat, port).backend
                hit = member is not None and member.nic is not None and member.nic.id in wanted
            else:
                rule = rule_for(balancer, fe, protocol, port)
                hit = rule is not None and any(
                    m.nic is not None and m.nic.id in wanted for m in t.lbs.backends(balancer, rule)
                )
            if hit:
                out.append(_Entry(address=pip.ip_address, frontend=(balancer, fe)))
    return out


def _entries(t: Tracer, destination: Endpoint, protocol: Protocol, port: int | None
             ) -> list[_Entry]:
    if destination.nic is not None:
        nics = [destination.nic]
        if destination.vm is not None:
            nics = [n for ref in destination.vm.network_interfaces
                    if (n := t.snapshot.network_interfaces.get_ref(ref.id)) is not None] or nics
        return _nic_entries(t, nics) + _frontend_entries(t, nics, protocol, port)
    ip = destination.ip
    if ip is None:
        return []
    for nic in t.snapshot.network_interfaces.values():
        for entry in _nic_entries(t, [nic]):
            if entry.address == ip:
                return [entry]
    found = t.lbs.public_frontend_at(ip)
    return [] if found is None else [_Entry(address=ip, frontend=found)]


def inbound(t: Tracer, b: Recorder, source: Endpoint, destination: Endpoint,
            protocol: Protocol, port: int | None) -> Trace:
    """The flow from the Internet: every public address that leads to the destination is tried
    (the first that admits the flow is the answer, and the hops say which)."""
    entries = _entries(t, destination, protocol, port)
    clients = [source.ip] if source.ip is not None else _clients(t, entries)
    if not entries:
        _source_hop(b, source, clients[0], len(clients), destination, protocol, port)
        return _no_public_path(b, destination, protocol, port)
    tried: list[tuple[_Entry, Recorder, Trace, IPAddress]] = []
    for entry in entries:
        for candidate in clients:
            sub = Recorder()
            tried.append((entry, sub, _enter(t, sub, entry, source, candidate, protocol, port),
                          candidate))
            if not _blocked(tried[-1][2]):
                break
        if not _blocked(tried[-1][2]):
            break
    entry, sub, trace, client = next((x for x in tried if not _blocked(x[2])), tried[0])
    _source_hop(b, source, client, len(clients), destination, protocol, port)
    others = [e.describe() for e in entries if e is not entry]
    b.hop(kind="internet", name="Internet", decision="enter",
          detail=f"through {entry.describe()}"
          + (f"; also leads there: {'; '.join(others)}" if others else ""),
          resource=str(entry.nic[2].id) if entry.nic else str(entry.frontend[1].id)
          if entry.frontend else None)
    b.hops.extend(sub.hops)
    b.issues.extend(sub.issues)
    b.verdicts.extend(sub.verdicts)
    return msgspec.structs.replace(trace, hops=tuple(b.hops), issues=tuple(b.issues),
                                   nsg_verdicts=tuple(b.verdicts))


def _source_hop(b: Recorder, source: Endpoint, client: IPAddress, asked: int,
                destination: Endpoint, protocol: Protocol, port: int | None) -> None:
    if source.ip is not None:
        stands = ""
    elif asked == 1:
        stands = f" ({client} stands for any Internet address)"
    else:
        stands = (f" (for any Internet address: {asked} were asked, {ANY_INTERNET} and both ends "
                  "of every public prefix an inbound allow rule on the way names)")
    b.hop(kind="source", name=source.name, decision="originate",
          detail=f"{protocol.value} from the Internet {client}{stands} -> "
          f"{destination.name}:{port_text(port)}")


def _clients(t: Tracer, entries: list[_Entry]) -> list[IPAddress]:
    """The Internet addresses that stand for "any" (--from Internet): the documentation address,
    then both ends of every public prefix that an inbound Allow rule of an NSG on the way names,
    so that an NSG open to some Internet sources only is not judged closed by one address."""
    seen: dict[IPAddress, None] = {ANY_INTERNET: None}
    for entry in entries:
        for nic in _entry_nics(t, entry):
            for rule in _inbound_allows(t, nic):
                for prefix in rule.source_address_prefixes:
                    net = prefix.network
                    if net is None or not _is_public(net):
                        continue
                    for address in (net.network_address, net.broadcast_address):
                        if address.version == ANY_INTERNET.version and _is_public_address(address):
                            seen.setdefault(address, None)
    return list(seen)


def _entry_nics(t: Tracer, entry: _Entry) -> list[NetworkInterface]:
    """The NICs whose NSGs judge a flow through ``entry``: its NIC, or the backends of a load
    balancer."""
    if entry.nic is not None:
        return [entry.nic[0]]
    if entry.frontend is None:
        return []
    found: dict[ResourceId, NetworkInterface] = {}
    for pool in entry.frontend[0].backend_address_pools:
        for ipc_id in pool.backend_ip_configurations:
            nic_id = ipc_id.parent
            nic = None if nic_id is None else t.snapshot.network_interfaces.get_ref(nic_id)
            if nic is not None:
                found.setdefault(nic.id, nic)
    return list(found.values())


def _inbound_allows(t: Tracer, nic: NetworkInterface) -> list[SecurityRule]:
    groups = [nic.network_security_group]
    for ipc in nic.ip_configurations:
        subnet = t.snapshot.subnet(ipc.subnet)
        if subnet is not None:
            groups.append(subnet.network_security_group)
    rules: list[SecurityRule] = []
    for gid in dict.fromkeys(g for g in groups if g is not None):
        nsg = t.snapshot.network_security_groups.get_ref(gid)
        if nsg is None:
            continue
        rules.extend(
            r for r in nsg.security_rules
            if r.direction is Direction.INBOUND and r.access is Access.ALLOW
        )
    return rules


def _is_public(net: IPNetwork) -> bool:
    """A prefix with some address the Internet tag covers (a private one is never an Internet
    client)."""
    return _is_public_address(net.network_address) or _is_public_address(net.broadcast_address)


def _is_public_address(address: IPAddress) -> bool:
    if address.version == 6:
        return address.is_global
    return not any(address in n for n in _NEVER_INTERNET)


def _blocked(trace: Trace) -> bool:
    return trace.outcome is not Outcome.DELIVERED or any(
        i.status == "fail" or (i.status is None and i.code in lb.BLOCKING) for i in trace.issues
    )


def _no_public_path(b: Recorder, destination: Endpoint, protocol: Protocol,
                    port: int | None) -> Trace:
    where = (f"{destination.name} has no instance-level public IP and no public load balancer "
             f"frontend with a rule for {protocol.value}/{port_text(port)} to it"
             if destination.nic is not None
             else f"{destination.ip} is no public IP or public frontend of the snapshot")
    b.hop(kind="internet", name="Internet", decision="no public path", status="fail",
          detail=where)
    b.issue(code="NO_PUBLIC_PATH",
            message=f"No public path from the Internet: {where}; traffic from the Internet "
            "enters only through a public address (Azure Firewall DNAT and classic endpoints "
            "are not followed)",
            resource=None if destination.nic is None else str(destination.nic.id))
    return b.trace(Outcome.DROPPED, delivered_to=None)


def _enter(t: Tracer, b: Recorder, entry: _Entry, source: Endpoint, client: IPAddress,
           protocol: Protocol, port: int | None) -> Trace:
    if entry.frontend is not None:
        balancer, fe = entry.frontend
        visit = lb.LbVisit(lb=balancer, frontend=fe, hop=None, source=source, src_ip=client,
                           dst_ip=entry.address, protocol=protocol, port=port, appliances=(),
                           clients=(client,))
        trace = lb.load_balancer(t, b, visit)
        if trace.outcome is Outcome.INTERNET and trace.delivered_to is not None:
            trace = msgspec.structs.replace(trace, outcome=Outcome.DELIVERED)
        return trace
    assert entry.nic is not None
    nic, ipc, pip = entry.nic
    private = ipc.private_ip_address
    if private is None:
        b.hop(kind="destination", name=nic.name, decision="unknown", status="unknown",
              detail=f"{ipc.name} has no private address in the snapshot")
        return b.trace(Outcome.UNKNOWN)
    subnet = t.snapshot.subnet(ipc.subnet)
    has_nsg = nic.network_security_group is not None or (
        subnet is not None and subnet.network_security_group is not None)
    if (pip.sku or "").casefold() == "standard" and not has_nsg:
        b.hop(kind="nsg-inbound", name="(no NSG)", decision="Deny", status="fail",
              detail=f"a Standard public IP is closed to inbound traffic unless an NSG on "
              f"{nic.name} or its subnet allows it, and neither has an NSG (secure by default)",
              resource=str(nic.id))
        b.issue(code="NO_PUBLIC_PATH",
                message=f"Standard public IP {pip.name} ({entry.address}) of {nic.name} is closed "
                "to inbound traffic: neither the NIC nor its subnet has an NSG that allows it "
                "(secure by default)",
                resource=str(nic.id), pointer="/properties/networkSecurityGroup")
        return b.trace(Outcome.DROPPED)
    t.nsg_step(b, nic, ipc, Direction.INBOUND, protocol, client, private, port, "destination")
    _reply(t, b, nic, ipc, private, client, entry)
    b.hop(kind="destination", name=nic.name, decision="deliver",
          detail=f"to {nic.name} ({private}, public {entry.address})", resource=str(nic.id))
    return b.trace(Outcome.DELIVERED, delivered_to=nic)


def _reply(t: Tracer, b: Recorder, nic: NetworkInterface, ipc: IpConfiguration,
           private: IPAddress, client: IPAddress, entry: _Entry) -> None:
    """The reply leaves by the NIC's routes: a route that sends it to an appliance or a firewall
    takes it away from the public IP's translation (the same asymmetry as for a public frontend,
    and as for private flows through a stateful appliance)."""
    detour = lb.reply_detour(t, nic, ipc, private, client)
    if detour is None:
        return
    route, via, code = detour
    b.issue(
        code=code,
        message=f"{nic.name}'s reply to the Internet client {client} goes by {route.describe()} "
        f"to {via} instead of back through {entry.describe()}: the reply leaves with another "
        "address (or is dropped by the stateful appliance that never saw the request), and the "
        "client drops it (asymmetric routing); unless the appliance DNATs this flow itself "
        "(not followed here), the flow fails",
        resource=str(route.resource_id) if route.resource_id else None,
        pointer=route.pointer,
        status="fail",
    )
