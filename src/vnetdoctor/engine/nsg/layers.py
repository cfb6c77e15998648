"""The layers of one NIC (subnet NSG, NIC NSG, security admin rules) and :class:`NsgEngine`.

Inbound is the subnet's NSG then the NIC's; outbound the NIC's then the subnet's. Both must allow;
a layer without an NSG allows; a Deny in any layer decides; security admin rules come first.
An :class:`NsgEngine` belongs to one snapshot and one service tags source and keeps what it
compiled; :class:`vnetdoctor.engine.fabric.Fabric` holds the engines of a snapshot.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

import msgspec

from vnetdoctor.engine.admin_rules import evaluate_admin_rules
from vnetdoctor.engine.nsg.compiled import CompiledRules, RuleEvaluation
from vnetdoctor.engine.nsg.rules import (
    NO_ASGS,
    AsgMembership,
    FlowAccess,
    FlowContext,
    RuleDecision,
    why_maybe,
)
from vnetdoctor.engine.nsg.shapes import (
    Association,
    EffectiveSecurityRules,
    SecurityGroupView,
    arm_rule,
    effective_order,
    effective_protocol,
    legacy_deny_all,
    primary_subnet,
)
from vnetdoctor.engine.tags import (
    INTERNET,
    UDR_ASSUMPTION,
    VIRTUAL_NETWORK,
    ServiceTagSource,
    TagExpansion,
    TagResolver,
    canonical_tag,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface, VirtualMachine
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import (
    AddressPrefix,
    IPAddress,
    Protocol,
)
from vnetdoctor.model.network_manager import AdminAccess, SecurityAdminRule
from vnetdoctor.model.security import Direction, NetworkSecurityGroup, SecurityRule
from vnetdoctor.model.snapshot import Snapshot

# ---------------------------------------------------------------------------------------------
# Verdicts across the NIC and subnet layers
# ---------------------------------------------------------------------------------------------
_ADMIN_EFFECT: Final = {AdminAccess.DENY: FlowAccess.DENY,
                        AdminAccess.ALWAYS_ALLOW: FlowAccess.ALLOW}


class LayerResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One NSG layer: ``subnet`` or ``networkInterface``."""

    layer: str
    attached_to: ResourceId | None
    nsg_id: ResourceId | None
    nsg: NetworkSecurityGroup | None
    access: FlowAccess
    rule: SecurityRule | None
    reason: str
    evaluations: tuple[RuleEvaluation, ...] = ()

    @property
    def has_nsg(self) -> bool:
        return self.nsg_id is not None

    @property
    def rule_name(self) -> str | None:
        return None if self.rule is None else self.rule.rule_name


