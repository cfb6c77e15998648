"""Which VM-group pairs one diagnosis answers for: the layered keys of the reachability matrix.

A diagnosis of ``A -> B`` reads B's address only through a few questions, each asked of one
table: which interval of a compiled NSG it falls in (A's outbound layers, each appliance's
layers), which route A's subnet picks for it (and each appliance's subnet), which VNets hold it,
and the ASGs A's VNet sees it with. A's address is read the same way on B's side (B's inbound
layers, the route B's subnet picks to return to A) and on the appliances'. Everything else comes
from A alone or B alone (VM and NIC state, VNet).

So the questions are answered for every group at once: one vectorised lookup per table over the
groups' addresses gives each group's *class* for that table, and the real engine (NSG verify,
next-hop lookup) is asked once per distinct class. A cell's key is the tuple of those normalised
answers plus each side's own state; the cells of one key get one full diagnosis (of the first
pair that has the key). Groups whose address cannot be classed (no NIC or IP, IPv6, an address
held by several NICs, a load balancer frontend) key on their identity: exact, only slower.
Azure Firewalls are classed like appliances: an address's class is how it matches every address
text of every rule (and IP group, and SNAT private range), through the firewall engine's own
matcher; a destination's class also holds its inbound NSG evaluation, which a firewall that SNATs
runs with the firewall's address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.endpoints import Endpoint
from vnetdoctor.engine.firewall import address_match, ordered_collections, private_ranges
from vnetdoctor.engine.nsg import CompiledRules
from vnetdoctor.engine.path import Recorder, Tracer, firewall_interface
from vnetdoctor.engine.routes import EffectiveNextHopType
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface, VirtualMachine
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.security import Direction
from vnetdoctor.model.snapshot import Snapshot

__all__ = ["Interner", "LayeredKeys"]

# Next hops after which the trace reads the source's own outbound setup (SNAT, egress).
_SOURCE_BOUND = frozenset({EffectiveNextHopType.INTERNET})

Ints = npt.NDArray[np.int64]


class Interner:
    """Small dense ids for hashable values; ``values[id]`` gives the value back."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.values: list[Any] = []

    def __call__(self, value: Any) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


def _classes(columns: Sequence[Ints]) -> tuple[Ints, Ints]:
    """Rows (groups) with equal values in every column form a class: (first member of each
    class, class of each row)."""
    stacked = np.stack(columns, axis=1)
    _, first, inverse = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    return first.astype(np.int64), inverse.reshape(-1).astype(np.int64)


def _issue_key(issues: Sequence[Any]) -> tuple[Any, ...]:
    return tuple((i.code, i.resource, i.pointer, i.status, i.step) for i in issues)


def _ids(values: Sequence[ResourceId]) -> tuple[str, ...]:
    return tuple(sorted(str(v).casefold() for v in values))


def local_state(snapshot: Snapshot, vm: VirtualMachine) -> tuple[Any, ...]:
    """What the runbook reads of a VM besides its addresses, NSGs, routes and VNet: the VM's and
    its NICs' state (step 1), forwarding and the outbound setup (step 5)."""
    nics: list[Any] = []
    for nic_id, nic in snapshot.nics_of(vm):
        if nic is None:
            nics.append(("missing", str(nic_id).casefold()))
            continue
        nics.append(
            (
                nic.provisioning_state,
                nic.primary,
                nic.enable_ip_forwarding,
                bool(nic.private_ip_addresses),
                tuple(
                    (
                        c.primary,
                        c.private_ip_allocation_method,
                        c.provisioning_state,
                        c.problems,
                        c.public_ip_address is not None,
                        _ids(c.load_balancer_backend_address_pools),
                    )
                    for c in nic.ip_configurations
                ),
            )
        )
    refs = tuple(r.primary for r in vm.network_interfaces)
    return (vm.power_state, vm.provisioning_state, vm.is_running, refs, tuple(nics))


