"""The DuckDB engine (the default; the optional extra ``vnetdoctor[flowlogs]``).

DuckDB reads the JSON itself (``read_json`` with explicit columns: no schema sampling, and any
file shape that does not fit is an error rather than a silently different schema), in parallel
over files, and spills to disk when memory runs short. ``maximum_object_size`` is set from the
largest file (the JSON inside, for a gzip file): real ``PT1H.json`` blobs exceed DuckDB's 16 MB
default. Gzip-compressed files (``.gz``) are decompressed by DuckDB itself (its ``compression``
option detects them by the name).

When a file cannot be parsed (a broken blob the cheap checks in
:mod:`~vnetdoctor.flowlogs.discovery` did not catch), DuckDB fails the whole statement. The engine
then takes the file that DuckDB's message names, or finds it by bisection, leaves it out with an
``unreadable`` warning and runs the statement again: a bad file costs a re-scan, never the answer.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from vnetdoctor.flowlogs import sql
from vnetdoctor.flowlogs.discovery import Form, SourceFile
from vnetdoctor.flowlogs.engine import JSON_COLUMNS, MissingEngine, Progress, Row, duckdb_type
from vnetdoctor.flowlogs.formats import TUPLE_COLUMNS
from vnetdoctor.flowlogs.model import FlowLogWarning, WarningKind

INSTALL_HINT: Final = "pip install 'vnetdoctor[flowlogs]'  (or: pip install duckdb)"
_FORMATS: Final = {
    Form.DOCUMENT: "unstructured",
    Form.LINES: "newline_delimited",
    Form.ARRAY: "array",
}
_FILE_IN_MESSAGE: Final = re.compile(r'in file "(?P<file>[^"]+)"')
_MIN_OBJECT: Final = 16 * 1024 * 1024
_POLL_SECONDS: Final = 0.2


def _import() -> Any:
    try:
        import duckdb
    except ImportError:
        raise MissingEngine("duckdb", INSTALL_HINT) from None
    return duckdb


def available() -> bool:
    try:
        _import()
    except MissingEngine:
        return False
    return True


class DuckDBEngine:
    """Flow-log SQL on an in-process DuckDB database."""

    name = "duckdb"
    dialect = sql.DUCKDB

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None,
                 temp_directory: str | None = None) -> None:
        duckdb = _import()
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        if temp_directory:
            config["temp_directory"] = temp_directory
        self._duckdb = duckdb
        self._con: Any = duckdb.connect(":memory:", config=config)
        self._con.execute("SET enable_progress_bar = true")
        self._con.execute("SET enable_progress_bar_print = false")
        self._con.execute("SET progress_bar_time = 0")
        self._files: list[SourceFile] = []
        self._json = False

    # --- registration ---------------------------------------------------------------------------

    def load_json(self, files: Sequence[SourceFile]) -> None:
        self._files = list(files)
        self._json = True
        self._register(self._files)

    def _register(self, files: Sequence[SourceFile]) -> None:
        d = self.dialect
        columns = "{" + ", ".join(
            f"{d.lit(name)}: {d.lit(duckdb_type(type_))}" for name, type_ in JSON_COLUMNS) + "}"
        names = [name for name, _ in JSON_COLUMNS]
        selects = []
        for form, fmt_name in _FORMATS.items():
            chosen = [f for f in files if f.form is form]
            if not chosen:
                continue
            listed = "[" + ", ".join(d.lit(f.path) for f in chosen) + "]"
            biggest = max(f.data_size for f in chosen)
            size = max(_MIN_OBJECT, biggest + (1 << 20))
            cols = ", ".join(d.q(n) for n in names)
            selects.append(
                f"SELECT filename AS file, FALSE AS corrupt, {cols} FROM read_json({listed}, "  # noqa: S608
                f"format = {d.lit(fmt_name)}, columns = {columns}, filename = true, "
                f"maximum_object_size = {size})"
            )
        if selects:
            raw = "\nUNION ALL\n".join(selects)
            self._con.execute(f"CREATE OR REPLACE TEMP VIEW {sql.RAW} AS {raw}")
            body = sql.normalise_sql(d)
        else:
            body = sql.empty_tuples_sql(d)
        self._con.execute(f"CREATE OR REPLACE TEMP VIEW {sql.TUPLES} AS {body}")

    def load_parquet(self, batches: Mapping[str, Sequence[str]]) -> None:
        self._json = False
        self._files = []
        d = self.dialect
        cols = ", ".join(TUPLE_COLUMNS)
        selects = []
        for batch, files in sorted(batches.items()):
            if not files:
                continue
            source = os.path.join(batch, "*.parquet") if os.path.isdir(batch) else batch
            listed = ", ".join(d.lit(f) for f in sorted(files))
            selects.append(f"SELECT {cols} FROM read_parquet({d.lit(source)}) "  # noqa: S608
                           f"WHERE file IN ({listed})")
        body = "\nUNION ALL\n".join(selects) if selects else sql.empty_tuples_sql(d)
        self._con.execute(f"CREATE OR REPLACE TEMP VIEW {sql.TUPLES} AS {body}")

    # --- running --------------------------------------------------------------------------------

    def materialize(self, name: str, sql_text: str, progress: Progress | None = None
                    ) -> list[FlowLogWarning]:
        statement = f"CREATE OR REPLACE TEMP TABLE {name} AS {sql_text}"
        return self._guarded(lambda: self._run(statement, progress))

    def write_parquet(self, sql_text: str, target: str, progress: Progress | None = None
                      ) -> list[FlowLogWarning]:
        statement = (f"COPY ({sql_text}) TO {self.dialect.lit(target)} "
                     "(FORMAT parquet, COMPRESSION zstd)")
        try:
            return self._guarded(lambda: self._run(statement, progress))
        except self._duckdb.IOException as exc:
            # a full or read-only cache folder: an OSError as for any other file written
            code = re.search(r'"errno"\s*:\s*"?(\d+)', str(exc))
            if code is not None:
                raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from None
            raise OSError(str(exc)) from None

    def fetch(self, sql_text: str) -> list[Row]:
        return [tuple(row) for row in self._con.execute(sql_text).fetchall()]

    def close(self) -> None:
        self._con.close()

    def _run(self, statement: str, progress: Progress | None) -> None:
        if progress is None:
            self._con.execute(statement)
            return
        done = threading.Event()

        def poll() -> None:
            while not done.wait(_POLL_SECONDS):
                try:
                    value = self._con.query_progress()
                except self._duckdb.Error:  # pragma: no cover - between statements
                    continue
                if value >= 0:
                    progress(min(value, 100.0) / 100.0)

        watcher = threading.Thread(target=poll, name="vnetdoctor-duckdb-progress", daemon=True)
        watcher.start()
        try:
            self._con.execute(statement)
        finally:
            done.set()
            watcher.join()
        progress(1.0)

    def _recoverable(self, exc: BaseException) -> bool:
        d = self._duckdb
        # A UnicodeDecodeError is DuckDB's parse error whose message (it quotes the file) was cut
        # inside a UTF-8 sequence, so that the binding could not decode the message itself.
        return self._json and isinstance(
            exc, (d.InvalidInputException, d.ConversionException, d.IOException,
                  UnicodeDecodeError)
        )

    def _guarded(self, op: Callable[[], None]) -> list[FlowLogWarning]:
        """Run ``op``; on a parse error in a JSON file, drop that file and run again."""
        warnings: list[FlowLogWarning] = []
        files = list(self._files)
        while True:
            try:
                op()
            except (self._duckdb.Error, UnicodeDecodeError) as exc:
                if not self._recoverable(exc) or not files:
                    raise
                bad = self._named_file(exc, files) or self._bisect(op, files)
                if not bad:
                    raise
                for path, message in bad:
                    warnings.append(FlowLogWarning.of(
                        WarningKind.UNREADABLE, path, f"DuckDB cannot read it: {message}: skipped"
                    ))
                dropped = {path for path, _ in bad}
                files = [f for f in files if f.path not in dropped]
                self._register(files)
                continue
            self._files = files
            return warnings

    def _named_file(self, exc: BaseException, files: Sequence[SourceFile]
                    ) -> list[tuple[str, str]]:
        match = _FILE_IN_MESSAGE.search(str(exc))
        if match is None:
            return []
        named = os.path.abspath(match["file"])
        for f in files:
            if f.path == named:
                return [(f.path, _first_line(exc))]
        return []

    def _bisect(self, op: Callable[[], None], files: Sequence[SourceFile]
                ) -> list[tuple[str, str]]:
        try:
            self._register(files)
            op()
        except (self._duckdb.Error, UnicodeDecodeError) as exc:
            if not self._recoverable(exc):
                raise
            if len(files) == 1:
                return [(files[0].path, _first_line(exc))]
            mid = len(files) // 2
            return self._bisect(op, files[:mid]) + self._bisect(op, files[mid:])
        return []


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not valid flow-log JSON (DuckDB's message about it was not valid UTF-8)"
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line.removeprefix("Invalid Input Error: ").removeprefix("Conversion Error: ")
