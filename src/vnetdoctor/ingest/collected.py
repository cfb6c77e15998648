"""The ``vnetdoctor`` member of a file ``vnetdoctor collect`` wrote, as the loader reads it.

What the collector could not read (a subscription it was refused, a NIC whose effective rules
failed) is written there as collection warnings; a snapshot built from the file carries them as
ingest warnings, so the gap stays visible. The whole file's shape and how it is written are in
:mod:`vnetdoctor.collect.document`, which builds on this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from vnetdoctor.model.warnings import IngestWarning, WarningKind

SCHEMA: Final = "vnetdoctor.collection/1"
META_KEY: Final = "vnetdoctor"


class CollectionWarning(msgspec.Struct, frozen=True, kw_only=True, order=True):
    """Something the collector could not read; the snapshot is complete except for it."""

    code: str
    message: str
    subscription: str | None = None
    resource: str | None = None


# Warning codes (stable): the ingest kind each becomes when a snapshot is built from the file.
WARNING_CODES: Final[Mapping[str, WarningKind]] = {
    "SUBSCRIPTION_UNREADABLE": WarningKind.SKIPPED_INPUT,  # 403 on a subscription
    "REFERENCE_UNREADABLE": WarningKind.SKIPPED_INPUT,  # a referenced resource could not be read
    "ENDPOINT_NOT_FOUND": WarningKind.SKIPPED_INPUT,  # diagnose --live: no VM/NIC matched
    "RESULT_TRUNCATED": WarningKind.SKIPPED_INPUT,  # Resource Graph truncated a result
    "POWER_STATE_UNKNOWN": WarningKind.MISSING_FIELD,  # no power state for a VM
    "EFFECTIVE_FORBIDDEN": WarningKind.SKIPPED_INPUT,  # --effective without the /action rights
    "EFFECTIVE_SKIPPED": WarningKind.SKIPPED_INPUT,  # NIC of a VM that is not running
    "EFFECTIVE_FAILED": WarningKind.SKIPPED_INPUT,  # Azure answered an error for one NIC
    "ADMIN_RULES_FORBIDDEN": WarningKind.SKIPPED_INPUT,  # 403 on a VNet's effective admin rules
    "ADMIN_RULES_FAILED": WarningKind.SKIPPED_INPUT,  # any other error for them
}


def collection_meta(document: Any) -> Mapping[str, Any] | None:
    """The ``vnetdoctor`` member of a snapshot document written by ``collect``, if any."""
    if isinstance(document, Mapping):
        meta = document.get(META_KEY)
        if isinstance(meta, Mapping) and meta.get("schema") == SCHEMA:
            return meta
    return None


def collection_warnings(document: Any) -> list[CollectionWarning]:
    meta = collection_meta(document)
    out = []
    for item in (meta or {}).get("warnings") or ():
        with contextlib.suppress(msgspec.ValidationError):
            out.append(msgspec.convert(item, CollectionWarning))
    return out


def ingest_warnings(document: Any, *, path: str | None = None) -> list[IngestWarning]:
    """The collection warnings of a document as the loader's ingest warnings (so that a snapshot
    built from the file says what the collector could not read)."""
    out = []
    for w in collection_warnings(document):
        kind = WARNING_CODES.get(w.code, WarningKind.SKIPPED_INPUT)
        resource = w.resource or (f"/subscriptions/{w.subscription}" if w.subscription else None)
        field = (
            "properties.extended.instanceView.powerState"
            if w.code == "POWER_STATE_UNKNOWN"
            else None
        )
        out.append(
            IngestWarning.of(
                kind, f"live collection: {w.message}", resource=resource, field=field, path=path
            )
        )
    return out


__all__ = [
    "META_KEY",
    "SCHEMA",
    "WARNING_CODES",
    "CollectionWarning",
    "collection_meta",
    "collection_warnings",
    "ingest_warnings",
]
