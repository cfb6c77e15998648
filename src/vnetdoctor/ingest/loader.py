"""Files and folders of ARM JSON (and Service Management XML) -> one :class:`Snapshot`.

Input forms are detected without flags: a JSON array of resources; ``{"value": [...]}`` (ARM list
responses, ``az rest``); ``{"data": [...]}`` (Resource Graph, ``az graph query``, including its
table form); a single resource object; a Service Management deployment XML; a folder of these.
Child resources given on their own (a subnet, a peering, a rule, a route) are merged into their
parent. Everything that cannot be used is reported, never silently dropped.

Loading is a two-pass affair on plain dicts (collect and merge, then convert), releasing each raw
dict as soon as it is converted so that peak memory stays a small multiple of the input size.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import msgspec

from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.ingest import arm, bastion, dns, plan, vmss
from vnetdoctor.ingest.collected import ingest_warnings
from vnetdoctor.ingest.documents import (
    PathArg,
    decode_json,
    duplicate_keys,
    expand,
    is_admin_rules_envelope,
    read,
    resources_of,
)
from vnetdoctor.ingest.fields import Reader
from vnetdoctor.model.classic import ClassicVirtualMachine
from vnetdoctor.model.ids import ResourceId, fold
from vnetdoctor.model.network_manager import ENVELOPE_TYPE
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.model.warnings import IngestWarning, WarningKind

# Every converter: ARM's, and the scale sets' from their own module.
CONVERTERS = {**arm.CONVERTERS, **vmss.CONVERTERS, **bastion.CONVERTERS}


@dataclass
class _Raw:
    type: str
    body: dict[str, Any]
    path: str


@dataclass
class _Collected:
    top: dict[ResourceId, _Raw] = field(default_factory=dict)
    children: list[tuple[ResourceId, _Raw]] = field(default_factory=list)
    classic: list[ClassicVirtualMachine] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)
    warnings: list[IngestWarning] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    ids: dict[str, ResourceId] = field(default_factory=dict)


def load_snapshot(paths: PathArg | Sequence[PathArg]) -> Snapshot:
    """Load one or more snapshot files or folders.

    Raises :class:`~vnetdoctor.errors.SnapshotParseError` (one line naming the file and what is
    wrong) for unreadable input; everything else becomes an ingest warning on the snapshot.
    """
    items: Sequence[PathArg] = [paths] if isinstance(paths, (str, PathLike)) else list(paths)
    if not items:
        raise SnapshotParseError("no snapshot given")
    files = list(expand(items))
    col = _Collected()
    with _gc_paused():
        for path, explicit in files:
            _collect_file(path, explicit, col)
        if not col.top and not col.classic and not col.children and not col.other:
            # An empty export is a valid, if unhelpful, estate; say so rather than fail.
            col.warnings.append(
                IngestWarning.of(
                    WarningKind.SKIPPED_INPUT,
                    "no Azure resources found in the input",
                    path=", ".join(str(p) for p in items),
                )
            )
        _merge_children(col)
        return _build(col)


def snapshot_from_json(document: Any, *, source: str = "<memory>") -> Snapshot:
    """Build a snapshot from already-parsed JSON in any accepted shape (a list of resources,
    ``{"value": [...]}``, ``{"data": [...]}``, one resource), e.g. an SDK response."""
    return assemble([(document, source)])


def assemble(
    documents: Iterable[tuple[Any, str]] = (),
    files: Iterable[PathArg] = (),
    *,
    warnings: Iterable[IngestWarning] = (),
) -> Snapshot:
    """One snapshot of parsed documents (each with the source name its warnings show) and of
    files, all given explicitly; ``warnings`` come first on it.

    For inputs that are not plain files: a change set's after-state is ARM dicts in memory, its
    classic XML is loaded beside them unchanged, and the plan's own warnings lead.
    """
    col = _Collected()
    with _gc_paused():
        for document, source in documents:
            _collect_document(document, source, True, col)
        for path in files:
            _collect_file(Path(path), True, col)
        _merge_children(col)
        return _build(col, tuple(warnings))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Big decodes allocate millions of objects; the cyclic GC would rescan them all repeatedly."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
def _collect_file(path: Path, explicit: bool, col: _Collected) -> None:
    shown = str(path)
    data = read(path)
    head = data.lstrip()[:1]
    if not head:
        raise SnapshotParseError("file is empty", path=shown)
    if head == b"<":
        _collect_xml(data, shown, explicit, col)
        return
    if head not in (b"[", b"{"):
        raise SnapshotParseError("not JSON or XML (expected '[', '{' or '<' first)", path=shown)
    doc = decode_json(data, shown)
    col.warnings.extend(duplicate_keys(data, doc, shown))
    del data
    _collect_document(doc, shown, explicit, col)


def _collect_document(doc: Any, shown: str, explicit: bool, col: _Collected) -> None:
    if plan.is_terraform_plan(doc) or plan.is_whatif(doc):
        doc, plan_warnings = plan.resources_of_plan_document(doc, shown)
        col.warnings.extend(plan_warnings)
    try:
        resources = resources_of(doc, shown)
    except SnapshotParseError as exc:
        if explicit:
            raise
        col.warnings.append(
            IngestWarning.of(WarningKind.SKIPPED_INPUT, f"file skipped: {exc.detail}", path=shown)
        )
        return
    if isinstance(doc, dict) and isinstance(doc.get("vnetdoctor"), dict):
        # A `vnetdoctor collect` file: what the collector could not read stays visible.
        col.warnings.extend(ingest_warnings(doc, path=shown))
    del doc
    col.sources.append(shown)
    reader = Reader(shown, col.warnings, col.ids)
    for index, item in enumerate(resources):
        _collect_resource(item, index, shown, reader, col)


def _collect_xml(data: bytes, path: str, explicit: bool, col: _Collected) -> None:
    from vnetdoctor.ingest import classic

    if not classic.is_service_management_xml(data):
        if explicit:
            raise SnapshotParseError(
                "XML that is not a Service Management deployment (Get Deployment response)",
                path=path,
            )
        col.warnings.append(
            IngestWarning.of(
                WarningKind.SKIPPED_INPUT,
                "file skipped: XML that is not a Service Management deployment",
                path=path,
            )
        )
        return
    col.sources.append(path)
    col.classic.extend(classic.classic_vms_from_xml(data, path=path, warn=col.warnings.append))


def _collect_resource(item: Any, index: int, path: str, reader: Reader, col: _Collected) -> None:
    where = f"element {index}"
    if not isinstance(item, dict):
        raise SnapshotParseError(f"{where} is not a JSON object", path=path)
    if is_admin_rules_envelope(item):
        _collect_admin_rules_envelope(item, where, path, reader, col)
        return
    raw_id = item.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        name = item.get("name")
        label = f"{where} (name {name!r})" if isinstance(name, str) else where
        raise SnapshotParseError(f"{label} has no 'id'", path=path, field="id")
    rid = reader.rid(raw_id)
    raw_type = item.get("type")
    if raw_type is None:
        raw_type = rid.type  # old API versions omit `type` on child resources
    if not isinstance(raw_type, str) or not raw_type.strip():
        raise SnapshotParseError(
            f"{where} has no 'type'", path=path, resource_id=raw_id, field="type"
        )
    rtype = raw_type.strip().casefold()
    raw = _Raw(rtype, item, path)
    if rtype in CONVERTERS:
        if rid in col.top:
            col.warnings.append(
                IngestWarning.of(
                    WarningKind.DUPLICATE_RESOURCE,
                    f"given more than once; the copy in {path} is used",
                    resource=str(rid),
                    path=col.top[rid].path,
                )
            )
        col.top[rid] = raw
    elif rtype in arm.CHILD_ARRAYS:
        col.children.append((rid, raw))
    elif rtype == arm.CLASSIC_VIRTUAL_MACHINES:
        from vnetdoctor.ingest import classic

        col.classic.append(classic.classic_vm_from_arm(item, path=path, warn=col.warnings.append))
    else:
        col.other[raw_type] = col.other.get(raw_type, 0) + 1


def _collect_admin_rules_envelope(
    item: dict[str, Any], where: str, path: str, reader: Reader, col: _Collected
) -> None:
    """vnetdoctor's envelope of a VNet's effective security admin rules: no ``id`` of its own."""
    rid = arm.admin_rules_envelope_id(reader, item)
    if rid is None:
        raise SnapshotParseError(
            f"{where} ({ENVELOPE_TYPE}) has no 'virtualNetworkId' string",
            path=path,
            field="virtualNetworkId",
        )
    if rid in col.top:
        col.warnings.append(
            IngestWarning.of(
                WarningKind.DUPLICATE_RESOURCE,
                f"effective security admin rules of this VNet given more than once; the copy "
                f"in {path} is used",
                resource=str(rid.parent or rid),
                field="virtualNetworkId",
                path=col.top[rid].path,
            )
        )
    col.top[rid] = _Raw(arm.ADMIN_RULES_ENVELOPE, item, path)


def _merge_children(col: _Collected) -> None:
    """Put a child resource given alone into its parent's array, replacing its inline copy."""
    for rid, raw in col.children:
        parent_type, key = arm.CHILD_ARRAYS[raw.type]
        parent_id = rid.parent
        parent = col.top.get(parent_id) if parent_id is not None else None
        if parent is None or parent.type != parent_type:
            col.warnings.append(
                IngestWarning.of(
                    WarningKind.ORPHAN_CHILD,
                    "child resource given without its parent; it cannot be used alone",
                    resource=str(rid),
                    path=raw.path,
                )
            )
            continue
        holder = parent.body.get("properties")
        if not isinstance(holder, dict):
            holder = parent.body  # the flattened az CLI form
        array = holder.get(key)
        if not isinstance(array, list):
            array = []
            holder[key] = array
        for i, existing in enumerate(array):
            if isinstance(existing, dict) and _same_id(existing.get("id"), rid):
                array[i] = raw.body
                break
        else:
            array.append(raw.body)


