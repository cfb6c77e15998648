"""``ip-flow-verify`` and ``effective-nsg``: Network Watcher's NSG answers, offline.

They mirror ``az network watcher test-ip-flow`` and ``az network nic list-effective-nsg``:
``-o json`` prints Azure's own shapes, so a script can swap one for the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from vnetdoctor.commands.options import (
    CONTEXT,
    EXIT_BLOCKED,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    debug_option,
    open_snapshot,
    output_options,
    snapshot_options,
)
from vnetdoctor.errors import UsageError
from vnetdoctor.model.compute import NetworkInterface
from vnetdoctor.model.net import IPAddress, Protocol
from vnetdoctor.model.security import Direction
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.report.output import OutputFormat, emit, safe

F = TypeVar("F", bound=Callable[..., Any])

# Network Watcher's IP flow verify asks about TCP or UDP only (Protocol.parse knows more).
_FLOW_PROTOCOLS = (Protocol.TCP, Protocol.UDP)
_DIRECTIONS = {"inbound": Direction.INBOUND, "outbound": Direction.OUTBOUND}


def service_tags_option(func: F) -> F:
    return click.option(
        "--service-tags", "service_tags", type=click.Path(path_type=Path), metavar="FILE",
        help="Microsoft's service tags JSON (ServiceTags_Public_*.json), for tags other than "
             "VirtualNetwork, AzureLoadBalancer and Internet.")(func)


def _load_tags(path: Path | None) -> Any:
    if path is None:
        return None
    from vnetdoctor.ingest.servicetags import load_service_tags

    return load_service_tags(path)


def _choice(value: str, choices: dict[str, Any], flag: str) -> Any:
    found = choices.get(value.strip().casefold())
    if found is None:
        raise UsageError(f"{flag} {value!r}: expected {' or '.join(choices)}")
    return found


def _flow_protocol(value: str) -> Protocol:
    try:
        found: Protocol | None = Protocol.parse(value)
    except ValueError:
        found = None
    if found not in _FLOW_PROTOCOLS:
        raise UsageError(f"--protocol {value!r}: expected tcp or udp")
    return found


def _nic_for(snapshot: Snapshot, vm: str | None, nic: str | None,
             local_ip: IPAddress) -> NetworkInterface:
    """``--nic``, else the NIC of ``--vm`` that holds the local IP (as Network Watcher picks)."""
    from vnetdoctor.engine.nsg import interface_holding
    from vnetdoctor.resolve import resolve_nic

    if nic is not None or vm is None:
        return resolve_nic(snapshot, vm=vm, nic=nic)
    return interface_holding(snapshot, vm, local_ip)


def _exit(code: int) -> None:
    """End with ``code``. ``SystemExit`` rather than ``ctx.exit``: ``cli.main`` runs click with
    ``standalone_mode=False``, where click returns an ``Exit`` code instead of raising it."""
    if code:
        raise SystemExit(code)


def _endpoint(text: str, flag: str) -> tuple[IPAddress, int | None]:
    from vnetdoctor.engine.nsg import parse_endpoint

    try:
        return parse_endpoint(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


@click.command("ip-flow-verify", context_settings=CONTEXT)
@snapshot_options
@click.option("--vm", metavar="VM", help="The VM (name or resource id).")
@click.option("--nic", metavar="NIC",
              help="The network interface (name or id); default: the VM's NIC holding --local.")
@click.option("--direction", required=True, metavar="inbound|outbound",
              help="Direction of the packet relative to the VM.")
@click.option("--protocol", required=True, metavar="tcp|udp", help="Protocol of the packet.")
@click.option("--local", "local", required=True, metavar="IP:PORT",
              help="The VM's private IP and port (port * for any).")
@click.option("--remote", required=True, metavar="IP:PORT",
              help="The other end's IP and port (port * for any).")
@click.option("--explain", is_flag=True,
              help="Show every rule of every NSG layer and which of its fields matched.")
@service_tags_option
@output_options
@debug_option
def ip_flow_verify(
    snapshots: Sequence[Path], sample: str | None, plan: Path | None, vm: str | None,
    nic: str | None, direction: str, protocol: str, local: str, remote: str, explain: bool,
    service_tags: Path | None, output: str, query: str | None,
) -> None:
    """Would the NSGs allow this packet? Azure's IP flow verify, from a snapshot.

    Evaluates the subnet NSG and the NIC NSG (inbound: subnet first; outbound: NIC first) and
    names the deciding rule as Azure does. Exit code: 0 Allow, 1 Deny, 3 unknown (a rule that
    may match could not be evaluated, e.g. a service tag without --service-tags), 2 bad input.
    This differs from `az network watcher test-ip-flow`, which exits 0 on a Deny answer: here
    the exit code is the answer (as for diagnose), and the output says it too.

    \b
    Examples:
      vnetdoctor ip-flow-verify -s estate.json --vm web1 --direction inbound \\
          --protocol tcp --local 10.0.1.4:443 --remote 203.0.113.9:50000
      vnetdoctor ip-flow-verify -s estate.json --vm web1 --direction outbound \\
          --protocol tcp --local 10.0.1.4:* --remote 10.1.0.5:1433 --explain
      vnetdoctor ip-flow-verify -s estate.json --vm app1 --direction outbound --protocol tcp \\
          --local 10.0.2.4:* --remote 20.60.1.2:443 --service-tags ServiceTags_Public.json -o json
    """
    from vnetdoctor.engine.nsg import ip_flow_verify as verify
    from vnetdoctor.report.nsg import render_flow_verdict

    fmt = OutputFormat.parse(output)
    the_direction = _choice(direction, _DIRECTIONS, "--direction")
    the_protocol = _flow_protocol(protocol)
    local_end = _endpoint(local, "--local")
    remote_end = _endpoint(remote, "--remote")
    tags = _load_tags(service_tags)
    snapshot = open_snapshot(snapshots, sample, plan)
    the_nic = _nic_for(snapshot, vm, nic, local_end[0])
    verdict = verify(snapshot, the_nic, the_direction, the_protocol, local_end, remote_end,
                     tags, explain=explain)
    emit(verdict.to_json(explain=explain), fmt, query,
         lambda console: render_flow_verdict(verdict, console, explain=explain))
    if fmt is not OutputFormat.TEXT:
        for note in verdict.notes:
            click.echo(f"vnetdoctor: note: {safe(note)}", err=True)
    codes = {"Allow": EXIT_OK, "Deny": EXIT_BLOCKED}
    _exit(codes.get(verdict.access.value, EXIT_INCONCLUSIVE))


@click.command("effective-nsg", context_settings=CONTEXT)
@snapshot_options
@click.option("--nic", metavar="NIC", help="The network interface (name or resource id).")
@click.option("--vm", metavar="VM", help="A VM: its primary network interface.")
@service_tags_option
@output_options
@debug_option
def effective_nsg(
    snapshots: Sequence[Path], sample: str | None, plan: Path | None, nic: str | None,
    vm: str | None, service_tags: Path | None, output: str, query: str | None,
) -> None:
    """The NSG rules in force on a network interface, as Azure's effective rules list them.

    One entry per NSG (the NIC's, then its subnet's), each rule in effective form: ports as
    a-b, * as 0.0.0.0/0, tags with their expanded prefixes. Exit code 0, or 3 when something
    could not be listed or expanded (an NSG missing from the snapshot, a service tag without
    --service-tags): the notes say what.

    \b
    Examples:
      vnetdoctor effective-nsg -s estate.json --nic web1-nic
      vnetdoctor effective-nsg -s estate.json --vm web1 -o json
      vnetdoctor effective-nsg -s estate.json --vm web1 -o json \\
          --query "value[].effectiveSecurityRules[?access=='Deny'].name"
    """
    from vnetdoctor.engine.nsg import effective_security_rules
    from vnetdoctor.report.nsg import render_effective_rules
    from vnetdoctor.resolve import resolve_nic

    fmt = OutputFormat.parse(output)
    tags = _load_tags(service_tags)
    snapshot = open_snapshot(snapshots, sample, plan)
    the_nic = resolve_nic(snapshot, vm=vm, nic=nic)
    result = effective_security_rules(snapshot, the_nic, tags)
    emit(result.to_azure(), fmt, query, lambda console: render_effective_rules(result, console))
    if fmt is not OutputFormat.TEXT:
        for note in result.notes:
            click.echo(f"vnetdoctor: note: {safe(note)}", err=True)
    _exit(EXIT_OK if result.complete else EXIT_INCONCLUSIVE)


COMMANDS = [ip_flow_verify, effective_nsg]
