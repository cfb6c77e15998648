"""Finding flow-log files and checking them before an engine reads them.

``PATH`` arguments may be files, folders (searched recursively for ``*.json``, ``*.jsonl``,
``*.ndjson`` and ``*.log``, and the same gzip-compressed: ``*.json.gz``, ...) or globs
(``'logs/**/PT1H.json'``, quoted so that the shell leaves them alone). Azure's storage layout,
as ``azcopy`` or Storage Explorer download it, is understood::

    .../resourceId=/SUBSCRIPTIONS/.../NETWORKSECURITYGROUPS/<NSG>/y=2025/m=03/d=14/h=09/m=00/
        macAddress=<MAC>/PT1H.json
    .../flowLogResourceID=/.../FLOWLOGS/<NAME>/y=.../h=09/m=00/macAddress=<MAC>/PT1H.json

The ``y=/m=/d=/h=`` segments give the blob's hour, which lets ``--since``/``--until`` skip whole
blobs without reading them (with an hour's margin each side: a blob's first records carry tuples
from the previous minutes). The engines still filter every tuple by its own timestamp.

Each file is checked cheaply (its first line and last bytes) so that a broken file is skipped with
a warning instead of failing a whole query: empty files, files cut inside a JSON value
(``truncated``) and blobs whose records are complete but whose closing ``]}`` has not been written
yet (``incomplete``: the current hour, or a copy taken mid-write). The check also tells the form:
one JSON document (a blob, possibly pretty-printed), one value per line (Event Hubs, log
shippers), or a JSON array of records.

A gzip-compressed file (``.gz``: exports and archives often are) is checked on its content, which
means decompressing it once (at a few hundred MB/s): a gzip stream that ends early (a copy cut
short) or is corrupt is skipped with a ``truncated`` or ``unreadable`` warning naming the file,
as a JSON file cut short is; both engines decompress the files that pass.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import os
import re
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Final

import msgspec

from vnetdoctor.errors import UsageError
from vnetdoctor.flowlogs.model import FlowLogWarning, WarningKind

SUFFIXES: Final = frozenset({".json", ".jsonl", ".ndjson", ".log"})
GZIP_SUFFIX: Final = ".gz"
CACHE_MARKER: Final = ".vnetdoctor-flowlog-cache"
HOUR_MS: Final = 3_600_000
_GLOB_CHARS: Final = frozenset("*?[")
_CHUNK: Final = 1 << 16
_FIRST_LINE_LIMIT: Final = 1 << 28  # beyond 256 MB without a newline: one document
_WHITESPACE: Final = b" \t\r\n"
_BOM: Final = b"\xef\xbb\xbf"
_LAYOUT: Final = re.compile(
    r"[/\\]y=(?P<y>\d{4})[/\\]m=(?P<mo>\d{1,2})[/\\]d=(?P<d>\d{1,2})[/\\]h=(?P<h>\d{1,2})"
    r"(?:[/\\]m=(?P<mi>\d{1,2}))?"
)
_MAC: Final = re.compile(r"[/\\]macAddress=(?P<mac>[0-9A-Fa-f:-]+)")
_RECORDS_HEAD: Final = re.compile(rb'^\{\s*"records"\s*:')


class Form(StrEnum):
    """How the JSON values sit in a file."""

    DOCUMENT = "document"  # one value (a blob), possibly spanning lines
    LINES = "lines"  # one value per line
    ARRAY = "array"  # a JSON array of values


class SourceFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file that passed the checks. ``path`` is absolute; ``size`` is its size on disk;
    ``hour`` is the blob's hour in milliseconds since the epoch when the path follows Azure's
    layout; ``json_size`` is the size of the JSON inside a gzip-compressed file (None for a
    plain one: then it is ``size``)."""

    path: str
    size: int
    mtime_ns: int
    form: Form
    hour: int | None = None
    mac: str | None = None
    json_size: int | None = None

    @property
    def data_size(self) -> int:
        """Bytes of JSON the engine parses."""
        return self.size if self.json_size is None else self.json_size


def is_gzip(path: str) -> bool:
    return path.lower().endswith(GZIP_SUFFIX)


def is_log_name(name: str) -> bool:
    """Whether a file name is one a folder search picks up (``PT1H.json``, ``x.jsonl.gz``)."""
    lowered = name.lower()
    if lowered.endswith(GZIP_SUFFIX):
        lowered = lowered[: -len(GZIP_SUFFIX)]
    return os.path.splitext(lowered)[1] in SUFFIXES


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """The files to read, and what was skipped before reading."""

    files: tuple[SourceFile, ...]
    given: int
    pruned: int
    warnings: tuple[FlowLogWarning, ...]