class LayeredKeys:
    """Keys for the cells of a group-by-group matrix; see the module doc.

    ``endpoints[g]`` is group ``g``'s representative resolved as a diagnosis resolves it;
    ``states[g]`` its :func:`local_state`.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        tracer: Tracer,
        endpoints: Sequence[Endpoint],
        states: Sequence[tuple[Any, ...]],
        protocol: Protocol,
        port: int | None,
        *,
        own: Sequence[bool] = (),
    ) -> None:
        self.snapshot = snapshot
        self.tracer = tracer
        self.protocol = protocol
        self.port = port
        self.endpoints = list(endpoints)
        n = self.n = len(endpoints)
        self.special = np.zeros(n, dtype=bool)
        self.ip = np.zeros(n, dtype=np.int64)
        vnets = Interner()
        self.vnet = np.full(n, -1, dtype=np.int64)
        lbs = tracer.lbs if snapshot.load_balancers else None
        for g, ep in enumerate(endpoints):
            ip, nic = ep.ip, ep.nic
            if (
                (g < len(own) and own[g])
                or ip is None
                or nic is None
                or ep.ip_configuration is None
                or ip.version != 4
                or len(snapshot.nics_with_ip(ip)) != 1
                or (lbs is not None and lbs.frontend_at(ip) is not None)
            ):
                self.special[g] = True
                continue
            self.ip[g] = int(ip)
            vnet = snapshot.subnet_vnet(ep.ip_configuration.subnet)
            self.vnet[g] = vnets(None if vnet is None else vnet.id)
        self.identity = np.where(self.special, np.arange(n, dtype=np.int64), -1)
        self._decisions = Interner()
        # Decisions whose outcome depends on the source's own setup (its outbound SNAT).
        self.source_bound: set[int] = set()
        self._nsg_answers = Interner()
        self._tables: dict[routing.TableKey, Ints] = {}
        self._bounds: dict[tuple[int, str], Ints] = {}
        self._memberships: dict[ResourceId | None, Ints] = {}
        self._membership_ids = Interner()
        self._inbound: npt.NDArray[np.int64] | None = None
        self._vectors: dict[tuple[Any, ...], Ints] = {}
        self._fw_class: Ints | None = None
        self._fw_decisions: dict[tuple[int, int], int] = {}
        self._containing = self._vnets_containing()
        appliances = self._appliances()
        state_ids = Interner()
        # The VM's own state, for the runbook's per-end checks (step 1).
        self.state = np.fromiter((state_ids(s) for s in states), dtype=np.int64, count=n)
        # Everything the route walk reads of each end besides the route from the source.
        self.row_walk = self._side_keys(appliances, "source")
        self.column_walk = self._side_keys(appliances, "destination")
        self.forward_table = [self._table_key(ep, ep.ip_configuration) for ep in endpoints]
        self.back_table = [
            self._table_key(ep, None if ep.nic is None else ep.nic.primary_ip_configuration)
            for ep in endpoints
        ]
        self._back: tuple[npt.NDArray[np.int64], Ints] | None = None

    # -- per-table classes ----------------------------------------------------------------------
    @staticmethod
    def _table_key(ep: Endpoint, ipc: IpConfiguration | None) -> routing.TableKey | None:
        return None if ep.nic is None else routing.table_key(ep.nic, ipc)

    def decisions(
        self,
        key: routing.TableKey | None,
        nic: NetworkInterface | None,
        ipc: IpConfiguration | None,
    ) -> Ints:
        """The next hop ``key``'s route table picks for each group's address, as decision ids."""
        if key is None or nic is None:
            return np.full(self.n, -1, dtype=np.int64)
        found = self._tables.get(key)
        if found is not None:
            return found
        table = self._route_table(key, nic, ipc)
        columns: list[Ints] = [self.identity]
        by_length: dict[int, set[int]] = {}
        for route in table.routes:
            for prefix in route.address_prefixes:
                if prefix.version == 4:
                    by_length.setdefault(prefix.prefixlen, set()).add(int(prefix.network_address))
        for length, nets in sorted(by_length.items()):
            shift = 32 - length
            masked = (self.ip >> shift) << shift
            hit = np.isin(masked, np.fromiter(nets, dtype=np.int64, count=len(nets)))
            columns.append(np.where(hit, masked, -1))
        first, inverse = _classes(columns)
        ids = np.empty(len(first), dtype=np.int64)
        for c, g in enumerate(first):
            dst = self.endpoints[g].ip
            if dst is None:
                ids[c] = -1
                continue
            hop = table.next_hop(dst, None)
            ids[c] = self._decisions(
                (hop.status, hop.next_hop_type, hop.next_hop_ip_address, hop.route, hop.reasons)
            )
            if hop.route is not None and hop.route.next_hop_type in _SOURCE_BOUND:
                self.source_bound.add(int(ids[c]))
        found = self._tables[key] = ids[inverse]
        return found

    def _route_table(
        self, key: routing.TableKey, nic: NetworkInterface, ipc: IpConfiguration | None
    ) -> routing.EffectiveRouteTable:
        return self.tracer.route_tables.table(nic, ipc, key)

    def _bound_index(self, compiled: CompiledRules, side: str) -> Ints:
        key = (id(compiled), side)
        found = self._bounds.get(key)
        if found is None:
            bounds = np.asarray(compiled.address_bounds(side, 4), dtype=np.int64)
            found = self._bounds[key] = np.searchsorted(bounds, self.ip, side="right") - 1
        return found

    def _membership(self, vnet_id: ResourceId | None) -> Ints:
        """Each group's ASG membership as seen from a NIC in ``vnet_id`` (interned)."""
        found = self._memberships.get(vnet_id)
        if found is None:
            nsgs = self.tracer.nsgs
            values = np.full(self.n, -1, dtype=np.int64)
            for g, ep in enumerate(self.endpoints):
                if ep.ip is not None:
                    m = nsgs.remote_membership(ep.ip, vnet_id)
                    values[g] = self._membership_ids((m.asgs, m.complete))
            found = self._memberships[vnet_id] = values
        return found

    def nsg_columns(
        self, nic: NetworkInterface, ipc: IpConfiguration, direction: Direction, side: str
    ) -> list[Ints]:
        """Columns that class the groups' addresses on ``side`` of ``nic``'s NSG layers."""
        compiled, vnet_id, needs_remote, _ = self.tracer.nsgs.layers(nic, ipc, direction)
        columns = [self._bound_index(c, side) for c in compiled]
        if needs_remote:
            columns.append(self._membership(vnet_id))
        if self.snapshot.effective_admin_rules and self.snapshot.admin_rules_for(vnet_id):
            columns.append(np.arange(self.n, dtype=np.int64))  # admin rules: not classed
        return columns

    def _vnets_containing(self) -> Ints:
        """For each group, the set of VNets whose address space holds its address (interned)."""
        ids = Interner()
        spaces = [
            (vnet.id, [p for p in vnet.address_prefixes if p.version == 4])
            for vnet in self.snapshot.virtual_networks.values()
        ]
        out = np.full(self.n, -1, dtype=np.int64)
        for g, ep in enumerate(self.endpoints):
            ip = ep.ip
            if ip is not None:
                out[g] = ids(frozenset(v for v, ps in spaces if any(ip in p for p in ps)))
        return out

    # -- appliances -----------------------------------------------------------------------------
    def _appliances(self) -> list[tuple[NetworkInterface, IpConfiguration]]:
        """NICs a route can hand a packet to: those forwarding IP, and next hops of user routes."""
        snapshot = self.snapshot
        found: dict[ResourceId, tuple[NetworkInterface, IpConfiguration]] = {}
        for nic in snapshot.network_interfaces.values():
            if nic.enable_ip_forwarding:
                for ipc in nic.ip_configurations:
                    found.setdefault(ipc.id, (nic, ipc))
        for table in snapshot.route_tables.values():
            for route in table.routes:
                hop = route.next_hop_ip_address
                if hop is not None:
                    for nic, ipc in snapshot.nics_with_ip(hop):
                        found.setdefault(ipc.id, (nic, ipc))
        return sorted(found.values(), key=lambda item: str(item[1].id))

    def _side_keys(
        self, appliances: list[tuple[NetworkInterface, IpConfiguration]], role: str
    ) -> Ints:
        """What the route walk reads of a source (``role`` ``source``) or destination beyond
        the first route: its VNet, the VNets holding its address, and its class at every
        appliance (NSG layers both ways, and, for a destination, the appliance's route)."""
        columns: list[Ints] = [self.identity, self.vnet, self._containing]
        columns.extend(self._firewall_columns(role))
        own_nic = [None if ep.nic is None else ep.nic.id for ep in self.endpoints]
        for nic, ipc in appliances:
            for direction in (Direction.INBOUND, Direction.OUTBOUND):
                columns.extend(self.nsg_columns(nic, ipc, direction, role))
            if role == "destination":
                columns.append(self.decisions(routing.table_key(nic, ipc), nic, ipc))
            elif nic.id in own_nic:
                # A source that is this appliance meets itself on the way: a loop.
                columns.append(np.fromiter((n == nic.id for n in own_nic), np.int64, self.n))
        _, inverse = _classes(columns)
        return inverse

    # -- per-cell answers -----------------------------------------------------------------------
    def _nsg_answer(
        self,
        nic: NetworkInterface,
        ipc: IpConfiguration,
        direction: Direction,
        src: IPAddress,
        dst: IPAddress,
        role: str,
    ) -> int:
        """The trace's own NSG step, alone: the id of the issues it raises."""
        scratch = Recorder()
        self.tracer.nsg_step(scratch, nic, ipc, direction, self.protocol, src, dst, self.port, role)
        return self._nsg_answers(_issue_key(scratch.issues))

    def outbound(self, i: int) -> Ints:
        """Source ``i``'s outbound NSG answer towards every group."""
        return self._nsg_vector(i, Direction.OUTBOUND)

    def inbound(self) -> Ints:
        """``inbound()[i, j]``: destination ``j``'s inbound NSG answer to source ``i``."""
        if self._inbound is None:
            table = np.empty((self.n, self.n), dtype=np.int64)
            for j in range(self.n):
                table[:, j] = self._nsg_vector(j, Direction.INBOUND)
            self._inbound = table
        return self._inbound

    def _evaluation(self, g: int, direction: Direction) -> tuple[Any, ...]:
        """Equal for two groups whose NICs answer every packet alike in ``direction``: the same
        layers, their own address in the same intervals (admin rules: not shared)."""
        ep = self.endpoints[g]
        nic, ipc = ep.nic, ep.ip_configuration
        if nic is None or ipc is None or ep.ip is None:
            return (direction, g)
        compiled, vnet_id, _, shape = self.tracer.nsgs.layers(nic, ipc, direction)
        local = "source" if direction is Direction.OUTBOUND else "destination"
        admin = bool(self.snapshot.effective_admin_rules and self.snapshot.admin_rules_for(vnet_id))
        return (
            direction,
            shape,
            tuple(int(self._bound_index(c, local)[g]) for c in compiled),
            g if admin or self.special[g] else -1,
        )

    def _firewall_class(self) -> Ints:
        """How each group's address matches every address text the Azure Firewalls' rules, IP
        groups and SNAT private ranges hold, through the firewall engine's own matcher: two
        addresses of one class are alike to every firewall, as source or destination."""
        if self._fw_class is not None:
            return self._fw_class
        snapshot = self.snapshot
        tags = self.tracer.nsgs.tags

        def lookup(tag: str) -> Any:
            return tags.expand(tag, None)

        texts: set[str] = set()
        for firewall in snapshot.azure_firewalls.values():
            texts.update(private_ranges(snapshot, firewall))
            for ordered in ordered_collections(snapshot, firewall)[0]:
                for rule in ordered.collection.rules:
                    texts.update(rule.source_addresses)
                    texts.update(rule.destination_addresses)
        for group in snapshot.ip_groups.values():
            texts.update(group.ip_addresses)
        ordered_texts = sorted(texts)
        matches = Interner()
        column = np.full(self.n, -1, dtype=np.int64)
        for g, ep in enumerate(self.endpoints):
            if ep.ip is not None:
                ip = ep.ip
                column[g] = matches(
                    tuple(
                        (address_match(t, ip, lookup), address_match(t, ip, None))
                        for t in ordered_texts
                    )
                )
        self._fw_class = np.where(self.special, -2 - np.arange(self.n), column)
        return self._fw_class

    def _firewall_columns(self, role: str) -> list[Ints]:
        """What the route walk reads of an end at Azure Firewalls besides the decision (see
        :meth:`firewall_row`): for a destination, its inbound NSG evaluation (a firewall that
        SNATs runs it with its own address) and each firewall subnet's route to it. With
        several firewalls (a packet may cross two), the ends' address classes too."""
        firewalls = self.snapshot.azure_firewalls
        if not firewalls:
            return []
        columns = [self._firewall_class()] if len(firewalls) > 1 else []
        if role == "destination":
            for firewall in firewalls.values():
                for address in firewall.private_ip_addresses:
                    nic, ipc = firewall_interface(firewall, address)
                    columns.append(self.decisions(routing.table_key(nic, ipc), nic, ipc))
                    columns.append(self._inbound_from(address))
        return columns

    def _inbound_from(self, source: Any) -> Ints:
        """Each group's inbound NSG answer to a packet from ``source`` (a firewall that SNATs),
        asked once per distinct inbound evaluation."""
        memo: dict[tuple[Any, ...], int] = {}
        out = np.full(self.n, -1, dtype=np.int64)
        for g, ep in enumerate(self.endpoints):
            nic, ipc = ep.nic, ep.ip_configuration
            if nic is None or ipc is None or ep.ip is None or ep.ip.version != source.version:
                continue
            key = self._evaluation(g, Direction.INBOUND)
            found = memo.get(key)
            if found is None:
                found = memo[key] = self._nsg_answer(
                    nic, ipc, Direction.INBOUND, source, ep.ip, "destination"
                )
            out[g] = found
        return out

    def firewall_row(self, i: int) -> Ints:
        """What the (single) Azure Firewall decides for source ``i`` and each destination,
        asked of the firewall engine once per pair of address classes."""
        firewalls = list(self.snapshot.azure_firewalls.values())
        if len(firewalls) != 1 or self.endpoints[i].ip is None:
            return np.zeros(self.n, dtype=np.int64)
        firewall = firewalls[0]
        classes = self._firewall_class()
        first, inverse = _classes([classes])
        src = self.endpoints[i].ip
        assert src is not None
        ids = np.empty(len(first), dtype=np.int64)
        for c, g in enumerate(first.tolist()):
            dst = self.endpoints[g].ip
            if dst is None:
                ids[c] = -1
                continue
            key = (int(classes[i]), int(classes[g]))
            found = self._fw_decisions.get(key)
            if found is None:
                d = self.tracer.firewalls.evaluate(
                    firewall, self.protocol, src, dst, self.port, fqdn=self.tracer.fqdn
                )
                found = self._fw_decisions[key] = self._decisions(
                    (d.access, d.phase, d.resource, d.pointer, d.collection, d.rule, d.action,
                     d.snat, d.translated_destination, d.translated_port)
                )
            ids[c] = found
        return ids[inverse]

    def _nsg_vector(self, g: int, direction: Direction) -> Ints:
        ep = self.endpoints[g]
        nic, ipc = ep.nic, ep.ip_configuration
        if nic is None or ipc is None or ep.ip is None:
            return np.full(self.n, -1, dtype=np.int64)
        side = "destination" if direction is Direction.OUTBOUND else "source"
        key = self._evaluation(g, direction)
        found = self._vectors.get(key)
        if found is not None:
            return found
        columns = [self.identity, *self.nsg_columns(nic, ipc, direction, side)]
        first, inverse = _classes(columns)
        answers = np.empty(len(first), dtype=np.int64)
        for c, other in enumerate(first):
            far = self.endpoints[other]
            if far.ip is None or far.ip.version != ep.ip.version:
                answers[c] = -1
                continue
            if direction is Direction.OUTBOUND:
                answers[c] = self._nsg_answer(nic, ipc, direction, ep.ip, far.ip, "source")
            else:
                answers[c] = self._nsg_answer(nic, ipc, direction, far.ip, ep.ip, "destination")
        found = self._vectors[key] = answers[inverse]
        return found

    def row(self, i: int) -> tuple[Ints, Ints, Ints, Ints]:
        """For source group ``i`` and every destination group: the outbound NSG answer, the
        route ``i``'s subnet picks, the destination's inbound NSG answer, and the route the
        destination's subnet picks to reply."""
        ep = self.endpoints[i]
        forward = self.decisions(self.forward_table[i], ep.nic, ep.ip_configuration)
        rows, index = self._back_rows()
        return self.outbound(i), forward, self.inbound()[i], rows[index, i]

    def nsg_issues(self, answer: int) -> tuple[Any, ...]:
        """The issues (code, resource, pointer, status, step) an NSG answer id stands for."""
        issues: tuple[Any, ...] = self._nsg_answers.values[answer]
        return issues

    def _back_rows(self) -> tuple[npt.NDArray[np.int64], Ints]:
        """The next hop each group's subnet picks for every group's address (one row per route
        table), and which row is each group's for replies."""
        if self._back is None:
            position: dict[routing.TableKey | None, int] = {}
            rows: list[Ints] = []
            index = np.empty(self.n, dtype=np.int64)
            for g, key in enumerate(self.back_table):
                if key not in position:
                    nic = self.endpoints[g].nic
                    position[key] = len(rows)
                    rows.append(
                        self.decisions(
                            key, nic, None if nic is None else nic.primary_ip_configuration
                        )
                    )
                index[g] = position[key]
            self._back = (np.stack(rows), index)
        return self._back
