"""``vnetdoctor diagnose``: why can't A reach B? The nine steps, every blocker, the fix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vnetdoctor.commands.options import (
    CONTEXT,
    brief_option,
    debug_option,
    no_color_option,
    open_snapshot,
    snapshot_options,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.outfile import open_output, write_output
from vnetdoctor.report.output import OutputFormat, emit


def guest_paths(values: tuple[str, ...], base: Path | None) -> dict[str, list[Path]]:
    """``VM=PATH`` options -> paths per VM; a relative path is looked up beside the sample too."""
    out: dict[str, list[Path]] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name.strip() or not raw.strip():
            raise UsageError(f"--guest expects VM=PATH, got {value!r}")
        path = Path(raw)
        if (
            not path.exists()
            and base is not None
            and not path.is_absolute()
            and (base / path).exists()
        ):
            path = base / path
        if not path.exists():
            raise UsageError(f"--guest {name}: no such file or folder: {raw}")
        out.setdefault(name.strip(), []).append(path)
    return out


@click.command(context_settings=CONTEXT)
@snapshot_options
@click.option(
    "--from",
    "source",
    required=True,
    metavar="VM|NIC|IP|BASTION",
    help="The source: a VM or NIC name (or id), or an IP; an Internet address or `Internet` "
    "enters through the public addresses of the snapshot; an Azure Bastion host is a session "
    "to --to on --port (docs/semantics/bastion.md).",
)
@click.option(
    "--to",
    "destination",
    required=True,
    metavar="VM|NIC|IP|NAME",
    help="The destination: a VM, classic VM, NIC or private endpoint name (or id), an IP, or a "
    "DNS name (resolved from the source in step 0).",
)
@click.option(
    "--resolve",
    "pins",
    multiple=True,
    metavar="NAME=IP",
    help="Pin the answer for a DNS name (repeatable), e.g. what nslookup printed on the VM.",
)
@click.option("--port", type=click.IntRange(0, 65535), help="Destination port.")
@click.option(
    "--protocol",
    type=click.Choice(["tcp", "udp", "icmp"], case_sensitive=False),
    default="tcp",
    show_default=True,
)
@click.option(
    "--guest",
    "guest",
    multiple=True,
    metavar="VM=PATH",
    help="Guest evidence for a VM: a `vnetdoctor probe` file, a folder of artefacts, "
    "or one artefact file (repeatable).",
)
@click.option(
    "--concurrent",
    type=click.IntRange(0),
    metavar="N",
    help="Concurrent connections the source keeps to the one destination (SNAT).",
)
@click.option(
    "--service-tags",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Microsoft's service tags JSON, for tags other than VirtualNetwork, "
    "AzureLoadBalancer and Internet.",
)
@click.option(
    "--flowlogs",
    "flowlogs",
    multiple=True,
    metavar="PATH",
    help="VNet or NSG flow logs (files, folders, globs; needs vnetdoctor[flowlogs]): denied "
    "flows between the pair, and the observed concurrency for SNAT (repeatable).",
)
@click.option(
    "--fqdn",
    metavar="HOST",
    help="The host name the client asks for (evaluates Azure Firewall application rules).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Read what the pair needs from Azure now (needs vnetdoctor[azure] and a signed-in "
    "identity with Reader), instead of -s/--sample.",
)
@click.option(
    "--subscription",
    "subscriptions",
    multiple=True,
    metavar="ID",
    help="Subscription(s) to read with --live (repeatable).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE instead of standard output.",
)
@click.option(
    "--query",
    metavar="JMESPATH",
    help="JMESPath query applied to the JSON result (as in the az CLI).",
)
@click.option(
    "-o",
    "--output",
    "output",
    default="text",
    show_default=True,
    type=click.Choice(["text", "table", "json", "jsonc", "none", "html"], case_sensitive=False),
    help="Output format; html is one self-contained page (use with --out).",
)
@brief_option
@no_color_option
@debug_option
def diagnose(
    snapshots: tuple[Path, ...],
    sample: str | None,
    plan: Path | None,
    source: str,
    destination: str,
    pins: tuple[str, ...],
    port: int | None,
    protocol: str,
    guest: tuple[str, ...],
    concurrent: int | None,
    service_tags: Path | None,
    flowlogs: tuple[str, ...],
    fqdn: str | None,
    live: bool,
    subscriptions: tuple[str, ...],
    out_file: Path | None,
    output: str,
    query: str | None,
    brief: bool,
) -> None:
    """Why can't VM A reach VM B? Runs the nine steps of Microsoft's troubleshooting guide and
    prints one verdict, every blocker on the path with its evidence, and the fix.

    Exit code: 0 reachable, 1 blocked, 3 inconclusive (something could not be checked: the report
    says what, and which command gathers it), 2 bad input.

    \b
    Examples:
      vnetdoctor diagnose --sample --from vm-web-01 --to vm-db-01 --port 5432
      vnetdoctor diagnose --sample --from vm-web-01 --to vm-db-01 --port 5432 --brief
      vnetdoctor diagnose -s estate.json --from vm-a --to 10.2.1.4 --port 443 -o json
      vnetdoctor diagnose --sample --from vm-app-01 --to vm-db-02 --port 5432 \\
          --guest vm-db-02=guest/vm-db-02/iptables-save.txt
      vnetdoctor diagnose --sample --from vm-web-01 --to 52.178.190.12 --port 443 --concurrent 1500
      vnetdoctor diagnose -s estate.json --from vm-a --to mystorage01.blob.core.windows.net \\
          --port 443
      vnetdoctor diagnose --live --subscription SUB_ID --from vm-a --to vm-b --port 22
      vnetdoctor diagnose -s estate.json --from bastion-hub --to vm-a --port 3389
    """
    from vnetdoctor.api import diagnose as run_diagnosis
    from vnetdoctor.api import load_guest
    from vnetdoctor.commands.resolve import parse_pins
    from vnetdoctor.report.diagnosis import render_diagnosis
    from vnetdoctor.samples import sample_path

    pinned = parse_pins(pins)
    if live:
        if snapshots or sample:
            raise UsageError("give either --live or -s/--sample, not both")
        if not subscriptions:
            raise UsageError("--live needs --subscription ID")
        from vnetdoctor.collect import RichProgress, collect_for_pair, require_azure

        require_azure()
        with RichProgress() as progress:
            snapshot = collect_for_pair(list(subscriptions), source, destination, progress=progress)
    else:
        snapshot = open_snapshot(snapshots, sample, plan)
    base = sample_path(sample) if sample else None
    evidence: dict[str, Any] = {
        name: load_guest(paths) for name, paths in guest_paths(guest, base).items()
    }
    tags = None
    if service_tags is not None:
        from vnetdoctor.ingest.servicetags import load_service_tags

        tags = load_service_tags(service_tags)
    result = run_diagnosis(
        snapshot,
        source,
        destination,
        port,
        protocol,
        guest=evidence,
        concurrent=concurrent,
        fqdn=fqdn,
        flow_logs=list(flowlogs) or None,
        service_tags=tags,
        inputs=tuple(snapshot.sources),
        pins=pinned,
    )
    if output.casefold() == "html":
        from vnetdoctor.report.html import render_html

        page = render_html(result, snapshot=snapshot)
        if out_file is not None:
            write_output(out_file, page)
        else:
            sys.stdout.write(page)
        result.raise_for_error()
        sys.exit(result.exit_code)
    fmt = OutputFormat.parse(output)
    if out_file is not None:
        with open_output(out_file) as stream:
            emit(result.to_json(), fmt, query, lambda c: render_diagnosis(result, c, brief=brief),
                 stream=stream)
    else:
        emit(result.to_json(), fmt, query, lambda c: render_diagnosis(result, c, brief=brief))
    result.raise_for_error()
    sys.exit(result.exit_code)


COMMANDS = [diagnose]
