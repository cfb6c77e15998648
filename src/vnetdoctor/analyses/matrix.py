"""Reachability between every pair of VMs, without N^2 full traces.

A diagnosis of ``A -> B`` depends on A and B only through their *context*: the VM's power and
provisioning state, each NIC's NSG, IP forwarding and state, each IP configuration's subnet,
application security groups, public IP and load-balancer membership, how many NICs share its IP,
and where its private IPs fall among every address prefix written anywhere in the estate (NSG rules,
routes, firewall rules, IP groups, peerings, gateways). Prefixes that contain a VM's whole subnet
are implied by the subnet, so only the prefixes *inside* a subnet split it.

VMs with the same context form a group, and every pair of members gets the result of its group
pair. :func:`reference_matrix` (:meth:`Matrix.compute_all`) diagnoses one representative pair per
ordered group pair (the plain way, used as the reference); :func:`vnetdoctor.analyses.compose.
build_matrix` composes each group pair's cell from parts that are each diagnosed once
(:mod:`vnetdoctor.analyses.equivalence`), which is what makes 10,000 VMs take seconds. Results are
compared as a *signature*: the verdict and each non-passing finding's code, step, status, resource
and pointer, with the two endpoints' own resource ids replaced by ``<source>``/``<destination>``
(messages differ only in the names and IPs). ``tests/matrix`` checks the equivalence against
per-pair ``diagnose`` on random pairs of the 10,000-VM synthetic estate.

Not modelled: guest evidence (every cell is computed without it) and classic VMs (not in scope).
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from vnetdoctor.analyses.equivalence import LayeredKeys, local_state
from vnetdoctor.api import diagnose, parse_protocol
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.engine.path import Tracer
from vnetdoctor.errors import InternalError
from vnetdoctor.model.compute import VirtualMachine
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.net import Protocol
from vnetdoctor.model.security import SecurityRule
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.findings import Finding, Status
from vnetdoctor.runbook.runner import Diagnosis

__all__ = ["Cell", "Group", "Matrix", "reference_matrix", "signature", "vm_context"]

SCHEMA = "vnetdoctor.matrix/2"

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network
_Addr = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Cell:
    """One cell: the verdict and the reasons (blockers first, then what is unknown)."""

    verdict: str
    reasons: tuple[str, ...] = ()
    signature: tuple[Any, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Group:
    index: int
    members: tuple[str, ...]
    key: tuple[Any, ...] = field(repr=False, compare=False)
    vnet: str = ""  # the VNet of the members' primary IP, for views by VNet ("" if none)


def _collect(value: Any, nets: set[_Net], depth: int = 0) -> None:
    """Every IP network or address found anywhere inside ``value`` (structs, tuples, dicts)."""
    if depth > 12 or value is None or isinstance(value, (str, bytes, int, float, bool)):
        return
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        nets.add(value)
    elif isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        nets.add(ipaddress.ip_network(value))
    elif isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        nets.add(value.network)
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _collect(getattr(value, name), nets, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, nets, depth + 1)
    elif isinstance(value, (tuple, list, frozenset, set)):
        for item in value:
            _collect(item, nets, depth + 1)


def _rule_applies(rule: SecurityRule, protocol: Protocol | None, port: int | None) -> bool:
    """Can this NSG rule match a flow of ``protocol`` to ``port``? (When unsure: yes.)"""
    if rule.problems or rule.protocol is None or protocol is None:
        return True
    if rule.protocol not in (Protocol.ANY, protocol) and protocol is not Protocol.ANY:
        return False
    if port is None or not rule.destination_port_ranges:
        return True
    return any(r.start <= port <= r.end for r in rule.destination_port_ranges)


class _PrefixIndex:
    """Every prefix written in the estate (outside VMs and NICs), indexed by prefix length.

    For NSGs, only the rules that can match the flow's protocol and port count: the others are
    never the deciding rule, whatever the addresses.
    """

    def __init__(
        self, snapshot: Snapshot, protocol: Protocol | None = None, port: int | None = None
    ) -> None:
        nets: set[_Net] = set()
        for nsg in snapshot.network_security_groups.values():
            for rule in (*nsg.security_rules, *nsg.default_security_rules):
                if _rule_applies(rule, protocol, port):
                    _collect(rule, nets)
        collections: list[Any] = [
            snapshot.route_tables,
            snapshot.virtual_networks,
            snapshot.load_balancers,
            snapshot.nat_gateways,
            snapshot.virtual_network_gateways,
            snapshot.connections,
            snapshot.local_network_gateways,
            # firewall tables exist once the snapshot models Azure Firewall
            *(
                getattr(snapshot, name, {})
                for name in ("azure_firewalls", "firewall_policies", "ip_groups")
            ),
            snapshot.public_ip_addresses,
            snapshot.classic_virtual_machines,
        ]
        for resources in collections:
            for item in resources.values():
                _collect(item, nets)
        self.by_length: dict[tuple[int, int], set[int]] = {}
        for net in nets:
            key = (net.version, net.prefixlen)
            self.by_length.setdefault(key, set()).add(int(net.network_address))
        self.lengths = sorted(self.by_length)

    def inside(self, ip: _Addr, subnet_len: int) -> tuple[tuple[int, int], ...]:
        """The prefixes longer than the subnet's that contain ``ip``."""
        bits = 32 if ip.version == 4 else 128
        value = int(ip)
        hits = []
        for version, length in self.lengths:
            if version != ip.version or length <= subnet_len:
                continue
            masked = value >> (bits - length) << (bits - length)
            if masked in self.by_length[(version, length)]:
                hits.append((length, masked))
        return tuple(hits)


