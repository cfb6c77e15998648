"""Output formats shared by every command: ``-o text|json|jsonc|none`` and ``--query``.

Hostile strings are a real threat here: resource names and rule descriptions are written by
whoever can edit the estate, and a name holding terminal escape sequences or rich markup must print
as inert text. :func:`safe` makes any string printable on one line.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import IO, Any

import jmespath
import jmespath.exceptions
import msgspec
from rich.console import Console
from rich.text import Text

from vnetdoctor.errors import UsageError

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JSONC = "jsonc"
    NONE = "none"

    @classmethod
    def parse(cls, text: str) -> OutputFormat:
        folded = text.casefold()
        if folded == "table":
            return cls.TEXT
        try:
            return cls(folded)
        except ValueError:
            raise UsageError(f"unknown output format {text!r}") from None


def safe(value: object) -> str:
    """One printable line: control characters (and bidi overrides) shown as escapes."""
    text = str(value)
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1] if m.group() != "\t" else " ", text)


def cell(value: object) -> Text:
    """A table cell that rich will never interpret as markup."""
    return Text("" if value is None else safe(value))


def apply_query(data: Any, query: str | None) -> Any:
    if not query:
        return data
    try:
        return jmespath.search(query, data)
    except jmespath.exceptions.JMESPathError as exc:
        raise UsageError(f"invalid --query {query!r}: {exc}") from None


def encode_json(data: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(data), indent=2).decode()


def emit(
    data: Any,
    fmt: OutputFormat,
    query: str | None,
    render_text: Callable[[Console], None],
    *,
    stream: IO[str] | None = None,
) -> None:
    """Print ``data`` as asked. Text output uses ``render_text`` unless a query narrows it."""
    target = stream if stream is not None else sys.stdout
    # Tables wider than 80 columns are the norm here; when piped, do not squeeze them.
    width = None if target.isatty() else 200
    console = Console(
        file=target, width=width, soft_wrap=False, highlight=False, emoji=False, markup=False
    )
    if fmt is OutputFormat.NONE:
        return
    if fmt is OutputFormat.TEXT and not query:
        render_text(console)
        return
    result = apply_query(data, query)
    if fmt is OutputFormat.TEXT and isinstance(result, (str, int, float)):
        console.print(Text(safe(result)))
        return
    text = encode_json(result)
    if fmt is OutputFormat.JSONC:
        from rich.json import JSON

        console.print(JSON(text))
    else:
        # Plain print: JSON must stay byte-exact for scripts (no wrapping, no markup).
        out = stream if stream is not None else None
        print(text, file=out)