def _has_glob(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


def _is_cache_dir(path: Path) -> bool:
    return (path / CACHE_MARKER).exists()


_Identity = tuple[int, int]


def _identity(path: str) -> _Identity | None:
    """A file's or folder's real identity (device, inode), following links; None if it cannot
    be stat'ed (a broken link: it is then known by its path and skipped later with a warning)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _walk(folder: Path, exclude: frozenset[str]) -> Iterable[str]:
    """The log files under ``folder``; links to folders are not followed (so nothing loops)."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and os.path.abspath(os.path.join(root, d)) not in exclude
            and not _is_cache_dir(Path(root, d))
        )
        for name in sorted(names):
            if not name.startswith(".") and is_log_name(name):
                yield os.path.join(root, name)


def _descendants(top: str) -> Iterator[tuple[str, bool]]:
    """Every non-hidden entry below ``top`` as ``(path, is_folder)``, as a ``**`` sees them.

    Links to folders are followed, but each folder is entered once by its identity: the real
    tree first, then the links' targets not seen yet (in order found). A link back into the tree
    (``latest -> y=2024/m=08/d=19``) or onto itself (``loop -> .``) adds nothing, and two links
    pointing at each other end.
    """
    top_id = _identity(top)
    visited: set[_Identity] = set() if top_id is None else {top_id}
    pending = deque([top])
    while pending:
        links: list[str] = []
        for root, dirs, names in os.walk(pending.popleft()):
            kept: list[str] = []
            for name in sorted(dirs):
                if name.startswith("."):
                    continue
                full = os.path.join(root, name)
                if os.path.islink(full):
                    links.append(full)
                    continue
                ident = _identity(full)
                if ident is None or ident in visited:
                    continue
                visited.add(ident)
                kept.append(name)
                yield full, True
            dirs[:] = kept
            for name in sorted(names):
                if not name.startswith("."):
                    yield os.path.join(root, name), False
        for link in links:
            ident = _identity(link)
            if ident is None or ident in visited:
                continue
            visited.add(ident)
            yield link, True
            pending.append(link)


def _glob(pattern: str) -> Iterator[str]:
    """The paths ``pattern`` matches, as :func:`glob.glob` with ``recursive=True`` gives them
    (``**`` is any number of folders, hidden names match only a pattern that starts with a dot),
    except that ``**`` never loops through links (see :func:`_descendants`)."""
    seps = os.sep + (os.altsep or "")
    parts = re.split(f"[{re.escape(seps)}]+", pattern)
    start = os.sep if pattern[:1] in seps else ""
    yield from _expand(start, [part for part in parts if part])


def _expand(folder: str, parts: list[str]) -> Iterator[str]:
    """The paths below ``folder`` ("" for the current one) that ``parts`` match."""
    if not parts:
        if folder:
            yield folder
        return
    part, rest = parts[0], parts[1:]
    here = folder or os.curdir
    if part == "**":
        yield from _expand(folder, rest)
        for path, is_folder in _descendants(here):
            shown = os.path.join(folder, os.path.relpath(path, here))
            if not rest:
                yield shown
            elif is_folder:
                yield from _expand(shown, rest)
        return
    if not _has_glob(part):
        if os.path.lexists(os.path.join(here, part)):
            yield from _expand(os.path.join(folder, part), rest)
        return
    try:
        names = sorted(os.listdir(here))
    except OSError:
        return
    for name in names:
        if name.startswith(".") and not part.startswith("."):
            continue
        if fnmatch.fnmatchcase(name, part):
            yield from _expand(os.path.join(folder, name), rest)


def _prefer_real(paths: list[str]) -> str:
    """Of several paths to one file, the first that goes through no link (its layout then gives
    the blob's hour), else the first."""
    for path in paths:
        if os.path.realpath(path) == path:
            return path
    return paths[0]


