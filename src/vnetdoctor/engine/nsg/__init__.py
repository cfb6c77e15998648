"""Network security group evaluation, exactly as Azure does it, with an honest *unknown*.

This package is the library API for NSGs::

    from vnetdoctor import load_snapshot
    from vnetdoctor.engine.nsg import ip_flow_verify, effective_security_rules

    snap = load_snapshot("estate/")
    verdict = ip_flow_verify(snap, "web1-nic", "Inbound", "Tcp", "10.0.1.4:443", "203.0.113.9:*")
    verdict.access           # FlowAccess.ALLOW / DENY / UNKNOWN
    verdict.to_azure()       # {"access": "Allow", "ruleName": "securityRules/AllowWeb"}
    effective_security_rules(snap, "web1-nic").to_azure()   # {"value": [...]} as Azure shapes it

Semantics (``docs/semantics/nsg.md#decisions``):

- A rule matches a packet on protocol (``*`` matches every protocol, decision 1), source and
  destination (CIDR, single IP, ``*``, service tags, application security groups, singular and
  plural fields), source and destination ports (single, range, list, ``*``). Rules are taken in
  priority order and the first match decides.
- Layering: inbound is the subnet's NSG then the NIC's NSG; outbound the NIC's then the
  subnet's. Both must allow; a layer without an NSG allows. A Deny in any layer decides.
- Three-valued matching: each field of each rule matches a packet *yes*, *no* or *maybe*. *Maybe*
  comes from a tag that cannot be resolved (no service tags file, a route table or peer missing
  from the snapshot, a range whose Internet membership changed over the years), a field the
  loader could not parse (``SecurityRule.problems``), an ASG membership the snapshot cannot tell,
  or a wildcard port (``*``) against a rule that covers only some ports. A rule that *may* match
  and is reached before a decision makes the answer ``Unknown``: it is never skipped. An NSG
  that is referenced but absent from the snapshot is ``Unknown`` too.

Speed: an :class:`NsgEngine` compiles an NSG once per (NSG, direction, NIC subnet) into
per-field lookup tables of rule bitsets (Python ints, bit *i* = the *i*-th rule in priority
order; the protocol is folded into the destination-port table); a packet costs four
bisections, a few big-integer ANDs and one lowest-set-bit, whatever the number of rules
(about 2 us per NSG of 1,000 rules; see ``benchmarks/bench_nsg.py``).
:func:`reference_decision` is the brute-force specification the property tests compare against.

The package's modules, in the order they build on each other: :mod:`.rules` (packets, what each
field of a rule can match, the brute-force reference), :mod:`.compiled` (the bitset evaluator),
:mod:`.shapes` (Azure's JSON views), :mod:`.layers` (the NIC and subnet layers, :class:`NsgEngine`)
and :mod:`.api` (the library functions).
"""

from __future__ import annotations

from vnetdoctor.engine.nsg.api import (
    effective_security_rules,
    interface_holding,
    ip_flow_verify,
    security_group_view,
)
from vnetdoctor.engine.nsg.compiled import CompiledRules, RuleEvaluation, evaluate_nsg
from vnetdoctor.engine.nsg.layers import FlowVerdict, LayerResult, NsgEngine
from vnetdoctor.engine.nsg.rules import (
    FIELDS,
    AsgMembership,
    FlowAccess,
    FlowContext,
    RuleDecision,
    Verdict,
    field_matches,
    parse_endpoint,
    reference_decision,
    shape_rule,
)
from vnetdoctor.engine.nsg.shapes import EffectiveSecurityRules, SecurityGroupView

__all__ = [
    "FIELDS",
    "AsgMembership",
    "CompiledRules",
    "EffectiveSecurityRules",
    "FlowAccess",
    "FlowContext",
    "FlowVerdict",
    "LayerResult",
    "NsgEngine",
    "RuleDecision",
    "RuleEvaluation",
    "SecurityGroupView",
    "Verdict",
    "effective_security_rules",
    "evaluate_nsg",
    "field_matches",
    "interface_holding",
    "ip_flow_verify",
    "parse_endpoint",
    "reference_decision",
    "security_group_view",
    "shape_rule",
]
