"""``vnetdoctor diff``: which VM pairs change verdict between two states (or a state + a plan)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from vnetdoctor.analyses.diff import DiffResult, Pair, PairChange
from vnetdoctor.commands.options import CONTEXT, debug_option, output_options
from vnetdoctor.errors import UsageError, VnetDoctorError
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.report.output import OutputFormat, emit, safe

_SHOWN_WARNINGS = 20


def _is_plan_file(path: Path) -> bool:
    if not path.is_file() or path.suffix.lower() != ".json":
        return False
    from vnetdoctor.ingest.documents import decode_json, read
    from vnetdoctor.ingest.plan import is_terraform_plan, is_whatif

    doc = decode_json(read(path), str(path))
    return is_terraform_plan(doc) or is_whatif(doc)


def _verb(change: PairChange) -> str:
    after = change.after or "error"
    if change.before is None:
        return "adds"
    if change.worse:
        return {"blocked": "blocks", "inconclusive": "makes inconclusive"}.get(after, "breaks")
    if after == "reachable":
        return "opens"
    return "changes"


def render_diff(result: DiffResult, console: Console, after_label: str) -> None:
    if not result.changes:
        console.print(
            Text(f"no verdict changes in {result.checked} pair(s) checked ({safe(after_label)})")
        )
    for change in result.changes:
        before = change.before or "error"
        after = change.after or "error"
        mark = (
            "WORSE"
            if change.worse
            else "new"
            if change.before is None
            else "better"
            if change.verdict_changed
            else "intent broken, unchanged"
        )
        console.print(
            Text(
                f"[{mark}] {safe(after_label)} {_verb(change)} {safe(change.pair.label())}: "
                f"{before} -> {after}"
            )
        )
        for f in change.appeared:
            console.print(Text(f"    + {f.code}: {safe(f.message)}"))
        for f in change.disappeared:
            console.print(Text(f"    - {f.code}: {safe(f.message)}"))
        if change.error:
            console.print(Text(f"    ! {safe(change.error)}"))
    console.print(
        Text(
            f"{sum(1 for c in result.changes if c.verdict_changed)} of {result.checked} "
            "pair(s) change verdict, "
            f"{len(result.worse)} worse"
            + (f"; ports {', '.join(map(str, result.ports))}" if result.ports else "")
        )
    )
    if result.warnings:
        console.print(Text(f"{len(result.warnings)} plan/ingest warning(s):"))
        for w in result.warnings[:_SHOWN_WARNINGS]:
            console.print(Text(f"  {safe(w)}"))
        if len(result.warnings) > _SHOWN_WARNINGS:
            console.print(Text(f"  ... {len(result.warnings) - _SHOWN_WARNINGS} more (-o json)"))


def pairs_from_intent_file(before: Snapshot, after: Snapshot, path: Path) -> list[Pair]:
    """The pairs of a ``verify`` intents file (globs and CIDRs expanded on the after-state, then
    the before-state), each expecting ``reachable`` (``may reach``) or ``blocked``."""
    from vnetdoctor.verify.intents import MAY, expand, load_intents

    spec = load_intents(path)
    out: list[Pair] = []
    for intent in spec.intents:
        ends: list[list[str]] = []
        for selectors in (intent.sources, intent.destinations):
            found: list[str] = []
            for sel in selectors:
                try:
                    found.extend(expand(after, sel))
                except VnetDoctorError:  # a glob that matches only before the change
                    found.extend(expand(before, sel))
            ends.append([_short_name(after, before, e) for e in dict.fromkeys(found)])
        expect = "reachable" if intent.expect == MAY else "blocked"
        for src in ends[0]:
            for dst in ends[1]:
                if src.casefold() != dst.casefold():
                    out.append(Pair(src, dst, intent.port, intent.protocol, intent.name, expect))
    return out


def _short_name(before: Snapshot, after: Snapshot, endpoint: str) -> str:
    if not endpoint.startswith("/subscriptions"):
        return endpoint
    name = endpoint.rstrip("/").rsplit("/", 1)[-1]
    for snap in (after, before):
        same = [v for v in snap.virtual_machines.values() if v.name.casefold() == name.casefold()]
        if len(same) > 1:
            return endpoint
    return name


@click.command(context_settings=CONTEXT)
@click.option(
    "--before",
    "before",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="SNAP",
    help="The current snapshot: file or folder (repeatable).",
)
@click.option(
    "--sample",
    "sample",
    is_flag=False,
    flag_value="contoso",
    default=None,
    metavar="[NAME]",
    help="Use a bundled sample estate as the before-state.",
)
@click.option(
    "--after",
    "after",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    metavar="SNAP|PLAN",
    help="The after-state: a snapshot, or a Terraform plan (`terraform show -json`) or ARM "
    "what-if result applied on top of the before-state.",
)
@click.option(
    "--pairs",
    "pairs_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="FILE",
    help="Pairs to check, one per line: 'SRC DST PORT [PROTO]' or 'SRC -> DST:PORT'.",
)
@click.option(
    "--intents",
    "intents_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="FILE",
    help="A `verify` intents file: its pairs are checked, and a broken intent fails (exit 1).",
)
@output_options
@debug_option
def diff(
    before: tuple[Path, ...],
    sample: str | None,
    after: Path,
    pairs_file: Path | None,
    intents_file: Path | None,
    output: str,
    query: str | None,
) -> None:
    """Which VM pairs change verdict, and why, between a before- and an after-state.

    Without --pairs/--intents, every VM whose NIC, subnet, NSG, route table or VNet changes is
    checked to and from every other VM, on the ports the changed security rules mention (plus 22
    and 443 when routes, NICs, subnets or peerings change).

    Exit code: 1 when any verdict gets worse (for a "must not reach" intent: moves towards
    reachable), 0 otherwise, 2 bad input.

    \b
    Examples:
      terraform show -json tfplan > plan.json
      vnetdoctor diff --before estate.json --after plan.json
      vnetdoctor diff --sample --after plan.json --pairs pairs.txt -o json
      vnetdoctor diff --before today/ --after whatif.json --intents intents.yaml
    """
    from vnetdoctor.analyses.diff import diff_snapshots, parse_pairs
    from vnetdoctor.api import diagnose as run_diagnosis
    from vnetdoctor.commands.options import open_snapshot
    from vnetdoctor.engine.fabric import Fabric
    from vnetdoctor.ingest.loader import load_snapshot
    from vnetdoctor.ingest.preflight import apply_plan
    from vnetdoctor.runbook.runner import StepError, StepFailed

    if pairs_file and intents_file:
        raise UsageError("give either --pairs or --intents, not both")
    base = open_snapshot(list(before), sample)
    if _is_plan_file(after):
        after_snap = apply_plan(base, after)
        label = "this plan"
    else:
        after_snap = load_snapshot([after])
        label = "the after-state"
    pairs = None
    if pairs_file is not None:
        pairs = parse_pairs(pairs_file.read_text(encoding="utf-8"), str(pairs_file))
    elif intents_file is not None:
        pairs = pairs_from_intent_file(base, after_snap, intents_file)
    before_keys = {str(w) for w in base.warnings}
    new_warnings = [str(w) for w in after_snap.warnings if str(w) not in before_keys]
    fabrics = {id(base): Fabric(base), id(after_snap): Fabric(after_snap)}

    raised: list[StepError] = []

    def run(snapshot: Snapshot, *args: Any, **kwargs: Any) -> Any:
        """A diagnosis on one of the two snapshots, with that snapshot's fabric."""
        diagnosis = run_diagnosis(snapshot, *args, fabric=fabrics[id(snapshot)], **kwargs)
        raised.extend(diagnosis.errors)
        return diagnosis

    result = diff_snapshots(base, after_snap, pairs, run=run, warnings=new_warnings)
    emit(
        result.to_json(),
        OutputFormat.parse(output),
        query,
        lambda console: render_diff(result, console, label),
    )
    if raised:  # the diff is shown (the step's error is a significant finding), then exit 70
        raise StepFailed(tuple(raised))
    sys.exit(result.exit_code)


COMMANDS = [diff]
