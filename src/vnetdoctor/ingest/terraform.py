"""``terraform show -json PLANFILE`` (format 0.x/1.x, ``hashicorp/azurerm``) -> :class:`ChangeSet`.

Reads ``resource_changes[].change`` (``after`` with ``after_unknown``; never ``planned_values``,
which drops unknowns) and maps each azurerm resource onto the ARM body the loader's converters read
(the table is in ``docs/semantics/terraform.md#mapping``). Ids of resources the plan creates
are rebuilt from their names; an unknown reference (``subnet_id`` of a new subnet) is resolved
through the ``configuration`` section's ``references``. A value still unknown becomes the marker
of :func:`~vnetdoctor.ingest.changeset.unknown_marker` plus a warning naming the address and
attribute.
Unsupported format versions, providers and resource types are warnings, never exceptions.

Load balancer children (pools, rules, probes, NAT and outbound rules) are emitted as ARM child
bodies that the loader merges into the LB's arrays; pool addresses and the NIC ip-configuration
associations (ASG, backend pool, NAT rule) are merged at the end (:func:`_finish`) into the body
of this plan or, for a resource only in the current snapshot, patched onto a copy of it. A
connection's ``shared_key`` is never copied.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from vnetdoctor.ingest.changeset import ChangeSet, Patch, unknown_marker
from vnetdoctor.model.warnings import IngestWarning, WarningKind

Json = dict[str, Any]
PLACEHOLDER_SUBSCRIPTION: Final = "00000000-0000-0000-0000-000000000000"
NET: Final = "Microsoft.Network"
_INDEX = re.compile(r"\[[^\]]*\]$")
# What a mapper raises on a plan of an unexpected shape: a list or string where an object was
# expected (AttributeError: no .get), a value that cannot be iterated, indexed or hashed
# (TypeError), a missing key or index (LookupError), a value that does not convert (ValueError).
# These become a warning naming the resource (or the merge); any other exception is a bug and is
# not hidden.
_BAD_SHAPE: Final = (AttributeError, LookupError, TypeError, ValueError)

# Resource types that matter nowhere in the analysis: no warning when they appear.
_IGNORED: Final = frozenset(
    {
        "azurerm_resource_group",
        "azurerm_storage_account",
        "azurerm_key_vault",
        "azurerm_managed_disk",
        "azurerm_virtual_machine_data_disk_attachment",
        "azurerm_virtual_machine_extension",
        "azurerm_log_analytics_workspace",
        "azurerm_network_watcher",
        "azurerm_network_watcher_flow_log",
    }
)


@dataclass
class _Res:
    """One resource change with ``after`` and ``after_unknown`` read together."""

    address: str
    module: str
    type: str
    name: str
    index: Any
    actions: tuple[str, ...]
    before: Json
    after: Json
    unknown: Any
    config: Json

    @property
    def deleting(self) -> bool:
        return "delete" in self.actions and "create" not in self.actions

    @property
    def noop(self) -> bool:
        return self.actions in (("no-op",), ("read",))


@dataclass
class _NicLink:
    """Add (or, for a deleted association, remove) ``ref`` in ``key`` of NIC ip configurations."""

    nic: str
    ip_configuration: str | None  # None: every IPv4 ip configuration (ASG association)
    key: str
    ref: Json
    address: str
    remove: bool = False


def _absent(value: Any) -> bool:
    return value is None or value in ("", [], {})


class _Plan:
    def __init__(self, doc: Json, source: str, base: Sequence[Json]) -> None:
        self.doc = doc
        self.changes = ChangeSet(source=source, kind="terraform")
        self.by_address: dict[str, _Res] = {}
        self.configs: dict[str, Json] = {}
        self.module_calls: dict[str, Json] = {}
        self.subscription = _subscription_hint(doc, base)
        self.base_subs = _subscriptions_by_rg(base)
        self.base = [b for b in base if isinstance(b, dict)]
        self.base_index: dict[str, Json] | None = None
        self._ids: dict[str, str | None] = {}
        # NIC ip-configuration links (ASG, backend pool, NAT rule) applied after all mappings
        self.nic_links: list[_NicLink] = []
        # backend pool addresses: (pool id, address body, address)
        self.pool_addresses: list[tuple[str, Json, str]] = []

    # -- warnings --------------------------------------------------------------------------------
    def warn(
        self,
        kind: WarningKind,
        message: str,
        address: str,
        attr: str | None = None,
        value: object = None,
    ) -> None:
        self.changes.warnings.append(
            IngestWarning.of(
                kind,
                message,
                resource=address,
                field=attr,
                value=value,
                path=self.changes.source,
            )
        )

    # -- configuration ---------------------------------------------------------------------------
    def index_configuration(self) -> None:
        config = self.doc.get("configuration")
        if isinstance(config, dict) and isinstance(config.get("root_module"), dict):
            self._walk_module(config["root_module"], "")

    def _walk_module(self, module: Json, prefix: str) -> None:
        resources = module.get("resources")
        for res in resources if isinstance(resources, list) else []:
            if isinstance(res, dict) and isinstance(res.get("address"), str):
                addr = res["address"]
                full = addr if not prefix or addr.startswith(prefix + ".") else f"{prefix}.{addr}"
                self.configs[full] = res
        calls = module.get("module_calls") or {}
        if isinstance(calls, dict):
            for name, call in calls.items():
                if not isinstance(call, dict):
                    continue
                child = f"{prefix}.module.{name}" if prefix else f"module.{name}"
                self.module_calls[child] = call
                inner = call.get("module")
                if isinstance(inner, dict):
                    self._walk_module(inner, child)

    # -- resolution ------------------------------------------------------------------------------
    def resolve(self, res: _Res, attr: str) -> Any:
        """Value of ``attr`` of ``res`` from its configuration's references, or None."""
        expr = (res.config.get("expressions") or {}).get(attr)
        return self._eval(expr, res.module, res.index, depth=0)

    def _eval(self, expr: Any, module: str, index: Any, depth: int) -> Any:
        if not isinstance(expr, dict) or depth > 8:
            return None
        if "constant_value" in expr:
            return expr["constant_value"]
        refs = expr.get("references")
        if not isinstance(refs, list):
            return None
        for ref in refs:
            if not isinstance(ref, str):
                continue
            if ref.startswith("var."):
                call = self.module_calls.get(_INDEX.sub("", module))
                if call is None:
                    continue
                var = ref.split(".")[1]
                parent = module.rsplit(".module.", 1)[0] if ".module." in module else ""
                value = self._eval(
                    (call.get("expressions") or {}).get(var), parent, None, depth + 1
                )
                if value is not None:
                    return value
                continue
            value = self._ref_value(ref, module, index)
            if value is not None:
                return value
        return None

    def _ref_value(self, ref: str, module: str, index: Any) -> Any:
        parts = ref.split(".")
        if parts[0] in ("count", "each", "local", "path", "terraform", "self") or len(parts) < 2:
            return None
        if parts[0] == "data":
            return None
        kind, name = parts[0], _INDEX.sub("", parts[1])
        attr = parts[2] if len(parts) > 2 else "id"
        base = f"{module}.{kind}.{name}" if module else f"{kind}.{name}"
        candidates = [base]
        if index is not None:
            candidates.insert(0, f"{base}[{_index_text(index)}]")
        candidates.append(f"{base}[0]")
        for cand in candidates:
            target = self.by_address.get(cand)
            if target is None:
                continue
            if attr == "id":
                return self.arm_id(target)
            value = target.after.get(attr)
            if not _absent(value) and not _unknown_at(target.unknown, attr):
                return value
            return self.resolve(target, attr)
        return None

    # -- values ----------------------------------------------------------------------------------
    def value(self, res: _Res, attr: str, *, resolve: bool = True) -> Any:
        """Known value, resolved reference, or None when absent/unknown (see :meth:`is_unknown`)."""
        value = res.after.get(attr)
        if not _absent(value):
            return value
        if _unknown_at(res.unknown, attr) and resolve:
            return self.resolve(res, attr)
        return None

    def known_or_marker(
        self,
        res: _Res,
        attr: str,
        obj: Json | None = None,
        unknown: Any = None,
        path: str | None = None,
    ) -> Any:
        """A known value, a resolved reference, or (with a warning) the unknown marker."""
        src = res.after if obj is None else obj
        unk = res.unknown if obj is None else unknown
        value = src.get(attr)
        if not _absent(value):
            return value
        if _unknown_at(unk, attr):
            if obj is None:
                resolved = self.resolve(res, attr)
                if resolved is not None:
                    return resolved
            shown = path or attr
            self.warn(
                WarningKind.MISSING_FIELD,
                f"{shown} is known only after apply; what depends on it is unknown",
                res.address,
                shown,
            )
            return unknown_marker(res.address, shown)
        return None

    def arm_id(self, res: _Res) -> str | None:
        """The ARM id of ``res``: known ``id``, or rebuilt from names (None when impossible)."""
        if res.address in self._ids:
            return self._ids[res.address]
        self._ids[res.address] = None  # cycle guard
        known = res.after.get("id") or (res.before.get("id") if res.before else None)
        rid: str | None = None
        if isinstance(known, str) and known.startswith("/subscriptions/"):
            rid = known
        else:
            rid = self._build_id(res)
        self._ids[res.address] = rid
        return rid

    def _rg_id(self, res: _Res) -> str | None:
        rg = self.value(res, "resource_group_name")
        if not isinstance(rg, str):
            return None
        sub = self.base_subs.get(rg.casefold(), self.subscription)
        return f"/subscriptions/{sub}/resourceGroups/{rg}"

    def _build_id(self, res: _Res) -> str | None:
        child = _LB_CHILDREN.get(res.type)
        if child is not None:
            lb = self.value(res, "loadbalancer_id")
            name = self.value(res, "name")
            if not isinstance(lb, str) or not lb or not isinstance(name, str) or not name:
                return None
            return f"{lb}/{child[0]}/{name}"
        spec = _ID_SPECS.get(res.type)
        if spec is None:
            return None
        name = self.value(res, "name")
        rg = self._rg_id(res)
        if not isinstance(name, str) or rg is None:
            return None
        provider, type_path, parent_attr = spec
        if parent_attr is None:
            return f"{rg}/providers/{provider}/{type_path}/{name}"
        parent = self.value(res, parent_attr)
        if not isinstance(parent, str):
            return None
        parent_type, child_type = type_path.split("/")
        return f"{rg}/providers/{provider}/{parent_type}/{parent}/{child_type}/{name}"


