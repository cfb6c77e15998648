"""An exact pre-filter for :func:`~vnetdoctor.flowlogs.api.pair_evidence`: files that cannot
hold a tuple sent by the source address are not handed to the engine.

In Azure's layout a blob is one NIC's (NSG flow logs: one NSG's) hour, and most blobs never see
a given address. Every part of diagnose's question (denied flows from the source to the
destination, the source's concurrent flows to it, the tuples sent by the source) keeps only
well-formed tuples whose source field is the source address, so a file matters only when it
holds that address as a tuple's second field. A file is skipped when two things hold:

**It cannot hold the address.** A tuple's fields are separated by commas, and the source field
(the second) has a comma on both sides, so the raw bytes (decompressed for ``.gz``) must contain
``,<address>,``: the delimiters also keep ``10.0.0.1`` from matching ``10.0.0.10``. When they do,
a regular expression checks that one such occurrence follows a string's opening quote and a
timestamp (``"<digits>,<address>,``), the place of a source field: a blob that holds the address
only as a destination is skipped too (the timestamp of a tuple the engines accept is a canonical
integer, possibly negative; anything else makes the tuple malformed, never the pair's). The engines
compare IPv4 addresses as written (``010.0.0.1`` is another address to them, never the
pair's) and IPv6 addresses lower-cased in the compressed or the exploded spelling; the search
uses the same spellings, case-insensitively for IPv6 (a file with non-ASCII bytes is never
skipped for an IPv6 address: no search on ASCII case rules then). The only other way JSON can
spell those characters is a ``\\u`` escape: a file that contains ``\\u`` is never skipped.

**Parsing it would give no warning.** The engines count malformed tuples (wrong field count,
timestamps and ports not in canonical decimal spelling, unknown direction or decision codes),
records of unknown versions and unparsable JSON per file and warn about them; skipping a file
must not lose those. A candidate is skipped only when it is *proven clean*: its whole text
matches a strict grammar (:data:`CLEAN_BLOB`) of Azure's ``{"records": [...]}`` blob in Azure's
own key order (VNet flow logs version 4, NSG flow logs version 2), printable ASCII strings with
no escapes, no duplicate keys, and every flow tuple in canonical form with 13 fields, ports
0-65535, direction ``I``/``O`` and a known state or decision. Such a file parses, and every tuple
in it is ``ok``: the full scan would warn about nothing in it. Any other file (pretty-printed
blobs pass; other key orders, one record per line, version 1, anything odd) is read as before.
The grammar runs as one RE2 full match per file in DuckDB (about as fast as ``json.load``, on
both cores); without DuckDB no file is proven clean and nothing is skipped.
"""

from __future__ import annotations

import gzip
import ipaddress
import mmap
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from vnetdoctor.flowlogs.discovery import Form, SourceFile, is_gzip

# --- the clean-blob grammar (RE2 syntax) ----------------------------------------------------

_WS: Final = r"[ \t\n\r]*"
_STR: Final = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'  # printable ASCII, no quote, no backslash
_FIELD: Final = r"[\x20\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]*"  # the same without a comma
_TS: Final = r"(?:0|[1-9][0-9]{0,17})"  # canonical, fits a BIGINT
_PORT: Final = (r"(?:[0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}"
                r"|655[0-2][0-9]|6553[0-5])")


def _tuple(decision: str) -> str:
    f = _FIELD
    return f'"{_TS},{f},{f},{_PORT},{_PORT},{f},[IO],{decision},{f},{f},{f},{f},{f}"'


def _array(item: str) -> str:
    return rf"\[{_WS}(?:{item}(?:{_WS},{_WS}{item})*)?{_WS}\]"


def _object(*members: tuple[str, str]) -> str:
    """An object with exactly these members, in this order."""
    body = f"{_WS},{_WS}".join(f'"{key}"{_WS}:{_WS}{value}' for key, value in members)
    return rf"\{{{_WS}{body}{_WS}\}}"


_V4_GROUP: Final = _object(("rule", _STR), ("flowTuples", _array(_tuple("[BCED]"))))
_V4_FLOW: Final = _object(("aclID", _STR), ("flowGroups", _array(_V4_GROUP)))
_V4_RECORD: Final = _object(
    ("time", _STR), ("flowLogVersion", "4"), ("flowLogGUID", _STR), ("macAddress", _STR),
    ("category", _STR), ("flowLogResourceID", _STR), ("targetResourceID", _STR),
    ("operationName", _STR), ("flowRecords", _object(("flows", _array(_V4_FLOW)))),
)
_V2_MAC: Final = _object(("mac", _STR), ("flowTuples", _array(_tuple("[AD]"))))
_V2_RULE: Final = _object(("rule", _STR), ("flows", _array(_V2_MAC)))
_V2_RECORD: Final = _object(
    ("time", _STR), ("systemId", _STR), ("macAddress", _STR), ("category", _STR),
    ("resourceId", _STR), ("operationName", _STR),
    ("properties", _object(("Version", "2"), ("flows", _array(_V2_RULE)))),
)
CLEAN_BLOB: Final = (_WS + _object(("records", _array(f"(?:{_V4_RECORD}|{_V2_RECORD})")))
                     + _WS)
"""A blob every engine parses without a single warning (see the module's text)."""


# --- the address search ----------------------------------------------------------------------

