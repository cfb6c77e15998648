"""Terminal rendering of NSG answers: IP flow verify (with ``--explain``) and effective rules.

Every name printed here (NSGs, rules, NICs, tags) comes from the estate and may be hostile, so it
goes through :func:`~vnetdoctor.report.output.cell` and prints as inert text.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from vnetdoctor.engine.nsg import (
    EffectiveSecurityRules,
    FlowVerdict,
    LayerResult,
    RuleEvaluation,
    Verdict,
)
from vnetdoctor.engine.tags import Match
from vnetdoctor.model.security import Direction
from vnetdoctor.report.output import cell, print_line, print_table, safe

_STYLE = {Verdict.ALLOW: "bold green", Verdict.DENY: "bold red", Verdict.UNKNOWN: "bold yellow"}
_MARK = {Match.YES: "yes", Match.NO: "no", Match.MAYBE: "maybe"}
_LAYER = {"subnet": "subnet", "networkInterface": "network interface"}


def _port(port: int | None) -> str:
    return "*" if port is None else str(port)


def _line(label: str, value: Text | str) -> Text:
    text = Text(f"{label:<8}")
    text.append(value if isinstance(value, Text) else Text(safe(value)))
    return text


def render_flow_verdict(verdict: FlowVerdict, console: Console, *, explain: bool = False) -> None:
    """The answer, the flow and each NSG layer; with ``explain``, every rule field by field."""
    inbound = verdict.direction is Direction.INBOUND
    local = f"{verdict.local_ip}:{_port(verdict.local_port)}"
    remote = f"{verdict.remote_ip}:{_port(verdict.remote_port)}"
    src, dst = (remote, local) if inbound else (local, remote)
    print_line(console, _line("Access", Text(verdict.access.value, style=_STYLE[verdict.access])))
    if verdict.rule is not None:
        rule = verdict.rule
        nsg = verdict.nsg_id.name if verdict.nsg_id is not None else "?"
        print_line(console, _line("Rule", f"{rule.rule_name} (priority {rule.priority}, "
                                          f"NSG {nsg}, {rule.pointer})"))
    print_line(console, _line("Flow", f"{verdict.direction.value} {verdict.protocol.value} "
                                      f"{src} -> {dst} at network interface {verdict.nic.name}"))
    console.print()
    rows = [
        [
            cell(_LAYER.get(layer.layer, layer.layer)),
            cell(layer.attached_to.name if layer.attached_to is not None else "?"),
            cell(layer.nsg_id.name if layer.nsg_id is not None else "(none)"),
            Text(layer.access.value, style=_STYLE[layer.access]),
            cell(layer.rule_name or "-"),
            cell(layer.reason),
        ]
        for layer in verdict.layers
    ]
    print_table(console, "NSG layers, in evaluation order",
                ("Layer", "Attached to", "NSG", "Access", "Rule", "Why"), rows)
    if explain:
        for layer in verdict.layers:
            _render_layer_rules(layer, console)
    for note in verdict.notes:
        print_line(console, Text(f"note: {safe(note)}"))


def _render_layer_rules(layer: LayerResult, console: Console) -> None:
    if not layer.evaluations:
        return
    name = layer.nsg_id.name if layer.nsg_id is not None else "?"
    print_table(
        console,
        f"{_LAYER.get(layer.layer, layer.layer)} NSG {safe(name)}: every rule, field by field",
        ("Priority", "Rule", "Access", "Protocol", "Source", "Src port", "Destination",
         "Dst port", "Outcome"),
        [_evaluation_row(evaluation) for evaluation in layer.evaluations],
        compact=True,
    )


def _evaluation_row(e: RuleEvaluation) -> list[Text]:
    rule = e.rule
    style = {"decides": "bold", "may match": "bold yellow", "not reached": "dim"}.get(e.outcome, "")
    return [
        cell(rule.priority),
        cell(rule.rule_name),
        cell(rule.access.value if rule.access is not None else "?"),
        *(Text(_MARK[m]) for m in (e.protocol, e.source, e.source_port, e.destination,
                                    e.destination_port)),
        Text(e.outcome, style=style),
    ]


def _prefixes(rule: dict[str, Any], side: str) -> str:
    values = rule.get(f"{side}AddressPrefixes") or []
    expanded = rule.get(f"expanded{side[0].upper()}{side[1:]}AddressPrefix")
    text = ", ".join(str(v) for v in values)
    if expanded is not None:
        text += f" ({len(expanded)} prefix{'es' if len(expanded) != 1 else ''})"
    return text


def render_effective_rules(result: EffectiveSecurityRules, console: Console) -> None:
    """One table per NSG applied to the NIC, in Azure's effective form."""
    if not result.value:
        print_line(console, Text(f"No NSG applies to network interface {safe(result.nic.name)}: "
                           "all traffic is allowed at the NSG layers."))
    for entry in result.value:
        nsg_id = str(entry["networkSecurityGroup"]["id"])
        kind, target = next(iter(entry["association"].items()))
        rules = sorted(entry["effectiveSecurityRules"],
                       key=lambda r: (str(r.get("direction")), r.get("priority") or 0))
        rows = [
            [
                cell(rule.get("direction")), cell(rule.get("priority")), cell(rule.get("name")),
                cell(rule.get("access")), cell(rule.get("protocol")),
                cell(_prefixes(rule, "source")),
                cell(", ".join(rule.get("sourcePortRanges") or [])),
                cell(_prefixes(rule, "destination")),
                cell(", ".join(rule.get("destinationPortRanges") or [])),
            ]
            for rule in rules
        ]
        print_table(
            console,
            f"NSG {safe(nsg_id.rsplit('/', 1)[-1])} on {_LAYER.get(kind, safe(kind))} "
            f"{safe(str(target['id']).rsplit('/', 1)[-1])}",
            ("Direction", "Priority", "Name", "Access", "Protocol", "Source", "Src ports",
             "Destination", "Dst ports"),
            rows,
        )
    for note in result.notes:
        print_line(console, Text(f"note: {safe(note)}"))