def _same_id(value: Any, rid: ResourceId) -> bool:
    return isinstance(value, str) and fold(value.strip().rstrip("/")) == rid.key


# ---------------------------------------------------------------------------------------------
# Conversion and reference checks
# ---------------------------------------------------------------------------------------------
def _build(col: _Collected, leading: tuple[IngestWarning, ...] = ()) -> Snapshot:
    tables: dict[str, dict[ResourceId, Any]] = {attr: {} for attr, _ in CONVERTERS.values()}
    readers: dict[str, Reader] = {}
    while col.top:
        rid, raw = col.top.popitem()
        attr, convert = CONVERTERS[raw.type]
        reader = readers.get(raw.path)
        if reader is None:
            reader = readers[raw.path] = Reader(raw.path, col.warnings, col.ids)
        tables[attr][rid] = convert(reader, raw.body, rid)
    vmss.complete(tables, col.warnings)
    classic_vms = _merge_classic(col.classic, col.warnings)
    for type_name, count in sorted(col.other.items()):
        col.warnings.append(
            IngestWarning.of(
                WarningKind.UNSUPPORTED_TYPE,
                f"{count} resource(s) of type {type_name} kept but not used by the analysis",
                value=type_name,
            )
        )

    def snapshot(warnings: tuple[IngestWarning, ...]) -> Snapshot:
        return Snapshot(
            **tables,
            classic_virtual_machines=classic_vms,
            other_resources=col.other,
            warnings=warnings,
            sources=col.sources,
        )

    # Reference checks need an indexed snapshot; a Snapshot is immutable once built, so the one
    # returned is built again over the same tables with their warnings.
    dangling = tuple(_dangling_references(snapshot(())))
    return snapshot((*leading, *col.warnings, *dangling))


