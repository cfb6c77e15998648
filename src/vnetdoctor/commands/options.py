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
    """``-o`` and ``--query``, as the az CLI spells them (and ``--no-color``)."""
    func = no_color_option(func)
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


def _remember_no_color(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    from vnetdoctor.report.output import NO_COLOR_KEY

    if value:
        ctx.meta[NO_COLOR_KEY] = True


def no_color_option(func: F) -> F:
    """``--no-color``: text output without colour, as the ``NO_COLOR`` environment variable."""
    return click.option(
        "--no-color",
        is_flag=True,
        expose_value=False,
        callback=_remember_no_color,
        help="No colour in text output (as NO_COLOR=1 does).",
    )(func)


def brief_option(func: F) -> F:
    """``--brief``: the short text answer, for a terminal or a chat message."""
    return click.option(
        "--brief",
        is_flag=True,
        help="With -o text: only the verdict, the blockers and their fixes.",
    )(func)


def snapshot_options(func: F) -> F:
    """``-s/--snapshot`` (repeatable; ``--base`` reads better with ``--plan``) or ``--sample``,
    and ``--plan`` to look at the state after a Terraform plan or ARM what-if. The command takes
    ``snapshots``, ``sample`` and ``plan`` and hands them to :func:`open_snapshot`."""
    func = click.option(
        "--plan",
        "plan",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="FILE",
        help="A `terraform show -json` plan or an ARM/Bicep what-if result, applied on top of "
        "the snapshot (the after-state is what gets analysed).",
    )(func)
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
        "--base",
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


def open_snapshot(
    snapshots: Sequence[Path], sample: str | None, plan: Path | None = None
) -> Snapshot:
    """The snapshot a command analyses: ``-s`` files or a sample, then ``--plan`` over it."""
    from vnetdoctor.ingest.loader import load_snapshot
    from vnetdoctor.samples import load_sample

    if sample and snapshots:
        raise UsageError("give either -s/--snapshot or --sample, not both")
    if sample:
        snapshot = load_sample(sample)
    elif not snapshots:
        raise UsageError("no snapshot: give -s PATH (a file or folder of ARM JSON) or --sample")
    else:
        snapshot = load_snapshot(list(snapshots))
    if plan is not None:
        from vnetdoctor.ingest.preflight import apply_plan

        snapshot = apply_plan(snapshot, plan)
    return snapshot
