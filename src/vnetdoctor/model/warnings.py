"""Ingest warnings: facts about the *input* that the user should know, never exceptions.

A warning names the resource, the field and the value, and whatever depends on it evaluates to
``unknown`` downstream. Codes are permanent; retired codes are never reused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec


class WarningKind(StrEnum):
    UNSUPPORTED_TYPE = "unsupported_type"
    UNPARSED_VALUE = "unparsed_value"
    DANGLING_REFERENCE = "dangling_reference"
    DUPLICATE_RESOURCE = "duplicate_resource"
    ORPHAN_CHILD = "orphan_child"
    MISSING_FIELD = "missing_field"
    DEFAULT_ASSUMED = "default_assumed"
    SKIPPED_INPUT = "skipped_input"


CODES: Final[dict[str, WarningKind]] = {
    "W001": WarningKind.UNSUPPORTED_TYPE,
    "W002": WarningKind.UNPARSED_VALUE,
    "W003": WarningKind.DANGLING_REFERENCE,
    "W004": WarningKind.DUPLICATE_RESOURCE,
    "W005": WarningKind.ORPHAN_CHILD,
    "W006": WarningKind.MISSING_FIELD,
    "W007": WarningKind.DEFAULT_ASSUMED,
    "W008": WarningKind.SKIPPED_INPUT,
}
_BY_KIND: Final = {kind: code for code, kind in CODES.items()}


class IngestWarning(msgspec.Struct, frozen=True, kw_only=True, order=True):
    """One thing the loader noticed. ``resource`` is the ARM id as written (or a file path)."""

    code: str
    kind: WarningKind
    message: str
    resource: str | None = None
    field: str | None = None
    value: str | None = None
    path: str | None = None

    @classmethod
    def of(
        cls,
        kind: WarningKind,
        message: str,
        *,
        resource: str | None = None,
        field: str | None = None,
        value: object = None,
        path: str | None = None,
    ) -> IngestWarning:
        shown = None if value is None else _short(value)
        return cls(
            code=_BY_KIND[kind],
            kind=kind,
            message=message,
            resource=resource,
            field=field,
            value=shown,
            path=path,
        )

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                self.path,
                self.resource,
                f"field {self.field}" if self.field else None,
                f"value {self.value!r}" if self.value is not None else None,
            )
            if part
        )
        return f"{self.code} {self.kind.value}: {self.message}" + (f" ({where})" if where else "")


def _short(value: object, limit: int = 400) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
