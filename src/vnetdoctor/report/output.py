"""Output formats shared by every command: ``-o text|json|jsonc|none`` and ``--query``.

Hostile strings are a real threat here: resource names and rule descriptions are written by
whoever can edit the estate, and a name holding terminal escape sequences or rich markup must print
as inert text. :func:`safe` makes any string printable on one line.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from collections.abc import Callable, Collection, Sequence
from enum import StrEnum
from typing import IO, Any

import jmespath
import jmespath.exceptions
import msgspec
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vnetdoctor.errors import UsageError

# Bidirectional-text controls: embeddings and overrides (U+202A-202E), isolates (U+2066-2069),
# marks (U+200E/200F, U+061C). Rendered, they reorder what follows ("10.0.0.1" shown reversed).
_BIDI_CHARS = "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"
_BIDI = re.compile(f"[{_BIDI_CHARS}]")
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI_CHARS}]")
# A cell a spreadsheet would run as a formula (OWASP "CSV injection"), unless it is a number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


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


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def inert_bidi(text: str) -> str:
    """``text`` with its bidi controls shown as escapes (``\\u202e``), as :func:`safe` shows
    them, for outputs (HTML) that keep line breaks and tabs."""
    return _BIDI.sub(_escape, text)


def csv_text(text: str) -> str:
    """A CSV text cell that a spreadsheet shows as text: a cell starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's advice), unless the
    whole cell is a plain number (``-1``, ``+2.5e3``), which no spreadsheet runs. Numeric values
    (ints, floats) are never passed here: they are written as they are."""
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


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


PIPED_WIDTH = 200  # the width of text written to a pipe or file when COLUMNS does not say


def text_width(target: IO[str], environ: dict[str, str] | None = None) -> int | None:
    """The width to render at: ``COLUMNS`` when set (as ``ls`` and the az CLI honour it), else the
    terminal's own (``None``: rich asks the terminal), else 200 for a pipe or a file, where tables
    wider than 80 columns are the norm and are better not squeezed."""
    columns = (os.environ if environ is None else environ).get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if _isatty(target) else PIPED_WIDTH


def _isatty(target: IO[str]) -> bool:
    try:
        return target.isatty()
    except (AttributeError, ValueError):
        return False


def color_disabled() -> bool:
    """``--no-color`` on the command line (kept in click's context), or ``NO_COLOR`` set."""
    import click

    context = click.get_current_context(silent=True)
    if context is not None and context.find_root().meta.get(NO_COLOR_KEY):
        return True
    return bool(os.environ.get("NO_COLOR"))


NO_COLOR_KEY = "vnetdoctor.no_color"


class _Console(Console):
    """rich's console, except that a closed pipe ends the rendering with ``BrokenPipeError``
    (caught by :func:`emit`) instead of rich's ``SystemExit(1)``, which reads as "blocked"."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def make_console(target: IO[str], *, stderr: bool = False) -> Console:
    """The one console set-up of every text output: the width of :func:`text_width`, no
    highlighting, no markup or emoji interpretation (names are hostile), colour unless disabled."""
    return _Console(
        file=target,
        width=text_width(target),
        stderr=stderr,
        soft_wrap=False,
        highlight=False,
        emoji=False,
        markup=False,
        no_color=color_disabled() or None,
    )


def shell_commands(command: str) -> list[str]:
    """A suggested fix as lines a shell runs unchanged: one command per line (``a && b`` is
    split, so each line is one command), a trailing ``# comment`` kept, and every
    ``<placeholder>`` quoted (unquoted, a shell would read it as a redirection)."""
    body, hash_, comment = command.partition("  # ")
    lines = [part.strip() for part in body.split(" && ") if part.strip()]
    lines = [re.sub(r"(?<!['\"])<[^<>'\"]*>", lambda m: shlex.quote(m.group()), line)
             for line in lines]
    if hash_ and lines:
        lines[-1] = f"{lines[-1]}  # {comment}"
    return lines


def print_line(console: Console, text: Text) -> None:
    """One logical line, never broken by a hard newline: a command, an id or an address stays
    whole to copy; the terminal folds it on screen."""
    console.print(text, soft_wrap=True)


def _widths(texts: Sequence[str]) -> tuple[int, int]:
    """The longest word and the longest line of a column's texts, in terminal cells."""
    words = [cell_len(w) for t in texts for w in t.split()] or [1]
    lines = [cell_len(line) for t in texts for line in t.splitlines()] or [1]
    return max(words), max(lines)


def column_widths(width: int, columns: Sequence[Sequence[str]]) -> list[int] | None:
    """Content widths of a boxed table's columns (one cell of padding either side, a rule
    between and around them) in ``width``, no column narrower than its longest word: the widths
    rich would pick when everything fits, else each column's longest word and the rest of the
    line shared in proportion to what each lacks. ``None`` when the longest words alone do not
    fit."""
    available = width - 3 * len(columns) - 1
    ranges = [_widths(texts) for texts in columns]
    least = sum(low for low, _ in ranges)
    if least > available:
        return None
    wanted = sum(high for _, high in ranges)
    if wanted <= available:
        return [high for _, high in ranges]
    spare, lacking = available - least, wanted - least
    widths = [low + (high - low) * spare // lacking for low, high in ranges]
    return widths


def print_table(
    console: Console,
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[Text]],
    *,
    compact: bool = False,
    right: Collection[str] = (),
) -> None:
    """A table when every column fits its longest word; otherwise, so that no address or id is
    ever cut in two, one block per row with a ``header  value`` line per cell, or with
    ``compact`` one line per row (its cells two spaces apart, under a line of the headers).
    Columns named in ``right`` are right-aligned (numbers)."""
    columns = [[header, *(row[i].plain for row in rows if i < len(row))]
               for i, header in enumerate(headers)]
    widths = column_widths(console.width, columns)
    if widths is not None:
        natural = widths == [_widths(texts)[1] for texts in columns]
        table = Table(title=title, title_justify="left")
        for header, width in zip(headers, widths, strict=True):
            table.add_column(header, overflow="fold", width=None if natural else width,
                             justify="right" if header in right else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    if title:
        print_line(console, Text(title, style="italic"))
    if compact:
        print_line(console, Text("  ".join(h for h in headers if h), style="bold"))
        for row in rows:
            print_line(console, Text("  ").join(value for value in row if value.plain))
        console.print()
        return
    label = max((len(h) for h in headers), default=0)
    for row in rows:
        # A cell without a header (a mark) leads the row's first line; a row that continues
        # the one above (its first cell empty) is indented as a whole.
        mark = Text(" ").join(v for h, v in zip(headers, row, strict=False) if not h and v.plain)
        fields = [(h, v) for h, v in zip(headers, row, strict=False) if h and v.plain]
        heading = bool(headers and headers[0] and row and row[0].plain)
        for k, (header, value) in enumerate(fields):
            if k == 0 and mark.plain:
                line = mark.copy()
                line.append(" " * max(1, 2 - mark.cell_len) + f"{header:<{label}}  ")
            elif k == 0 and heading:
                line = Text(f"{header:<{label + 2}}  ")
            else:
                line = Text(f"  {header:<{label}}  ")
            line.append_text(value)
            print_line(console, line)
        console.print()


def discard_stdout() -> None:
    """The reader of our standard output went away (``| head``): send what is left to
    /dev/null, so that the command ends with its own exit code and Python's final flush does
    not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file: nothing to do
        return
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()


def emit(
    data: Any,
    fmt: OutputFormat,
    query: str | None,
    render_text: Callable[[Console], None],
    *,
    stream: IO[str] | None = None,
) -> None:
    """Print ``data`` as asked. Text output uses ``render_text`` unless a query narrows it.

    A closed pipe (``vnetdoctor diagnose ... | head -1``) is not an error of the answer: the rest
    of the output is dropped and the command still exits with the answer's code."""
    try:
        _emit(data, fmt, query, render_text, stream)
    except BrokenPipeError:
        if stream is not None:
            raise
        discard_stdout()


def _emit(
    data: Any,
    fmt: OutputFormat,
    query: str | None,
    render_text: Callable[[Console], None],
    stream: IO[str] | None,
) -> None:
    target = stream if stream is not None else sys.stdout
    console = make_console(target)
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
        target.flush()