def _ids(values: Any) -> tuple[str, ...]:
    return tuple(sorted(str(v).casefold() for v in values))


def vm_context(snapshot: Snapshot, vm: VirtualMachine, index: _PrefixIndex) -> tuple[Any, ...]:
    """What a diagnosis can see of ``vm``, minus its name and own ids (see the module doc)."""
    nics: list[Any] = []
    for nic_id, nic in snapshot.nics_of(vm):
        if nic is None:
            nics.append(("missing", str(nic_id).casefold()))
            continue
        ipcs = []
        for ipc in nic.ip_configurations:
            subnet = snapshot.subnet(ipc.subnet)
            ip = ipc.private_ip_address
            if subnet is None or ip is None:
                # Nothing to share with another VM: keep it alone.
                return ("alone", str(vm.id).casefold())
            subnet_len = min((p.prefixlen for p in subnet.address_prefixes if ip in p), default=0)
            ipcs.append(
                (
                    str(ipc.subnet).casefold(),
                    tuple(sorted(str(a).casefold() for a in ipc.application_security_groups)),
                    ipc.public_ip_address is not None,
                    _ids(ipc.load_balancer_backend_address_pools),
                    _ids(ipc.load_balancer_inbound_nat_rules),
                    ipc.primary,
                    ipc.private_ip_allocation_method,
                    ipc.provisioning_state,
                    ipc.problems,
                    len(snapshot.nics_with_ip(ip)),
                    index.inside(ip, subnet_len),
                )
            )
        nics.append(
            (
                str(nic.network_security_group or "").casefold(),
                nic.enable_ip_forwarding,
                nic.provisioning_state,
                nic.primary,
                tuple(ipcs),
            )
        )
    refs = tuple(r.primary for r in vm.network_interfaces)
    return (vm.power_state, vm.provisioning_state, refs, tuple(nics))


def _endpoint_ids(snapshot: Snapshot, vm: VirtualMachine) -> list[str]:
    ids = [str(vm.id).casefold()]
    ids.extend(str(nic_id).casefold() for nic_id, _ in snapshot.nics_of(vm))
    return ids


def _norm(resource: str | None, ends: list[tuple[str, str]]) -> str:
    if not resource:
        return ""
    folded = resource.casefold()
    for prefix, label in ends:
        if folded == prefix or folded.startswith(prefix + "/"):
            return label + folded[len(prefix) :]
    return folded


Item = tuple[str, int, str, str, str]  # code, step, status, resource, pointer


def endpoint_ends(
    snapshot: Snapshot, src: VirtualMachine, dst: VirtualMachine
) -> list[tuple[str, str]]:
    """The two ends' own resource ids, longest first, with the label that replaces them."""
    ends = [(i, "<source>") for i in _endpoint_ids(snapshot, src)]
    ends += [(i, "<destination>") for i in _endpoint_ids(snapshot, dst)]
    ends.sort(key=lambda e: -len(e[0]))
    return ends


def item_of(finding: Finding, ends: list[tuple[str, str]]) -> Item:
    """A non-passing finding as a signature item, the ends' ids replaced."""
    return (
        finding.code,
        finding.step,
        str(finding.status),
        _norm(finding.resource, ends),
        finding.pointer or "",
    )


