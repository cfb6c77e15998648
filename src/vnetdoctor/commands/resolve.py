"""``vnetdoctor resolve``: what a VM resolves a name to, and why, from configuration alone."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from vnetdoctor.commands.options import (
    CONTEXT,
    EXIT_BLOCKED,
    EXIT_INCONCLUSIVE,
    debug_option,
    open_snapshot,
    output_options,
    snapshot_options,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.model.dns import dns_name
from vnetdoctor.model.net import IPAddress
from vnetdoctor.report.output import OutputFormat, emit


def parse_pins(values: tuple[str, ...]) -> dict[str, IPAddress]:
    """``--resolve NAME=IP`` (repeatable); NAME without case or trailing dot."""
    pins: dict[str, IPAddress] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not dns_name(name):
            raise UsageError(f"--resolve: expected NAME=IP, got {value!r}")
        try:
            pins[dns_name(name)] = ipaddress.ip_address(text.strip())
        except ValueError:
            raise UsageError(f"--resolve: {text.strip()!r} is not an IP address") from None
    return pins


def check_name(name: str) -> str:
    text = name.strip()
    if not dns_name(text):
        raise UsageError("NAME: give a DNS name to resolve")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return text
    raise UsageError(f"NAME: {text!r} is an IP address, not a name")


@click.command("resolve", context_settings=CONTEXT)
@snapshot_options
@click.option("--from", "source", required=True, metavar="VM",
              help="The VM that resolves the name: name or resource id (its primary NIC).")
@click.option("--resolve", "pins", multiple=True, metavar="NAME=IP",
              help="Pin the answer for NAME (repeatable), e.g. what nslookup printed on the VM.")
@click.argument("name")
@output_options
@debug_option
@click.pass_context
def resolve_command(
    ctx: click.Context,
    snapshots: tuple[Path, ...],
    sample: str | None,
    plan: Path | None,
    source: str,
    pins: tuple[str, ...],
    name: str,
    output: str,
    query: str | None,
) -> None:
    """What VM resolves NAME to, and why: its DNS server, the forwarding ruleset and rule, the
    private DNS zone and link, the record, each CNAME (the privatelink chain of PaaS names).

    A custom DNS server that is not a DNS Private Resolver inbound endpoint cannot be read from
    ARM, and a public name nothing private answers is not resolved offline: both are unknown,
    never guessed. With -o json the answer is a vnetdoctor.resolution/1 document (from, chain,
    answer, findings); see docs/resolve.md.

    \b
    Examples:
      vnetdoctor resolve --sample --from vm-web-01 mystorage01.blob.core.windows.net
      vnetdoctor resolve -s estate.json --from app1 db.corp.contoso.com -o json
      vnetdoctor resolve -s estate.json --from app1 api.contoso.com \\
          --resolve api.contoso.com=10.0.0.5

    Exit codes: 0 resolved (an address or a PaaS public endpoint), 1 NXDOMAIN, 3 unknown,
    2 bad input.
    """
    from vnetdoctor.engine.dns import AnswerKind, resolve
    from vnetdoctor.report.resolution import render_resolution, resolution_json
    from vnetdoctor.resolve import resolve_nic

    fmt = OutputFormat.parse(output)
    pinned = parse_pins(pins)
    asked = check_name(name)
    snapshot = open_snapshot(snapshots, sample, plan)
    nic = resolve_nic(snapshot, vm=source)
    result = resolve(snapshot, nic, asked, pinned)
    emit(resolution_json(result), fmt, query, lambda console: render_resolution(result, console))
    if result.is_unknown:
        ctx.exit(EXIT_INCONCLUSIVE)
    if result.answer.kind is AnswerKind.NXDOMAIN:
        ctx.exit(EXIT_BLOCKED)


COMMANDS = [resolve_command]
