"""Text rendering of effective routes and next hop answers (every resource string through
``cell``/``safe``: names are written by whoever can edit the estate)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from vnetdoctor.engine.routes import (
    SYSTEM_ROUTE,
    EffectiveRoute,
    EffectiveRouteTable,
    NextHop,
    RouteState,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.report.output import cell, print_line, print_table, safe


def _name(rid: ResourceId | None) -> str:
    return "-" if rid is None else rid.name


def _evidence(resource_id: ResourceId | None, pointer: str | None) -> str:
    if resource_id is None:
        return "platform"
    return f"{resource_id.name}{pointer or ''}"


def render_effective_routes(table: EffectiveRouteTable, console: Console) -> None:
    print_line(console, Text(safe(
        f"Effective routes of NIC {table.nic_id.name} (subnet {_name(table.subnet_id)}, "
        f"route table {_name(table.route_table_id)}, profile {table.profile})")))
    rows = []
    for route in table.routes:
        flag = " (?)" if route.problems or route.unresolved else ""
        row = [
            cell(route.source.value),
            cell(route.state.value),
            cell(", ".join(route.prefix_texts) + flag),
            cell(route.next_hop_type.value if route.next_hop_type else "?"),
            cell(", ".join(str(ip) for ip in route.next_hop_ip_addresses)),
            cell(route.name or ""),
            cell(_evidence(route.resource_id, route.pointer)),
        ]
        if route.state is RouteState.INVALID:
            for text in row:
                text.stylize("dim")
        rows.append(row)
    print_table(console, None, ("Source", "State", "Address prefix", "Next hop type",
                                "Next hop IP", "Name", "Evidence"), rows)
    problems = _grouped(table.problems, ((r, (*r.problems, *r.uncertain)) for r in table.routes))
    if problems:
        print_line(console, Text("UNKNOWN: this table may differ from Azure's:", style="yellow"))
        _print_grouped(problems, console)
    notes = _grouped(table.notes, ((r, r.notes) for r in table.routes))
    if notes:
        print_line(console, Text("Notes:"))
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
        print_line(console, Text(f"  - {safe(message)}{safe(where)}"))


def render_next_hop(hop: NextHop, console: Console) -> None:
    head = f"Next hop from NIC {hop.nic_id.name}"
    if hop.source is not None:
        head += f" ({hop.source})"
    print_line(console, Text(safe(f"{head} to {hop.destination} (profile {hop.profile})")))
    if hop.is_unknown:
        print_line(console, Text("Next hop type:  UNKNOWN", style="yellow"))
        for reason in hop.reasons:
            print_line(console, Text(f"  - {safe(reason)}"))
        if hop.route is not None:
            print_line(console, Text(safe(f"Best known route: {hop.route.describe()} "
                                    f"(matched {hop.matched_prefix})")))
    else:
        assert hop.next_hop_type is not None
        print_line(console, Text(f"Next hop type:  {hop.next_hop_type.value}", style="bold"))
        print_line(console, Text(f"Next hop IP:    {hop.next_hop_ip_address or '-'}"))
        table = str(hop.route_table_id) if hop.route_table_id else SYSTEM_ROUTE
        print_line(console, Text(safe(f"Route table:    {table}")))
        if hop.route is not None:
            print_line(console, Text(safe(f"Decided by:     {hop.route.describe()} "
                                    f"(matched {hop.matched_prefix})")))
    if hop.route is not None and hop.route.resource_id is not None:
        print_line(console, Text(safe(f"Evidence:       {hop.route.resource_id}"
                                f"{' ' + hop.route.pointer if hop.route.pointer else ''}")))
    for note in hop.notes:
        print_line(console, Text(f"Note: {safe(note)}"))