_REASON_RANK = {str(Status.ERROR): 0, str(Status.FAIL): 1, str(Status.UNKNOWN): 2}


def make_cell(verdict: str, statuses: tuple[tuple[int, str], ...], items: tuple[Item, ...]) -> Cell:
    """A cell from its step statuses and items: the reasons are the steps that raised (a bug),
    the failing items, then the unknown ones, each once."""
    reasons = []
    for code, _step, status, resource, pointer in items:
        rank = _REASON_RANK.get(status)
        if rank is not None:
            name = resource.rsplit("/", 1)[-1] if "/" in resource else resource
            where = f" {pointer}" if pointer else ""
            reasons.append((rank, f"{code} {name}{where}".strip()))
    ordered = tuple(dict.fromkeys(r for _, r in sorted(reasons, key=lambda r: r[0])))
    return Cell(verdict, ordered, (statuses, items))


def raised_steps(cell: Cell) -> tuple[int, ...]:
    """The steps whose status is ``error`` in the diagnosis ``cell`` was made from."""
    statuses = cell.signature[0] if cell.signature else ()
    return tuple(n for n, status in statuses if status == Status.ERROR)


class MatrixStepFailed(InternalError):
    """A step raised in the diagnosis of some cells: the matrix is written (those cells say
    ``INTERNAL_ERROR`` first), then this ends the command with exit 70."""

    def __init__(self, steps: tuple[int, ...]) -> None:
        self.steps = steps
        which = ", ".join(str(n) for n in steps)
        super().__init__(
            f"step{'s' if len(steps) > 1 else ''} {which} raised in the diagnosis of some "
            "matrix cells (their first reason is INTERNAL_ERROR)"
        )


def signature(
    diagnosis: Diagnosis, snapshot: Snapshot, src: VirtualMachine, dst: VirtualMachine
) -> Cell:
    """The part of a diagnosis that does not depend on which members of two groups were asked."""
    ends = endpoint_ends(snapshot, src, dst)
    items = tuple(
        item_of(f, ends)
        for step in diagnosis.steps
        for f in step.findings
        if f.status is not Status.PASS
    )
    statuses = tuple((s.number, str(s.status)) for s in diagnosis.steps)
    return make_cell(diagnosis.verdict.value, statuses, items)


Diagnoser = Callable[[VirtualMachine, VirtualMachine], Cell]


