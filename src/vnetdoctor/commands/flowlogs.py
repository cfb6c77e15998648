"""``vnetdoctor flowlogs``: what the NSG and VNet flow logs say actually happened.

A thin shell over :mod:`vnetdoctor.flowlogs`: parse options, run one scan, render. DuckDB (the
default engine) is the optional extra ``vnetdoctor[flowlogs]`` and Spark the extra
``vnetdoctor[spark]``; without the engine's package the command says what to install and exits 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import click

from vnetdoctor.commands.options import CONTEXT, EXIT_INPUT, debug_option, no_color_option
from vnetdoctor.errors import UsageError

TEXT_ROWS: Final = 50  # flows shown by -o text unless --limit says otherwise
_OUTPUTS: Final = ("text", "table", "json", "jsonc", "csv", "none")


def _exit(code: int) -> None:
    if code:
        raise SystemExit(code)


def _engine(name: str, spark_master: str | None) -> Any:
    """The engine to scan with; a missing package is a usage error naming what to install."""
    from vnetdoctor.flowlogs import MissingEngine, open_engine

    options: dict[str, Any] = {}
    if name == "spark" and spark_master:
        options["master"] = spark_master
    try:
        return open_engine(name, **options)
    except MissingEngine as exc:
        raise UsageError(f"the {exc.engine} engine is not installed: {exc.hint}") from None


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[float], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from vnetdoctor.report.output import make_console

    console = make_console(sys.stderr, stderr=True)
    with Progress(TextColumn("scanning flow logs"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("scan", total=1.0)
        yield lambda fraction: bar.update(task, completed=fraction)


@click.command("flowlogs", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--src", metavar="CIDR", help="Source address or IPv4 prefix.")
@click.option("--dst", metavar="CIDR", help="Destination address or IPv4 prefix.")
@click.option("--port", type=int, metavar="N", help="Destination port.")
@click.option("--protocol", metavar="tcp|udp|icmp|N", help="Protocol (name or IANA number).")
@click.option("--decision", metavar="allow|deny", help="Only allowed or only denied flows.")
@click.option("--since", metavar="T",
              help="From this time: ISO 8601 (UTC unless a zone is given), epoch seconds or ms, "
                   "or a duration before now (90m, 2h, 7d).")
@click.option("--until", metavar="T", help="Up to this time (inclusive), as --since.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"], case_sensitive=False),
              default="duckdb", show_default=True,
              help="SQL engine: embedded DuckDB, or Apache Spark for terabytes of logs.")
@click.option("--spark-master", metavar="URL",
              help="Spark master for --engine spark (default: local[*]).")
@click.option("--cache", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Parquet cache folder: the first scan stores each blob's tuples there, "
                   "later scans read them instead of the JSON.")
@click.option("--limit", type=click.IntRange(min=0), metavar="N",
              help=f"Only the first N flows, oldest first (-o text shows {TEXT_ROWS} by "
                   "default).")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              metavar="N", help="Length of the top denied flows and top talkers summaries.")
@click.option("-o", "--output", "output", default="text", show_default=True,
              type=click.Choice(_OUTPUTS, case_sensitive=False), help="Output format.")
@click.option("--query", metavar="JMESPATH",
              help="JMESPath query applied to the JSON result (as in the az CLI).")
@no_color_option
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@debug_option
def flowlogs(
    paths: Sequence[str], src: str | None, dst: str | None, port: int | None,
    protocol: str | None, decision: str | None, since: str | None, until: str | None,
    engine: str, spark_master: str | None, cache: Path | None, limit: int | None, top: int,
    output: str, query: str | None, progress: bool | None,
) -> None:
    """Flows from NSG and VNet flow logs, aggregated by 5-tuple, direction, decision and rule.

    PATH is a PT1H.json blob, a file of one record per line (Event Hubs), a folder (searched
    recursively, e.g. a storage container downloaded with azcopy) or a quoted glob. Broken
    files (truncated, still being written, unknown version) are skipped with a warning naming
    them. Text output adds what was read and skipped, the top denied flows and the top talkers;
    -o json prints {"flows": [...], "warnings": [...], "summary": {...}}; -o csv the flows.
    Exit code 0, or 2 for bad options, a missing engine, or when no file could be read.

    \b
    Examples:
      vnetdoctor flowlogs ./insights-logs-flowlogflowevent --decision deny --since 2h
      vnetdoctor flowlogs 'logs/**/PT1H.json' --src 10.1.0.0/16 --dst 10.2.0.5 --port 1433
      vnetdoctor flowlogs logs/ --cache ~/.cache/vnetdoctor-flowlogs -o csv > flows.csv
      vnetdoctor flowlogs logs/ -o json --query "flows[?decision=='Deny'].rule"
      vnetdoctor flowlogs /mnt/flowlogs --engine spark --spark-master spark://head:7077
    """
    from vnetdoctor.flowlogs import build_filter, scan
    from vnetdoctor.report.flowlogs import render_flowlogs, warning_line, write_csv
    from vnetdoctor.report.output import OutputFormat, emit

    fmt = output.casefold()
    if query and fmt == "csv":
        raise UsageError("--query applies to JSON output (-o json or -o jsonc), not to -o csv")
    flt = build_filter(src=src, dst=dst, port=port, protocol=protocol, decision=decision,
                       since=since, until=until)
    shown = limit if limit is not None else (TEXT_ROWS if fmt in ("text", "table") else None)
    show_bar = progress if progress is not None else sys.stderr.isatty()
    eng = _engine(engine.casefold(), spark_master)
    try:
        with _progress_bar(show_bar) as tick:
            report = scan(list(paths), flt, engine=eng, cache=cache, limit=shown, top=top,
                          progress=tick)
    finally:
        eng.close()
    if fmt == "csv":
        write_csv(report.flows, sys.stdout)
        for warning in report.warnings:
            click.echo(f"vnetdoctor: {warning_line(warning)}", err=True)
    else:
        emit(report.to_json(), OutputFormat.parse(fmt), query,
             lambda console: render_flowlogs(report, console))
    summary = report.summary
    if summary.files_read == 0 and summary.files_skipped > 0:
        click.echo("vnetdoctor: error: no flow-log file could be read (see the warnings)",
                   err=True)
        _exit(EXIT_INPUT)


COMMANDS = [flowlogs]
