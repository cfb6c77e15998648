"""Snapshot documents on disk: which files a path names, their bytes, their JSON, and the list of
resources inside whichever top-level shape they have.

Shared by the loader and by what reads a plan or a base snapshot beside it (preflight,
``vnetdoctor diff``), so every reader accepts the same files and fails with the same one-line
errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path
from typing import Any, Final

import msgspec

from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.ingest import arm
from vnetdoctor.model.warnings import IngestWarning, WarningKind

PathArg = str | PathLike[str]
SNAPSHOT_SUFFIXES: Final = (".json", ".xml")
# By convention a `guest/` folder beside the configuration holds guest evidence (read with
# `diagnose --guest`), not ARM resources, so folder loading does not descend into it.
GUEST_FOLDER: Final = "guest"
# JSON this deep is no export: Python's parsers give up near 1,000 levels (the recursion limit).
NESTED_TOO_DEEP: Final = "malformed JSON: nested too deeply (1,000 levels or more)"
_ENCODE_INTO: Final = msgspec.json.Encoder().encode_into
_BYTE_OFFSET = re.compile(r"\(byte (\d+)\)")


def expand(items: Iterable[PathArg]) -> Iterator[tuple[Path, bool]]:
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SNAPSHOT_SUFFIXES
                and not any(
                    part.startswith(".") or part.casefold() == GUEST_FOLDER
                    for part in p.relative_to(path).parts
                )
            )
            if not found:
                raise SnapshotParseError("folder holds no .json or .xml files", path=str(path))
            yield from ((p, False) for p in found)
        elif path.is_file():
            yield path, True
        elif path.exists():
            raise SnapshotParseError("not a regular file or folder", path=str(path))
        else:
            raise SnapshotParseError("no such file or folder", path=str(path))


def read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotParseError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows PowerShell 5 redirects `az ... > file` as UTF-16.
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeError:
            raise SnapshotParseError("unreadable UTF-16 text", path=str(path)) from None
    return data


def decode_json(data: bytes, path: str) -> Any:
    try:
        return msgspec.json.decode(data)
    except RecursionError:
        raise SnapshotParseError(NESTED_TOO_DEEP, path=path) from None
    except msgspec.DecodeError as exc:
        message = str(exc)
        line = None
        match = _BYTE_OFFSET.search(message)
        if match:
            line = data.count(b"\n", 0, int(match.group(1))) + 1
        if "truncated" in message.lower():
            message = "JSON ends early (truncated file?)"
        raise SnapshotParseError(f"malformed JSON: {message}", path=path, line=line) from None


def duplicate_keys(data: bytes, doc: Any, path: str) -> list[IngestWarning]:
    """A warning for each key given twice in one JSON object of ``data`` (decoded as ``doc``).

    The decoded value keeps the last one, as Azure's parser does, but an earlier value (a Deny
    overwritten by an Allow) must not vanish unseen. Cheap check first: a colon outside a string
    only ever follows a key, so without duplicates the input holds exactly as many colons as the
    compact re-encoding of what was decoded (escaped colons, rare, always take the slow path).
    Only when the counts differ is the file parsed again, pair by pair, to name the keys.
    """
    try:
        if b"\\u003" not in data and data.count(b":") == _colons(doc):
            return []
    except RecursionError:
        return []  # decodable, yet too deep to walk again: the readers refuse it anyway
    found: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                found.append((out, key))
            out[key] = value
        return out

    try:
        again = json.loads(data, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return []
    if not found:
        return []
    where = _locations(again)
    warnings = []
    for obj, key in found:
        resource, pointer = where.get(id(obj), (None, ""))
        warnings.append(
            IngestWarning.of(
                WarningKind.UNPARSED_VALUE,
                f"key {key!r} appears more than once in one JSON object; the last value is used",
                resource=resource,
                field=f"{pointer}/{key}".lstrip("/"),
                path=path,
            )
        )
    return warnings


def _colons(doc: Any) -> int:
    """Colons in the compact JSON of ``doc``, encoded one resource at a time into one buffer
    so that memory stays at the size of a resource, not of the file."""
    count = 0
    pieces: list[Any] = []
    for part in doc.values() if type(doc) is dict else (doc,):
        pieces.extend(part if type(part) is list else (part,))
    if type(doc) is dict:
        count += sum(1 + key.count(":") for key in doc)
    buffer = bytearray()
    for piece in pieces:
        _ENCODE_INTO(piece, buffer)
        count += buffer.count(b":")
    return count


def _locations(doc: Any) -> dict[int, tuple[str | None, str]]:
    """Each object's nearest enclosing resource id and its JSON pointer inside that resource."""
    out: dict[int, tuple[str | None, str]] = {}
    stack: list[tuple[Any, str | None, str]] = [(doc, None, "")]
    while stack:
        value, resource, pointer = stack.pop()
        if isinstance(value, dict):
            own = value.get("id")
            if isinstance(own, str) and ("type" in value or "properties" in value):
                resource, pointer = own, ""
            out[id(value)] = (resource, pointer)
            stack.extend((v, resource, f"{pointer}/{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, resource, f"{pointer}/{i}") for i, v in enumerate(value))
    return out


def resources_of(doc: Any, path: str) -> list[Any]:
    """The list of resources in any of the accepted top-level shapes."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise SnapshotParseError("top-level JSON must be an array or an object", path=path)
    if is_admin_rules_envelope(doc):
        return [doc]  # its `value` holds admin rules, not resources
    for key in ("value", "data"):
        inner = doc.get(key)
        if isinstance(inner, list):
            return inner
        if isinstance(inner, dict) and "rows" in inner and "columns" in inner:
            return table_rows(inner, path)
    if "rows" in doc and "columns" in doc:
        return table_rows(doc, path)
    if "id" in doc and ("type" in doc or "properties" in doc):
        return [doc]
    if "resources" in doc and ("$schema" in doc or "contentVersion" in doc):
        raise SnapshotParseError(
            "this is an ARM template, not resource state; export with `az resource list`, "
            "`az graph query` or `vnetdoctor collect`",
            path=path,
        )
    raise SnapshotParseError(
        'expected an array of ARM resources, {"value": [...]}, {"data": [...]} or one resource '
        f"object; found an object with keys {sorted(doc)[:8]}",
        path=path,
    )


def table_rows(table: dict[str, Any], path: str) -> list[Any]:
    """Resource Graph's table result format: column names plus rows of values."""
    columns = table.get("columns")
    rows = table.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise SnapshotParseError("Resource Graph table without columns/rows lists", path=path)
    names = [c.get("name") if isinstance(c, dict) else c for c in columns]
    if not all(isinstance(n, str) for n in names):
        raise SnapshotParseError("Resource Graph table with unnamed columns", path=path)
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise SnapshotParseError(
                f"Resource Graph row {i} does not match the columns", path=path
            )
        out.append(dict(zip(names, row, strict=True)))
    return out


def is_admin_rules_envelope(item: dict[str, Any]) -> bool:
    kind = item.get("type")
    return isinstance(kind, str) and kind.strip().casefold() == arm.ADMIN_RULES_ENVELOPE


__all__ = [
    "GUEST_FOLDER",
    "SNAPSHOT_SUFFIXES",
    "PathArg",
    "decode_json",
    "duplicate_keys",
    "expand",
    "is_admin_rules_envelope",
    "read",
    "resources_of",
    "table_rows",
]
