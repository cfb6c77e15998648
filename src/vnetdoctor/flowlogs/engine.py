"""What an engine must do, and the column types both engines read JSON with.

An engine registers the ``vd_tuples`` view (from JSON files or from Parquet), runs SQL and
returns rows as plain tuples. The queries themselves live in :mod:`vnetdoctor.flowlogs.sql`
and are the same for every engine; the orchestration lives in :mod:`vnetdoctor.flowlogs.api`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from vnetdoctor.flowlogs import formats as fmt
from vnetdoctor.flowlogs.discovery import SourceFile
from vnetdoctor.flowlogs.model import FlowLogWarning
from vnetdoctor.flowlogs.sql import Dialect

Progress = Callable[[float], None]
"""Called with the fraction done (0..1) while a scan runs."""

Row = tuple[Any, ...]


class MissingEngine(ImportError):
    """The engine's optional dependency is not installed; ``hint`` says what to install."""

    def __init__(self, engine: str, hint: str) -> None:
        self.engine = engine
        self.hint = hint
        super().__init__(f"the {engine} engine is not installed: {hint}")


class Engine(Protocol):
    """A SQL engine over flow-log files. Not thread-safe; one scan at a time."""

    name: str
    dialect: Dialect

    def load_json(self, files: Sequence[SourceFile]) -> None:
        """Register ``vd_raw`` and ``vd_tuples`` over JSON files."""

    def load_parquet(self, batches: Mapping[str, Sequence[str]]) -> None:
        """Register ``vd_tuples`` over Parquet batches of the cache: from each batch (a file or
        a folder of part files) the rows of the source files listed for it."""

    def materialize(self, name: str, sql: str, progress: Progress | None = None
                    ) -> list[FlowLogWarning]:
        """Run ``sql`` once and keep its result as the table ``name``. When a registered JSON
        file cannot be parsed, leave it out, say so in a warning, and run again."""

    def write_parquet(self, sql: str, target: str, progress: Progress | None = None
                      ) -> list[FlowLogWarning]:
        """Write ``sql``'s rows to ``target`` (one Parquet file, or a folder of part files);
        the same fallback for unreadable files as :meth:`materialize`."""

    def fetch(self, sql: str) -> list[Row]:
        """Run a query over materialized tables and return its rows."""

    def close(self) -> None:
        """Release the engine's resources."""


# The JSON columns: the union of a blob ({"records": [...]}) and a bare record, so that one
# reader handles both. Field names are Azure's (case-sensitive). Versions are read as text:
# Azure writes numbers, and anything else must reach the "unknown version" warning, not fail.


@dataclass(frozen=True)
class Struct:
    """A JSON object type: (field name, type) pairs."""

    fields: tuple[tuple[str, JsonType], ...]


@dataclass(frozen=True)
class ListOf:
    """A JSON array type."""

    item: JsonType


JsonType = Struct | ListOf | None  # None: text


def _struct(*fields: tuple[str, JsonType]) -> Struct:
    return Struct(fields)


def _list(item: JsonType) -> ListOf:
    return ListOf(item)


NSG_PROPERTIES: Final = _struct(
    (fmt.VERSION, None),
    (fmt.FLOWS, _list(_struct(
        (fmt.RULE, None),
        (fmt.FLOWS, _list(_struct((fmt.MAC, None), (fmt.FLOW_TUPLES, _list(None))))),
    ))),
)
VNET_FLOW_RECORDS: Final = _struct(
    (fmt.FLOWS, _list(_struct(
        (fmt.ACL_ID, None),
        (fmt.FLOW_GROUPS, _list(_struct((fmt.RULE, None), (fmt.FLOW_TUPLES, _list(None))))),
    ))),
)
RECORD_FIELDS: Final = (
    (fmt.FLOW_LOG_VERSION, None),
    (fmt.MAC_ADDRESS, None),
    (fmt.RESOURCE_ID, None),
    (fmt.PROPERTIES, NSG_PROPERTIES),
    (fmt.FLOW_RECORDS, VNET_FLOW_RECORDS),
)
JSON_COLUMNS: Final = ((fmt.RECORDS, _list(Struct(RECORD_FIELDS))), *RECORD_FIELDS)


def duckdb_type(type_: JsonType) -> str:
    if type_ is None:
        return "VARCHAR"
    if isinstance(type_, ListOf):
        return f"{duckdb_type(type_.item)}[]"
    return "STRUCT(" + ", ".join(f'"{name}" {duckdb_type(t)}' for name, t in type_.fields) + ")"


def spark_type(type_: JsonType) -> str:
    if type_ is None:
        return "STRING"
    if isinstance(type_, ListOf):
        return f"ARRAY<{spark_type(type_.item)}>"
    return "STRUCT<" + ", ".join(f"`{name}`: {spark_type(t)}" for name, t in type_.fields) + ">"


def spark_ddl() -> str:
    """:data:`JSON_COLUMNS` as a Spark DDL schema, plus PERMISSIVE mode's corrupt column."""
    fields = [f"`{name}` {spark_type(type_)}" for name, type_ in JSON_COLUMNS]
    return ", ".join([*fields, "`_corrupt_record` STRING"])
