"""The diagnosis as a person reads it: verdict, blockers with their fixes, nine steps, the path."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vnetdoctor.report.output import cell, safe
from vnetdoctor.runbook.findings import Finding, Status
from vnetdoctor.runbook.runner import Diagnosis, Verdict

_MARK = {
    Status.PASS: ("✔", "green"),
    Status.FAIL: ("✘", "bold red"),
    Status.WARN: ("!", "yellow"),
    Status.UNKNOWN: ("?", "magenta"),
    Status.SKIP: ("-", "dim"),
}
_STATUS = {s.value: s for s in Status}
_VERDICT = {
    Verdict.REACHABLE: "green",
    Verdict.BLOCKED: "bold red",
    Verdict.INCONCLUSIVE: "magenta",
}


def _finding_lines(number: int, f: Finding) -> Text:
    text = Text()
    text.append(f"{number}. ", style="bold")
    text.append(f"{f.code}", style=_MARK[f.status][1])
    text.append(f"  (step {f.step})\n")
    text.append(f"   {safe(f.message)}\n")
    if f.resource:
        where = f"   where: {safe(f.resource)}"
        if f.pointer:
            where += f"  {safe(f.pointer)}"
        text.append(where + "\n", style="dim")
    if f.remediation:
        text.append(f"   fix:   {safe(f.remediation)}\n")
    if f.command:
        text.append(f"   $ {safe(f.command)}\n", style="cyan")
    return text


def render_diagnosis(d: Diagnosis, console: Console) -> None:
    q = d.query
    port = "*" if q.port is None else str(q.port)
    head = Text()
    head.append(
        f"{safe(q.source.describe())} -> {safe(q.destination.describe())}  "
        f"{q.protocol.value} {port}\n"
    )
    head.append("Verdict: ")
    head.append(d.verdict.value.upper(), style=_VERDICT[d.verdict])
    blockers = d.blockers
    if blockers:
        head.append(f"  ({len(blockers)} blocker{'s' if len(blockers) > 1 else ''})")
    console.print(Panel(head, title="vnetdoctor diagnose", title_align="left", expand=False))

    if blockers:
        console.print(Text("Blockers", style="bold"))
        console.print(Group(*(_finding_lines(i, f) for i, f in enumerate(blockers, 1))))
    others = [f for s in d.steps for f in s.findings if f.status not in (Status.FAIL, Status.PASS)]
    if others:
        console.print(Text("Warnings and unknowns", style="bold"))
        console.print(Group(*(_finding_lines(i, f) for i, f in enumerate(others, 1))))

    steps = Table(title="The nine steps", title_justify="left", show_lines=False)
    for header in ("", "#", "step", "status", "why"):
        steps.add_column(header, overflow="fold")
    for s in d.steps:
        mark, style = _MARK[s.status]
        why = s.summary or "; ".join(f.code for f in s.findings)
        steps.add_row(
            Text(mark, style=style),
            cell(s.number),
            cell(s.title),
            Text(s.status.value, style=style),
            cell(why),
        )
    console.print(steps)

    path = Table(title="Path", title_justify="left")
    for header in ("", "hop", "at", "decision", "detail"):
        path.add_column(header, overflow="fold")
    for hop in d.path:
        mark, style = _MARK[_STATUS.get(hop.status, Status.UNKNOWN)]
        path.add_row(
            Text(mark, style=style),
            cell(hop.kind),
            cell(hop.name),
            cell(hop.decision),
            cell(hop.detail),
        )
    console.print(path)