class Matrix:
    """Cells are computed per group pair on first use; :meth:`compute_all` fills them all."""

    def __init__(
        self,
        vms: list[VirtualMachine],
        groups: list[Group],
        group_of: dict[str, int],
        diagnoser: Diagnoser,
        port: int | None,
        protocol: str,
    ) -> None:
        self.vms: tuple[str, ...] = tuple(v.name for v in vms)
        self._vm = {v.name: v for v in vms}
        self.groups = groups
        self.group_of = group_of
        self.port = port
        self.protocol = protocol
        self._diagnose = diagnoser
        self._cells: dict[tuple[int, int], Cell | None] = {}
        self.diagnosed = 0
        # After :meth:`compute_all`: a cell id per ordered group pair (-1: none) and the cells.
        self._table: Any = None
        self._distinct: list[Cell] = []
        # Guest evidence by VM name (case-folded); each VM with evidence is a group of its own.
        self.guest: Mapping[str, GuestEvidence] = {}
        # VMs in scope the matrix does not cover (classic VMs), named in every output.
        self.excluded: tuple[str, ...] = ()

    def group_cell(self, i: int, j: int) -> Cell | None:
        """The cell for any member of group ``i`` to any *other* member of group ``j``."""
        if self._table is not None:
            found = int(self._table[i, j])
            return None if found < 0 else self._distinct[found]
        key = (i, j)
        if key not in self._cells:
            src = self.groups[i].members[0]
            if i == j:
                if len(self.groups[i].members) < 2:
                    self._cells[key] = None
                    return None
                dst = self.groups[i].members[1]
            else:
                dst = self.groups[j].members[0]
            self._cells[key] = self._diagnose(self._vm[src], self._vm[dst])
            self.diagnosed += 1
        return self._cells[key]

    def vm(self, name: str) -> VirtualMachine:
        return self._vm[name]

    def cell(self, source: str, destination: str) -> Cell | None:
        """``None`` on the diagonal (a VM and itself)."""
        if source == destination:
            return None
        return self.group_cell(self.group_of[source], self.group_of[destination])

    def pair(self, i: int, j: int) -> tuple[VirtualMachine, VirtualMachine] | None:
        """The VMs a cell of groups ``i`` and ``j`` is diagnosed on (two members on the
        diagonal; ``None`` for a one-member group's diagonal)."""
        src = self.groups[i].members[0]
        if i != j:
            return self._vm[src], self._vm[self.groups[j].members[0]]
        if len(self.groups[i].members) < 2:
            return None
        return self._vm[src], self._vm[self.groups[i].members[1]]

    def compute_all(self) -> None:
        """Every cell, with one diagnosis per group pair (see :func:`vnetdoctor.analyses.compose.
        build_matrix` for the composed, much faster way)."""
        for i in range(len(self.groups)):
            for j in range(len(self.groups)):
                self.group_cell(i, j)

    def set_table(self, table: Any, cells: list[Cell], diagnosed: int) -> None:
        """Install computed cells: ``table[i, j]`` indexes ``cells`` (-1: no cell)."""
        self._table = table
        self._distinct = cells
        self.diagnosed = diagnosed

    def raised(self) -> tuple[int, ...]:
        """The steps that raised (a bug) in any cell's diagnosis, in step order."""
        cells, _ = self.answer_counts()
        return tuple(sorted({n for c in cells for n in raised_steps(c)}))

    def pairs(self) -> Iterator[tuple[str, str, Cell]]:
        for a in self.vms:
            for b in self.vms:
                c = self.cell(a, b)
                if c is not None:
                    yield a, b, c

    def counts(self) -> dict[str, int]:
        """Verdict counts over VM pairs (not groups), without enumerating the pairs."""
        if self._table is not None:
            return self._table_counts()
        out: dict[str, int] = {}
        sizes = [len(g.members) for g in self.groups]
        for i, si in enumerate(sizes):
            for j, sj in enumerate(sizes):
                c = self.group_cell(i, j)
                if c is None:
                    continue
                n = si * (si - 1) if i == j else si * sj
                out[c.verdict] = out.get(c.verdict, 0) + n
        return out

    def answer_counts(self) -> tuple[list[Cell], list[int]]:
        """Each distinct cell once, with how many VM pairs get it."""
        import numpy as np

        n = len(self.groups)
        if self._table is not None:
            cells, table = list(self._distinct), np.asarray(self._table, dtype=np.int64)
        else:
            cells, rows = self.answers()
            table = np.asarray(rows, dtype=np.int64).reshape(n, n)
        sizes = np.array([len(g.members) for g in self.groups], dtype=np.int64)
        weights = np.outer(sizes, sizes)
        np.fill_diagonal(weights, sizes * (sizes - 1))
        valid = table >= 0
        per_cell = np.bincount(table[valid], weights=weights[valid], minlength=len(cells))
        return cells, [int(x) for x in per_cell.tolist()]

    def _table_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for cell, n in zip(*self.answer_counts(), strict=True):
            if n:
                out[cell.verdict] = out.get(cell.verdict, 0) + n
        return out

    def answers(self) -> tuple[list[Cell], list[list[int]]]:
        """Each distinct cell once, and a table of their indexes by source group (rows) and
        destination group (columns); -1 where there is no cell (a one-member group's diagonal)."""
        if self._table is not None:
            return list(self._distinct), self._table.tolist()
        cells: list[Cell] = []
        index: dict[Cell, int] = {}
        table: list[list[int]] = []
        for i in range(len(self.groups)):
            row = []
            for j in range(len(self.groups)):
                c = self.group_cell(i, j)
                if c is None:
                    row.append(-1)
                    continue
                k = index.get(c)
                if k is None:
                    k = index[c] = len(cells)
                    cells.append(c)
                row.append(k)
            table.append(row)
        return cells, table

    def to_json(self) -> dict[str, Any]:
        """Compact, whatever the size: the groups with their members, each distinct answer
        once (``cells``), and ``table[source group][destination group]``, an index into
        ``cells`` (-1: no cell)."""
        cells, table = self.answers()
        return {
            "schema": SCHEMA,
            "protocol": self.protocol,
            "port": self.port,
            "vms": len(self.vms),
            "counts": self.counts(),
            "diagnosed": self.diagnosed,
            "notCovered": [{"vm": name, "reason": "classic VM"} for name in self.excluded],
            "groups": [{"group": g.index, "members": list(g.members)} for g in self.groups],
            "cells": [{"cell": k, **c.to_json()} for k, c in enumerate(cells)],
            "table": table,
        }