@dataclass(frozen=True)
class Needle:
    """What a file must contain to hold a tuple sent by ``address``."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    patterns: tuple[bytes, ...] = field(init=False)
    fold_case: bool = field(init=False)
    as_source: re.Pattern[bytes] = field(init=False)

    def __post_init__(self) -> None:
        spellings = {str(self.address)}
        if isinstance(self.address, ipaddress.IPv6Address):
            spellings.add(self.address.exploded)
        patterns = tuple(sorted(b"," + s.lower().encode("ascii") + b"," for s in spellings))
        object.__setattr__(self, "patterns", patterns)
        object.__setattr__(self, "fold_case", isinstance(self.address, ipaddress.IPv6Address))
        # in a tuple the source field follows the opening quote and the timestamp
        object.__setattr__(self, "as_source", re.compile(
            b'"-?[0-9]+(?:' + b"|".join(re.escape(p) for p in patterns) + b")"))

    def may_hold(self, data: bytes | mmap.mmap) -> bool:
        """Whether ``data`` (the JSON text of a file) may hold a tuple sent by the address."""
        if data.find(b"\\") >= 0 and data.find(b"\\u") >= 0:  # one memchr first: cheap
            return True
        if self.fold_case:
            raw = bytes(data)
            if not raw.isascii():
                return True
            data = raw.lower()
        if all(data.find(p) < 0 for p in self.patterns):
            return False
        return self.as_source.search(data) is not None


def read_json_bytes(file: SourceFile) -> bytes | None:
    """The JSON text of a file (decompressed for ``.gz``); None when it cannot be read now."""
    try:
        if is_gzip(file.path):
            with gzip.open(file.path, "rb") as fh:
                return fh.read()
        with open(file.path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError, zlib.error):
        return None


def search_file(file: SourceFile, needle: Needle) -> tuple[bool, bytes | None]:
    """Whether the file may hold the needle, and the decompressed text of a ``.gz`` (which the
    proof needs; a plain file is mapped, not copied)."""
    if is_gzip(file.path):
        data = read_json_bytes(file)
        if data is None or not data.isascii():  # the grammar is ASCII: no proof possible
            return True, None
        return needle.may_hold(data), data
    try:
        with open(file.path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return needle.may_hold(m), None
    except (OSError, ValueError):
        return True, None


# --- the split -------------------------------------------------------------------------------

@dataclass
class Split:
    """The files to parse, and those skipped because they cannot hold the source's tuples."""

    read: list[SourceFile]
    skipped: list[SourceFile]
    candidates: int = 0  # files without the address (skipped only when proven clean)


def split(files: Sequence[SourceFile],
          address: ipaddress.IPv4Address | ipaddress.IPv6Address,
          proofs: Proofs | None = None) -> Split:
    """Which of ``files`` the engine must parse for tuples sent by ``address``. ``proofs``: the
    proofs kept for these logs by their reader (none kept beyond this call without it)."""
    needle = Needle(address)
    read: list[SourceFile] = []
    candidates: list[tuple[SourceFile, bytes | None]] = []
    for file in files:
        if file.form is not Form.DOCUMENT:
            read.append(file)
            continue
        may, data = search_file(file, needle)
        if may:
            read.append(file)
        else:
            candidates.append((file, data))
    clean = (Proofs() if proofs is None else proofs).clean(candidates)
    skipped = [f for f, _ in candidates if f.path in clean]
    read.extend(f for f, _ in candidates if f.path not in clean)
    order = {f.path: i for i, f in enumerate(files)}
    read.sort(key=lambda f: order[f.path])
    return Split(read=read, skipped=skipped, candidates=len(candidates))


_MAX_PROOFS: Final = 200_000


class Proofs:
    """Which flow-log files were proven clean, by path, size and modification time.

    Kept by whoever reads one set of logs many times (diagnose of several pairs on the same
    logs), so that a second question does not prove the same blobs again, and dropped with it.
    A blob still being written changes size and time, and is proven again. At most ``limit``
    files are remembered; past that, the proofs start over.
    """

    def __init__(self, limit: int = _MAX_PROOFS) -> None:
        self.limit = limit
        self._known: dict[tuple[str, int, int], bool] = {}

    def __len__(self) -> int:
        return len(self._known)

    def forget(self) -> None:
        """Drop the remembered proofs."""
        self._known.clear()

    def clean(self, files: Sequence[tuple[SourceFile, bytes | None]]) -> set[str]:
        """The paths of ``files`` proven clean: remembered, or proven now (:func:`proven_clean`)."""
        def key(f: SourceFile) -> tuple[str, int, int]:
            return (f.path, f.size, f.mtime_ns)

        known = self._known
        unknown = [(f, data) for f, data in files if key(f) not in known]
        if unknown:
            clean = proven_clean(unknown)
            if len(known) + len(unknown) > self.limit:
                known.clear()
            for f, _ in unknown:
                known[key(f)] = f.path in clean
        return {f.path for f, _ in files if known.get(key(f), False)}


def proven_clean(files: Sequence[tuple[SourceFile, bytes | None]]) -> set[str]:
    """The paths whose text matches :data:`CLEAN_BLOB` (``bytes``: the decompressed text of a
    ``.gz``, None for a plain file DuckDB reads itself). Empty without DuckDB or on any error."""
    if not files:
        return set()
    try:
        import duckdb
    except ImportError:
        return set()
    con: Any = duckdb.connect(":memory:")
    try:
        clean: set[str] = set()
        plain = [f.path for f, data in files if data is None]
        if plain:
            listed = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in plain) + "]"
            rows = con.execute(
                f"SELECT filename FROM read_text({listed}) "  # noqa: S608
                "WHERE regexp_full_match(content, $1)", [CLEAN_BLOB]).fetchall()
            clean.update(str(row[0]) for row in rows)
        for f, data in files:
            if data is not None and con.execute(
                    "SELECT regexp_full_match($1, $2)",
                    [data.decode("ascii"), CLEAN_BLOB]).fetchone()[0]:
                clean.add(f.path)
        return clean & {f.path for f, _ in files}
    except (duckdb.Error, UnicodeDecodeError):
        return set()
    finally:
        con.close()
