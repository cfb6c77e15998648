"""Text rendering of effective routes and next hop answers (every resource string through
``cell``/``safe``: names are written by whoever can edit the estate)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vnetdoctor.engine.routes import (
    SYSTEM_ROUTE,
    EffectiveRoute,
    EffectiveRouteTable,
    NextHop,
    RouteState,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.report.output import cell, safe


def _name(rid: ResourceId | None) -> str:
    return "-" if rid is None else rid.name


def _evidence(resource_id: ResourceId | None, pointer: str | None) -> str:
    if resource_id is None:
        return "platform"
    return f"{resource_id.name}{pointer or ''}"


def render_effective_routes(table: EffectiveRouteTable, console: Console) -> None:
    console.print(Text(safe(
        f"Effective routes of NIC {table.nic_id.name} (subnet {_name(table.subnet_id)}, "
        f"route table {_name(table.route_table_id)}, profile {table.profile})")))
    grid = Table(title_justify="left")
    for header in ("Source", "State", "Address prefix", "Next hop type", "Next hop IP", "Name",
                   "Evidence"):
        grid.add_column(header, overflow="fold")
    for route in table.routes:
        style = "dim" if route.state is RouteState.INVALID else ""
        flag = " (?)" if route.problems or route.unresolved else ""
        grid.add_row(
            cell(route.source.value),
            cell(route.state.value),
            cell(", ".join(route.prefix_texts) + flag),
            cell(route.next_hop_type.value if route.next_hop_type else "?"),
            cell(", ".join(str(ip) for ip in route.next_hop_ip_addresses)),
            cell(route.name or ""),
            cell(_evidence(route.resource_id, route.pointer)),
            style=style,
        )
    console.print(grid)
    problems = _grouped(table.problems, ((r, (*r.problems, *r.uncertain)) for r in table.routes))
    if problems:
        console.print(Text("UNKNOWN: this table may differ from Azure's:", style="yellow"))
        _print_grouped(problems, console)
    notes = _grouped(table.notes, ((r, r.notes) for r in table.routes))
    if notes:
        console.print(Text("Notes:"))
        _print_grouped(notes, console)


def _grouped(
    general: Iterable[str], per_route: Iterable[tuple[EffectiveRoute, Iterable[str]]]
) -> dict[str, list[str]]:
    """Message -> the prefixes of the routes it concerns (one line per message, not per row)."""
    out: dict[str, list[str]] = {message: [] for message in general}
    for route, messages in per_route:
        for message in messages:
            out.setdefault(message, []).extend(route.prefix_texts or ["(prefix unknown)"])
    return out


def _print_grouped(messages: dict[str, list[str]], console: Console) -> None:
    for message, prefixes in messages.items():
        where = f" [{', '.join(dict.fromkeys(prefixes))}]" if prefixes else ""
        console.print(Text(f"  - {safe(message)}{safe(where)}"))


def render_next_hop(hop: NextHop, console: Console) -> None:
    head = f"Next hop from NIC {hop.nic_id.name}"
    if hop.source is not None:
        head += f" ({hop.source})"
    console.print(Text(safe(f"{head} to {hop.destination} (profile {hop.profile})")))
    if hop.is_unknown:
        console.print(Text("Next hop type:  UNKNOWN", style="yellow"))
        for reason in hop.reasons:
            console.print(Text(f"  - {safe(reason)}"))
        if hop.route is not None:
            console.print(Text(safe(f"Best known route: {hop.route.describe()} "
                                    f"(matched {hop.matched_prefix})")))
    else:
        assert hop.next_hop_type is not None
        console.print(Text(f"Next hop type:  {hop.next_hop_type.value}", style="bold"))
        console.print(Text(f"Next hop IP:    {hop.next_hop_ip_address or '-'}"))
        table = str(hop.route_table_id) if hop.route_table_id else SYSTEM_ROUTE
        console.print(Text(safe(f"Route table:    {table}")))
        if hop.route is not None:
            console.print(Text(safe(f"Decided by:     {hop.route.describe()} "
                                    f"(matched {hop.matched_prefix})")))
    if hop.route is not None and hop.route.resource_id is not None:
        console.print(Text(safe(f"Evidence:       {hop.route.resource_id}"
                                f"{' ' + hop.route.pointer if hop.route.pointer else ''}")))
    for note in hop.notes:
        console.print(Text(f"Note: {safe(note)}"))
