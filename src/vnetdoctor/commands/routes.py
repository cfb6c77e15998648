"""``vnetdoctor next-hop`` and ``vnetdoctor effective-routes``: Network Watcher's next hop and the
NIC's effective route table, computed offline with the same flags and JSON shapes as
``az network watcher show-next-hop`` and ``az network nic show-effective-route-table``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from vnetdoctor.commands.options import (
    CONTEXT,
    EXIT_INCONCLUSIVE,
    debug_option,
    open_snapshot,
    output_options,
    snapshot_options,
)
from vnetdoctor.engine.routes import DEFAULT_PROFILE, RouteProfile, ServiceTagLookup
from vnetdoctor.errors import UsageError
from vnetdoctor.model.net import IPAddress, parse_ip
from vnetdoctor.report.output import OutputFormat, emit

F = TypeVar("F", bound=Callable[..., Any])



def _routing_options(func: F) -> F:
    func = click.option(
        "--service-tags", "service_tags", type=click.Path(path_type=Path), metavar="FILE",
        help="Microsoft's service tags file (ServiceTags_Public_*.json), to resolve service "
             "endpoint routes and user routes whose prefix is a service tag.")(func)
    func = click.option(
        "--as-of", "as_of", metavar="YYYY-MM-DD",
        help="The date the snapshot was taken: picks the platform route set Azure answered with "
             "then (instead of --profile).")(func)
    func = click.option(
        "--profile", metavar="NAME",
        help=f"Azure's platform route set as observed at a period (default {DEFAULT_PROFILE}): "
             f"{_profile_periods()}.")(func)
    return func


def _profile_periods() -> str:
    return "; ".join(f"{m.spec.name}: {m.spec.observed}" for m in RouteProfile)


def _chosen_profile(profile: str | None, as_of: str | None) -> RouteProfile:
    """--profile by name, or the profile --as-of's date needs; never both."""
    if profile is not None and as_of is not None:
        raise UsageError("--profile and --as-of are mutually exclusive: give one")
    if as_of is not None:
        return RouteProfile.as_of(as_of)
    return DEFAULT_PROFILE if profile is None else RouteProfile.parse(profile)


def _tags(path: Path | None) -> ServiceTagLookup | None:
    if path is None:
        return None
    from vnetdoctor.ingest.servicetags import load_service_tags

    return load_service_tags(path)


def _ip(text: str, flag: str) -> IPAddress:
    try:
        return parse_ip(text)
    except ValueError:
        raise UsageError(f"{flag}: invalid IP address {text!r}") from None


@click.command("next-hop", context_settings=CONTEXT)
@snapshot_options
@click.option("--vm", required=True, metavar="VM", help="Source VM: name or resource id.")
@click.option("--nic", metavar="NIC",
              help="Source NIC (name or id), when the VM has several; default: its primary NIC.")