def select_vms(snapshot: Snapshot, pattern: str | None) -> list[VirtualMachine]:
    vms = sorted(snapshot.virtual_machines.values(), key=lambda v: v.name.casefold())
    if pattern:
        pat = pattern.casefold()
        vms = [v for v in vms if fnmatch.fnmatchcase(v.name.casefold(), pat)]
    return vms


def classic_in_scope(snapshot: Snapshot, pattern: str | None) -> tuple[str, ...]:
    """Classic VMs the glob selects: the matrix does not cover them (``diagnose`` does), and
    says so rather than leave them out unsaid."""
    names = sorted((v.name for v in snapshot.classic_virtual_machines.values()), key=str.casefold)
    if pattern:
        pat = pattern.casefold()
        names = [n for n in names if fnmatch.fnmatchcase(n.casefold(), pat)]
    return tuple(names)



def _vnet_name(snapshot: Snapshot, vm: VirtualMachine) -> str:
    for _, nic in snapshot.nics_of(vm):
        if nic is not None and nic.primary_ip_configuration is not None:
            vnet = snapshot.subnet_vnet(nic.primary_ip_configuration.subnet)
            if vnet is not None:
                return vnet.name
    return ""


def reference_matrix(
    snapshot: Snapshot,
    port: int | None = None,
    protocol: str = "tcp",
    vms: str | None = None,
    *,
    compute: bool = True,
    guest: Mapping[str, GuestEvidence] | None = None,
    fabric: Fabric | None = None,
) -> Matrix:
    """Group the VMs in scope (``vms``: a glob on names) and, with ``compute``, fill every cell
    with :func:`vnetdoctor.api.diagnose` of one representative pair per group pair.

    ``guest`` maps VM names to guest evidence (see :func:`vnetdoctor.api.load_guest`): a VM with
    evidence is a group of its own, since what its guest says is its alone. ``fabric``: the
    snapshot's :class:`~vnetdoctor.engine.fabric.Fabric` (a new one otherwise), shared by every
    diagnosis of the matrix.
    """
    fabric = Fabric(snapshot) if fabric is None else fabric.check(snapshot)
    chosen = select_vms(snapshot, vms)
    index = _PrefixIndex(snapshot, parse_protocol(protocol), port)
    evidence = {k.casefold(): v for k, v in (guest or {}).items()}
    keyed: dict[tuple[Any, ...], list[str]] = {}
    for vm in chosen:
        context = (
            ("guest", vm.name.casefold())
            if vm.name.casefold() in evidence
            else vm_context(snapshot, vm, index)
        )
        keyed.setdefault(context, []).append(vm.name)
    by_name = {vm.name: vm for vm in chosen}
    groups = [
        Group(i, tuple(m), k, _vnet_name(snapshot, by_name[m[0]]))
        for i, (k, m) in enumerate(keyed.items())
    ]
    group_of = {name: g.index for g in groups for name in g.members}

    def run(src: VirtualMachine, dst: VirtualMachine) -> Cell:
        result = diagnose(
            snapshot, str(src.id), str(dst.id), port, protocol, guest=evidence, fabric=fabric
        )
        return signature(result, snapshot, src, dst)

    matrix = Matrix(chosen, groups, group_of, run, port, protocol)
    matrix.guest = evidence
    matrix.excluded = classic_in_scope(snapshot, vms)
    if compute:
        matrix.compute_all()
    return matrix


def layered_keys(snapshot: Snapshot, matrix: Matrix, tracer: Tracer) -> LayeredKeys:
    """The layered keys of ``matrix``'s groups, asked with ``tracer`` (a diagnosis's engines)."""
    reps = [matrix.vm(g.members[0]) for g in matrix.groups]
    endpoints = [resolve_endpoint(snapshot, str(vm.id)) for vm in reps]
    states = [local_state(snapshot, vm) for vm in reps]
    proto = parse_protocol(matrix.protocol)
    # A VM with guest evidence: every cell it is an end of is its own (its guest decides).
    own = [vm.name.casefold() in matrix.guest for vm in reps]
    return LayeredKeys(snapshot, tracer, endpoints, states, proto, matrix.port, own=own)
