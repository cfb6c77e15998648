"""Verdict diff: which VM pairs (or intents) change verdict between two snapshots, and why.

``before`` and ``after`` are ordinary snapshots (``after`` usually built by
:func:`vnetdoctor.ingest.plan.apply_plan`). Each pair is diagnosed on both; a pair whose verdict
changes is reported with the findings that appear (new blockers or unknowns) and disappear.
Without explicit pairs, :func:`default_pairs` picks every VM whose NIC, subnet, NSG, route table,
VNet or VM body differs between the two, to and from every other VM, on the ports that the changed
security rules mention (or :data:`DEFAULT_PORTS` when no changed rule names a port).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from vnetdoctor.errors import UsageError, VnetDoctorError
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.findings import Finding, Status

if TYPE_CHECKING:  # the diagnosis is imported when a diff runs: `vnetdoctor diff` starts fast
    from vnetdoctor.runbook.runner import Diagnosis

# What diagnoses one pair: :func:`vnetdoctor.api.diagnose`, or a stand-in with its signature.
Run = Callable[[Snapshot, str, str, "int | None", str], "Diagnosis"]

DEFAULT_PORTS: Final = (22, 443)
MAX_PORTS: Final = 6
_RANK: Final = {"reachable": 0, "inconclusive": 1, "blocked": 2}
SCHEMA: Final = "vnetdoctor.diff/1"


@dataclass(frozen=True)
class Pair:
    """One question: can ``source`` reach ``destination`` on ``port``/``protocol``?"""

    source: str
    destination: str
    port: int | None
    protocol: str = "tcp"
    name: str | None = None
    expect: str | None = None  # for intents: "reachable" | "blocked"

    def label(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        core = f"{self.source} -> {self.destination}{port}{proto}"
        return f"{self.name} ({core})" if self.name else core

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "destination": self.destination,
            "port": self.port,
            "protocol": self.protocol,
            "expect": self.expect,
        }


_SIGNIFICANT: Final = frozenset({Status.FAIL, Status.UNKNOWN, Status.ERROR})


def _key(f: Finding) -> tuple[str, str | None, str | None]:
    return (f.code, f.resource, f.pointer)


def _significant(d: Diagnosis) -> list[Finding]:
    return [f for s in d.steps for f in s.findings if f.status in _SIGNIFICANT]


@dataclass
class PairChange:
    pair: Pair
    before: str | None  # the verdict: reachable | inconclusive | blocked (None: an error)
    after: str | None
    appeared: list[Finding] = field(default_factory=list)
    disappeared: list[Finding] = field(default_factory=list)
    error: str | None = None

    @property
    def worse(self) -> bool:
        """The verdict moved away from reachable (for a ``blocked`` intent: towards it)."""
        if self.before is None or self.after is None:
            return self.after is None and self.before is not None
        if self.pair.expect == "blocked":  # distance from the expectation
            return _RANK[self.after] < _RANK[self.before]
        return _RANK[self.after] > _RANK[self.before]

    @property
    def verdict_changed(self) -> bool:
        return self.before != self.after or self.error is not None

    @property
    def intent_broken(self) -> bool:
        return (
            self.pair.expect is not None
            and self.after is not None
            and self.after != self.pair.expect
        )

    def why(self) -> str:
        """One line: the finding that appeared (or disappeared) and decided the change."""
        if self.error:
            return self.error
        if self.worse and self.appeared:
            fails = [f for f in self.appeared if str(f.status) == "fail"] or self.appeared
            return "; ".join(f"{f.code}: {f.message}" for f in fails)
        if self.disappeared:
            fails = [f for f in self.disappeared if str(f.status) == "fail"] or self.disappeared
            return "no longer: " + "; ".join(f"{f.code}: {f.message}" for f in fails)
        if self.appeared:
            return "; ".join(f"{f.code}: {f.message}" for f in self.appeared)
        return "verdict changed without a finding change"

    def to_json(self) -> dict[str, Any]:
        return {
            "pair": self.pair.to_json(),
            "before": self.before,
            "after": self.after,
            "worse": self.worse,
            "why": self.why(),
            "appeared": [f.to_json() for f in self.appeared],
            "disappeared": [f.to_json() for f in self.disappeared],
            "error": self.error,
        }


@dataclass
class DiffResult:
    changes: list[PairChange]
    checked: int
    touched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    @property
    def worse(self) -> list[PairChange]:
        return [c for c in self.changes if c.worse]

    @property
    def exit_code(self) -> int:
        return 1 if self.worse else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "checked": self.checked,
            "changed": sum(1 for c in self.changes if c.verdict_changed),
            "worse": len(self.worse),
            "touched": self.touched,
            "ports": self.ports,
            "changes": [c.to_json() for c in self.changes],
            "warnings": self.warnings,
        }


# ---------------------------------------------------------------------------------------------
# What changed
# ---------------------------------------------------------------------------------------------
def _changed(before: Any, after: Any) -> set[ResourceId]:
    ids = set(before) | set(after)
    return {i for i in ids if before.get(i) != after.get(i)}


def touched_resources(before: Snapshot, after: Snapshot) -> set[ResourceId]:
    """Ids of NSGs, route tables, NICs, VMs, VNets and subnets that differ."""
    out: set[ResourceId] = set()
    for table in (
        "network_security_groups",
        "route_tables",
        "network_interfaces",
        "virtual_machines",
        "virtual_networks",
        "application_security_groups",
        "nat_gateways",
        "load_balancers",
    ):
        out |= _changed(getattr(before, table), getattr(after, table))
    out |= _changed(before.subnets, after.subnets)
    return out


def _vm_links(s: Snapshot) -> dict[ResourceId, set[ResourceId]]:
    """VM id -> ids its traffic depends on (VM, NICs, NIC NSG, subnets, their NSG/RT, VNet)."""
    out: dict[ResourceId, set[ResourceId]] = {}
    subnets = s.subnets
    for vm in s.virtual_machines.values():
        deps: set[ResourceId] = {vm.id}
        for ref in vm.network_interfaces:
            deps.add(ref.id)
            nic = s.network_interfaces.get(ref.id)
            if nic is None:
                continue
            if nic.network_security_group is not None:
                deps.add(nic.network_security_group)
            for ipc in nic.ip_configurations:
                deps.update(ipc.application_security_groups)
                if ipc.subnet is None:
                    continue
                deps.add(ipc.subnet)
                if ipc.subnet.parent is not None:
                    deps.add(ipc.subnet.parent)
                sub = subnets.get(ipc.subnet)
                if sub is None:
                    continue
                for dep in (sub.network_security_group, sub.route_table, sub.nat_gateway):
                    if dep is not None:
                        deps.add(dep)
        out[vm.id] = deps
    return out


def _rule_ports(before: Snapshot, after: Snapshot, nsgs: Iterable[ResourceId]) -> list[int]:
    ports: list[int] = []
    for nsg_id in nsgs:
        old = before.network_security_groups.get(nsg_id)
        new = after.network_security_groups.get(nsg_id)
        old_rules = {r.name.casefold(): r for r in (old.security_rules if old else ())}
        new_rules = {r.name.casefold(): r for r in (new.security_rules if new else ())}
        for name in sorted(set(old_rules) | set(new_rules)):
            a, b = old_rules.get(name), new_rules.get(name)
            if a == b:
                continue
            for rule in (a, b):
                for pr in rule.destination_port_ranges if rule else ():
                    if pr.start == 0 and pr.end >= 65535:
                        continue
                    if pr.start not in ports:
                        ports.append(pr.start)
    return ports[:MAX_PORTS]


def default_pairs(before: Snapshot, after: Snapshot) -> tuple[list[Pair], list[str], list[int]]:
    """Pairs to check when none are given; also the touched resources and the ports used."""
    touched = touched_resources(before, after)
    nsgs = [
        t
        for t in touched
        if t in before.network_security_groups or t in after.network_security_groups
    ]
    ports = _rule_ports(before, after, nsgs)
    if not ports or len(nsgs) < len(touched):
        # routes, NICs, subnets, peerings: every port is affected; check the usual ones too
        ports += [p for p in DEFAULT_PORTS if p not in ports]
    links = _vm_links(before)
    for vm_id, deps in _vm_links(after).items():
        links.setdefault(vm_id, set()).update(deps)
    hit = sorted(
        (vm for vm, deps in links.items() if deps & touched), key=lambda i: str(i).casefold()
    )
    every = sorted(
        {vm.name for vm in after.virtual_machines.values()}
        & {vm.name for vm in before.virtual_machines.values()},
        key=str.casefold,
    )
    names = {vm: _vm_name(before, after, vm) for vm in hit}
    pairs: list[Pair] = []
    seen: set[tuple[str, str, int]] = set()
    for vm in hit:
        src = names[vm]
        if src is None:
            continue
        for other in every:
            if other.casefold() == src.casefold():
                continue
            for a, b in ((src, other), (other, src)):
                for port in ports:
                    key = (a.casefold(), b.casefold(), port)
                    if key not in seen:
                        seen.add(key)
                        pairs.append(Pair(a, b, port))
    return pairs, sorted(str(t) for t in touched), ports


def _vm_name(before: Snapshot, after: Snapshot, vm_id: ResourceId) -> str | None:
    vm = after.virtual_machines.get(vm_id) or before.virtual_machines.get(vm_id)
    if vm is None:
        return None
    # a name shared by two VMs is ambiguous; use the id then
    same = [v for v in after.virtual_machines.values() if v.name.casefold() == vm.name.casefold()]
    return vm.name if len(same) <= 1 else str(vm.id)


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def _diagnose(run: Run, s: Snapshot, pair: Pair) -> tuple[Diagnosis | None, str | None]:
    try:
        return run(s, pair.source, pair.destination, pair.port, pair.protocol), None
    except VnetDoctorError as exc:
        return None, str(exc)


def diff_snapshots(
    before: Snapshot,
    after: Snapshot,
    pairs: Sequence[Pair] | None = None,
    *,
    run: Run | None = None,
    warnings: Iterable[str] = (),
) -> DiffResult:
    """Diagnose every pair on both snapshots with ``run`` (:func:`vnetdoctor.api.diagnose` unless
    given); keep those whose verdict changes (or whose intent does not hold)."""
    if run is None:
        from vnetdoctor.api import diagnose

        run = diagnose
    touched: list[str] = []
    ports: list[int] = []
    if pairs is None:
        pairs, touched, ports = default_pairs(before, after)
    changes: list[PairChange] = []
    for pair in pairs:
        d0, e0 = _diagnose(run, before, pair)
        d1, e1 = _diagnose(run, after, pair)
        v0 = str(d0.verdict) if d0 is not None else None
        v1 = str(d1.verdict) if d1 is not None else None
        broken = pair.expect is not None and v1 is not None and v1 != pair.expect
        if v0 == v1 and e0 == e1 and not broken:
            continue
        f0 = {_key(f): f for f in _significant(d0)} if d0 else {}
        f1 = {_key(f): f for f in _significant(d1)} if d1 else {}
        changes.append(
            PairChange(
                pair=pair,
                before=v0,
                after=v1,
                appeared=[f for k, f in f1.items() if k not in f0],
                disappeared=[f for k, f in f0.items() if k not in f1],
                error=e1 if e1 != e0 else None,
            )
        )
    changes.sort(key=lambda c: (not c.worse, c.pair.label().casefold()))
    return DiffResult(changes, len(pairs), touched, list(warnings), ports)


# ---------------------------------------------------------------------------------------------
# Pair and intent files
# ---------------------------------------------------------------------------------------------
def parse_pairs(text: str, source: str = "<pairs>") -> list[Pair]:
    """``SRC DST PORT [PROTO]`` or ``SRC -> DST:PORT[/PROTO]`` per line (``#`` comments), or a
    JSON/YAML list of ``{from, to, port, protocol}``."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{", "-", "pairs:", "intents:")):
        raise UsageError(f"{source}: a YAML/JSON pairs list is an intents file; use --intents")
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        proto = "tcp"
        if "->" in line:
            src, _, rest = line.partition("->")
            rest = rest.strip()
            if "/" in rest:
                rest, _, proto = rest.rpartition("/")
            dst, sep, port_text = rest.rpartition(":")
            if not sep:
                dst, port_text = rest, ""
            parts = [src.strip(), dst.strip(), port_text.strip()]
        else:
            parts = line.split()
            if len(parts) == 4:
                proto = parts.pop()
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise UsageError(f"{source} line {n}: expected 'SRC DST PORT [PROTO]', got {raw!r}")
        port = _port(parts[2], f"{source} line {n}")
        out.append(Pair(parts[0], parts[1], port, proto.casefold()))
    return out


def _port(text: Any, where: str) -> int | None:
    if text in (None, "", "*"):
        return None
    try:
        port = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: port {text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"{where}: port {port} is outside 0-65535")
    return port


__all__ = [
    "DEFAULT_PORTS",
    "DiffResult",
    "Pair",
    "PairChange",
    "default_pairs",
    "diff_snapshots",
    "parse_pairs",
    "touched_resources",
]