@click.option("--source-ip", required=True, metavar="IP", help="Source IP address.")
@click.option("--dest-ip", required=True, metavar="IP", help="Destination IP address.")
@_routing_options
@output_options
@debug_option
@click.pass_context
def next_hop(
    ctx: click.Context,
    snapshots: tuple[Path, ...],
    sample: str | None,
    plan: Path | None,
    vm: str,
    nic: str | None,
    source_ip: str,
    dest_ip: str,
    profile: str | None,
    as_of: str | None,
    service_tags: Path | None,
    output: str,
    query: str | None,
) -> None:
    """Where a packet from VM leaves to: Network Watcher's next hop, computed offline.

    Prints the next hop type, its IP address and the route table of the user route that decided
    (or "System Route"), plus the deciding route with its resource id and JSON pointer. With
    -o json the answer has Azure's shape ({"nextHopType", "nextHopIpAddress", "routeTableId"}); an
    answer the snapshot cannot give is {"nextHopType": "Unknown", "reasons": [...]}.

    \b
    Examples:
      vnetdoctor next-hop --sample --vm vm-web-01 --source-ip 10.1.1.4 --dest-ip 10.2.1.4
      vnetdoctor next-hop -s estate.json --vm app1 --source-ip 10.0.0.4 --dest-ip 8.8.8.8 -o json
      vnetdoctor next-hop -s estate.json --vm app1 --nic app1-nic2 --source-ip 10.0.1.5 \\
          --dest-ip 10.9.0.4 --service-tags ServiceTags_Public_20251028.json

    Exit codes: 0 answered, 3 unknown (the reasons are printed), 2 bad input.
    """
    from vnetdoctor.engine.routes import next_hop as compute
    from vnetdoctor.report.routes import render_next_hop
    from vnetdoctor.resolve import resolve_nic

    fmt = OutputFormat.parse(output)
    src, dest = _ip(source_ip, "--source-ip"), _ip(dest_ip, "--dest-ip")
    chosen = _chosen_profile(profile, as_of)
    tags = _tags(service_tags)
    snapshot = open_snapshot(snapshots, sample, plan)
    interface = resolve_nic(snapshot, vm=vm, nic=nic)
    hop = compute(snapshot, interface, src, dest, chosen, service_tags=tags)
    emit(hop.to_azure(), fmt, query, lambda console: render_next_hop(hop, console))
    if hop.is_unknown:
        ctx.exit(EXIT_INCONCLUSIVE)


@click.command("effective-routes", context_settings=CONTEXT)
@snapshot_options
@click.option("--nic", metavar="NIC", help="The NIC: name or resource id.")
@click.option("--vm", metavar="VM", help="A VM: its primary NIC is used.")
@_routing_options
@output_options
@debug_option
@click.pass_context
def effective_routes(
    ctx: click.Context,
    snapshots: tuple[Path, ...],
    sample: str | None,
    plan: Path | None,
    nic: str | None,
    vm: str | None,
    profile: str | None,
    as_of: str | None,
    service_tags: Path | None,
    output: str,
    query: str | None,
) -> None:
    """The effective routes of a NIC: system, peering, gateway, service endpoint and user routes,
    each Active or Invalid, as Azure lists them.

    With -o json the table has the shape of az network nic show-effective-route-table
    ({"value": [{"source", "state", "addressPrefix", "nextHopIpAddress", "nextHopType", "name",
    "disableBgpRoutePropagation"}]}); a "problems" list is added when the snapshot cannot tell
    the whole table. --profile picks the platform route set Azure showed at a period (it changed
    between 2016 and 2024), --as-of the one of the snapshot's date; the newest is the default.

    \b
    Examples:
      vnetdoctor effective-routes --sample --vm vm-web-01
      vnetdoctor effective-routes -s estate.json --nic app1-nic -o json
      vnetdoctor effective-routes -s estate.json --vm app1 --profile documented
      vnetdoctor effective-routes -s estate.json --vm app1 --as-of 2020-09-03
      vnetdoctor effective-routes -s estate.json --vm app1 -o json \\
          --query "value[?state=='Active'].addressPrefix[]"

    Exit codes: 0 answered, 3 unknown (the reasons are printed), 2 bad input.
    """
    from vnetdoctor.engine.routes import effective_routes as compute
    from vnetdoctor.report.routes import render_effective_routes
    from vnetdoctor.resolve import resolve_nic

    fmt = OutputFormat.parse(output)
    chosen = _chosen_profile(profile, as_of)
    tags = _tags(service_tags)
    snapshot = open_snapshot(snapshots, sample, plan)
    interface = resolve_nic(snapshot, vm=vm, nic=nic)
    table = compute(snapshot, interface, chosen, service_tags=tags)
    emit(table.to_azure(), fmt, query, lambda console: render_effective_routes(table, console))
    if not table.is_complete:
        ctx.exit(EXIT_INCONCLUSIVE)


COMMANDS = [next_hop, effective_routes]
