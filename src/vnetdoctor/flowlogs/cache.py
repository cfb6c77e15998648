"""The Parquet cache: parse each blob's JSON once, answer repeated queries from columnar files.

The cache holds the normalised tuples (:data:`~vnetdoctor.flowlogs.formats.TUPLE_COLUMNS`,
including the placeholder rows that count unknown versions and malformed tuples)::

    <cache>/.vnetdoctor-flowlog-cache        marker (folders holding it are never scanned as logs)
    <cache>/batches/<id>.parquet             the rows of the files one scan parsed
    <cache>/entries/<key>.json               one source file: path, size, mtime, its batch,
                                             and its per-status counts (what became warnings)

``<key>`` hashes the absolute path, size, modification time and :data:`SCHEMA`, so a blob that
grows (the current hour) or is replaced gets a new entry and is parsed again. A scan reads, from
each batch, only the rows of the files whose current entry points at it (``file IN (...)``), so
rows of an older version of a file are never counted twice; a batch no entry points at any more
is deleted. Batches and entries are written under temporary names and renamed into place, so a
crash or a concurrent run never leaves a half-written one. One Parquet file per scan (rather than
one per source file) keeps the write fast and small in memory. Both engines read and write the
same cache. Because an entry keeps the file's counts, a scan from the cache reads only the rows
its filters select (the engines push the filters into the Parquet scan).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from vnetdoctor.errors import OutputError
from vnetdoctor.flowlogs import sql
from vnetdoctor.flowlogs.discovery import CACHE_MARKER, SourceFile
from vnetdoctor.flowlogs.engine import Engine, Progress
from vnetdoctor.flowlogs.formats import TUPLE_COLUMNS
from vnetdoctor.flowlogs.model import FlowLogWarning
from vnetdoctor.outfile import write_output

SCHEMA: Final = 2  # 2: counters above MAX_COUNTER and negative timestamps no longer read

CachedRows = dict[str, list[str]]
"""Batch Parquet file -> the source files whose rows to read from it."""

StatRow = tuple[Any, ...]
"""(file, status, version, rows, packets, bytes, first ms, last ms): as the stats part."""


def _stats_sql(d: sql.Dialect) -> str:
    return (f"SELECT file, status, version, count(*), {d.total('packets')}, "  # noqa: S608
            f"{d.total('bytes')}, min(ts_ms), max(ts_ms) "
            f"FROM {sql.TUPLES} GROUP BY file, status, version")


@dataclass
class Cached:
    """Rows to read from batches, and the per-file counts of those files."""

    batches: CachedRows = field(default_factory=dict)
    stats: list[StatRow] = field(default_factory=list)
    missing: list[SourceFile] = field(default_factory=list)
    warnings: list[FlowLogWarning] = field(default_factory=list)


class ParquetCache:
    """A folder of Parquet batches and per-file entries (created on first use)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        self.batches = self.root / "batches"
        self.entries = self.root / "entries"

    def key(self, source: SourceFile) -> str:
        text = f"{SCHEMA}|{source.path}|{source.size}|{source.mtime_ns}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _ensure(self) -> None:
        try:
            self.batches.mkdir(parents=True, exist_ok=True)
            self.entries.mkdir(parents=True, exist_ok=True)
            marker = self.root / CACHE_MARKER
            if not marker.exists():
                write_output(marker, "vnetdoctor flow-log Parquet cache; safe to delete\n")
            # fail before minutes of parsing when the cache folder cannot take new files
            tempfile.TemporaryFile(dir=self.entries).close()
        except OSError as exc:
            raise OutputError(str(self.root), exc.strerror or str(exc)) from None

    def _entry(self, source: SourceFile) -> tuple[str, list[StatRow]] | None:
        """The batch holding ``source``'s rows and its counts, or None."""
        try:
            meta = json.loads((self.entries / f"{self.key(source)}.json").read_text())
            batch = self.batches / f"{meta['batch']}.parquet"
            stats = [(source.path, *row) for row in meta["stats"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if meta.get("path") != source.path or not batch.exists():
            return None
        return str(batch), stats

    def lookup(self, files: Sequence[SourceFile]) -> Cached:
        """The cached rows to read and their counts, and the source files without an entry."""
        found = Cached()
        batches: CachedRows = defaultdict(list)
        for source in files:
            entry = self._entry(source)
            if entry is None:
                found.missing.append(source)
            else:
                batches[entry[0]].append(source.path)
                found.stats.extend(entry[1])
        found.batches = dict(batches)
        return found

    def fill(self, engine: Engine, files: Sequence[SourceFile],
             progress: Progress | None = None) -> Cached:
        """Parse ``files`` with ``engine`` into one new batch and record their entries, with
        warnings for files the engine could not read (they get no entry)."""
        if not files:
            return Cached()
        self._ensure()
        batch_id = uuid.uuid4().hex
        batch = self.batches / f"{batch_id}.parquet"
        temp = self.batches / f".tmp-{batch_id}"
        engine.load_json(files)
        select = f"SELECT {', '.join(TUPLE_COLUMNS)} FROM {sql.TUPLES}"  # noqa: S608
        try:
            warnings = engine.write_parquet(select, str(temp), progress)
            os.rename(temp, batch)
        except OSError as exc:
            raise OutputError(str(self.root), exc.strerror or str(exc)) from None
        finally:
            _remove(temp)
        unreadable = {w.file for w in warnings}
        stored = [source for source in files if source.path not in unreadable]
        rows = {str(batch): [source.path for source in stored]}
        engine.load_parquet(rows)
        stats = [tuple(row) for row in engine.fetch(_stats_sql(engine.dialect))]
        by_file: dict[str, list[list[Any]]] = defaultdict(list)
        for row in stats:
            by_file[row[0]].append([_plain(value) for value in row[1:]])
        for source in stored:
            key = self.key(source)
            meta = {"schema": SCHEMA, "path": source.path, "size": source.size,
                    "mtime_ns": source.mtime_ns, "batch": batch_id,
                    "stats": by_file.get(source.path, [])}
            scratch = self.entries / f".tmp-{key}-{uuid.uuid4().hex}"
            try:
                scratch.write_text(json.dumps(meta))
                os.replace(scratch, self.entries / f"{key}.json")
            except OSError as exc:
                _remove(scratch)
                raise OutputError(str(self.root), exc.strerror or str(exc)) from None
        self._collect_garbage()
        return Cached(batches=rows, stats=stats, warnings=warnings)

    def _collect_garbage(self) -> None:
        """Delete batches that no entry points at any more."""
        live = set()
        for entry in self.entries.glob("*.json"):
            try:
                live.add(json.loads(entry.read_text()).get("batch"))
            except (OSError, ValueError):
                continue
        for batch in self.batches.glob("*.parquet"):
            if batch.stem not in live:
                _remove(batch)


def _plain(value: Any) -> Any:
    """A JSON-storable count or text (engines return ints, strings or None)."""
    return value if value is None or isinstance(value, str) else int(value)


def _remove(path: Path) -> None:
    """Remove a file or a folder of files (engines write either), ignoring what is gone."""
    if path.is_dir():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    elif path.exists():
        path.unlink()