# azurerm type -> (provider namespace, ARM type path, parent-name attribute for children)
_ID_SPECS: Final[dict[str, tuple[str, str, str | None]]] = {
    "azurerm_virtual_network": (NET, "virtualNetworks", None),
    "azurerm_subnet": (NET, "virtualNetworks/subnets", "virtual_network_name"),
    "azurerm_virtual_network_peering": (
        NET,
        "virtualNetworks/virtualNetworkPeerings",
        "virtual_network_name",
    ),
    "azurerm_network_security_group": (NET, "networkSecurityGroups", None),
    "azurerm_network_security_rule": (
        NET,
        "networkSecurityGroups/securityRules",
        "network_security_group_name",
    ),
    "azurerm_route_table": (NET, "routeTables", None),
    "azurerm_route": (NET, "routeTables/routes", "route_table_name"),
    "azurerm_network_interface": (NET, "networkInterfaces", None),
    "azurerm_application_security_group": (NET, "applicationSecurityGroups", None),
    "azurerm_public_ip": (NET, "publicIPAddresses", None),
    "azurerm_nat_gateway": (NET, "natGateways", None),
    "azurerm_lb": (NET, "loadBalancers", None),
    "azurerm_virtual_network_gateway": (NET, "virtualNetworkGateways", None),
    "azurerm_virtual_network_gateway_connection": (NET, "connections", None),
    "azurerm_local_network_gateway": (NET, "localNetworkGateways", None),
    "azurerm_linux_virtual_machine": ("Microsoft.Compute", "virtualMachines", None),
    "azurerm_windows_virtual_machine": ("Microsoft.Compute", "virtualMachines", None),
    "azurerm_virtual_machine": ("Microsoft.Compute", "virtualMachines", None),
}


# azurerm LB child type -> (ARM child segment = array key in the LB's properties)
_LB_CHILDREN: Final[dict[str, tuple[str]]] = {
    "azurerm_lb_backend_address_pool": ("backendAddressPools",),
    "azurerm_lb_rule": ("loadBalancingRules",),
    "azurerm_lb_probe": ("probes",),
    "azurerm_lb_nat_rule": ("inboundNatRules",),
    "azurerm_lb_outbound_rule": ("outboundRules",),
}


def _index_text(index: Any) -> str:
    return f'"{index}"' if isinstance(index, str) else str(index)


def _unknown_at(unknown: Any, key: str) -> bool:
    if unknown is True:
        return True
    return isinstance(unknown, dict) and unknown.get(key) is True


def _sub_unknown(unknown: Any, key: str, i: int | None = None) -> Any:
    if unknown is True:
        return True
    if not isinstance(unknown, dict):
        return None
    inner = unknown.get(key)
    if i is None:
        return inner
    if isinstance(inner, list) and i < len(inner):
        return inner[i]
    return inner if inner is True else None


def _subscription_hint(doc: Json, base: Sequence[Json]) -> str:
    for body in base:
        rid = body.get("id") if isinstance(body, dict) else None
        if isinstance(rid, str) and rid.casefold().startswith("/subscriptions/"):
            return rid.split("/")[2]
    prior = doc.get("prior_state")
    found = _first_id(prior)
    if found:
        return found.split("/")[2]
    rcs = doc.get("resource_changes")
    for rc in rcs if isinstance(rcs, list) else []:
        change = rc.get("change") if isinstance(rc, dict) else None
        if isinstance(change, dict):
            for side in ("before", "after"):
                payload = change.get(side)
                if isinstance(payload, dict):
                    rid = payload.get("id")
                    if isinstance(rid, str) and rid.casefold().startswith("/subscriptions/"):
                        return rid.split("/")[2]
    return PLACEHOLDER_SUBSCRIPTION


def _first_id(obj: Any) -> str | None:
    if isinstance(obj, dict):
        rid = obj.get("id")
        if isinstance(rid, str) and rid.casefold().startswith("/subscriptions/"):
            return rid
        for value in obj.values():
            found = _first_id(value)
            if found:
                return found
    elif isinstance(obj, list):
        for value in obj:
            found = _first_id(value)
            if found:
                return found
    return None


def _subscriptions_by_rg(base: Sequence[Json]) -> dict[str, str]:
    out: dict[str, str] = {}
    for body in base:
        rid = body.get("id") if isinstance(body, dict) else None
        if isinstance(rid, str):
            parts = rid.split("/")
            if len(parts) > 4 and parts[1].casefold() == "subscriptions":
                out.setdefault(parts[4].casefold(), parts[2])
    return out


def _location(value: Any) -> Any:
    return value.replace(" ", "").casefold() if isinstance(value, str) else value


def _case(value: Any, choices: Sequence[str]) -> Any:
    if isinstance(value, str):
        for choice in choices:
            if choice.casefold() == value.casefold():
                return choice
    return value


# ---------------------------------------------------------------------------------------------
# Mapping per resource type
# ---------------------------------------------------------------------------------------------
def _body(p: _Plan, res: _Res, arm_type: str, rid: str) -> Json:
    body: Json = {
        "id": rid,
        "name": p.value(res, "name") or rid.rsplit("/", 1)[-1],
        "type": arm_type,
        "properties": {"provisioningState": "Succeeded"},
        "_vnetdoctor_noop": res.noop,
    }
    location = p.value(res, "location")
    if isinstance(location, str):
        body["location"] = _location(location)
    return body


def _prefixes(
    p: _Plan, res: _Res, obj: Json, unknown: Any, single: str, plural: str, path: str
) -> tuple[str, Any] | None:
    many = obj.get(plural)
    if isinstance(many, list) and many:
        return plural, list(many)
    one = obj.get(single)
    if isinstance(one, str) and one:
        return single, one
    for key in (plural, single):
        if _unknown_at(unknown, key):
            return single, p.known_or_marker(res, key, obj, unknown, f"{path}{key}")
    return None


_RULE_FIELDS: Final = (
    ("source_port_range", "source_port_ranges", "sourcePortRange", "sourcePortRanges"),
    (
        "destination_port_range",
        "destination_port_ranges",
        "destinationPortRange",
        "destinationPortRanges",
    ),
    (
        "source_address_prefix",
        "source_address_prefixes",
        "sourceAddressPrefix",
        "sourceAddressPrefixes",
    ),
    (
        "destination_address_prefix",
        "destination_address_prefixes",
        "destinationAddressPrefix",
        "destinationAddressPrefixes",
    ),
)