def expand_paths(paths: Sequence[str | os.PathLike[str]],
                 exclude: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
    """Absolute paths of the files that ``paths`` name, sorted, each file once.

    A file is counted once by its identity (device and inode), whichever paths, links or hard
    links reach it, so that a folder link inside a tree never doubles the flows.

    Raises :class:`~vnetdoctor.errors.UsageError` for a path that does not exist or a glob that
    matches nothing.
    """
    if not paths:
        raise UsageError("no flow-log path given: pass files, folders or globs")
    skip = frozenset(os.path.abspath(p) for p in exclude)
    found: dict[str, None] = {}
    for raw in paths:
        text = os.fspath(raw)
        path = Path(text)
        if path.is_dir():
            inside = list(_walk(path, skip))
            if not inside:
                raise UsageError(f"{text}: no flow-log files in the folder (looked for "
                                 f"{', '.join('*' + s for s in sorted(SUFFIXES))}, "
                                 f"and the same with {GZIP_SUFFIX})")
            for file in inside:
                found.setdefault(os.path.abspath(file), None)
        elif path.is_file():
            found.setdefault(os.path.abspath(path), None)
        elif _has_glob(text):
            files: list[str] = []
            for match in sorted(set(_glob(text))):
                if Path(match).is_dir():
                    files.extend(_walk(Path(match), skip))
                elif Path(match).is_file():
                    files.append(match)
            if not files:
                raise UsageError(f"{text}: the glob matches no files")
            for file in files:
                found.setdefault(os.path.abspath(file), None)
        else:
            raise UsageError(f"{text}: no such file or folder")
    by_identity: dict[_Identity | str, list[str]] = {}
    for file in found:
        by_identity.setdefault(_identity(file) or file, []).append(file)
    return sorted(_prefer_real(same) for same in by_identity.values())


def blob_hour(path: str) -> int | None:
    """The hour (ms since the epoch, UTC) that Azure's ``y=/m=/d=/h=`` layout gives a blob."""
    matches = list(_LAYOUT.finditer(path))
    if not matches:
        return None
    match = matches[-1]
    try:
        moment = datetime(int(match["y"]), int(match["mo"]), int(match["d"]), int(match["h"]),
                          tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) * 1000


def blob_mac(path: str) -> str | None:
    match = _MAC.search(path)
    return match["mac"].upper() if match else None


def _first_line_is_value(handle: _Reader) -> bool | None:
    """Whether the first line is a complete JSON value, and more lines follow: then the file is
    one value per line. ``None`` when there is a single line (either reading works)."""
    line = handle.first_line()
    if line is None:
        return None
    rest = handle.after_first_line_has_content()
    if not rest:
        return None
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


class _Reader:
    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self._line_end: int | None = None

    def head(self, n: int = _CHUNK) -> bytes:
        with open(self.path, "rb") as fh:
            data = fh.read(n)
        return data.removeprefix(_BOM)

    def tail(self, n: int = 256) -> bytes:
        with open(self.path, "rb") as fh:
            fh.seek(max(0, self.size - n))
            return fh.read()

    def first_line(self) -> bytes | None:
        parts: list[bytes] = []
        read = 0
        with open(self.path, "rb") as fh:
            while read < min(self.size, _FIRST_LINE_LIMIT):
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                cut = chunk.find(b"\n")
                if cut >= 0:
                    parts.append(chunk[:cut])
                    self._line_end = read + cut + 1
                    return b"".join(parts).removeprefix(_BOM)
                parts.append(chunk)
                read += len(chunk)
        return None

    def after_first_line_has_content(self) -> bool:
        if self._line_end is None:
            return False
        with open(self.path, "rb") as fh:
            fh.seek(self._line_end)
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    return False
                if chunk.strip(_WHITESPACE):
                    return True


class _GzipReader(_Reader):
    """The same questions about the JSON inside a gzip file, answered in one decompressing pass
    (which also proves the stream complete: a cut or corrupt one raises)."""

    def __init__(self, path: str) -> None:
        head = bytearray()
        tail = b""
        first: bytearray | None = bytearray()
        line_end: int | None = None
        after = False
        size = 0
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK * 16):
                if len(head) < _CHUNK:
                    head += chunk[: _CHUNK - len(head)]
                if first is not None and line_end is None:
                    cut = chunk.find(b"\n")
                    if cut >= 0:
                        first += chunk[:cut]
                        line_end = size + cut + 1
                        after = bool(chunk[cut + 1:].strip(_WHITESPACE))
                    elif len(first) + len(chunk) > _FIRST_LINE_LIMIT:
                        first = None
                    else:
                        first += chunk
                elif line_end is not None and not after:
                    after = bool(chunk.strip(_WHITESPACE))
                tail = (tail + chunk)[-256:]
                size += len(chunk)
        super().__init__(path, size)
        self._head = bytes(head).removeprefix(_BOM)
        self._tail = tail
        self._first = None if first is None or line_end is None else bytes(first)
        self._after = after

    def head(self, n: int = _CHUNK) -> bytes:
        return self._head[:n]

    def tail(self, n: int = 256) -> bytes:
        return self._tail[-n:]

    def first_line(self) -> bytes | None:
        return None if self._first is None else self._first.removeprefix(_BOM)

    def after_first_line_has_content(self) -> bool:
        return self._after