def _merge_classic(
    vms: list[ClassicVirtualMachine], warnings: list[IngestWarning]
) -> dict[ResourceId, ClassicVirtualMachine]:
    """One classic VM per (cloud service, role), whichever forms it was given in.

    The ARM body gives the resource id; the Service Management XML gives the endpoint ACLs (ARM
    never returns them) and the runtime state, so its endpoints win where both are present.
    """
    by_key: dict[tuple[str, str], ClassicVirtualMachine] = {}
    for vm in vms:
        key = (fold(vm.cloud_service or ""), fold(vm.name))
        seen = by_key.get(key)
        if seen is None:
            by_key[key] = vm
        elif seen.source != vm.source:
            arm_vm, xml_vm = (seen, vm) if seen.source == "arm" else (vm, seen)
            by_key[key] = msgspec.structs.replace(
                xml_vm,
                id=arm_vm.id,
                location=xml_vm.location or arm_vm.location,
                deployment_name=xml_vm.deployment_name or arm_vm.deployment_name,
                virtual_ip_addresses=xml_vm.virtual_ip_addresses or arm_vm.virtual_ip_addresses,
                source="arm+asm-xml",
            )
        else:
            warnings.append(
                IngestWarning.of(
                    WarningKind.DUPLICATE_RESOURCE,
                    "classic VM given more than once; the last copy is used",
                    resource=str(vm.id),
                    path=vm.path,
                )
            )
            by_key[key] = vm
    return {vm.id: vm for vm in by_key.values()}


