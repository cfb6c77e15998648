"""Step 0: what the source resolves the destination name to, before the nine steps.

Runs only when ``--to`` is a DNS name; the chain (server, ruleset, zone, link, record, CNAMEs)
is the same as ``vnetdoctor resolve`` prints, from the same resolver (engine/dns.py).
"""

from __future__ import annotations

from vnetdoctor.engine.dns import AnswerKind, Resolution
from vnetdoctor.runbook.context import DiagnosisContext, StepOutcome, outcome, skip
from vnetdoctor.runbook.findings import Finding, Status, finding, worst
from vnetdoctor.runbook.registry import step


def chain_text(resolution: Resolution) -> str:
    return "; ".join(s.detail for s in resolution.chain)


def _answer_finding(resolution: Resolution) -> Finding | None:
    answer = resolution.answer
    chain = chain_text(resolution)
    assumed = "".join(f" (assumption: {a})" for a in resolution.assumptions)
    if answer.kind is AnswerKind.ADDRESS and answer.addresses:
        owner = f", private endpoint {answer.resource.name}" if answer.resource else ""
        return finding(
            "DNS_RESOLVED",
            f"{resolution.name} resolves to {answer.addresses[0]}{owner}: {chain}{assumed}",
            resource=answer.resource,
        )
    if answer.kind is AnswerKind.PUBLIC_ENDPOINT:
        return finding(
            "DNS_RESOLVED",
            f"{resolution.name} resolves to a PaaS public endpoint: {chain}{assumed}; its "
            "address and the service's own network rules are not modelled by diagnose yet",
            resource=answer.resource,
            status=Status.UNKNOWN,
        )
    return None


@step(0, "name-resolution", "The destination name does not resolve, or not as intended")
def check(ctx: DiagnosisContext) -> StepOutcome:
    """Only when the destination is a DNS name: the source VM's DNS server (NIC, VNet or
    Azure-provided), forwarding rulesets and inbound endpoints, linked private zones and their
    records, the privatelink CNAME of PaaS names; `--resolve NAME=IP` pins an answer. The
    resolved address is then traced like `--to IP`. DNS traffic itself (port 53) is not
    path-checked."""
    resolution = ctx.query.resolution
    if resolution is None:
        return skip("the destination is not a DNS name")
    findings = [
        finding(i.code, i.message, status=i.status, resource=i.resource)
        for i in resolution.issues
    ]
    found = _answer_finding(resolution)
    if found is not None:
        findings.insert(0, found)
    status = worst([f.status for f in findings], default=Status.UNKNOWN)
    if resolution.answer.kind is AnswerKind.NXDOMAIN and status is not Status.FAIL:
        status = Status.FAIL  # NXDOMAIN ends the connection attempt whatever the cause
    if resolution.answer.kind is AnswerKind.UNKNOWN:
        status = worst([status, Status.UNKNOWN])
    summary = chain_text(resolution) if status is Status.PASS else ""
    return outcome(findings, summary, status=status)
