"""Text rendering of an inventory."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from vnetdoctor.model.ids import ResourceId
from vnetdoctor.report.output import cell, print_line, print_table, safe
from vnetdoctor.vm_inventory import Inventory


def _name(value: str | None) -> str:
    return "" if not value else (ResourceId(value).name if value.startswith("/") else value)


_HEADERS = (
    "VM",
    "Power",
    "OS",
    "NIC",
    "Private IP",
    "Public IP",
    "VNet / subnet",
    "NIC NSG",
    "Subnet NSG",
    "Route table",
)


def render_inventory(inv: Inventory, console: Console) -> None:
    rows: list[list[Text]] = []
    for vm in inv.vms:
        power = vm.power_state or "unknown"
        if vm.kind == "classic":
            power = f"{power} (classic)"
        first = True
        for nic in vm.nics or ():
            nic_name = nic.name if nic.found else f"{nic.name} (not in snapshot)"
            where = "/".join(p for p in (_name(nic.vnet), _name(nic.subnet)) if p)
            rows.append([
                cell(vm.name if first else ""),
                cell(power if first else ""),
                cell((vm.os_type or "") if first else ""),
                cell(nic_name),
                cell(", ".join(nic.private_ip_addresses)),
                cell(", ".join(nic.public_ip_addresses)),
                cell(where),
                cell(_name(nic.nsg)),
                cell(_name(nic.subnet_nsg)),
                cell(_name(nic.route_table)),
            ])
            first = False
        if first:
            rows.append([cell(vm.name), cell(power), cell(vm.os_type or ""), cell("(no NICs)"),
                         *(cell("") for _ in _HEADERS[4:])])
    print_table(console, f"{len(inv.vms)} virtual machines", _HEADERS, rows)
    if inv.scale_sets:
        _render_scale_sets(inv, console)
    if inv.warnings:
        console.print()
        print_line(console, Text(f"{len(inv.warnings)} ingest warning(s):", style="yellow"))
        for w in inv.warnings:
            print_line(console, Text(f"  {safe(w)}"))


_SCALE_SET_HEADERS = (
    "Scale set / instance",
    "Instance ID",
    "Computer name",
    "Power",
    "Model",
    "Private IP",
)


def _render_scale_sets(inv: Inventory, console: Console) -> None:
    """Each scale set with its instances under it (only for snapshots that hold scale sets)."""
    rows: list[list[Text]] = []
    blank = [cell("") for _ in _SCALE_SET_HEADERS[1:]]
    for s in inv.scale_sets:
        mode = s.orchestration_mode or "not in snapshot"
        size = "" if s.capacity is None else f", capacity {s.capacity}"
        rows.append([cell(f"{s.name} ({mode}{size})"), *blank])
        if not s.instances:
            rows.append([cell("  (no instances in the snapshot)"), *blank])
        for i in s.instances:
            model = {True: "latest", False: "behind", None: ""}[i.latest_model_applied]
            rows.append([
                cell(f"  {i.name}"),
                cell(i.instance_id or ""),
                cell(i.computer_name or ""),
                cell(i.power_state or "unknown"),
                cell(model),
                cell(", ".join(i.private_ip_addresses)),
            ])
    console.print()
    print_table(console, f"{len(inv.scale_sets)} scale set(s)", _SCALE_SET_HEADERS, rows)