class FlowVerdict(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The answer of IP flow verify, with the layers that led to it."""

    access: FlowAccess
    rule: SecurityRule | None
    nsg_id: ResourceId | None
    nic: NetworkInterface
    direction: Direction
    protocol: Protocol
    local_ip: IPAddress
    local_port: int | None
    remote_ip: IPAddress
    remote_port: int | None
    layers: tuple[LayerResult, ...]
    notes: tuple[str, ...] = ()

    @property
    def rule_name(self) -> str | None:
        return None if self.rule is None else self.rule.rule_name

    @property
    def pointer(self) -> str | None:
        return None if self.rule is None else self.rule.pointer

    def to_azure(self) -> dict[str, str]:
        """Network Watcher's answer shape: ``{"access": ..., "ruleName": ...}``."""
        out = {"access": self.access.value}
        if self.rule is not None:
            out["ruleName"] = self.rule.rule_name
            if isinstance(self.rule, SecurityAdminRule) and self.rule.id is not None:
                # Azure's ruleName for an admin rule is undocumented (§2.5): the id beside it.
                out["adminRuleId"] = str(self.rule.id)
        return out

    def to_json(self, *, explain: bool = False) -> dict[str, Any]:
        """Azure's shape; with ``explain``, an ``explain`` object beside it (vnetdoctor's own)."""
        out: dict[str, Any] = dict(self.to_azure())
        if explain:
            out["explain"] = self.explanation()
        return out

    def explanation(self) -> dict[str, Any]:
        def port(p: int | None) -> str:
            return "*" if p is None else str(p)

        inbound = self.direction is Direction.INBOUND
        src, sport = (self.remote_ip, self.remote_port) if inbound else (self.local_ip,
                                                                           self.local_port)
        dst, dport = (self.local_ip, self.local_port) if inbound else (self.remote_ip,
                                                                         self.remote_port)
        return {
            "networkInterface": str(self.nic.id),
            "direction": self.direction.value,
            "protocol": self.protocol.value,
            "source": f"{src}:{port(sport)}",
            "destination": f"{dst}:{port(dport)}",
            "ruleId": None if self.rule is None or self.rule.id is None else str(self.rule.id),
            "networkSecurityGroup": None if self.nsg_id is None else str(self.nsg_id),
            "pointer": self.pointer,
            "layers": [_layer_json(layer) for layer in self.layers],
            "notes": list(self.notes),
        }


def _layer_json(layer: LayerResult) -> dict[str, Any]:
    return {
        "layer": layer.layer,
        "attachedTo": None if layer.attached_to is None else str(layer.attached_to),
        "networkSecurityGroup": None if layer.nsg_id is None else str(layer.nsg_id),
        "access": layer.access.value,
        "ruleName": layer.rule_name,
        "reason": layer.reason,
        "rules": [
            {"name": e.rule.rule_name, "priority": e.rule.priority,
             "access": None if e.rule.access is None else e.rule.access.value,
             "pointer": e.rule.pointer, "outcome": e.outcome,
             "fields": {k: v.name.lower() for k, v in e.fields.items()}}
            for e in layer.evaluations
        ],
    }


class _Step(NamedTuple):
    """A layer with an NSG, compiled; ``results`` caches the layer result of each deciding
    rule (by position)."""

    layer: str
    owner: ResourceId
    nsg: NetworkSecurityGroup
    compiled: CompiledRules
    results: dict[int, LayerResult]


class _Plan(NamedTuple):
    """The packet-independent part of IP flow verify for one NIC, IP configuration, direction."""

    steps: tuple[_Step | LayerResult, _Step | LayerResult]
    subnet_id: ResourceId | None
    vnet_id: ResourceId | None
    local_asgs: AsgMembership
    needs_remote: bool
    udr_assumption: bool  # the VirtualNetwork tag holds UDR prefixes (decision 2)


def _names_virtual_network(rule: SecurityRule) -> bool:
    for prefixes in (rule.source_address_prefixes, rule.destination_address_prefixes):
        for p in prefixes:
            if p.tag is not None and canonical_tag(p.tag) == VIRTUAL_NETWORK:
                return True
    return False


def _problems_index(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """Resource id (folded) -> fields the loader warned about (e.g. a dropped ASG reference)."""
    index: dict[str, list[str]] = {}
    for warning in snapshot.warnings:
        if warning.resource and warning.field:
            index.setdefault(warning.resource.strip().rstrip("/").casefold(), []).append(
                warning.field)
    return {k: tuple(v) for k, v in index.items()}


class NsgEngine:
    """NSG answers for one snapshot (and one service tags file), with compiled NSGs cached.

    A :class:`vnetdoctor.engine.fabric.Fabric` holds one per service tags source, to share it
    between calls.
    """

    def __init__(self, snapshot: Snapshot, service_tags: ServiceTagSource | None = None) -> None:
        self.snapshot = snapshot
        self.tags = TagResolver(snapshot, service_tags)
        self._problems = _problems_index(snapshot)
        self._compiled: dict[tuple[ResourceId, Direction, ResourceId | None], CompiledRules] = {}
        self._plans: dict[tuple[ResourceId, object, Direction], _Plan] = {}
        self._remote_cache: dict[tuple[int, int, ResourceId | None], AsgMembership] = {}
        self._memberships: dict[tuple[frozenset[ResourceId], bool], AsgMembership] = {}
        self._asg_members: dict[ResourceId, list[IPAddress]] | None = None

    # -- pieces ---------------------------------------------------------------------------------
    def expander(self, subnet: ResourceId | None) -> Callable[[str], TagExpansion]:
        tags = self.tags

        def expand(tag: str) -> TagExpansion:
            return tags.expand(tag, subnet)

        return expand

    def compiled(self, nsg: NetworkSecurityGroup, direction: Direction,
                 subnet: ResourceId | None) -> CompiledRules:
        key = (nsg.id, direction, subnet)
        found = self._compiled.get(key)
        if found is None:
            found = CompiledRules.compile((*nsg.security_rules, *nsg.default_security_rules),
                                          direction, self.expander(subnet), self._problems)
            self._compiled[key] = found
        return found

    def membership(self, ipc: IpConfiguration) -> AsgMembership:
        bad = any(f.startswith("applicationSecurityGroups")
                  for f in self._problems.get(ipc.id.key, ()))
        return AsgMembership(frozenset(ipc.application_security_groups), complete=not bad)

    def remote_membership(self, ip: IPAddress, vnet_id: ResourceId | None) -> AsgMembership:
        """ASGs of an address seen from a NIC in ``vnet_id``: from the NICs that hold it."""
        holders = self.snapshot.nics_with_ip(ip)
        same = [c for _, c in holders if c.subnet is not None and c.subnet.parent == vnet_id]
        if same:
            sets = [self.membership(c) for c in same]
            common = frozenset.intersection(*(s.asgs for s in sets))
            complete = all(s.complete and s.asgs == common for s in sets)
            return AsgMembership(common, complete)
        vnet = self.snapshot.virtual_networks.get_ref(vnet_id)
        if vnet is None or any(n.version == ip.version and ip in n for n in vnet.address_prefixes):
            # An address of the VNet that no NIC of the snapshot holds: could be a NIC the
            # snapshot lacks, so its ASG membership is unknown.
            return AsgMembership(frozenset(), complete=False)
        others = any(c.application_security_groups for _, c in holders)
        return AsgMembership(frozenset(), complete=not others)

    def layers(
        self, nic: NetworkInterface, ipc: IpConfiguration, direction: Direction
    ) -> tuple[tuple[CompiledRules, ...], ResourceId | None, bool, tuple[object, ...]]:
        """What :meth:`verify` evaluates for ``nic``/``ipc`` in ``direction``, packet aside: the
        compiled NSGs of its layers (a layer without an NSG, or unknown, decides alone), the VNet
        remote addresses' ASGs are seen from, whether any layer names ASGs, and a key equal for
        two NICs whose evaluation is the same for the same packet."""
        key = (nic.id, ipc.id, direction)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(nic, ipc, direction)
        compiled = tuple(s.compiled for s in plan.steps if isinstance(s, _Step))
        # Names in layer reasons aside (they reach only messages); compiled tables are per
        # subnet already (tags expand per subnet).
        shape = (
            tuple((s.layer, s.nsg.id, id(s.compiled)) if isinstance(s, _Step)
                  else (s.layer, s.nsg_id, s.access)
                  for s in plan.steps),
            plan.local_asgs, plan.vnet_id, plan.udr_assumption)
        return compiled, plan.vnet_id, plan.needs_remote, shape

    # -- IP flow verify -------------------------------------------------------------------------
    def verify(
        self,
        nic: NetworkInterface,
        direction: Direction,
        protocol: Protocol,
        local: tuple[IPAddress, int | None],
        remote: tuple[IPAddress, int | None],
        *,
        explain: bool = False,
        ip_configuration: IpConfiguration | None = None,
    ) -> FlowVerdict:
        """IP flow verify for ``nic``: see :func:`ip_flow_verify`.

        ``ip_configuration`` names the IP configuration whose subnet and ASGs apply when the
        local address is not the NIC's own: a packet a virtual appliance forwards.
        """
        local_ip, local_port = local
        remote_ip, remote_port = remote
        key = (nic.id, local_ip if ip_configuration is None else ip_configuration.id, direction)
        plan = self._plans.get(key)
        if plan is None:
            ipc = ip_configuration or next(
                (c for c in nic.ip_configurations if c.private_ip_address == local_ip), None)
            if ipc is None:
                held = ", ".join(str(ip) for ip in nic.private_ip_addresses) or "none"
                raise UsageError(f"local IP {local_ip} is not a private IP of network interface "
                                 f"{nic.name!r} (its IPs: {held})")
            plan = self._plans[key] = self._plan(nic, ipc, direction)
        remote_asgs = self._remote(remote_ip, plan.vnet_id) if plan.needs_remote else NO_ASGS
        if direction is Direction.INBOUND:
            flow = FlowContext(protocol, remote_ip, local_ip, remote_port, local_port,
                               remote_asgs, plan.local_asgs)
        else:
            flow = FlowContext(protocol, local_ip, remote_ip, local_port, remote_port,
                               plan.local_asgs, remote_asgs)
        first_step, second_step = plan.steps
        layers = (self._evaluate(first_step, flow, explain),
                  self._evaluate(second_step, flow, explain))
        verdict = self._combine(nic, direction, protocol, local, remote, layers, plan)
        if self.snapshot.effective_admin_rules:
            return self._with_admin_rules(verdict, plan.vnet_id, plan.subnet_id)
        return verdict

    def _with_admin_rules(self, verdict: FlowVerdict, vnet_id: ResourceId | None,
                          subnet_id: ResourceId | None) -> FlowVerdict:
        """Security admin rules of the NIC's VNet come before its NSGs (decision A2)."""
        rules = self.snapshot.admin_rules_for(vnet_id)
        if rules is None:
            return verdict
        inbound = verdict.direction is Direction.INBOUND
        src, dst = ((verdict.remote_ip, verdict.local_ip) if inbound
                    else (verdict.local_ip, verdict.remote_ip))
        src_port, dst_port = ((verdict.remote_port, verdict.local_port) if inbound
                              else (verdict.local_port, verdict.remote_port))
        tags = self.tags

        result = evaluate_admin_rules(rules, verdict.direction, verdict.protocol, src, dst,
                                      src_port, dst_port, lambda t: tags.expand(t, subnet_id))
        rule, access = result.rule, result.access
        notes: list[str] = []
        maybe = [r for r in result.maybe if not r.is_unknown]
        unknown = [r for r in result.maybe if r.is_unknown]  # the VNet's list could not be read
        if maybe:
            notes.append("security admin rule(s) " + ", ".join(r.name for r in maybe)
                         + " may match (network groups or service tags not expanded)")
        notes.extend(f"the security admin rules of VNet {vnet_id.name if vnet_id else '?'} are "
                     f"unknown ({'; '.join(r.problems)}): an admin Deny may drop this flow, and "
                     "an admin AlwaysAllow would override an NSG deny" for r in unknown)
        if rule is None and not result.maybe:
            return verdict
        terminal = access in (AdminAccess.DENY, AdminAccess.ALWAYS_ALLOW)
        outcome = (FlowAccess.DENY if access is AdminAccess.DENY
                   else FlowAccess.ALLOW if access is AdminAccess.ALWAYS_ALLOW
                   else verdict.access)
        # A rule whose access is unknown may deny: an allow becomes unknown, a deny stays.
        effects = {_ADMIN_EFFECT.get(m.admin_access, outcome) if m.admin_access
                   else FlowAccess.DENY if outcome is FlowAccess.ALLOW else outcome
                   for m in result.maybe}
        if effects - {outcome}:
            outcome = FlowAccess.UNKNOWN
        reason = ("the security admin rules of the VNet are unknown" if rule is None and unknown
                  else "no security admin rule matches" if rule is None else
                  f"security admin rule {rule.name!r} (priority {rule.priority}, "
                  f"{rule.admin_access.value if rule.admin_access else '?'}) matches")
        layer = LayerResult(layer="securityAdmin", attached_to=vnet_id, nsg_id=None, nsg=None,
                            access=FlowAccess.UNKNOWN if rule is None and unknown
                            else outcome if terminal or rule is None else FlowAccess.ALLOW,
                            rule=rule, reason=reason)
        if terminal:
            notes.append(f"the NSGs of this direction are not evaluated: admin rule "
                         f"{access.value if access else ''} terminates")
            return msgspec.structs.replace(verdict, access=outcome, rule=rule, nsg_id=None,
                                           layers=(layer,), notes=tuple(notes))  # NSGs skipped
        if rule is not None:
            notes.append(f"security admin rule {rule.name!r} allows: the NSGs decide")
        return msgspec.structs.replace(verdict, access=outcome, layers=(layer, *verdict.layers),
                                       notes=(*verdict.notes, *notes))

    def _plan(self, nic: NetworkInterface, ipc: IpConfiguration, direction: Direction) -> _Plan:
        """What does not depend on the packet: the layers, compiled, in evaluation order."""
        subnet_id = ipc.subnet
        nic_step = self._step("networkInterface", nic.id, nic.network_security_group,
                              f"network interface {nic.name!r}", direction, subnet_id)
        subnet_step = self._subnet_step(nic, ipc, direction)
        steps = ((subnet_step, nic_step) if direction is Direction.INBOUND
                 else (nic_step, subnet_step))
        vnet_tag = self.tags.expand(VIRTUAL_NETWORK, subnet_id)
        return _Plan(
            steps=steps, subnet_id=subnet_id,
            vnet_id=subnet_id.parent if subnet_id is not None else None,
            local_asgs=self.membership(ipc),
            needs_remote=any(isinstance(s, _Step) and s.compiled.uses_asgs for s in steps),
            udr_assumption=any(source.assumption for source in vnet_tag.sources))

    def _subnet_step(self, nic: NetworkInterface, ipc: IpConfiguration,
                     direction: Direction) -> _Step | LayerResult:
        if ipc.subnet is None:
            return LayerResult(layer="subnet", attached_to=None, nsg_id=None, nsg=None,
                               access=FlowAccess.UNKNOWN, rule=None,
                               reason=f"IP configuration {ipc.name!r} of {nic.name!r} names no "
                                      "subnet, so the subnet NSG is unknown")
        subnet = self.snapshot.subnet(ipc.subnet)
        if subnet is None:
            return LayerResult(layer="subnet", attached_to=ipc.subnet, nsg_id=None, nsg=None,
                               access=FlowAccess.UNKNOWN, rule=None,
                               reason=f"subnet {ipc.subnet.name!r} is not in the snapshot (its "
                                      "virtual network is missing), so its NSG is unknown")
        if any(p.startswith("networkSecurityGroup") for p in subnet.problems):
            return LayerResult(layer="subnet", attached_to=subnet.id, nsg_id=None, nsg=None,
                               access=FlowAccess.UNKNOWN, rule=None,
                               reason=f"the NSG reference of subnet {subnet.name!r} could not "
                                      "be read")
        return self._step("subnet", subnet.id, subnet.network_security_group,
                          f"subnet {subnet.name!r}", direction, ipc.subnet)

    def _step(self, layer: str, owner: ResourceId, nsg_id: ResourceId | None, what: str,
              direction: Direction, subnet: ResourceId | None) -> _Step | LayerResult:
        if nsg_id is None:
            return LayerResult(layer=layer, attached_to=owner, nsg_id=None, nsg=None,
                               access=FlowAccess.ALLOW, rule=None,
                               reason=f"no NSG on {what}: the layer allows everything")
        nsg = self.snapshot.network_security_groups.get_ref(nsg_id)
        if nsg is None:
            return LayerResult(layer=layer, attached_to=owner, nsg_id=nsg_id, nsg=None,
                               access=FlowAccess.UNKNOWN, rule=None,
                               reason=f"NSG {nsg_id.name!r} on {what} is not in the snapshot")
        return _Step(layer, owner, nsg, self.compiled(nsg, direction, subnet), {})

    def _evaluate(self, step: _Step | LayerResult, flow: FlowContext,
                  explain: bool) -> LayerResult:
        if isinstance(step, LayerResult):
            return step
        decision = step.compiled.decide(flow)
        if explain or decision.access is FlowAccess.UNKNOWN:
            return self._layer_result(step, decision, flow, explain)
        # A decided layer depends only on the deciding rule: build it once.
        found = step.results.get(decision.position)
        if found is None:
            found = step.results[decision.position] = self._layer_result(
                step, decision, flow, False)
        return found

    def _layer_result(self, step: _Step, decision: RuleDecision, flow: FlowContext,
                      explain: bool) -> LayerResult:
        return LayerResult(
            layer=step.layer, attached_to=step.owner, nsg_id=step.nsg.id, nsg=step.nsg,
            access=decision.access, rule=decision.rule,
            reason=self._reason(decision, step.nsg, step.compiled, flow),
            evaluations=step.compiled.explain(flow) if explain else ())

    def _remote(self, ip: IPAddress, vnet_id: ResourceId | None) -> AsgMembership:
        key = (int(ip), ip.version, vnet_id)  # IPv4Address.__hash__ is slow
        found = self._remote_cache.get(key)
        if found is None:
            computed = self.remote_membership(ip, vnet_id)
            # One object per distinct membership: compiled NSGs cache their ASG masks by it.
            found = self._memberships.setdefault((computed.asgs, computed.complete), computed)
            if len(self._remote_cache) > 100_000:
                self._remote_cache.clear()
            self._remote_cache[key] = found
        return found

    @staticmethod
    def _reason(decision: RuleDecision, nsg: NetworkSecurityGroup, compiled: CompiledRules,
                flow: FlowContext) -> str:
        rule = decision.rule
        if rule is None:
            return f"no rule of NSG {nsg.name!r} matches (Azure then denies)"
        where = f"{rule.rule_name} (priority {rule.priority}) of NSG {nsg.name!r}"
        if decision.access is not FlowAccess.UNKNOWN:
            return f"{where} {'allows' if decision.access is FlowAccess.ALLOW else 'denies'}"
        shape = compiled.shapes[decision.position]
        return f"{where} may match and comes first: {'; '.join(why_maybe(shape, flow))}"

    def _combine(self, nic: NetworkInterface, direction: Direction, protocol: Protocol,
                 local: tuple[IPAddress, int | None], remote: tuple[IPAddress, int | None],
                 layers: tuple[LayerResult, LayerResult], plan: _Plan) -> FlowVerdict:
        first, second = layers
        notes: tuple[str, ...] = ()
        if first.access is FlowAccess.DENY or second.access is FlowAccess.DENY:
            decider = first if first.access is FlowAccess.DENY else second
            access = FlowAccess.DENY
            if decider is second and first.access is FlowAccess.UNKNOWN:
                notes = (f"the {first.layer} layer is unknown ({first.reason}); the packet is "
                         "denied either way, but if that layer denies, Azure names its rule",)
        elif first.access is FlowAccess.UNKNOWN or second.access is FlowAccess.UNKNOWN:
            access = FlowAccess.UNKNOWN
            decider = first if first.access is FlowAccess.UNKNOWN else second
            notes = tuple(layer.reason for layer in layers if layer.access is FlowAccess.UNKNOWN)
        else:
            access = FlowAccess.ALLOW
            # Both layers allow: the rule of the last NSG evaluated is named (as NSG flow logs
            # log an allowed flow against the last NSG that allowed it).
            decider = second if second.nsg_id is not None or first.nsg_id is None else first
            if decider.nsg_id is None:
                notes = ("neither the network interface nor its subnet has an NSG: all traffic "
                         "is allowed",)
        rule = None if access is FlowAccess.UNKNOWN else decider.rule
        if rule is not None and plan.udr_assumption and _names_virtual_network(rule):
            notes += tuple(self._assumptions(rule, direction, local[0], remote[0],
                                             plan.subnet_id))
        return FlowVerdict(
            access=access, rule=rule, nsg_id=None if rule is None else decider.nsg_id,
            nic=nic, direction=direction, protocol=protocol, local_ip=local[0],
            local_port=local[1], remote_ip=remote[0], remote_port=remote[1], layers=layers,
            notes=notes)

    def _assumptions(self, rule: SecurityRule, direction: Direction, local_ip: IPAddress,
                     remote_ip: IPAddress, subnet: ResourceId | None) -> list[str]:
        """State decision 2's UDR assumption when the deciding match relied on it."""
        src, dst = (remote_ip, local_ip) if direction is Direction.INBOUND else (local_ip,
                                                                                remote_ip)
        out: list[str] = []
        for prefixes, ip in ((rule.source_address_prefixes, src),
                             (rule.destination_address_prefixes, dst)):
            for p in prefixes:
                if p.tag is None or canonical_tag(p.tag) != VIRTUAL_NETWORK:
                    continue
                sources = self.tags.expand(p.tag, subnet).sources_of(ip)
                if sources and all(s.assumption for s in sources):
                    out.append(f"{ip} is in VirtualNetwork only through "
                               f"{sources[0].origin}; {UDR_ASSUMPTION}")
        return out

    # -- effective rules ------------------------------------------------------------------------
    def asg_members(self, asg: ResourceId) -> list[IPAddress]:
        if self._asg_members is None:
            index: dict[ResourceId, list[IPAddress]] = {}
            for nic in self.snapshot.network_interfaces.values():
                for ipc in nic.ip_configurations:
                    if ipc.private_ip_address is None:
                        continue
                    for a in ipc.application_security_groups:
                        index.setdefault(a, []).append(ipc.private_ip_address)
            self._asg_members = index
        return self._asg_members.get(asg, [])

    def associations(self, nic: NetworkInterface) -> list[Association]:
        """The NSGs that apply to ``nic``: its own, then its subnet's (Azure's order)."""
        out = []
        if nic.network_security_group is not None:
            out.append(Association("networkInterface", nic.id, nic.network_security_group,
                                    primary_subnet(nic)))
        subnets = list(dict.fromkeys(c.subnet for c in nic.ip_configurations
                                     if c.subnet is not None))
        for subnet_id in subnets:
            subnet = self.snapshot.subnet(subnet_id)
            nsg_id = None if subnet is None else subnet.network_security_group
            out.append(Association("subnet", subnet_id, nsg_id, subnet_id,
                                    missing_subnet=subnet is None))
        return out

    def effective(self, nic: NetworkInterface) -> EffectiveSecurityRules:
        """Effective security rules of ``nic``: see :func:`effective_security_rules`."""
        value: list[dict[str, Any]] = []
        notes: list[str] = []
        for assoc in self.associations(nic):
            if assoc.missing_subnet:
                notes.append(f"subnet {assoc.owner.name!r} is not in the snapshot (its virtual "
                             "network is missing): its NSG, if any, is unknown")
                continue
            if assoc.nsg_id is None:
                continue
            nsg = self.snapshot.network_security_groups.get_ref(assoc.nsg_id)
            if nsg is None:
                notes.append(f"NSG {assoc.nsg_id.name!r} on {assoc.kind} {assoc.owner.name!r} "
                             "is not in the snapshot: its rules are unknown")
                continue
            expand = self.expander(assoc.subnet)
            rules = [*effective_order(nsg.security_rules), *nsg.default_security_rules]
            tag_map: dict[str, list[str]] = {}
            rendered = []
            for rule in rules:
                rendered.append(self._effective_rule(rule, expand, tag_map, notes))
            value.append({
                "networkSecurityGroup": {"id": str(nsg.id)},
                "association": {assoc.kind: {"id": str(assoc.owner)}},
                "effectiveSecurityRules": rendered,
                "tagMap": tag_map,
            })
        return EffectiveSecurityRules(nic=nic, value=value, notes=tuple(dict.fromkeys(notes)))

    def _effective_rule(self, rule: SecurityRule, expand: Callable[[str], TagExpansion],
                        tag_map: dict[str, list[str]], notes: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": rule.rule_name,
            "protocol": effective_protocol(rule.protocol),
        }
        sport = [r.expanded() for r in rule.source_port_ranges]
        dport = [r.expanded() for r in rule.destination_port_ranges]
        out["sourcePortRange"] = sport[0] if sport else None
        out["destinationPortRange"] = dport[0] if dport else None
        out["sourcePortRanges"] = sport
        out["destinationPortRanges"] = dport
        src, src_expanded = self._effective_side(
            rule.source_address_prefixes, rule.source_application_security_groups, expand,
            tag_map, notes, rule)
        dst, dst_expanded = self._effective_side(
            rule.destination_address_prefixes, rule.destination_application_security_groups,
            expand, tag_map, notes, rule)
        out["sourceAddressPrefix"] = src[0] if src else None
        out["destinationAddressPrefix"] = dst[0] if dst else None
        out["sourceAddressPrefixes"] = src
        out["destinationAddressPrefixes"] = dst
        if src_expanded is not None:
            out["expandedSourceAddressPrefix"] = src_expanded
        if dst_expanded is not None:
            out["expandedDestinationAddressPrefix"] = dst_expanded
        out["access"] = None if rule.access is None else rule.access.value
        out["priority"] = rule.priority
        out["direction"] = None if rule.direction is None else rule.direction.value
        if rule.problems:
            notes.append(f"rule {rule.rule_name} has fields that could not be read "
                         f"({', '.join(rule.problems)})")
        return out

    def _effective_side(self, prefixes: Sequence[AddressPrefix], asgs: Sequence[ResourceId],
                        expand: Callable[[str], TagExpansion], tag_map: dict[str, list[str]],
                        notes: list[str], rule: SecurityRule) -> tuple[list[str], list[str] | None]:
        texts: list[str] = []
        expanded: list[str] | None = None
        for p in prefixes:
            if p.is_any:
                texts.append("0.0.0.0/0")
            elif p.network is not None:
                texts.append(str(p.network))
            elif p.tag is not None:
                name = canonical_tag(p.tag)
                texts.append(name)
                tag = expand(p.tag)
                listed = [str(n) for n in tag.prefixes]
                tag_map.setdefault(name, listed)
                expanded = (expanded or []) + listed
                if not tag.is_complete and name != INTERNET:
                    notes.extend(f"{rule.rule_name}: {reason}" for reason in tag.reasons)
        for asg in asgs:
            # Unverified shape: Azure's effective form of ASG rules is not in the recordings.
            texts.append(str(asg))
            expanded = (expanded or []) + [
                str(ipaddress.ip_network(ip)) for ip in self.asg_members(asg)]
        return texts, None if expanded is None else list(dict.fromkeys(expanded))

    # -- security group view --------------------------------------------------------------------
    def security_group_view(self, vm: VirtualMachine) -> SecurityGroupView:
        """Network Watcher's security group view of ``vm``: see :func:`security_group_view`."""
        interfaces: list[dict[str, Any]] = []
        notes: list[str] = []
        for nic_id, nic in self.snapshot.nics_of(vm):
            if nic is None:
                notes.append(f"network interface {nic_id.name!r} of VM {vm.name!r} is not in "
                             "the snapshot")
                continue
            associations: dict[str, Any] = {}
            nsgs: list[tuple[NetworkSecurityGroup, ResourceId | None]] = []
            for assoc in self.associations(nic):
                if assoc.missing_subnet:
                    notes.append(f"subnet {assoc.owner.name!r} is not in the snapshot: its NSG, "
                                 "if any, is unknown")
                    continue
                if assoc.nsg_id is None:
                    continue
                nsg = self.snapshot.network_security_groups.get_ref(assoc.nsg_id)
                if nsg is None:
                    notes.append(f"NSG {assoc.nsg_id.name!r} on {assoc.kind} "
                                 f"{assoc.owner.name!r} is not in the snapshot")
                    continue
                key = ("networkInterfaceAssociation" if assoc.kind == "networkInterface"
                       else "subnetAssociation")
                associations[key] = {"id": str(assoc.owner),
                                     "securityRules": [arm_rule(r) for r in nsg.security_rules]}
                nsgs.append((nsg, assoc.subnet))
            if nsgs:
                associations["defaultSecurityRules"] = [
                    arm_rule(r) for r in nsgs[0][0].default_security_rules]
                effective: list[dict[str, Any]] = []
                for nsg, subnet in nsgs:
                    effective.extend(self._view_effective(nsg, subnet, notes))
                associations["effectiveSecurityRules"] = effective
            interfaces.append({"id": str(nic.id), "securityRuleAssociations": associations})
        return SecurityGroupView(vm=vm, value={"networkInterfaces": interfaces},
                                 notes=tuple(dict.fromkeys(notes)))

    def _view_effective(self, nsg: NetworkSecurityGroup, subnet: ResourceId | None,
                        notes: list[str]) -> list[dict[str, Any]]:
        expand = self.expander(subnet)
        tag_map: dict[str, list[str]] = {}
        out: list[dict[str, Any]] = []
        for direction in (Direction.OUTBOUND, Direction.INBOUND):
            out.append(legacy_deny_all(direction))
            groups = (("DefaultRule_", nsg.default_security_rules),
                      ("UserRule_", effective_order(nsg.security_rules)))
            for prefix, rules in groups:
                for rule in rules:
                    if rule.direction is not direction:
                        continue
                    rendered = self._effective_rule(rule, expand, tag_map, notes)
                    rendered["name"] = prefix + rule.name
                    out.append(rendered)
        return out


