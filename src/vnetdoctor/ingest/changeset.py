"""A change set: what a Terraform plan or an ARM what-if does, as ARM dicts, and how it is laid
over the current resources.

Both front-ends (:mod:`vnetdoctor.ingest.terraform`, :mod:`vnetdoctor.ingest.whatif`) turn their
document into a :class:`ChangeSet` of ARM-shaped resource bodies; :func:`apply_changes` lays it over
the current resources (plain ARM dicts), so the loader and the engine see an ordinary estate.

A value that is known only after apply is written into the ARM body as the marker string
``(known after apply: <address>.<attribute>)``: the converters cannot parse it, so they record an
ingest warning and a ``problems`` entry (or a dangling reference), and whatever depends on it
evaluates to ``unknown`` downstream, naming the address and attribute.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from vnetdoctor.ingest import arm
from vnetdoctor.model.warnings import IngestWarning

Json = dict[str, Any]

# The children a change set folds into their parents itself: a subset of arm.CHILD_ARRAYS
# (child type -> parent type, array key in the parent's properties). These are the children that
# plans and what-if results change alongside their VNet, NSG or route table (inline or on their
# own), where an update must keep what the plan does not say (a subnet's associations). The
# other children (load balancer parts, NIC IP configurations, rule collection groups) stay loose
# and the loader merges them as it does for a snapshot; Terraform patches the arrays of a load
# balancer whose children it deletes (terraform._lb_child_deletes).
_FOLDED_CHILDREN: Final[Mapping[str, tuple[str, str]]] = {
    child: arm.CHILD_ARRAYS[child]
    for child in (arm.SUBNETS, arm.PEERINGS, arm.SECURITY_RULES, arm.ROUTES)
}
_CHILD_KEYS: Final = frozenset(key for _, key in _FOLDED_CHILDREN.values())


def unknown_marker(address: str, attribute: str) -> str:
    """The ARM-shaped stand-in for a value known only after apply/deployment."""
    return f"(known after apply: {address}.{attribute})"


@dataclass
class Patch:
    """Set (or clear, ``value=None``) ``properties.<key>`` of the resource ``target``."""

    target: str
    key: str
    value: Any
    address: str
    append: bool = False


@dataclass
class ChangeSet:
    """What a plan does, as ARM dicts: bodies to put, ids to delete, fields to patch."""

    upserts: list[Json] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    source: str = "<plan>"
    kind: str = "terraform"

    def touched_ids(self) -> set[str]:
        """Folded ids of every resource the plan changes (parents of children included)."""
        out: set[str] = set()
        for body in self.upserts:
            if body.get("_vnetdoctor_noop"):
                continue
            rid = body.get("id")
            if isinstance(rid, str):
                out.add(_fold(rid))
                out.add(_fold(_parent_id(rid)))
        for rid in self.deletes:
            out.add(_fold(rid))
            out.add(_fold(_parent_id(rid)))
        for patch in self.patches:
            out.add(_fold(patch.target))
        return out


def _fold(text: str) -> str:
    return text.strip().rstrip("/").casefold()


def _parent_id(rid: str) -> str:
    parts = rid.strip().rstrip("/").split("/")
    # .../providers/NS/type/name/childType/childName -> drop the last two segments
    try:
        idx = [p.casefold() for p in parts].index("providers")
    except ValueError:
        return rid
    if len(parts) - idx > 4:
        return "/".join(parts[:-2])
    return rid


def _type_of(body: Json) -> str:
    raw = body.get("type")
    return raw.strip().casefold() if isinstance(raw, str) else ""


def _props(body: Json) -> Json:
    inner = body.get("properties")
    if not isinstance(inner, dict):
        inner = {}
        body["properties"] = inner
    return inner


# ---------------------------------------------------------------------------------------------
# Applying a change set to ARM dicts
# ---------------------------------------------------------------------------------------------
def apply_changes(base: Sequence[Json], changes: ChangeSet) -> list[Json]:
    """The after-state as ARM dicts: ``base`` (not modified) + ``changes``."""
    top: dict[str, Json] = {}
    loose: list[Json] = []
    for original in base:
        body = copy.deepcopy(original)
        rid = body.get("id")
        if isinstance(rid, str) and _type_of(body) in _FOLDED_CHILDREN:
            loose.append(body)
        elif isinstance(rid, str):
            top[_fold(rid)] = body
        else:
            loose.append(body)
    # children given on their own in the base are folded into their parents first
    for body in list(loose):
        if isinstance(body.get("id"), str) and _put_child(top, body):
            loose.remove(body)
    for rid in changes.deletes:
        key = _fold(rid)
        if key in top:
            del top[key]
            continue
        parent = top.get(_fold(_parent_id(rid)))
        if parent is not None:
            for arr_key in _CHILD_KEYS:
                array = _props(parent).get(arr_key)
                if isinstance(array, list):
                    array[:] = [c for c in array if not (isinstance(c, dict) and _same(c, rid))]
    for upsert in changes.upserts:
        body = {k: v for k, v in copy.deepcopy(upsert).items() if not k.startswith("_vnetdoctor")}
        rid = body.get("id")
        if not isinstance(rid, str):
            continue
        if _type_of(body) in _FOLDED_CHILDREN:
            if not _put_child(top, body):
                loose.append(body)
            continue
        key = _fold(rid)
        old = top.get(key)
        top[key] = body if old is None else _merge_top(old, body)
    for patch in changes.patches:
        target = _find(top, patch.target)
        if target is None:
            continue
        props = _props(target)
        if patch.value is None:
            props.pop(patch.key, None)
        elif patch.append:
            items = props.get(patch.key)
            if not isinstance(items, list):
                items = []
                props[patch.key] = items
            if not any(isinstance(i, dict) and i == patch.value for i in items):
                items.append(patch.value)
        else:
            props[patch.key] = patch.value
    return [*top.values(), *loose]


def _same(obj: Json, rid: str) -> bool:
    value = obj.get("id")
    return isinstance(value, str) and _fold(value) == _fold(rid)


def _merge_top(old: Json, new: Json) -> Json:
    """An update keeps what the new body does not say (Azure's read-modify-write)."""
    merged = {**old, **{k: v for k, v in new.items() if k != "properties"}}
    old_props = old.get("properties") if isinstance(old.get("properties"), dict) else {}
    new_props = new.get("properties") if isinstance(new.get("properties"), dict) else {}
    props = dict(old_props or {})
    for key, value in (new_props or {}).items():
        if key == "subnets" and isinstance(value, list) and isinstance(props.get(key), list):
            # inline subnets: TF overwrites only the configured fields of each subnet
            by_name = {
                str(s.get("name", "")).casefold(): s for s in props[key] if isinstance(s, dict)
            }
            out = []
            for item in value:
                prior = by_name.get(str(item.get("name", "")).casefold())
                if isinstance(prior, dict) and isinstance(item, dict):
                    out.append(
                        {
                            **prior,
                            **item,
                            "properties": {**_get_props(prior), **_get_props(item)},
                        }
                    )
                else:
                    out.append(item)
            props[key] = out
        else:
            props[key] = value
    merged["properties"] = props
    return merged


def _get_props(obj: Json) -> Json:
    inner = obj.get("properties")
    return inner if isinstance(inner, dict) else {}


def _put_child(top: dict[str, Json], body: Json) -> bool:
    parent_type, arr_key = _FOLDED_CHILDREN[_type_of(body)]
    rid = str(body["id"])
    parent = top.get(_fold(_parent_id(rid)))
    if parent is None or _type_of(parent) != parent_type:
        return False
    array = _props(parent).get(arr_key)
    if not isinstance(array, list):
        array = []
        _props(parent)[arr_key] = array
    for i, existing in enumerate(array):
        if isinstance(existing, dict) and _same(existing, rid):
            if arr_key == "subnets":
                # a subnet update keeps associations and IP configurations
                body = {
                    **existing,
                    **body,
                    "properties": {**_get_props(existing), **_get_props(body)},
                }
            array[i] = body
            return True
    array.append(body)
    return True


def _find(top: dict[str, Json], rid: str) -> Json | None:
    found = top.get(_fold(rid))
    if found is not None:
        return found
    parent = top.get(_fold(_parent_id(rid)))
    if parent is None:
        return None
    for arr_key in _CHILD_KEYS:
        array = _props(parent).get(arr_key)
        if isinstance(array, list):
            for child in array:
                if isinstance(child, dict) and _same(child, rid):
                    return child
    return None


__all__ = ["ChangeSet", "Json", "Patch", "apply_changes", "unknown_marker"]
