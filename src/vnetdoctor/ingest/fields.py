"""Typed, forgiving reads of ARM JSON fields.

Every read either returns a well-typed value or records an ingest warning that names the resource,
the field and the value, and returns ``None``: a bad value never crashes the load and never passes
silently. ARM bodies come nested (``{"properties": {...}}``) or flattened (the az CLI prints most
network objects with their properties lifted to the top level); :func:`props` accepts both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from vnetdoctor.model.ids import ResourceId, fold
from vnetdoctor.model.warnings import IngestWarning, WarningKind

T = TypeVar("T")

Json = Mapping[str, Any]


class Reader:
    """Reads the fields of one input file and collects warnings; interns resource ids.

    Interning matters at scale: an NSG id is referenced by thousands of NICs and subnets, and one
    shared :class:`ResourceId` per id keeps a 10,000-VM snapshot small.
    """

    __slots__ = ("_ids", "path", "warnings")

    def __init__(self, path: str | None, warnings: list[IngestWarning], ids: dict[str, ResourceId]):
        self.path = path
        self.warnings = warnings
        self._ids = ids

    # -- warnings ---------------------------------------------------------------------------------
    def warn(
        self,
        kind: WarningKind,
        message: str,
        *,
        resource: object = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.warnings.append(
            IngestWarning.of(
                kind,
                message,
                resource=None if resource is None else str(resource),
                field=field,
                value=value,
                path=self.path,
            )
        )

    def bad(self, owner: object, field: str, value: object, why: str) -> None:
        self.warn(WarningKind.UNPARSED_VALUE, why, resource=owner, field=field, value=value)

    # -- ids --------------------------------------------------------------------------------------
    def rid(self, text: str) -> ResourceId:
        key = fold(text.strip().rstrip("/"))
        found = self._ids.get(key)
        if found is None:
            found = ResourceId(text)
            self._ids[key] = found
        return found

    # -- scalar reads -----------------------------------------------------------------------------
    def str_(self, obj: Json, key: str, owner: object) -> str | None:
        value = obj.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        self.bad(owner, key, value, "expected a string")
        return None

    def bool_(self, obj: Json, key: str, owner: object, default: bool = False) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.casefold() in {"true", "false"}:
            return value.casefold() == "true"
        self.bad(owner, key, value, f"expected true or false; assuming {str(default).lower()}")
        return default

    def opt_bool(self, obj: Json, key: str, owner: object) -> bool | None:
        value = obj.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.casefold() in {"true", "false"}:
            return value.casefold() == "true"
        self.bad(owner, key, value, "expected true or false")
        return None

    def int_(self, obj: Json, key: str, owner: object) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        self.bad(owner, key, value, "expected an integer")
        return None

    def list_(self, obj: Json, key: str, owner: object) -> list[Any]:
        value = obj.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.bad(owner, key, value, "expected a list")
        return []

    def dict_(self, obj: Json, key: str, owner: object) -> Json:
        value = obj.get(key)
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self.bad(owner, key, value, "expected an object")
        return {}

    def strs(self, obj: Json, key: str, owner: object) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(self.list_(obj, key, owner)):
            if isinstance(item, str):
                out.append(item)
            else:
                self.bad(owner, f"{key}[{i}]", item, "expected a string")
        return tuple(out)

    # -- references -------------------------------------------------------------------------------
    def ref(self, obj: Json, key: str, owner: object) -> ResourceId | None:
        """``{"id": "..."}`` (or a bare id string, as some exports write it) -> ResourceId."""
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get("id")
            if value is None:
                return None
        if isinstance(value, str) and value.strip():
            return self.rid(value)
        self.bad(owner, key, value, 'expected a reference {"id": "..."}')
        return None

    def refs(self, obj: Json, key: str, owner: object) -> tuple[ResourceId, ...]:
        out = []
        for i, item in enumerate(self.list_(obj, key, owner)):
            value = item.get("id") if isinstance(item, dict) else item
            if isinstance(value, str) and value.strip():
                out.append(self.rid(value))
            else:
                self.bad(owner, f"{key}[{i}]", item, 'expected a reference {"id": "..."}')
        return tuple(out)

    def parsed(
        self,
        value: object,
        parse: Callable[[str], T],
        owner: object,
        field: str,
        problems: list[str],
    ) -> T | None:
        """Parse with ``parse``; on failure warn, note ``field`` as a problem, return None.

        A JSON number written as a float is read as Azure reads it: ``1e2`` or ``100.0`` is 100;
        one with a fraction (``100.5``, ``NaN``) is refused."""
        if isinstance(value, float):
            if not value.is_integer():
                self.bad(owner, field, value, "a number with a fraction where an integer belongs")
                problems.append(field)
                return None
            value = int(value)
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.bad(owner, field, value, "expected a string")
            problems.append(field)
            return None
        try:
            return parse(value if isinstance(value, str) else str(value))
        except ValueError as exc:
            self.bad(owner, field, value, str(exc))
            problems.append(field)
            return None


def props(obj: Json) -> Json:
    """The properties of an ARM object, nested or flattened."""
    inner = obj.get("properties")
    return inner if isinstance(inner, dict) else obj
