"""Rendering flow-log answers: rich text with summaries, and CSV.

Everything printed here comes from log files anyone may have written (rule names, addresses, file
names), so strings go through :func:`~vnetdoctor.report.output.cell` / ``safe`` and print as
inert text. CSV holds the flows only, with the JSON keys as header; warnings go to stderr.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Final

from rich.console import Console
from rich.text import Text

from vnetdoctor.flowlogs.model import (
    DeniedFlow,
    FlowAggregate,
    FlowLogReport,
    FlowLogWarning,
    ScanSummary,
    TalkerSummary,
    format_ms,
)
from vnetdoctor.report.output import cell, csv_text, print_line, print_table, safe

CSV_COLUMNS: Final = ("src", "dst", "srcPort", "dstPort", "protocol", "direction", "decision",
                      "rule", "count", "packets", "bytes", "firstSeen", "lastSeen")
_DECISION_STYLE: Final = {"Allow": "green", "Deny": "bold red"}


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return format_ms(ms).replace("T", " ").removesuffix("Z")


def summary_lines(summary: ScanSummary, warnings: Iterable[FlowLogWarning]) -> list[str]:
    """What was read and skipped, in two or three lines."""
    span = ""
    if summary.first_seen is not None:
        span = f", {_when(summary.first_seen)} to {_when(summary.last_seen)} UTC"
    lines = [
        f"Read {summary.files_read} of {summary.files} file(s) ({_size(summary.bytes_read)}, "
        f"{summary.tuples:,} flow tuples{span}) with {summary.engine} in "
        f"{summary.seconds:.1f} s; {summary.tuples_matched:,} tuple(s) matched."
    ]
    extra = []
    if summary.files_pruned:
        extra.append(f"{summary.files_pruned} outside --since/--until by their blob path")
    if summary.files_cached:
        extra.append(f"{summary.files_cached} from the Parquet cache")
    if summary.files_prefiltered:
        extra.append(
            f"{summary.files_prefiltered} not parsed: proven to hold no tuple from the source "
            "and nothing malformed"
        )
    if extra:
        lines.append("Files: " + "; ".join(extra) + ".")
    counted = list(warnings)
    if summary.files_skipped or summary.records_skipped or summary.tuples_skipped or counted:
        lines.append(
            f"Skipped: {summary.files_skipped} file(s), {summary.records_skipped} record(s), "
            f"{summary.tuples_skipped} flow tuple(s); {len(counted)} warning(s) below."
        )
    return lines


def warning_line(warning: FlowLogWarning) -> str:
    return f"warning {warning.code} {warning.kind.value}: {safe(warning.file)}: " \
           f"{safe(warning.message)}"


_FLOW_COLUMNS: Final = ("First seen (UTC)", "Last seen", "Source", "Destination", "Proto", "Dir",
                        "Decision", "Rule", "Tuples", "Packets", "Bytes")
_DENIED_COLUMNS: Final = ("Source", "Destination", "Proto", "Dir", "Rule", "Tuples", "First seen",
                          "Last seen")
_TALKER_COLUMNS: Final = ("Source", "Destinations", "Flows", "Packets", "Bytes")
_NUMBERS: Final = ("Tuples", "Packets", "Bytes", "Destinations", "Flows")


def _flow_rows(flows: Iterable[FlowAggregate]) -> list[list[Text]]:
    return [
        [
            cell(_when(flow.first_seen)), cell(_when(flow.last_seen)),
            cell(f"{flow.src}:{flow.src_port}"), cell(f"{flow.dst}:{flow.dst_port}"),
            cell(flow.protocol), cell(flow.direction),
            Text(safe(flow.decision), style=_DECISION_STYLE.get(flow.decision, "")),
            cell(flow.rule or "-"), cell(f"{flow.count:,}"), cell(f"{flow.packets:,}"),
            cell(f"{flow.bytes:,}"),
        ]
        for flow in flows
    ]


def _denied_rows(denied: Iterable[DeniedFlow]) -> list[list[Text]]:
    return [
        [cell(flow.src), cell(f"{flow.dst}:{flow.dst_port}"), cell(flow.protocol),
         cell(flow.direction), cell(flow.rule or "-"), cell(f"{flow.count:,}"),
         cell(_when(flow.first_seen)), cell(_when(flow.last_seen))]
        for flow in denied
    ]


def _talker_rows(talkers: Iterable[TalkerSummary]) -> list[list[Text]]:
    return [
        [cell(talker.src), cell(f"{talker.destinations:,}"), cell(f"{talker.flows:,}"),
         cell(f"{talker.packets:,}"), cell(f"{talker.bytes:,}")]
        for talker in talkers
    ]


def render_flowlogs(report: FlowLogReport, console: Console) -> None:
    """The summary, the flows (as many as were fetched), top denied, top talkers, warnings; the
    tables sized so no address is cut (one line per flow when the terminal is too narrow)."""
    for line in summary_lines(report.summary, report.warnings):
        print_line(console, Text(line))
    console.print()
    if not report.flows:
        console.print(Text("No flow matched."))
    else:
        shown = len(report.flows)
        title = (f"Flows ({report.total_flows:,})" if shown == report.total_flows
                 else f"Flows (first {shown:,} of {report.total_flows:,}, oldest first)")
        print_table(console, title, _FLOW_COLUMNS, _flow_rows(report.flows), compact=True,
                    right=_NUMBERS)
        if shown < report.total_flows:
            console.print(Text(f"... {report.total_flows - shown:,} more: use --limit N, "
                               "-o json or -o csv."))
    if report.top_denied:
        console.print()
        print_table(console, "Top denied flows (over source ports)", _DENIED_COLUMNS,
                    _denied_rows(report.top_denied), compact=True, right=_NUMBERS)
    if report.top_talkers:
        console.print()
        print_table(console, "Top talkers (by bytes)", _TALKER_COLUMNS,
                    _talker_rows(report.top_talkers), compact=True, right=_NUMBERS)
    if report.warnings:
        console.print()
        for warning in report.warnings:
            print_line(console, Text(warning_line(warning), style="yellow"))


def write_csv(flows: Iterable[FlowAggregate], stream: IO[str]) -> None:
    """The flows as CSV, one row per aggregated flow, with the JSON keys as header. Control
    characters in text (a hostile rule name) are written as escapes, as the terminal shows them,
    and a text cell a spreadsheet would run as a formula is quoted (:func:`csv_text`)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for flow in flows:
        row = flow.to_json()
        writer.writerow(["" if row[key] is None else csv_text(safe(row[key]))
                         if isinstance(row[key], str) else row[key] for key in CSV_COLUMNS])
