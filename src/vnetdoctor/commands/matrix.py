"""``vnetdoctor matrix``: reachability between every pair of VMs in scope, with the reason."""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

import click

from vnetdoctor.commands.options import CONTEXT, debug_option, open_snapshot, snapshot_options

_WARN_PAIRS = 20_000


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
    port: int | None,
    protocol: str,
    vms: str | None,
    output: str,
    out_file: Path | None,
) -> None:
    """Reachability between every pair of VMs in scope, with the blocking reason per cell.

    VMs whose context (subnet, NSGs, ASGs, routes, state, and where their IPs fall among the
    prefixes of the estate) is identical are grouped, and one pair per group pair is diagnosed.
    Guest evidence is not used: without it, a pair that nothing blocks is inconclusive.

    \b
    Examples:
      vnetdoctor matrix --sample --port 443
      vnetdoctor matrix --sample --port 5432 --vms 'vm-*' -o csv
      vnetdoctor matrix -s estate.json --port 22 -o html --out matrix.html
    """
    from vnetdoctor.api import diagnose
    from vnetdoctor.engine.matrix import build_matrix
    from vnetdoctor.report.html import render_matrix_html
    from vnetdoctor.report.output import encode_json, safe

    snapshot = open_snapshot(snapshots, sample)
    result = build_matrix(snapshot, diagnose, port, protocol, vms, compute=False)
    total = len(result.groups) ** 2
    if total > _WARN_PAIRS:
        t0 = time.perf_counter()
        for i in range(min(len(result.groups), 40)):
            result.group_cell(i, (i * 7919) % len(result.groups))
        each = (time.perf_counter() - t0) / max(result.diagnosed, 1)
        click.echo(
            f"vnetdoctor: matrix: {len(result.vms):,} VMs in {len(result.groups):,} groups: "
            f"{total:,} representative diagnoses, about {each * total / 60:,.0f} min at "
            f"{each * 1000:.1f} ms each; narrow the scope with --vms GLOB",
            err=True,
        )
    result.compute_all()
    fmt = output.casefold()
    buf = io.StringIO()
    if fmt == "json":
        buf.write(encode_json(result.to_json()) + "\n")
    elif fmt == "html":
        buf.write(render_matrix_html(result))
    elif fmt == "csv":
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["source", "destination", "verdict", "reasons"])
        for a, b, c in result.pairs():
            writer.writerow([a, b, c.verdict, "; ".join(c.reasons)])
    else:
        counts = result.counts()
        buf.write(
            f"{len(result.vms)} VMs in {len(result.groups)} groups, "
            f"{result.diagnosed} representative diagnoses; "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + "\n"
        )
        for a, b, c in result.pairs():
            reasons = f"  {'; '.join(c.reasons)}" if c.reasons else ""
            buf.write(f"{safe(a)} -> {safe(b)}: {c.verdict}{safe(reasons)}\n")
    if out_file is not None:
        out_file.write_text(buf.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(buf.getvalue())


COMMANDS = [matrix]
