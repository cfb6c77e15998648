"""``vnetdoctor collect``: a live, read-only snapshot of an Azure estate (extra ``azure``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vnetdoctor.commands.options import CONTEXT, debug_option, output_options
from vnetdoctor.report.output import OutputFormat, cell, emit, safe


@click.command("collect", context_settings=CONTEXT)
@click.option(
    "--subscription",
    "subscriptions",
    multiple=True,
    required=True,
    metavar="ID",
    help="Subscription id to read (repeatable).",
)
@click.option(
    "-g",
    "--resource-group",
    "resource_groups",
    multiple=True,
    metavar="RG",
    help="Only these resource groups (repeatable); what they refer to elsewhere is read too.",
)
@click.option(
    "--effective",
    is_flag=True,
    help="Also read Azure's effective routes and NSGs of the VMs' NICs (needs two /action "
    "permissions beyond Reader: see docs/collect.md).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Snapshot file to write (atomically: a temporary file, then a rename).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@output_options
@debug_option
def collect(
    subscriptions: tuple[str, ...],
    resource_groups: tuple[str, ...],
    effective: bool,
    out: Path,
    no_progress: bool,
    output: str,
    query: str | None,
) -> None:
    """Read the network and VM configuration of subscriptions from Azure, read-only, into a
    snapshot file for -s.

    Signs in as azure-identity's DefaultAzureCredential does (environment variables, workload or
    managed identity, `az login`, Azure PowerShell, azd). Only reads are sent: GETs, Resource
    Graph queries and, with --effective, the effective-route/NSG computations. The Reader role is
    enough without --effective. A subscription the identity cannot read becomes a warning in the
    snapshot, not a failure. Needs the Azure SDK: pip install 'vnetdoctor[azure]'.

    \b
    Examples:
      vnetdoctor collect --subscription 00000000-0000-0000-0000-000000000000 --out estate.json
      vnetdoctor collect --subscription SUB1 --subscription SUB2 -g rg-hub -g rg-app \\
        --effective --out estate.json
      vnetdoctor inventory -s estate.json
      vnetdoctor collect --subscription SUB1 --out estate.json -o json --query warnings
    """
    from vnetdoctor.collect import RichProgress, require_azure
    from vnetdoctor.collect import collect as run_collection
    from vnetdoctor.collect.document import check_writable
    from vnetdoctor.collect.scope import parse_resource_group, parse_subscription

    require_azure()
    subs = [parse_subscription(s) for s in subscriptions]
    groups = [parse_resource_group(g) for g in resource_groups]
    check_writable(out)
    with RichProgress(enabled=False if no_progress else None) as progress:
        result = run_collection(subs, groups, effective=effective, progress=progress)
    written = result.write(out)
    summary = _summary(result, written)
    emit(summary, OutputFormat.parse(output), query, lambda console: _render(summary, console))


def _summary(result: Any, path: Path) -> dict[str, Any]:
    effective = result.effective
    return {
        "out": str(path),
        "resources": dict(result.counts),
        "total": sum(result.counts.values()),
        "effective": {
            "nics": len(effective),
            "routeTables": sum(1 for v in effective.values() if "effectiveRouteTable" in v),
            "networkSecurityGroups": sum(
                1 for v in effective.values() if "effectiveNetworkSecurityGroups" in v
            ),
        },
        "warnings": [
            {"code": w.code, "message": w.message, "subscription": w.subscription,
             "resource": w.resource}
            for w in result.warnings
        ],
        "requests": result.stats,
    }


def _render(summary: dict[str, Any], console: Console) -> None:
    table = Table(title=None, show_edge=False, pad_edge=False)
    table.add_column("resource type")
    table.add_column("count", justify="right")
    for kind, count in summary["resources"].items():
        table.add_row(cell(kind), cell(count))
    table.add_row(Text("total", style="bold"), cell(summary["total"]))
    console.print(table)
    eff = summary["effective"]
    if eff["nics"]:
        console.print(
            Text(
                f"effective routes of {eff['routeTables']} NIC(s), effective NSGs of "
                f"{eff['networkSecurityGroups']} NIC(s)"
            )
        )
    stats = summary["requests"]
    console.print(
        Text(
            f"{stats['requests']} read request(s) in {stats['seconds']} s; "
            f"{stats['throttled']} throttled, {stats['serverErrors']} server error(s) retried, "
            f"{stats['waitedSeconds']} s waited"
        )
    )
    for warning in summary["warnings"]:
        console.print(Text(f"warning {safe(warning['code'])}: {safe(warning['message'])}"))
    console.print(Text(f"wrote {safe(summary['out'])}"))


COMMANDS = [collect]
