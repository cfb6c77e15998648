"""Progress of a collection: a small protocol the collector reports to, a silent default and a
rich progress bar (stderr) for the command line."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from vnetdoctor.report.output import make_console, safe


class ProgressSink(Protocol):
    """Where the collector reports progress. ``key`` names a phase; totals may grow."""

    def start(self, key: str, description: str, total: int | None = None) -> None: ...

    def advance(self, key: str, amount: int = 1, *, total: int | None = None) -> None: ...

    def finish(self, key: str) -> None: ...

    def note(self, message: str) -> None: ...


class NullProgress:
    """Reports nothing."""

    def start(self, key: str, description: str, total: int | None = None) -> None:
        return None

    def advance(self, key: str, amount: int = 1, *, total: int | None = None) -> None:
        return None

    def finish(self, key: str) -> None:
        return None

    def note(self, message: str) -> None:
        return None


class RichProgress:
    """A rich progress bar on stderr; silent when stderr is not a terminal."""

    def __init__(self, console: Console | None = None, *, enabled: bool | None = None) -> None:
        self._console = console or make_console(sys.stderr, stderr=True)
        on = self._console.is_terminal if enabled is None else enabled
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            disable=not on,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, key: str, description: str, total: int | None = None) -> None:
        task = self._tasks.get(key)
        if task is None:
            self._tasks[key] = self._progress.add_task(safe(description), total=total)
        else:
            self._progress.update(task, description=safe(description), total=total)

    def advance(self, key: str, amount: int = 1, *, total: int | None = None) -> None:
        task = self._tasks.get(key)
        if task is None:
            return
        if total is not None:
            self._progress.update(task, total=total)
        self._progress.advance(task, amount)

    def finish(self, key: str) -> None:
        task = self._tasks.get(key)
        if task is not None:
            done = next(t.completed for t in self._progress.tasks if t.id == task)
            self._progress.update(task, total=done, completed=done)

    def note(self, message: str) -> None:
        if not self._progress.disable:
            self._progress.console.print(Text(safe(message)))


__all__ = ["NullProgress", "ProgressSink", "RichProgress"]