def _dangling_references(s: Snapshot) -> Iterator[IngestWarning]:
    def dangling(
        owner: ResourceId, field_name: str, target: ResourceId, what: str
    ) -> IngestWarning:
        return IngestWarning.of(
            WarningKind.DANGLING_REFERENCE,
            f"refers to {what} {target.name!r}, which is not in the snapshot",
            resource=str(owner),
            field=field_name,
            value=str(target),
        )

    subnets = s.subnets
    for vm in s.virtual_machines.values():
        for i, ref in enumerate(vm.network_interfaces):
            if ref.id not in s.network_interfaces:
                yield dangling(
                    vm.id,
                    f"properties.networkProfile.networkInterfaces[{i}]",
                    ref.id,
                    "network interface",
                )
    for nic in s.network_interfaces.values():
        if (
            nic.network_security_group
            and nic.network_security_group not in s.network_security_groups
        ):
            yield dangling(
                nic.id,
                "properties.networkSecurityGroup",
                nic.network_security_group,
                "network security group",
            )
        for ipc in nic.ip_configurations:
            base = f"properties.ipConfigurations[{ipc.index}].properties"
            if ipc.subnet is not None and ipc.subnet not in subnets:
                yield dangling(nic.id, f"{base}.subnet", ipc.subnet, "subnet")
            if (
                ipc.public_ip_address is not None
                and ipc.public_ip_address not in s.public_ip_addresses
            ):
                yield dangling(
                    nic.id, f"{base}.publicIPAddress", ipc.public_ip_address, "public IP address"
                )
    for vnet in s.virtual_networks.values():
        for sub in vnet.subnets:
            base = f"properties.subnets[{sub.index}].properties"
            for attr, table, what in (
                ("network_security_group", s.network_security_groups, "network security group"),
                ("route_table", s.route_tables, "route table"),
                ("nat_gateway", s.nat_gateways, "NAT gateway"),
            ):
                target = getattr(sub, attr)
                if target is not None and target not in table:
                    key = {
                        "network_security_group": "networkSecurityGroup",
                        "route_table": "routeTable",
                        "nat_gateway": "natGateway",
                    }[attr]
                    yield dangling(vnet.id, f"{base}.{key}", target, what)
        for peering in vnet.virtual_network_peerings:
            remote = peering.remote_virtual_network
            if remote is not None and remote not in s.virtual_networks:
                yield dangling(
                    peering.id, "properties.remoteVirtualNetwork", remote, "virtual network"
                )
    for eff in s.effective_admin_rules.values():
        vnet_id = eff.virtual_network
        if vnet_id is not None and vnet_id not in s.virtual_networks:
            yield IngestWarning.of(
                WarningKind.DANGLING_REFERENCE,
                f"effective security admin rules of virtual network {vnet_id.name!r}, which is "
                "not in the snapshot; they are not used",
                resource=str(vnet_id),
                field=eff.virtual_network_field,
                value=str(vnet_id),
                path=eff.path,
            )
    for conn in s.connections.values():
        for field_name, target in (
            ("properties.virtualNetworkGateway1", conn.virtual_network_gateway1),
            ("properties.virtualNetworkGateway2", conn.virtual_network_gateway2),
        ):
            if target is not None and target not in s.virtual_network_gateways:
                yield dangling(conn.id, field_name, target, "virtual network gateway")
        lng = conn.local_network_gateway2
        if lng is not None and lng not in s.local_network_gateways:
            yield dangling(conn.id, "properties.localNetworkGateway2", lng, "local network gateway")
    yield from dns.dangling_references(s)


__all__ = ["assemble", "load_snapshot", "snapshot_from_json"]
