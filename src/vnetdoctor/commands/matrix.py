"""``vnetdoctor matrix``: reachability between every pair of VMs in scope, with the reason."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

import click

from vnetdoctor.commands.options import CONTEXT, debug_option, open_snapshot, snapshot_options
from vnetdoctor.outfile import STDOUT, open_output

_TEXT_PAIRS = 10_000  # VM pairs listed one by one in text output


@click.command(context_settings=CONTEXT)
@snapshot_options
@click.option("--port", type=click.IntRange(0, 65535), help="Destination port.")
@click.option(
    "--protocol",
    type=click.Choice(["tcp", "udp", "icmp"], case_sensitive=False),
    default="tcp",
    show_default=True,
)
@click.option("--vms", "vms", metavar="GLOB", help="Only VMs whose name matches GLOB.")
@click.option(
    "--guest",
    "guest",
    multiple=True,
    metavar="VM=PATH",
    help="Guest evidence for a VM, as for diagnose (repeatable): its cells use it.",
)
@click.option(
    "-o",
    "--output",
    "output",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json", "csv", "html"], case_sensitive=False),
    help="Output format (json is per group of equivalent VMs; csv one row per VM pair).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the result to FILE instead of standard output.",
)
@debug_option
def matrix(
    snapshots: tuple[Path, ...],
    sample: str | None,
    plan: Path | None,
    port: int | None,
    protocol: str,
    vms: str | None,
    guest: tuple[str, ...],
    output: str,
    out_file: Path | None,
) -> None:
    """Reachability between every pair of VMs in scope, with the blocking reason per cell.

    VMs whose context (subnet, NSGs, ASGs, routes, state, and where their IPs fall among the
    prefixes of the estate) is identical are grouped; each cell is then composed from parts
    (the NSG answers, the route walk, the return route, each end's state) that are each
    diagnosed once, so 10,000 VMs take seconds, not hours. Without guest evidence (--guest), a
    pair that nothing blocks is inconclusive.

    \b
    -o json: groups, each distinct answer once, and table[source group][destination group].
    -o csv: one row per VM pair.

    \b
    Examples:
      vnetdoctor matrix --sample --port 443
      vnetdoctor matrix --sample --port 5432 --vms 'vm-*' -o csv
      vnetdoctor matrix -s estate.json --port 22 -o html --out matrix.html
      vnetdoctor matrix --sample --port 5432 --vms 'vm-*' --guest vm-db-02=guest/vm-db-02
    """
    from vnetdoctor.analyses.compose import build_matrix
    from vnetdoctor.analyses.matrix import MatrixStepFailed
    from vnetdoctor.api import load_guest
    from vnetdoctor.commands.diagnose import guest_paths
    from vnetdoctor.report.html import render_matrix_html
    from vnetdoctor.report.output import csv_text, discard_stdout, encode_json, safe
    from vnetdoctor.samples import sample_path

    snapshot = open_snapshot(snapshots, sample, plan)
    base = sample_path(sample) if sample else None
    evidence = {name: load_guest(paths) for name, paths in guest_paths(guest, base).items()}
    result = build_matrix(snapshot, port, protocol, vms, guest=evidence)
    if not result.vms:
        from vnetdoctor.errors import UsageError

        what = f"--vms {vms!r} matches" if vms else "the snapshot has"
        raise UsageError(f"matrix: {what} no VM")
    fmt = output.casefold()
    # Written as it is produced (a 10,000-VM CSV is gigabytes): to FILE through the atomic
    # writer, or to standard output, where a reader that goes away (| head) ends the output,
    # not the command's exit code.
    try:
        with open_output(STDOUT if out_file is None else out_file) as buf:
            if fmt == "json":
                buf.write(encode_json(result.to_json()) + "\n")
            elif fmt == "html":
                buf.write(render_matrix_html(result))
            elif fmt == "csv":
                writer = csv.writer(buf, lineterminator="\n")
                writer.writerow(["source", "destination", "verdict", "reasons"])
                for a, b, c in result.pairs():
                    writer.writerow(
                        [csv_text(a), csv_text(b), c.verdict, csv_text("; ".join(c.reasons))]
                    )
            else:
                _text(result, buf, safe)
    except BrokenPipeError:
        if out_file is not None:
            raise
        discard_stdout()
    raised = result.raised()
    if raised:
        raise MatrixStepFailed(raised)


def _text(result: Any, buf: IO[str], safe: Any) -> None:
    """Every VM pair when there are few; beyond, each distinct answer with how many VM pairs
    get it (the pairs themselves are in -o csv)."""
    counts = result.counts()
    buf.write(
        f"{len(result.vms)} VMs in {len(result.groups)} groups, "
        f"{result.diagnosed} representative diagnoses; "
        + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no VM pair")
        + "\n"
    )
    if result.excluded:
        buf.write(
            f"Not covered: {len(result.excluded)} classic VM(s) "
            f"({safe(', '.join(result.excluded))}); ask diagnose about them.\n"
        )
    n = len(result.vms)
    if n * (n - 1) <= _TEXT_PAIRS:
        for a, b, c in result.pairs():
            reasons = f"  {'; '.join(c.reasons)}" if c.reasons else ""
            buf.write(f"{safe(a)} -> {safe(b)}: {c.verdict}{safe(reasons)}\n")
        return
    cells, pairs = result.answer_counts()
    order = sorted(range(len(cells)), key=lambda k: -pairs[k])
    buf.write(f"{len(cells)} distinct answers; the {min(len(cells), 40)} most common:\n")
    for k in order[:40]:
        reasons = f"  {'; '.join(cells[k].reasons)}" if cells[k].reasons else ""
        buf.write(f"{pairs[k]:>12,} VM pairs: {cells[k].verdict}{safe(reasons)}\n")
    buf.write("Every pair: -o csv; by group: -o json.\n")


COMMANDS = [matrix]