def _open_reader(path: str, size: int) -> _Reader | FlowLogWarning:
    """A reader of the JSON in ``path``, or why a gzip file cannot be read."""
    if not is_gzip(path):
        return _Reader(path, size)
    try:
        return _GzipReader(path)
    except EOFError:
        return FlowLogWarning.of(
            WarningKind.TRUNCATED, path,
            f"the gzip stream is cut short ({size} bytes compressed): skipped")
    except (gzip.BadGzipFile, zlib.error) as exc:
        return FlowLogWarning.of(WarningKind.UNREADABLE, path,
                                 f"not a readable gzip file ({exc}): skipped")


def check_file(path: str) -> SourceFile | FlowLogWarning:
    """Check one file cheaply and tell its form, or say why it must be skipped."""
    try:
        stat = os.stat(path)
        if stat.st_size == 0:
            return FlowLogWarning.of(WarningKind.EMPTY, path, "empty file: skipped")
        reader = _open_reader(path, stat.st_size)
        if isinstance(reader, FlowLogWarning):
            return reader
        if reader.size == 0:
            return FlowLogWarning.of(WarningKind.EMPTY, path, "empty file: skipped")
        head = reader.head().lstrip(_WHITESPACE)
        tail = reader.tail().rstrip(_WHITESPACE)
        if not head:
            return FlowLogWarning.of(WarningKind.EMPTY, path, "only whitespace: skipped")
        form, problem = _form_and_problem(reader, head, tail)
    except OSError as exc:
        return FlowLogWarning.of(WarningKind.UNREADABLE, path,
                                 f"cannot read: {exc.strerror or exc}: skipped")
    if problem is not None:
        return problem
    hour = blob_hour(path)
    return SourceFile(path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns, form=form,
                      hour=hour, mac=blob_mac(path),
                      json_size=reader.size if is_gzip(path) else None)


def _form_and_problem(reader: _Reader, head: bytes,
                      tail: bytes) -> tuple[Form, FlowLogWarning | None]:
    path, size = reader.path, reader.size
    first = head[:1]
    if first == b"[":
        if not tail.endswith(b"]"):
            return Form.ARRAY, FlowLogWarning.of(
                WarningKind.TRUNCATED, path,
                f"a JSON array cut short ({size} bytes, no closing ']'): skipped")
        return Form.ARRAY, None
    if first != b"{":
        return Form.DOCUMENT, FlowLogWarning.of(
            WarningKind.NOT_FLOW_LOG, path,
            f"not JSON flow-log data (starts with {head[:16]!r}): skipped")
    lines = _first_line_is_value(reader)
    if lines:
        if not tail.endswith(b"}"):
            return Form.LINES, FlowLogWarning.of(
                WarningKind.TRUNCATED, path,
                "the last line is cut short (still being written?): skipped")
        return Form.LINES, None
    if _RECORDS_HEAD.match(head):
        if re.search(rb"\]\s*\}$", tail):
            return Form.DOCUMENT, None
        if tail.endswith(b"}"):
            return Form.DOCUMENT, FlowLogWarning.of(
                WarningKind.INCOMPLETE, path,
                f"the blob has no closing ']}}' ({size} bytes): it is still being written "
                "(the current hour) or was copied mid-write: skipped")
        return Form.DOCUMENT, FlowLogWarning.of(
            WarningKind.TRUNCATED, path,
            f"the blob is cut inside a record ({size} bytes): skipped")
    if not tail.endswith(b"}"):
        return Form.DOCUMENT, FlowLogWarning.of(
            WarningKind.TRUNCATED, path, f"the JSON is cut short ({size} bytes): skipped")
    return Form.DOCUMENT, None


def in_window(hour: int | None, since: int | None, until: int | None) -> bool:
    """Whether a blob of ``hour`` may hold tuples between ``since`` and ``until``."""
    if hour is None:
        return True
    start, end = hour - HOUR_MS, hour + 2 * HOUR_MS
    return not ((until is not None and start > until) or (since is not None and end < since))


def plan(paths: Sequence[str | os.PathLike[str]], *, since: int | None = None,
         until: int | None = None,
         exclude: Iterable[str | os.PathLike[str]] = ()) -> Plan:
    """Expand ``paths``, prune blobs outside ``since``/``until`` by their path, check the rest."""
    names = expand_paths(paths, exclude)
    files: list[SourceFile] = []
    warnings: list[FlowLogWarning] = []
    pruned = 0
    for name in names:
        if not in_window(blob_hour(name), since, until):
            pruned += 1
            continue
        checked = check_file(name)
        if isinstance(checked, FlowLogWarning):
            warnings.append(checked)
        else:
            files.append(checked)
    return Plan(files=tuple(files), given=len(names), pruned=pruned, warnings=tuple(warnings))