def _rule_props(p: _Plan, res: _Res, obj: Json, unknown: Any, path: str) -> Json:
    props: Json = {"provisioningState": "Succeeded"}
    for tf_one, tf_many, arm_one, arm_many in _RULE_FIELDS:
        many = obj.get(tf_many)
        one = obj.get(tf_one)
        if isinstance(many, list) and many:
            props[arm_many] = list(many)
        elif isinstance(one, str) and one:
            props[arm_one] = one
        elif _unknown_at(unknown, tf_one) or _unknown_at(unknown, tf_many):
            props[arm_one] = p.known_or_marker(res, tf_one, obj, unknown, f"{path}{tf_one}")
    for tf, arm, choices in (
        ("protocol", "protocol", ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")),
        ("access", "access", ("Allow", "Deny")),
        ("direction", "direction", ("Inbound", "Outbound")),
        ("description", "description", ()),
    ):
        value = obj.get(tf)
        if not _absent(value):
            props[arm] = _case(value, choices)
        elif _unknown_at(unknown, tf):
            props[arm] = p.known_or_marker(res, tf, obj, unknown, f"{path}{tf}")
    prio = obj.get("priority")
    if prio is not None:
        props["priority"] = prio
    elif _unknown_at(unknown, "priority"):
        props["priority"] = p.known_or_marker(res, "priority", obj, unknown, f"{path}priority")
    for tf, arm in (
        ("source_application_security_group_ids", "sourceApplicationSecurityGroups"),
        ("destination_application_security_group_ids", "destinationApplicationSecurityGroups"),
    ):
        ids = obj.get(tf)
        if isinstance(ids, list) and ids:
            props[arm] = [{"id": i} for i in ids]
    return props


def _route_props(p: _Plan, res: _Res, obj: Json, unknown: Any, path: str) -> Json:
    props: Json = {"provisioningState": "Succeeded"}
    for tf, arm in (
        ("address_prefix", "addressPrefix"),
        ("next_hop_type", "nextHopType"),
        ("next_hop_in_ip_address", "nextHopIpAddress"),
    ):
        value = obj.get(tf)
        if not _absent(value):
            props[arm] = value
        elif _unknown_at(unknown, tf):
            props[arm] = p.known_or_marker(res, tf, obj, unknown, f"{path}{tf}")
    if isinstance(props.get("nextHopType"), str):
        props["nextHopType"] = _case(
            props["nextHopType"],
            ("VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None"),
        )
    return props


def _inline(
    p: _Plan,
    res: _Res,
    key: str,
    parent_id: str,
    child: str,
    arm_type: str,
    build: Callable[[_Plan, _Res, Json, Any, str], Json],
) -> list[Json] | None:
    """An inline set (``security_rule``, ``route``, ``subnet``); None when not configured."""
    if _unknown_at(res.unknown, key):
        return None  # Optional+Computed: "not configured here; whatever Azure has"
    items = res.after.get(key)
    if not isinstance(items, list):
        return None
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        unk = _sub_unknown(res.unknown, key, i)
        out.append(
            {
                "name": name,
                "id": f"{parent_id}/{child}/{name}",
                "type": arm_type,
                "properties": build(p, res, item, unk, f"{key}[{name}]."),
            }
        )
    return out


def _map_vnet(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/virtualNetworks", rid)
    props = body["properties"]
    space = res.after.get("address_space")
    if isinstance(space, list) and space:
        props["addressSpace"] = {"addressPrefixes": list(space)}
    elif _unknown_at(res.unknown, "address_space"):
        props["addressSpace"] = {"addressPrefixes": [p.known_or_marker(res, "address_space")]}

    def subnet(pl: _Plan, r: _Res, obj: Json, unk: Any, path: str) -> Json:
        sp: Json = {}
        pref = _prefixes(pl, r, obj, unk, "address_prefix", "address_prefixes", path)
        if pref:
            sp["addressPrefixes" if pref[0] == "address_prefixes" else "addressPrefix"] = pref[1]
        for tf, arm in (
            ("security_group", "networkSecurityGroup"),
            ("route_table_id", "routeTable"),
        ):
            value = obj.get(tf)
            if isinstance(value, str) and value:
                sp[arm] = {"id": value}
        return sp

    subnets = _inline(p, res, "subnet", rid, "subnets", f"{NET}/virtualNetworks/subnets", subnet)
    if subnets is not None:
        props["subnets"] = subnets
    return [body]


def _map_subnet(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/virtualNetworks/subnets", rid)
    body.pop("location", None)
    props = body["properties"]
    pref = _prefixes(p, res, res.after, res.unknown, "address_prefix", "address_prefixes", "")
    if pref:
        props["addressPrefixes" if pref[0] == "address_prefixes" else "addressPrefix"] = pref[1]
    for tf, arm in (
        ("network_security_group_id", "networkSecurityGroup"),
        ("route_table_id", "routeTable"),
    ):
        value = res.after.get(tf)
        if isinstance(value, str) and value:
            props[arm] = {"id": value}
    for tf in ("network_security_group_id_wo", "route_table_id_wo"):
        if not _absent(res.after.get(f"{tf}_version")):
            arm = "networkSecurityGroup" if "security" in tf else "routeTable"
            p.warn(
                WarningKind.MISSING_FIELD,
                f"{tf} is write-only and not in the plan; the subnet's {arm} is unknown",
                res.address,
                tf,
            )
            props[arm] = {"id": unknown_marker(res.address, tf)}
    if "default_outbound_access_enabled" in res.after and isinstance(
        res.after["default_outbound_access_enabled"], bool
    ):
        props["defaultOutboundAccess"] = res.after["default_outbound_access_enabled"]
    return [body]


def _map_nsg(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/networkSecurityGroups", rid)
    rules = _inline(
        p,
        res,
        "security_rule",
        rid,
        "securityRules",
        f"{NET}/networkSecurityGroups/securityRules",
        _rule_props,
    )
    if rules is not None:
        body["properties"]["securityRules"] = rules
    return [body]


def _map_rule(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/networkSecurityGroups/securityRules", rid)
    body.pop("location", None)
    body["properties"] = _rule_props(p, res, res.after, res.unknown, "")
    return [body]


def _map_route_table(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/routeTables", rid)
    props = body["properties"]
    routes = _inline(p, res, "route", rid, "routes", f"{NET}/routeTables/routes", _route_props)
    if routes is not None:
        props["routes"] = routes
    if isinstance(res.after.get("bgp_route_propagation_enabled"), bool):
        props["disableBgpRoutePropagation"] = not res.after["bgp_route_propagation_enabled"]
    elif isinstance(res.after.get("disable_bgp_route_propagation"), bool):
        props["disableBgpRoutePropagation"] = res.after["disable_bgp_route_propagation"]
    return [body]


def _map_route(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/routeTables/routes", rid)
    body.pop("location", None)
    body["properties"] = _route_props(p, res, res.after, res.unknown, "")
    return [body]


def _ref_or_marker(
    p: _Plan, res: _Res, obj: Json, unk: Any, attr: str, path: str, config_attr: str | None = None
) -> Json | None:
    value = obj.get(attr)
    if isinstance(value, str) and value:
        return {"id": value}
    if not _unknown_at(unk, attr):
        return None
    resolved = p.resolve(res, config_attr or attr)
    if isinstance(resolved, str) and resolved:
        return {"id": resolved}
    p.warn(
        WarningKind.DANGLING_REFERENCE,
        f"{path} is known only after apply and its reference cannot be resolved "
        "from the configuration; what depends on it is unknown",
        res.address,
        path,
    )
    return {"id": unknown_marker(res.address, path)}


def _resolve_block(p: _Plan, res: _Res, block: str, i: int, attr: str) -> Any:
    exprs = (res.config.get("expressions") or {}).get(block)
    if isinstance(exprs, list) and i < len(exprs) and isinstance(exprs[i], dict):
        return p._eval(exprs[i].get(attr), res.module, res.index, 0)
    return None


def _map_nic(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/networkInterfaces", rid)
    props = body["properties"]
    for tf in ("ip_forwarding_enabled", "enable_ip_forwarding"):
        if isinstance(res.after.get(tf), bool):
            props["enableIPForwarding"] = res.after[tf]
    configs = res.after.get("ip_configuration")
    out = []
    if isinstance(configs, list):
        for i, cfg in enumerate(configs):
            if not isinstance(cfg, dict):
                continue
            unk = _sub_unknown(res.unknown, "ip_configuration", i)
            name = cfg.get("name")
            path = f"ip_configuration[{i}]."
            ip: Json = {}
            subnet = cfg.get("subnet_id")
            if isinstance(subnet, str) and subnet:
                ip["subnet"] = {"id": subnet}
            elif _unknown_at(unk, "subnet_id"):
                resolved = _resolve_block(p, res, "ip_configuration", i, "subnet_id")
                if isinstance(resolved, str):
                    ip["subnet"] = {"id": resolved}
                else:
                    p.warn(
                        WarningKind.DANGLING_REFERENCE,
                        f"{path}subnet_id is known only after apply and its reference cannot "
                        "be resolved from the configuration; the NIC's subnet is unknown",
                        res.address,
                        f"{path}subnet_id",
                    )
                    ip["subnet"] = {"id": unknown_marker(res.address, f"{path}subnet_id")}
            alloc = _case(cfg.get("private_ip_address_allocation"), ("Dynamic", "Static"))
            if isinstance(alloc, str):
                ip["privateIPAllocationMethod"] = alloc
            addr = p.known_or_marker(
                res, "private_ip_address", cfg, unk, f"{path}private_ip_address"
            )
            if addr is not None:
                ip["privateIPAddress"] = addr
            ver = cfg.get("private_ip_address_version")
            if isinstance(ver, str) and ver:
                ip["privateIPAddressVersion"] = ver
            pip = cfg.get("public_ip_address_id")
            if isinstance(pip, str) and pip:
                ip["publicIPAddress"] = {"id": pip}
            primary = cfg.get("primary")
            ip["primary"] = primary if isinstance(primary, bool) else i == 0
            out.append({"name": name, "id": f"{rid}/ipConfigurations/{name}", "properties": ip})
    if out or not _unknown_at(res.unknown, "ip_configuration"):
        props["ipConfigurations"] = out
    return [body]


def _map_vm(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, "Microsoft.Compute/virtualMachines", rid)
    props = body["properties"]
    ids = res.after.get("network_interface_ids")
    nics: list[Json] = []
    if isinstance(ids, list) and ids:
        nics = [{"id": i, "properties": {"primary": n == 0}} for n, i in enumerate(ids)]
    elif _unknown_at(res.unknown, "network_interface_ids"):
        expr = (res.config.get("expressions") or {}).get("network_interface_ids")
        refs = expr.get("references") if isinstance(expr, dict) else None
        seen: set[str] = set()
        for ref in refs or []:
            if not isinstance(ref, str) or ref.count(".") > 2:
                continue
            value = p._eval({"references": [ref]}, res.module, res.index, 0)
            if isinstance(value, str) and value.casefold() not in seen:
                seen.add(value.casefold())
                nics.append({"id": value, "properties": {"primary": not nics}})
        if not nics:
            p.warn(
                WarningKind.DANGLING_REFERENCE,
                "network_interface_ids is known only after apply and cannot be resolved",
                res.address,
                "network_interface_ids",
            )
            nics = [{"id": unknown_marker(res.address, "network_interface_ids")}]
    props["networkProfile"] = {"networkInterfaces": nics}
    size = res.after.get("size") or res.after.get("vm_size")
    if isinstance(size, str):
        props["hardwareProfile"] = {"vmSize": size}
    if res.actions and "create" in res.actions:
        # Azure starts a VM it creates [INFERRED, notes 2.9]
        props["instanceView"] = {"statuses": [{"code": "PowerState/running"}]}
    return [body]


def _map_peering(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/virtualNetworks/virtualNetworkPeerings", rid)
    body.pop("location", None)
    props = body["properties"]
    remote = _ref_or_marker(
        p, res, res.after, res.unknown, "remote_virtual_network_id", "remote_virtual_network_id"
    )
    if remote:
        props["remoteVirtualNetwork"] = remote
    for tf, arm, default in (
        ("allow_virtual_network_access", "allowVirtualNetworkAccess", True),
        ("allow_forwarded_traffic", "allowForwardedTraffic", False),
        ("allow_gateway_transit", "allowGatewayTransit", False),
        ("use_remote_gateways", "useRemoteGateways", False),
    ):
        value = res.after.get(tf)
        props[arm] = value if isinstance(value, bool) else default
    return [body]


def _map_public_ip(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/publicIPAddresses", rid)
    ip = p.known_or_marker(res, "ip_address")
    if ip is not None:
        body["properties"]["ipAddress"] = ip
    sku = res.after.get("sku")
    if isinstance(sku, str):
        body["sku"] = {"name": sku}
    return [body]


def _map_asg(p: _Plan, res: _Res, rid: str) -> list[Json]:
    return [_body(p, res, f"{NET}/applicationSecurityGroups", rid)]


def _set(props: Json, arm: str, value: Any) -> None:
    if value is not None:
        props[arm] = value


def _flat(p: _Plan, res: _Res, props: Json, pairs: Sequence[tuple[str, str]]) -> None:
    """Scalar attributes of ``res`` -> ``props`` (known, resolved, or the unknown marker)."""
    for tf, arm in pairs:
        _set(props, arm, p.known_or_marker(res, tf))


def _first_known(res: _Res, *names: str) -> Any:
    """The first present value among renamed attributes (``enable_bgp`` / ``bgp_enabled``)."""
    for name in names:
        value = res.after.get(name)
        if not _absent(value):
            return value
    return None


def _renamed(p: _Plan, res: _Res, props: Json, arm: str, *names: str) -> None:
    value = _first_known(res, *names)
    if value is not None:
        props[arm] = value
        return
    for name in names:
        if _unknown_at(res.unknown, name):
            props[arm] = p.known_or_marker(res, name)
            return


def _block_ref(
    p: _Plan, res: _Res, block: str, i: int, cfg: Json, unk: Any, attr: str
) -> Json | None:
    """``{"id": ...}`` for ``block[i].attr``: known, resolved from configuration, or the marker."""
    value = cfg.get(attr)
    if isinstance(value, str) and value:
        return {"id": value}
    if not _unknown_at(unk, attr):
        return None
    resolved = _resolve_block(p, res, block, i, attr)
    if isinstance(resolved, str) and resolved:
        return {"id": resolved}
    path = f"{block}[{i}].{attr}"
    p.warn(
        WarningKind.DANGLING_REFERENCE,
        f"{path} is known only after apply and its reference cannot be resolved "
        "from the configuration; what depends on it is unknown",
        res.address,
        path,
    )
    return {"id": unknown_marker(res.address, path)}


def _ref_list(p: _Plan, res: _Res, attr: str) -> list[str] | None:
    """A list of ids: known, each reference resolved from configuration, or [the marker]."""
    ids = res.after.get(attr)
    if isinstance(ids, list) and ids:
        return [i for i in ids if isinstance(i, str) and i]
    if not _unknown_at(res.unknown, attr):
        return None
    expr = (res.config.get("expressions") or {}).get(attr)
    refs = expr.get("references") if isinstance(expr, dict) else None
    out: list[str] = []
    for ref in refs or []:
        if not isinstance(ref, str) or ref.count(".") > 2:
            continue
        value = p._eval({"references": [ref]}, res.module, res.index, 0)
        if isinstance(value, str) and value.casefold() not in {o.casefold() for o in out}:
            out.append(value)
    if out:
        return out
    p.warn(
        WarningKind.DANGLING_REFERENCE,
        f"{attr} is known only after apply and cannot be resolved; what depends on it is unknown",
        res.address,
        attr,
    )
    return [unknown_marker(res.address, attr)]


def _child_body(p: _Plan, res: _Res, arm_type: str, rid: str) -> Json:
    body = _body(p, res, arm_type, rid)
    body.pop("location", None)
    return body


def _lb_frontend(lb_id: str, name: Any) -> Json:
    return {"id": f"{lb_id}/frontendIPConfigurations/{name}"}


def _lb_parent(rid: str) -> str:
    return rid.rsplit("/", 2)[0]


def _map_lb(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/loadBalancers", rid)
    props = body["properties"]
    sku = res.after.get("sku")
    if isinstance(sku, str) and sku:
        body["sku"] = {"name": _case(sku, ("Basic", "Standard", "Gateway"))}
        tier = res.after.get("sku_tier")
        if isinstance(tier, str) and tier:
            body["sku"]["tier"] = _case(tier, ("Regional", "Global"))
    configs = res.after.get("frontend_ip_configuration")
    if _unknown_at(res.unknown, "frontend_ip_configuration"):
        return [body]
    frontends = []
    for i, cfg in enumerate(configs if isinstance(configs, list) else []):
        if not isinstance(cfg, dict):
            continue
        unk = _sub_unknown(res.unknown, "frontend_ip_configuration", i)
        name = cfg.get("name")
        path = f"frontend_ip_configuration[{i}]."
        fp: Json = {}
        for tf, arm in (
            ("subnet_id", "subnet"),
            ("public_ip_address_id", "publicIPAddress"),
            ("public_ip_prefix_id", "publicIPPrefix"),
            ("gateway_load_balancer_frontend_ip_configuration_id", "gatewayLoadBalancer"),
        ):
            ref = _block_ref(p, res, "frontend_ip_configuration", i, cfg, unk, tf)
            if ref is not None:
                fp[arm] = ref
        if "subnet" in fp:  # a private IP only exists on an internal frontend
            addr = p.known_or_marker(
                res, "private_ip_address", cfg, unk, f"{path}private_ip_address"
            )
            _set(fp, "privateIPAddress", addr)
            alloc = _case(cfg.get("private_ip_address_allocation"), ("Dynamic", "Static"))
            if isinstance(alloc, str) and alloc:
                fp["privateIPAllocationMethod"] = alloc
            ver = cfg.get("private_ip_address_version")
            if isinstance(ver, str) and ver:
                fp["privateIPAddressVersion"] = ver
        item: Json = {
            "name": name,
            "id": f"{rid}/frontendIPConfigurations/{name}",
            "properties": fp,
        }
        zones = cfg.get("zones")
        if isinstance(zones, list) and zones:
            item["zones"] = list(zones)
        frontends.append(item)
    props["frontendIPConfigurations"] = frontends
    return [body]


def _map_lb_pool(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _child_body(p, res, f"{NET}/loadBalancers/backendAddressPools", rid)
    vnet = _ref_or_marker(
        p, res, res.after, res.unknown, "virtual_network_id", "virtual_network_id"
    )
    if vnet:
        body["properties"]["virtualNetwork"] = vnet
    mode = res.after.get("synchronous_mode")
    if isinstance(mode, str) and mode:
        body["properties"]["syncMode"] = mode
    return [body]


def _lb_rule_body(
    p: _Plan, res: _Res, rid: str, kind: str, fields: tuple[tuple[str, str], ...]
) -> Json:
    """What a load-balancing rule and an inbound NAT rule are mapped alike: the frontend, the
    protocol, their flat fields and the two renamed switches (floating IP, TCP reset)."""
    body = _child_body(p, res, f"{NET}/loadBalancers/{kind}", rid)
    props = body["properties"]
    frontend = p.known_or_marker(res, "frontend_ip_configuration_name")
    if frontend is not None:
        props["frontendIPConfiguration"] = _lb_frontend(_lb_parent(rid), frontend)
    protocol = p.known_or_marker(res, "protocol")
    _set(props, "protocol", _case(protocol, ("Tcp", "Udp", "All")))
    _flat(p, res, props, fields)
    _renamed(p, res, props, "enableFloatingIP", "floating_ip_enabled", "enable_floating_ip")
    _renamed(p, res, props, "enableTcpReset", "tcp_reset_enabled", "enable_tcp_reset")
    return body


def _map_lb_rule(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _lb_rule_body(
        p,
        res,
        rid,
        "loadBalancingRules",
        (
            ("frontend_port", "frontendPort"),
            ("backend_port", "backendPort"),
            ("disable_outbound_snat", "disableOutboundSnat"),
            ("idle_timeout_in_minutes", "idleTimeoutInMinutes"),
            ("load_distribution", "loadDistribution"),
        ),
    )
    props = body["properties"]
    pools = _ref_list(p, res, "backend_address_pool_ids")
    if pools:
        props["backendAddressPool"] = {"id": pools[0]}
        if len(pools) > 1:
            props["backendAddressPools"] = [{"id": i} for i in pools]
    probe = _ref_or_marker(p, res, res.after, res.unknown, "probe_id", "probe_id")
    if probe:
        props["probe"] = probe
    return [body]


def _map_lb_probe(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _child_body(p, res, f"{NET}/loadBalancers/probes", rid)
    props = body["properties"]
    protocol = p.known_or_marker(res, "protocol")
    _set(props, "protocol", _case(protocol, ("Tcp", "Http", "Https")))
    _flat(
        p,
        res,
        props,
        (
            ("port", "port"),
            ("request_path", "requestPath"),
            ("interval_in_seconds", "intervalInSeconds"),
            ("number_of_probes", "numberOfProbes"),
            ("probe_threshold", "probeThreshold"),
        ),
    )
    return [body]


def _map_lb_nat_rule(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _lb_rule_body(
        p,
        res,
        rid,
        "inboundNatRules",
        (
            ("frontend_port", "frontendPort"),
            ("backend_port", "backendPort"),
            ("frontend_port_start", "frontendPortRangeStart"),
            ("frontend_port_end", "frontendPortRangeEnd"),
            ("idle_timeout_in_minutes", "idleTimeoutInMinutes"),
        ),
    )
    pool = _ref_or_marker(
        p, res, res.after, res.unknown, "backend_address_pool_id", "backend_address_pool_id"
    )
    if pool:
        body["properties"]["backendAddressPool"] = pool
    return [body]


def _map_lb_outbound_rule(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _child_body(p, res, f"{NET}/loadBalancers/outboundRules", rid)
    props = body["properties"]
    lb_id = _lb_parent(rid)
    frontends = res.after.get("frontend_ip_configuration")
    if isinstance(frontends, list) and frontends:
        refs = []
        for i, fe in enumerate(frontends):
            if not isinstance(fe, dict):
                continue
            unk = _sub_unknown(res.unknown, "frontend_ip_configuration", i)
            name = p.known_or_marker(res, "name", fe, unk, f"frontend_ip_configuration[{i}].name")
            if name is not None:
                refs.append(_lb_frontend(lb_id, name))
        props["frontendIPConfigurations"] = refs
    elif _unknown_at(res.unknown, "frontend_ip_configuration"):
        marker = p.known_or_marker(res, "frontend_ip_configuration")
        props["frontendIPConfigurations"] = [{"id": marker}]
    pool = _ref_or_marker(
        p, res, res.after, res.unknown, "backend_address_pool_id", "backend_address_pool_id"
    )
    if pool:
        props["backendAddressPool"] = pool
    protocol = p.known_or_marker(res, "protocol")
    _set(props, "protocol", _case(protocol, ("Tcp", "Udp", "All")))
    _flat(
        p,
        res,
        props,
        (
            ("allocated_outbound_ports", "allocatedOutboundPorts"),
            ("idle_timeout_in_minutes", "idleTimeoutInMinutes"),
        ),
    )
    _renamed(p, res, props, "enableTcpReset", "tcp_reset_enabled", "enable_tcp_reset")
    return [body]


def _pool_address(p: _Plan, res: _Res) -> None:
    """``azurerm_lb_backend_address_pool_address`` -> an entry of the pool's
    ``loadBalancerBackendAddresses`` (merged in :func:`_finish`)."""
    src = res.before if res.deleting else res.after
    pool = src.get("backend_address_pool_id")
    if not isinstance(pool, str) or not pool:
        pool = p.resolve(res, "backend_address_pool_id")
    if not isinstance(pool, str) or not pool:
        p.warn(
            WarningKind.DANGLING_REFERENCE,
            "backend_address_pool_id cannot be resolved from the plan or its configuration; "
            "the backend address is not applied",
            res.address,
            "backend_address_pool_id",
        )
        return
    name = src.get("name")
    entry: Json = {"name": name, "properties": {}}
    if res.deleting:
        entry["_vnetdoctor_remove"] = True
        p.pool_addresses.append((pool, entry, res.address))
        return
    ap = entry["properties"]
    vnet = _ref_or_marker(
        p, res, res.after, res.unknown, "virtual_network_id", "virtual_network_id"
    )
    if vnet:
        ap["virtualNetwork"] = vnet
    _set(ap, "ipAddress", p.known_or_marker(res, "ip_address"))
    frontend = _ref_or_marker(
        p,
        res,
        res.after,
        res.unknown,
        "backend_address_ip_configuration_id",
        "backend_address_ip_configuration_id",
    )
    if frontend:
        ap["loadBalancerFrontendIPConfiguration"] = frontend
    p.pool_addresses.append((pool, entry, res.address))


def _map_nat_gateway(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/natGateways", rid)
    sku = res.after.get("sku_name")
    if isinstance(sku, str) and sku:
        body["sku"] = {"name": sku}
    _flat(p, res, body["properties"], (("idle_timeout_in_minutes", "idleTimeoutInMinutes"),))
    zones = res.after.get("zones")
    if isinstance(zones, list) and zones:
        body["zones"] = list(zones)
    return [body]


def _bgp_settings(p: _Plan, res: _Res, peering_attr: str) -> Json | None:
    blocks = res.after.get("bgp_settings")
    if not isinstance(blocks, list) or not blocks or not isinstance(blocks[0], dict):
        return None
    bgp = blocks[0]
    unk = _sub_unknown(res.unknown, "bgp_settings", 0)
    out: Json = {}
    _set(out, "asn", p.known_or_marker(res, "asn", bgp, unk, "bgp_settings[0].asn"))
    weight = bgp.get("peer_weight")
    if isinstance(weight, int) and not isinstance(weight, bool):
        out["peerWeight"] = weight
    address = bgp.get(peering_attr)
    if isinstance(address, str) and address:
        out["bgpPeeringAddress"] = address
    elif _unknown_at(unk, peering_attr):
        out["bgpPeeringAddress"] = p.known_or_marker(
            res, peering_attr, bgp, unk, f"bgp_settings[0].{peering_attr}"
        )
    return out


def _map_vnet_gateway(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/virtualNetworkGateways", rid)
    props = body["properties"]
    kind = p.known_or_marker(res, "type")
    _set(props, "gatewayType", _case(kind, ("Vpn", "ExpressRoute", "LocalGateway")))
    vpn_type = p.known_or_marker(res, "vpn_type")
    _set(props, "vpnType", _case(vpn_type, ("RouteBased", "PolicyBased")))
    sku = p.known_or_marker(res, "sku")
    if sku is not None:
        props["sku"] = {"name": sku, "tier": sku}
    _flat(
        p,
        res,
        props,
        (
            ("generation", "vpnGatewayGeneration"),
            ("active_active", "activeActive"),
            ("private_ip_address_enabled", "enablePrivateIpAddress"),
        ),
    )
    _renamed(p, res, props, "enableBgp", "bgp_enabled", "enable_bgp")
    configs = res.after.get("ip_configuration")
    ipcs = []
    for i, cfg in enumerate(configs if isinstance(configs, list) else []):
        if not isinstance(cfg, dict):
            continue
        unk = _sub_unknown(res.unknown, "ip_configuration", i)
        name = cfg.get("name") or "vnetGatewayConfig"
        ip: Json = {}
        for tf, arm in (("subnet_id", "subnet"), ("public_ip_address_id", "publicIPAddress")):
            ref = _block_ref(p, res, "ip_configuration", i, cfg, unk, tf)
            if ref is not None:
                ip[arm] = ref
        alloc = _case(cfg.get("private_ip_address_allocation"), ("Dynamic", "Static"))
        if isinstance(alloc, str) and alloc:
            ip["privateIPAllocationMethod"] = alloc
        ipcs.append({"name": name, "id": f"{rid}/ipConfigurations/{name}", "properties": ip})
    if ipcs or not _unknown_at(res.unknown, "ip_configuration"):
        props["ipConfigurations"] = ipcs
    bgp = _bgp_settings(p, res, "peering_address")
    if bgp is not None:
        blocks = res.after["bgp_settings"][0].get("peering_addresses")
        if "bgpPeeringAddress" not in bgp and isinstance(blocks, list) and blocks:
            first = blocks[0] if isinstance(blocks[0], dict) else {}
            defaults = first.get("default_addresses")
            if isinstance(defaults, list) and defaults and isinstance(defaults[0], str):
                bgp["bgpPeeringAddress"] = defaults[0]
        props["bgpSettings"] = bgp
    routes = res.after.get("custom_route")
    if isinstance(routes, list) and routes and isinstance(routes[0], dict):
        prefixes = routes[0].get("address_prefixes")
        if isinstance(prefixes, list) and prefixes:
            props["customRoutes"] = {"addressPrefixes": list(prefixes)}
    site = _ref_or_marker(
        p,
        res,
        res.after,
        res.unknown,
        "default_local_network_gateway_id",
        "default_local_network_gateway_id",
    )
    if site:
        props["gatewayDefaultSite"] = site
    return [body]


def _map_local_gateway(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/localNetworkGateways", rid)
    props = body["properties"]
    _flat(p, res, props, (("gateway_address", "gatewayIpAddress"), ("gateway_fqdn", "fqdn")))
    space = res.after.get("address_space")
    if isinstance(space, list) and space:
        props["localNetworkAddressSpace"] = {"addressPrefixes": list(space)}
    elif _unknown_at(res.unknown, "address_space"):
        props["localNetworkAddressSpace"] = {
            "addressPrefixes": [p.known_or_marker(res, "address_space")]
        }
    bgp = _bgp_settings(p, res, "bgp_peering_address")
    if bgp is not None:
        props["bgpSettings"] = bgp
    return [body]


def _map_connection(p: _Plan, res: _Res, rid: str) -> list[Json]:
    body = _body(p, res, f"{NET}/connections", rid)
    props = body["properties"]
    kind = p.known_or_marker(res, "type")
    _set(props, "connectionType", _case(kind, ("IPsec", "Vnet2Vnet", "ExpressRoute")))
    for tf, arm in (
        ("virtual_network_gateway_id", "virtualNetworkGateway1"),
        ("peer_virtual_network_gateway_id", "virtualNetworkGateway2"),
        ("local_network_gateway_id", "localNetworkGateway2"),
        ("express_route_circuit_id", "peer"),
    ):
        ref = _ref_or_marker(p, res, res.after, res.unknown, tf, tf)
        if ref:
            props[arm] = ref
    _renamed(p, res, props, "enableBgp", "bgp_enabled", "enable_bgp")
    _flat(
        p,
        res,
        props,
        (
            ("routing_weight", "routingWeight"),
            ("use_policy_based_traffic_selectors", "usePolicyBasedTrafficSelectors"),
            ("connection_protocol", "connectionProtocol"),
            ("connection_mode", "connectionMode"),
            ("dpd_timeout_seconds", "dpdTimeoutSeconds"),
        ),
    )
    # shared_key is a secret and is never copied; connectionStatus is not in Terraform at all
    if "create" in res.actions:
        p.warn(
            WarningKind.MISSING_FIELD,
            "the connection status is known only after apply (Terraform does not model it); "
            "what depends on the connection being Connected is unknown",
            res.address,
            "connection_status",
        )
    return [body]


def _nic_link(p: _Plan, res: _Res, key: str, value_attr: str, by_name: bool) -> None:
    """NIC ip-configuration associations (ASG, backend pool, inbound NAT rule)."""
    src = res.before if res.deleting else res.after
    nic = src.get("network_interface_id")
    if not isinstance(nic, str) or not nic:
        nic = p.resolve(res, "network_interface_id")
    if not isinstance(nic, str) or not nic:
        p.warn(
            WarningKind.DANGLING_REFERENCE,
            "network_interface_id cannot be resolved from the plan or its configuration; "
            "the association is not applied",
            res.address,
            "network_interface_id",
        )
        return
    config: str | None = None
    if by_name:
        name = src.get("ip_configuration_name")
        if not isinstance(name, str) or not name:
            name = p.resolve(res, "ip_configuration_name")
        if not isinstance(name, str) or not name:
            p.warn(
                WarningKind.DANGLING_REFERENCE,
                "ip_configuration_name is known only after apply; the association is not applied",
                res.address,
                "ip_configuration_name",
            )
            return
        config = name
    value = src.get(value_attr)
    if not isinstance(value, str) or not value:
        value = None if res.deleting else p.resolve(res, value_attr)
    if not isinstance(value, str) or not value:
        if res.deleting:
            p.warn(
                WarningKind.MISSING_FIELD,
                f"deleted association without a prior {value_attr}; nothing is removed",
                res.address,
                value_attr,
            )
            return
        p.warn(
            WarningKind.DANGLING_REFERENCE,
            f"{value_attr} is known only after apply and cannot be resolved; "
            f"the NIC's {key} is unknown",
            res.address,
            value_attr,
        )
        value = unknown_marker(res.address, value_attr)
    p.nic_links.append(_NicLink(nic, config, key, {"id": value}, res.address, res.deleting))


_MAPPERS: Final[dict[str, Callable[[_Plan, _Res, str], list[Json]]]] = {
    "azurerm_virtual_network": _map_vnet,
    "azurerm_subnet": _map_subnet,
    "azurerm_network_security_group": _map_nsg,
    "azurerm_network_security_rule": _map_rule,
    "azurerm_route_table": _map_route_table,
    "azurerm_route": _map_route,
    "azurerm_network_interface": _map_nic,
    "azurerm_linux_virtual_machine": _map_vm,
    "azurerm_windows_virtual_machine": _map_vm,
    "azurerm_virtual_machine": _map_vm,
    "azurerm_virtual_network_peering": _map_peering,
    "azurerm_public_ip": _map_public_ip,
    "azurerm_application_security_group": _map_asg,
    "azurerm_nat_gateway": _map_nat_gateway,
    "azurerm_lb": _map_lb,
    "azurerm_lb_backend_address_pool": _map_lb_pool,
    "azurerm_lb_rule": _map_lb_rule,
    "azurerm_lb_probe": _map_lb_probe,
    "azurerm_lb_nat_rule": _map_lb_nat_rule,
    "azurerm_lb_outbound_rule": _map_lb_outbound_rule,
    "azurerm_virtual_network_gateway": _map_vnet_gateway,
    "azurerm_local_network_gateway": _map_local_gateway,
    "azurerm_virtual_network_gateway_connection": _map_connection,
}

# NIC ip-configuration association type -> (ARM key, value attribute, one named ip configuration?)
_NIC_LINKS: Final[dict[str, tuple[str, str, bool]]] = {
    "azurerm_network_interface_application_security_group_association": (
        "applicationSecurityGroups",
        "application_security_group_id",
        False,
    ),
    "azurerm_network_interface_backend_address_pool_association": (
        "loadBalancerBackendAddressPools",
        "backend_address_pool_id",
        True,
    ),
    "azurerm_network_interface_nat_rule_association": (
        "loadBalancerInboundNatRules",
        "nat_rule_id",
        True,
    ),
}

# association type -> (target attr, value attr, ARM key to patch on the target, append?)
_ASSOCIATIONS: Final[dict[str, tuple[str, str, str, bool]]] = {
    "azurerm_subnet_network_security_group_association": (
        "subnet_id",
        "network_security_group_id",
        "networkSecurityGroup",
        False,
    ),
    "azurerm_subnet_route_table_association": ("subnet_id", "route_table_id", "routeTable", False),
    "azurerm_subnet_nat_gateway_association": ("subnet_id", "nat_gateway_id", "natGateway", False),
    "azurerm_network_interface_security_group_association": (
        "network_interface_id",
        "network_security_group_id",
        "networkSecurityGroup",
        False,
    ),
    "azurerm_nat_gateway_public_ip_association": (
        "nat_gateway_id",
        "public_ip_address_id",
        "publicIpAddresses",
        True,
    ),
    "azurerm_nat_gateway_public_ip_prefix_association": (
        "nat_gateway_id",
        "public_ip_prefix_id",
        "publicIpPrefixes",
        True,
    ),
}


def _association(p: _Plan, res: _Res) -> None:
    target_attr, value_attr, key, append = _ASSOCIATIONS[res.type]
    src = res.before if res.deleting else res.after
    target = src.get(target_attr)
    if not isinstance(target, str) or not target:
        target = p.resolve(res, target_attr)
    if not isinstance(target, str) or not target:
        p.warn(
            WarningKind.DANGLING_REFERENCE,
            f"{target_attr} cannot be resolved from the plan or its configuration; "
            "the association is not applied",
            res.address,
            target_attr,
        )
        return
    if res.deleting:
        p.changes.patches.append(Patch(target, key, None, res.address))
        return
    value = src.get(value_attr)
    if not isinstance(value, str) or not value:
        value = p.resolve(res, value_attr)
    if not isinstance(value, str) or not value:
        p.warn(
            WarningKind.DANGLING_REFERENCE,
            f"{value_attr} is known only after apply and cannot be resolved; "
            f"the {key} of the target is unknown",
            res.address,
            value_attr,
        )
        value = unknown_marker(res.address, value_attr)
    p.changes.patches.append(Patch(target, key, {"id": value}, res.address, append))


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------
def _provider_ok(provider: Any) -> bool:
    if not isinstance(provider, str):
        return False
    text = provider.casefold()
    return text == "azurerm" or text.endswith("/azurerm")


def changes_from_plan(doc: Json, *, source: str = "<plan>", base: Sequence[Json] = ()) -> ChangeSet:
    """A Terraform plan document -> change set (warnings instead of exceptions)."""
    p = _Plan(doc, source, base)
    version = doc.get("format_version")
    major = str(version).split(".", 1)[0] if version is not None else ""
    if major not in ("0", "1"):
        p.warn(
            WarningKind.SKIPPED_INPUT,
            f"Terraform plan format_version {version!r} is not supported (0.x and 1.x are); "
            "the plan is ignored",
            "format_version",
            None,
            version,
        )
        return p.changes
    if doc.get("errored") is True:
        p.warn(
            WarningKind.SKIPPED_INPUT,
            "the plan is marked errored; its values may be incomplete",
            "errored",
        )
    changes = doc.get("resource_changes")
    if not isinstance(changes, list):
        p.warn(
            WarningKind.SKIPPED_INPUT,
            "no resource_changes in the plan (planned_values alone drops unknown values)",
            "resource_changes",
        )
        return p.changes
    p.index_configuration()
    items: list[_Res] = []
    for n, rc in enumerate(changes):
        res = _read_change(p, rc, n)
        if res is not None:
            items.append(res)
            p.by_address[res.address] = res
    for res in items:
        try:
            _map_one(p, res)
        except _BAD_SHAPE as exc:  # one odd resource must not stop the plan
            p.warn(
                WarningKind.UNPARSED_VALUE,
                f"could not map this resource ({type(exc).__name__}: {exc}); it is ignored",
                res.address,
            )
    _finish(p)
    return p.changes


def _read_change(p: _Plan, rc: Any, n: int) -> _Res | None:
    if not isinstance(rc, dict):
        p.warn(
            WarningKind.UNPARSED_VALUE, "resource change is not an object", f"resource_changes[{n}]"
        )
        return None
    address = rc.get("address")
    address = address if isinstance(address, str) else f"resource_changes[{n}]"
    if rc.get("mode", "managed") != "managed" or rc.get("deposed"):
        return None
    rtype = rc.get("type")
    if not _provider_ok(rc.get("provider_name")):
        if isinstance(rtype, str) and rtype.startswith(("random_", "null_", "time_", "tls_")):
            return None
        p.warn(
            WarningKind.UNSUPPORTED_TYPE,
            f"provider {rc.get('provider_name')!r} is not supported (only hashicorp/azurerm); "
            "this resource is ignored",
            address,
            "provider_name",
            rc.get("provider_name"),
        )
        return None
    change = rc.get("change")
    if not isinstance(change, dict) or not isinstance(rtype, str):
        p.warn(WarningKind.UNPARSED_VALUE, "resource change without change/type", address)
        return None
    actions = change.get("actions")
    before = change.get("before") if isinstance(change.get("before"), dict) else {}
    after = change.get("after") if isinstance(change.get("after"), dict) else {}
    raw_module = rc.get("module_address")
    module = raw_module if isinstance(raw_module, str) else ""
    config_key = _INDEX.sub("", address)
    if module:
        # module.x[0].azurerm_y.z[1] -> module.x.azurerm_y.z
        config_key = re.sub(r"\[[^\]]*\]", "", address)
    return _Res(
        address=address,
        module=module,
        type=rtype,
        name=str(rc.get("name", "")),
        index=rc.get("index"),
        actions=tuple(
            a for a in (actions if isinstance(actions, list) else ()) if isinstance(a, str)
        ),
        before=before or {},
        after=after or {},
        unknown=change.get("after_unknown") if change.get("after_unknown") is not None else {},
        config=p.configs.get(config_key) or {},
    )


def _map_one(p: _Plan, res: _Res) -> None:
    if res.type in _ASSOCIATIONS:
        _association(p, res)
        return
    if res.type in _NIC_LINKS:
        key, value_attr, by_name = _NIC_LINKS[res.type]
        _nic_link(p, res, key, value_attr, by_name)
        return
    if res.type == "azurerm_lb_backend_address_pool_address":
        _pool_address(p, res)
        return
    mapper = _MAPPERS.get(res.type)
    if mapper is None:
        if res.type not in _IGNORED:
            p.warn(
                WarningKind.UNSUPPORTED_TYPE,
                f"{res.type} is not mapped by vnetdoctor; the after-state does not include "
                "its change",
                res.address,
                "type",
                res.type,
            )
        return
    if res.deleting:
        rid = res.before.get("id")
        if isinstance(rid, str) and rid:
            p.changes.deletes.append(rid)
        else:
            p.warn(
                WarningKind.MISSING_FIELD, "deleted resource without a prior id", res.address, "id"
            )
        return
    rid = p.arm_id(res)
    if rid is None:
        p.warn(
            WarningKind.DANGLING_REFERENCE,
            "cannot rebuild the ARM id (name, resource group or parent unknown); "
            "the resource is left out of the after-state",
            res.address,
            "id",
        )
        return
    p.changes.upserts.extend(mapper(p, res, rid))


# ---------------------------------------------------------------------------------------------
# Cross-resource merges: LB child deletes, backend pool addresses, NIC ip-configuration links
# ---------------------------------------------------------------------------------------------
_LB_ARRAYS: Final = frozenset(seg for (seg,) in _LB_CHILDREN.values())
_POOL_TYPE: Final = f"{NET}/loadBalancers/backendAddressPools"


def _fid(text: str) -> str:
    return text.strip().rstrip("/").casefold()


def _props_of(body: Json) -> Json:
    inner = body.get("properties")
    if isinstance(inner, dict):
        return inner
    fresh: Json = {}
    body["properties"] = fresh
    return fresh


def _base_body(p: _Plan, rid: str) -> Json | None:
    if p.base_index is None:
        p.base_index = {}
        for body in p.base:
            value = body.get("id")
            if isinstance(value, str):
                p.base_index.setdefault(_fid(value), body)
    return p.base_index.get(_fid(rid))


def _base_array(body: Json, key: str) -> list[Any]:
    inner = body.get("properties")
    holder = inner if isinstance(inner, dict) else body  # the flattened az CLI form
    items = holder.get(key)
    return items if isinstance(items, list) else []


def _finish(p: _Plan) -> None:
    try:
        _lb_child_deletes(p)
        _merge_pool_addresses(p)
        _apply_nic_links(p)
    except _BAD_SHAPE as exc:  # an odd plan or base must not stop the merges
        p.warn(
            WarningKind.UNPARSED_VALUE,
            f"could not merge child resources ({type(exc).__name__}: {exc})",
            "resource_changes",
        )


def _lb_child_deletes(p: _Plan) -> None:
    """A deleted LB child of an LB in the snapshot leaves that LB's array."""
    arrays: dict[tuple[str, str], tuple[str, list[Any]]] = {}
    for rid in p.changes.deletes:
        parts = rid.rstrip("/").split("/")
        if len(parts) < 3 or parts[-2] not in _LB_ARRAYS:
            continue
        lb_id = "/".join(parts[:-2])
        lb = _base_body(p, lb_id)
        if lb is None:
            continue
        slot = (_fid(lb_id), parts[-2])
        if slot not in arrays:
            arrays[slot] = (lb_id, copy.deepcopy(_base_array(lb, parts[-2])))
        items = arrays[slot][1]
        items[:] = [
            c
            for c in items
            if not (isinstance(c, dict) and _fid(str(c.get("id", ""))) == _fid(rid))
        ]
    for (_, key), (lb_id, items) in arrays.items():
        p.changes.patches.append(Patch(lb_id, key, items, "resource_changes"))


def _base_pool(p: _Plan, pool_id: str) -> Json | None:
    lb = _base_body(p, pool_id.rstrip("/").rsplit("/", 2)[0])
    for item in _base_array(lb, "backendAddressPools") if lb is not None else []:
        if isinstance(item, dict) and _fid(str(item.get("id", ""))) == _fid(pool_id):
            return item
    return _base_body(p, pool_id)


def _merge_pool_addresses(p: _Plan) -> None:
    pools: dict[str, Json] = {}
    for body in p.changes.upserts:
        rid = body.get("id")
        if isinstance(rid, str) and str(body.get("type", "")).casefold() == _POOL_TYPE.casefold():
            pools[_fid(rid)] = body
            # an existing pool keeps what other resources put in it (addresses, NIC back-refs)
            prior = _base_pool(p, rid)
            prior_props = prior.get("properties") if isinstance(prior, dict) else None
            if isinstance(prior_props, dict):
                for key in ("loadBalancerBackendAddresses", "backendIPConfigurations"):
                    if key in prior_props and key not in _props_of(body):
                        _props_of(body)[key] = copy.deepcopy(prior_props[key])
    for pool_id, entry, address in p.pool_addresses:
        pool = pools.get(_fid(pool_id))
        if pool is None:
            found = _base_pool(p, pool_id)
            if found is None:
                p.warn(
                    WarningKind.DANGLING_REFERENCE,
                    "the backend address pool is neither in the plan nor in the snapshot; "
                    "the backend address is not applied",
                    address,
                    "backend_address_pool_id",
                )
                continue
            pool = {**copy.deepcopy(found), "id": pool_id, "type": _POOL_TYPE}
            pool.setdefault("name", pool_id.rstrip("/").rsplit("/", 1)[-1])
            p.changes.upserts.append(pool)
            pools[_fid(pool_id)] = pool
        items = _props_of(pool).setdefault("loadBalancerBackendAddresses", [])
        if not isinstance(items, list):
            items = []
            _props_of(pool)["loadBalancerBackendAddresses"] = items
        name = str(entry.get("name", "")).casefold()
        items[:] = [
            i
            for i in items
            if not (isinstance(i, dict) and str(i.get("name", "")).casefold() == name)
        ]
        if not entry.pop("_vnetdoctor_remove", False):
            items.append(entry)


def _apply_nic_links(p: _Plan) -> None:
    upserts: dict[str, Json] = {}
    for body in p.changes.upserts:
        rid = body.get("id")
        if isinstance(rid, str):
            upserts[_fid(rid)] = body
    patched: dict[str, tuple[str, list[Any], str]] = {}
    for link in p.nic_links:
        key = _fid(link.nic)
        configs: list[Any] | None = None
        if key in upserts:
            configs = _props_of(upserts[key]).get("ipConfigurations")
        elif key in patched:
            configs = patched[key][1]
        else:
            base = _base_body(p, link.nic)
            if base is not None:
                configs = copy.deepcopy(_base_array(base, "ipConfigurations"))
                patched[key] = (link.nic, configs, link.address)
        if configs is None:
            p.warn(
                WarningKind.DANGLING_REFERENCE,
                "the network interface is neither in the plan nor in the snapshot (or its ip "
                "configurations are known only after apply); the association is not applied",
                link.address,
                "network_interface_id",
            )
            continue
        hit = False
        for cfg in configs:
            if not isinstance(cfg, dict):
                continue
            inner = cfg.get("properties")
            cp = inner if isinstance(inner, dict) else cfg
            if link.ip_configuration is not None:
                if str(cfg.get("name", "")).casefold() != link.ip_configuration.casefold():
                    continue
            elif str(cp.get("privateIPAddressVersion") or "IPv4").casefold() != "ipv4":
                continue
            hit = True
            refs = cp.get(link.key)
            if not isinstance(refs, list):
                refs = []
                cp[link.key] = refs
            target = _fid(str(link.ref.get("id", "")))
            refs[:] = [
                r
                for r in refs
                if not (isinstance(r, dict) and _fid(str(r.get("id", ""))) == target)
            ]
            if not link.remove:
                refs.append(dict(link.ref))
        if not hit:
            what = link.ip_configuration or "IPv4"
            p.warn(
                WarningKind.DANGLING_REFERENCE,
                f"the network interface has no {what} ip configuration; "
                "the association is not applied",
                link.address,
                "ip_configuration_name" if link.ip_configuration else "network_interface_id",
            )
    for nic_id, configs, address in patched.values():
        p.changes.patches.append(Patch(nic_id, "ipConfigurations", configs, address))


__all__ = ["changes_from_plan"]
