"""The snapshot file ``vnetdoctor collect`` writes, and how it is written.

Shape (what :func:`vnetdoctor.load_snapshot` reads as an ARM list response, ``{"value": [...]}``;
the loader ignores the ``vnetdoctor`` member)::

    {
      "value": [ <Resource Graph rows, sorted by id: id, name, type, kind, location,
                  resourceGroup, subscriptionId, tags, sku, zones, properties>,
                 <then one envelope per VNet read, sorted by VNet id:
                  {"type": "vnetdoctor/effectiveSecurityAdminRules", "virtualNetworkId": "...",
                   "value": [...]}, or "error": {...} instead of "value" when Azure refused> ],
      "vnetdoctor": {
        "schema": "vnetdoctor.collection/1",
        "tool": "vnetdoctor 0.1.0",
        "collectedAt": "2026-11-26T10:58:00Z",
        "scope": {"mode": "scope" | "pair", "subscriptions": [...], "resourceGroups": [...],
                  "source": "...", "destination": "...", "effective": true},
        "warnings": [{"code": "SUBSCRIPTION_UNREADABLE", "message": "...",
                      "subscription": "...", "resource": "..."}],
        "effective": {"<NIC id>": {"effectiveRouteTable": {"value": [...]},
                                   "effectiveNetworkSecurityGroups": {"value": [...]}}},
        "counts": {"<type>": n},
        "redactedFields": 0
      }
    }

The envelopes hold Azure's ``listNetworkManagerEffectiveSecurityAdminRules`` answer for each VNet
(every page's ``value``, concatenated, verbatim); see :mod:`vnetdoctor.model.network_manager`.
``effective`` holds Azure's own answers, exactly as the REST API returns them (the shapes of
``az network nic show-effective-route-table`` / ``list-effective-nsg``); a NIC whose call failed
is absent and a warning says why. Secret-bearing fields (a VPN connection's ``sharedKey``, ...) are
removed before anything is written. The file is written to a temporary file in the same folder,
flushed to disk, then renamed over the target, so a crash never leaves half a file.

The ``vnetdoctor`` member's schema, its warning codes and how they become ingest warnings are in
:mod:`vnetdoctor.ingest.collected` (the loader reads them; re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec

from vnetdoctor.errors import InputError
from vnetdoctor.ingest.collected import (
    META_KEY,
    SCHEMA,
    WARNING_CODES,
    CollectionWarning,
    collection_meta,
    collection_warnings,
    ingest_warnings,
)
from vnetdoctor.outfile import write_output

# Keys whose values are secrets wherever they appear (compared case-insensitively). ARM returns
# some of them on GET (a connection's sharedKey); none is needed to diagnose connectivity.
SECRET_KEYS: Final = frozenset(
    k.casefold()
    for k in (
        "sharedKey",
        "authorizationKey",
        "adminPassword",
        "customData",
        "userData",
        "protectedSettings",
        "radiusServerSecret",
        "clientSecret",
        "password",
        "secret",
        "primaryKey",
        "secondaryKey",
        "connectionString",
        "sasToken",
        "sasUrl",
        "privateKey",
        "keyVaultSecretId",
    )
)


def redact_secrets(obj: Any) -> int:
    """Remove secret-bearing keys everywhere in ``obj`` (in place); return how many."""
    removed = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, MutableMapping):
            for key in [k for k in item if isinstance(k, str) and k.casefold() in SECRET_KEYS]:
                del item[key]
                removed += 1
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return removed


def _sort_key(row: Mapping[str, Any]) -> str:
    return str(row.get("id", "")).upper().casefold()


def _envelope_key(envelope: Mapping[str, Any]) -> str:
    return str(envelope.get("virtualNetworkId", "")).upper().casefold()


def build_document(
    rows: Iterable[MutableMapping[str, Any]],
    *,
    scope: Mapping[str, Any],
    warnings: Iterable[CollectionWarning] = (),
    effective: Mapping[str, Mapping[str, Any]] | None = None,
    admin_rules: Iterable[MutableMapping[str, Any]] = (),
    collected_at: datetime | None = None,
) -> dict[str, Any]:
    """The snapshot document: rows sorted by id, then the VNets' effective security admin rules
    envelopes (not resources: not counted), secrets removed, collection metadata."""
    from vnetdoctor import __version__

    value = sorted(rows, key=_sort_key)
    envelopes = sorted(admin_rules, key=_envelope_key)
    answers = effective or {}
    effective_sorted = {k: dict(answers[k]) for k in sorted(answers, key=str.casefold)}
    redacted = (
        redact_secrets(value) + redact_secrets(envelopes) + redact_secrets(effective_sorted)
    )
    counts: dict[str, int] = {}
    for row in value:
        kind = str(row.get("type", "")).casefold()
        counts[kind] = counts.get(kind, 0) + 1
    when = (collected_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "value": [*value, *envelopes],
        META_KEY: {
            "schema": SCHEMA,
            "tool": f"vnetdoctor {__version__}",
            "collectedAt": when,
            "scope": dict(scope),
            "warnings": [msgspec.to_builtins(w) for w in sorted(set(warnings))],
            "effective": effective_sorted,
            "counts": dict(sorted(counts.items())),
            "redactedFields": redacted,
        },
    }


def encode_document(document: Mapping[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(document), indent=1) + b"\n"


def check_writable(path: Path) -> None:
    """Fail early (before minutes of collection) when ``path`` cannot be written."""
    parent = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise InputError("is a folder; give a file name for the snapshot", path=str(path))
    if not parent.is_dir():
        raise InputError("folder does not exist", path=str(parent))
    if not os.access(parent, os.W_OK):
        raise InputError("folder is not writable", path=str(parent))


def write_document(document: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write atomically through :mod:`vnetdoctor.outfile`, readable by its owner only (it maps
    the whole network estate)."""
    target = Path(path)
    check_writable(target)
    write_output(target, encode_document(document), private=True)
    return target


__all__ = [
    "META_KEY",
    "SCHEMA",
    "SECRET_KEYS",
    "WARNING_CODES",
    "CollectionWarning",
    "build_document",
    "check_writable",
    "collection_meta",
    "collection_warnings",
    "encode_document",
    "ingest_warnings",
    "redact_secrets",
    "write_document",
]
