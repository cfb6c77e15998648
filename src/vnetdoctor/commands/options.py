"""Options shared by every command, spelled as the az CLI spells them, and the exit codes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from vnetdoctor.errors import UsageError
from vnetdoctor.model.snapshot import Snapshot

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_BLOCKED, EXIT_INPUT, EXIT_INCONCLUSIVE, EXIT_COLLECTION = 0, 1, 2, 3, 4
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def output_options(func: F) -> F:
    """``-o`` and ``--query``, as the az CLI spells them."""
    func = click.option(
        "--query",
        metavar="JMESPATH",
        help="JMESPath query applied to the JSON result (as in the az CLI).",
    )(func)
    func = click.option(
        "-o",
        "--output",
        "output",
        default="text",
        show_default=True,
        type=click.Choice(["text", "table", "json", "jsonc", "none"], case_sensitive=False),
        help="Output format.",
    )(func)
    return func


def snapshot_options(func: F) -> F:
    """``-s/--snapshot`` (repeatable) or ``--sample``."""
    func = click.option(
        "--sample",
        "sample",
        is_flag=False,
        flag_value="contoso",
        default=None,
        metavar="[NAME]",
        help="Use a bundled sample estate instead of -s (default: contoso).",
    )(func)
    func = click.option(
        "-s",
        "--snapshot",
        "snapshots",
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="PATH",
        help="Snapshot file or folder of ARM JSON / classic XML (repeatable).",
    )(func)
    return func


def debug_option(func: F) -> F:
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        help="Show a traceback on errors.",
    )(func)


def open_snapshot(snapshots: Sequence[Path], sample: str | None) -> Snapshot:
    from vnetdoctor.ingest.loader import load_snapshot
    from vnetdoctor.samples import load_sample

    if sample and snapshots:
        raise UsageError("give either -s/--snapshot or --sample, not both")
    if sample:
        return load_sample(sample)
    if not snapshots:
        raise UsageError("no snapshot: give -s PATH (a file or folder of ARM JSON) or --sample")
    return load_snapshot(list(snapshots))
