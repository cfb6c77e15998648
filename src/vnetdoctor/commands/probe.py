"""``vnetdoctor probe``: collect guest evidence inside a VM (Linux or Windows) into one JSON file
that ``diagnose --guest VM=FILE`` reads."""

from __future__ import annotations

from pathlib import Path

import click

from vnetdoctor.commands.options import CONTEXT, debug_option
from vnetdoctor.outfile import write_output
from vnetdoctor.report.output import safe


@click.command("probe", context_settings=CONTEXT)
@click.option(
    "--port",
    "ports",
    multiple=True,
    type=click.IntRange(1, 65535),
    metavar="N",
    help="A port the diagnosis is about (repeatable); used by --peer without a port.",
)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    metavar="IP[:PORT]",
    help="Test a TCP connection to IP:PORT from this VM, like Test-NetConnection (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the evidence to FILE (default: print it on stdout).",
)
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5, 300),
    metavar="SECONDS",
    help="Per-command timeout (the Windows PowerShell collection gets at least 60 s).",
)
@click.option(
    "--connect-timeout",
    default=3.0,
    show_default=True,
    type=click.FloatRange(0.1, 120),
    metavar="SECONDS",
    help="Timeout of each --peer connect test.",
)
@debug_option
def probe(
    ports: tuple[int, ...],
    peers: tuple[str, ...],
    out: Path | None,
    timeout: float,
    connect_timeout: float,
) -> None:
    """Collect guest evidence inside this VM: hostname, OS, adapters (hidden ones too on
    Windows), IPs, listening sockets, firewall rules and profiles (iptables-save,
    ip6tables-save, nft -j list ruleset; Windows Firewall from the active store), default
    routes, DNS servers, and TCP connect tests to each --peer.

    Commands run with fixed arguments, no shell, each with a timeout; what cannot be collected
    (a tool not installed, no root) is recorded with the reason. Run it as root / Administrator
    to read the firewall. It only reads: it changes nothing on the VM.

    \b
    Examples:
      sudo vnetdoctor probe --port 5432 --out db1.json
      vnetdoctor probe --peer 10.0.2.5:5432 --out web1.json       # on the source VM
      vnetdoctor probe --port 445 --peer 10.0.3.4 > fs-client.json
      vnetdoctor diagnose -s estate.json --from web1 --to db1 --port 5432 \\
          --guest web1=web1.json --guest db1=db1.json

    Exit codes: 0 written (gaps are listed, not errors), 2 bad usage.
    """
    from vnetdoctor.model.evidence import encode_probe
    from vnetdoctor.probe import capture_summary, collect_probe

    result = collect_probe(ports, peers, timeout=timeout, connect_timeout=connect_timeout)
    data = encode_probe(result)
    if out is None or str(out) == "-":
        click.echo(data.decode(), nl=False)
        return
    write_output(out, data)
    click.echo(
        f"wrote {safe(out)}: {safe(capture_summary(result.captures))}, "
        f"{len(result.connects)} connect tests, {result.duration_ms} ms"
    )
    for gap in result.gaps:
        click.echo(f"  not collected: {safe(gap.what)}: {safe(gap.reason)}")
    for test in result.connects:
        verdict = "ok" if test.succeeded else "FAILED" if test.succeeded is False else "not run"
        detail = f" ({safe(test.error)})" if test.error else ""
        click.echo(f"  connect {safe(test.target)}: {verdict}{detail}")


COMMANDS = [probe]
