"""ARM/Bicep deployment what-if results -> a :class:`ChangeSet`.

Accepts the REST envelope (``{"status", "properties": {"changes": [...]}}``), the az CLI's flattened
``--no-pretty-print`` form (``{"status", "changes": [...]}``) and a REST-spec example document
(``{"responses": {"200": {"body": ...}}}``). ``Create``/``Modify``/``NoChange`` put ``after``;
``Delete`` removes; ``Ignore`` keeps the current copy; ``Deploy``, ``Unsupported`` and
``potentialChanges`` are warnings naming the resource id (the current copy is kept, and the warning
says the after-state of that resource is unknown). Template expressions left in strings
(``"[reference(...)]"``) become the unknown marker.
"""

from __future__ import annotations

import re
from typing import Any, Final

from vnetdoctor.ingest.changeset import ChangeSet, unknown_marker
from vnetdoctor.model.warnings import IngestWarning, WarningKind

Json = dict[str, Any]
_EXPRESSION: Final = re.compile(r"^\[(?!\[).*\]$", re.DOTALL)


def _get(obj: Json, key: str) -> Any:
    """Case-insensitive key lookup (PowerShell and the CLI differ in casing)."""
    if key in obj:
        return obj[key]
    folded = key.casefold()
    for k, v in obj.items():
        if isinstance(k, str) and k.casefold() == folded:
            return v
    return None


def _result(doc: Json) -> Json:
    responses = _get(doc, "responses")
    if isinstance(responses, dict):
        ok = responses.get("200")
        if isinstance(ok, dict) and isinstance(ok.get("body"), dict):
            body: Json = ok["body"]
            return body
    return doc


def find_changes(doc: Json) -> list[Any] | None:
    """The ``changes`` list of a what-if result in any accepted envelope, else None."""
    result = _result(doc)
    props = _get(result, "properties")
    inner = _get(props, "changes") if isinstance(props, dict) else None
    top = _get(result, "changes")
    if isinstance(inner, list):
        return inner
    if isinstance(top, list) and (
        "status" in result
        or "potentialChanges" in result
        or all(isinstance(c, dict) and "changeType" in c for c in top)
    ):
        return top
    return None


def _unresolved(value: Any, rid: str, path: str) -> Any:
    if isinstance(value, str) and _EXPRESSION.match(value.strip()):
        return unknown_marker(rid, path)
    if isinstance(value, dict):
        return {k: _unresolved(v, rid, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_unresolved(v, rid, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def changes_from_whatif(doc: Json, *, source: str = "<what-if>") -> ChangeSet:
    out = ChangeSet(source=source, kind="whatif")

    def warn(
        kind: WarningKind,
        message: str,
        resource: str,
        field: str | None = None,
        value: object = None,
    ) -> None:
        out.warnings.append(
            IngestWarning.of(
                kind, message, resource=resource, field=field, value=value, path=source
            )
        )

    result = _result(doc)
    props = _get(result, "properties")
    if (
        isinstance(props, dict)
        and isinstance(_get(props, "changes"), list)
        and isinstance(_get(result, "changes"), list)
    ):
        warn(
            WarningKind.SKIPPED_INPUT,
            "both properties.changes and changes are present; properties.changes is used",
            "changes",
        )
    status = _get(result, "status")
    if isinstance(status, str) and status.casefold() not in ("succeeded", ""):
        warn(
            WarningKind.SKIPPED_INPUT,
            f"what-if status is {status!r}; results may be partial",
            "status",
            value=status,
        )
    error = _get(result, "error")
    if isinstance(error, dict) and error:
        warn(
            WarningKind.SKIPPED_INPUT,
            f"what-if reported an error: {_get(error, 'message')}",
            "error",
        )
    changes = find_changes(doc) or []
    holder = props if isinstance(props, dict) else result
    potential = _get(holder, "potentialChanges")
    for i, change in enumerate(potential if isinstance(potential, list) else []):
        rid = _get(change, "resourceId") if isinstance(change, dict) else None
        warn(
            WarningKind.MISSING_FIELD,
            "potential change (what-if could not tell whether it happens); this resource's "
            "after-state is unknown",
            str(rid or f"potentialChanges[{i}]"),
        )
    for i, change in enumerate(changes):
        if not isinstance(change, dict):
            warn(WarningKind.UNPARSED_VALUE, "change is not an object", f"changes[{i}]")
            continue
        rid = _get(change, "resourceId")
        label = rid if isinstance(rid, str) and rid else f"changes[{i}]"
        kind = str(_get(change, "changeType") or "").casefold()
        after = _get(change, "after")
        if kind in ("create", "modify", "nochange"):
            if not isinstance(after, dict):
                warn(
                    WarningKind.MISSING_FIELD,
                    f"{_get(change, 'changeType')} without an after payload (ResourceIdOnly "
                    "result?); this resource's after-state is unknown",
                    label,
                    "after",
                )
                continue
            body = {k: v for k, v in after.items() if k != "apiVersion"}
            if not isinstance(body.get("id"), str) and isinstance(rid, str):
                body["id"] = rid
            body = _unresolved(body, label, "")
            if kind == "nochange":
                body["_vnetdoctor_noop"] = True
            out.upserts.append(body)
        elif kind == "delete":
            if isinstance(rid, str) and rid:
                out.deletes.append(rid)
        elif kind == "ignore":
            continue
        elif kind == "unsupported":
            reason = _get(change, "unsupportedReason")
            warn(
                WarningKind.UNSUPPORTED_TYPE,
                f"what-if cannot evaluate this resource ({reason or 'no reason given'}); "
                "its after-state is unknown and the current copy is kept",
                label,
                "changeType",
                "Unsupported",
            )
        elif kind == "deploy":
            warn(
                WarningKind.MISSING_FIELD,
                "Deploy without payload (ask for --result-format FullResourcePayloads); "
                "its after-state is unknown and the current copy is kept",
                label,
                "changeType",
                "Deploy",
            )
        else:
            warn(
                WarningKind.UNPARSED_VALUE,
                "unknown changeType; the change is ignored",
                label,
                "changeType",
                _get(change, "changeType"),
            )
    return out


__all__ = ["changes_from_whatif", "find_changes"]
