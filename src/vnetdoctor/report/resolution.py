"""``vnetdoctor resolve`` output: the resolution chain as JSON (``vnetdoctor.resolution/1``) and
as text (every name through ``safe``: zone, record and VNet names are written by whoever can edit
the estate)."""

from __future__ import annotations

from typing import Any, Final

from rich.console import Console
from rich.text import Text

from vnetdoctor.engine.dns import AnswerKind, Resolution
from vnetdoctor.report.output import safe
from vnetdoctor.runbook.findings import Finding, finding

SCHEMA: Final = "vnetdoctor.resolution/1"


def findings_of(resolution: Resolution) -> list[Finding]:
    """The resolver's issues as catalogue findings (the ones ``diagnose`` step 0 reports)."""
    return [
        finding(i.code, i.message, resource=i.resource, status=i.status)
        for i in resolution.issues
    ]


def resolution_json(resolution: Resolution) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "from": {
            "vm": None if resolution.vm is None else str(resolution.vm),
            "nic": str(resolution.nic),
            "vnet": None if resolution.vnet is None else str(resolution.vnet),
            "dnsServers": list(resolution.dns_servers),
            "serverSource": resolution.server_source.value,
        },
        "name": resolution.name,
        "resolvedBy": resolution.resolved_by,
        "chain": [step.to_json() for step in resolution.chain],
        "answer": resolution.answer.to_json(),
        "findings": [f.to_json() for f in findings_of(resolution)],
        "assumptions": list(resolution.assumptions),
    }


def answer_text(resolution: Resolution) -> str:
    answer = resolution.answer
    owner = "" if answer.resource is None else f" ({answer.resource.name})"
    if answer.kind is AnswerKind.ADDRESS:
        shown = ", ".join(str(a) for a in answer.addresses)
        return f"{resolution.name} -> {shown}{owner}"
    if answer.kind is AnswerKind.NXDOMAIN:
        return f"{resolution.name}: NXDOMAIN (the name does not resolve)"
    if answer.kind is AnswerKind.PUBLIC_ENDPOINT:
        return (f"{resolution.name} -> public endpoint{owner}; its address is not known offline")
    return f"{resolution.name}: unknown (see the findings)"


def render_resolution(resolution: Resolution, console: Console) -> None:
    source = resolution.vm.name if resolution.vm is not None else resolution.nic.name
    vnet = "?" if resolution.vnet is None else resolution.vnet.name
    servers = (f"{', '.join(resolution.dns_servers)} (set on the "
               f"{'NIC' if resolution.server_source.value == 'nic' else 'VNet'})"
               if resolution.dns_servers else "Azure-provided DNS (168.63.129.16)")
    console.print(Text(safe(f"Resolving {resolution.name} from {source} "
                            f"(NIC {resolution.nic.name}, VNet {vnet})")))
    console.print(Text(safe(f"DNS servers: {servers}")))
    for number, step in enumerate(resolution.chain, 1):
        console.print(Text(safe(f"  {number}. {step.step.value}: {step.detail}")))
        for label, rid in (("resource", step.resource), ("link", step.link),
                           ("record", step.record)):
            if rid is not None:
                console.print(Text(safe(f"       {label}: {rid}")))
    found = findings_of(resolution)
    if found:
        console.print(Text("Findings:"))
        for item in found:
            console.print(Text(safe(f"  [{item.status.value}] {item.code}: {item.message}")))
    for text in resolution.assumptions:
        console.print(Text(safe(f"assumption: {text}")))
    console.print(Text(safe(f"Answer: {answer_text(resolution)}")))
