"""The diagnosis as a person reads it: verdict, blockers with their fixes, nine steps, the path."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from vnetdoctor.report.output import cell, print_line, print_table, safe, shell_commands
from vnetdoctor.runbook.findings import Finding, Status
from vnetdoctor.runbook.runner import Diagnosis, Verdict

_MARK = {
    Status.PASS: ("✔", "green"),
    Status.FAIL: ("✘", "bold red"),
    Status.WARN: ("!", "yellow"),
    Status.UNKNOWN: ("?", "magenta"),
    Status.SKIP: ("-", "dim"),
    Status.ERROR: ("‼", "bold red"),
}
_STATUS = {s.value: s for s in Status}
_VERDICT = {
    Verdict.REACHABLE: "green",
    Verdict.BLOCKED: "bold red",
    Verdict.INCONCLUSIVE: "magenta",
}


def _finding_lines(number: int, f: Finding, console: Console) -> None:
    """One finding, each line whole (soft-wrapped by the terminal, never by a hard newline): the
    ids and addresses it names stay intact, and every command is one line a shell runs."""
    head = Text()
    head.append(f"{number}. ", style="bold")
    head.append(f"{f.code}", style=_MARK[f.status][1])
    head.append(f"  (step {f.step})")
    print_line(console, head)
    print_line(console, Text(f"   {safe(f.message)}"))
    if f.resource:
        where = f"   where: {safe(f.resource)}"
        if f.pointer:
            where += f"  {safe(f.pointer)}"
        print_line(console, Text(where, style="dim"))
    if f.remediation:
        print_line(console, Text(f"   fix:   {safe(f.remediation)}"))
    if f.command:
        for line in shell_commands(safe(f.command)):
            print_line(console, Text(f"   $ {line}", style="cyan"))
    console.print()


def _port(d: Diagnosis) -> str:
    port = d.query.port
    return "any port (no --port given)" if port is None else f"port {port}"


def verdict_line(d: Diagnosis) -> Text:
    """The verdict in one line: the last line of the text output, where a terminal leaves it."""
    q = d.query
    text = Text("Verdict: ")
    text.append(d.verdict.value.upper(), style=_VERDICT[d.verdict])
    blockers = len(d.blockers)
    if blockers:
        text.append(f"  ({blockers} blocker{'s' if blockers > 1 else ''})")
    text.append(
        f"  {safe(q.source.describe())} -> {safe(q.destination.describe())} "
        f"{q.protocol.value} {_port(d)}"
    )
    return text


def _no_port_note(d: Diagnosis, console: Console) -> None:
    if d.query.port is None:
        print_line(console, Text(
            "No --port: the answer is for a connection to any destination port, and a fix "
            "names the placeholder '<port>'; give --port N for the answer and the fix for "
            "port N.", style="yellow"))


def render_diagnosis(d: Diagnosis, console: Console, *, brief: bool = False) -> None:
    """The report: the verdict, the blockers with their fixes, the warnings and unknowns, the
    nine steps and the path; ``brief`` keeps the verdict, the blockers and the fixes only. The
    verdict is repeated on the last line."""
    q = d.query
    head = Text()
    head.append(
        f"{safe(q.source.describe())} -> {safe(q.destination.describe())}  "
        f"{q.protocol.value} {_port(d)}\n"
    )
    head.append("Verdict: ")
    head.append(d.verdict.value.upper(), style=_VERDICT[d.verdict])
    blockers = d.blockers
    if blockers:
        head.append(f"  ({len(blockers)} blocker{'s' if len(blockers) > 1 else ''})")
    if brief:
        _no_port_note(d, console)
    else:
        console.print(Panel(head, title="vnetdoctor diagnose", title_align="left", expand=False))
        _no_port_note(d, console)

    if blockers:
        print_line(console, Text("Blockers", style="bold"))
        for i, f in enumerate(blockers, 1):
            _finding_lines(i, f, console)
    if not brief:
        _details(d, console)
    print_line(console, verdict_line(d))


def _details(d: Diagnosis, console: Console) -> None:
    others = [f for s in d.steps for f in s.findings if f.status not in (Status.FAIL, Status.PASS)]
    if others:
        print_line(console, Text("Warnings and unknowns", style="bold"))
        for i, f in enumerate(others, 1):
            _finding_lines(i, f, console)

    steps = []
    for s in d.steps:
        mark, style = _MARK[s.status]
        why = s.summary or "; ".join(f.code for f in s.findings)
        steps.append([
            Text(mark, style=style),
            cell(s.number),
            cell(s.title),
            Text(s.status.value, style=style),
            cell(why),
        ])
    print_table(console, "The nine steps", ("", "#", "step", "status", "why"), steps,
                compact=True)

    path = []
    for hop in d.path:
        mark, style = _MARK[_STATUS.get(hop.status, Status.UNKNOWN)]
        path.append([
            Text(mark, style=style),
            cell(hop.kind),
            cell(hop.name),
            cell(hop.decision),
            cell(hop.detail),
        ])
    print_table(console, "Path", ("", "hop", "at", "decision", "detail"), path, compact=True)
