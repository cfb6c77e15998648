"""``vnetdoctor verify``: check reachability intents in one run; JUnit XML for CI gates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vnetdoctor.commands.options import (
    CONTEXT,
    EXIT_BLOCKED,
    EXIT_OK,
    debug_option,
    open_snapshot,
    snapshot_options,
)
from vnetdoctor.outfile import write_output


@click.command(context_settings=CONTEXT)
@click.argument("intents_file", metavar="INTENTS.yaml", type=click.Path(path_type=Path))
@snapshot_options
@click.option(
    "--junit",
    "junit",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Also write the results as JUnit XML (Azure DevOps, GitHub Actions).",
)
@debug_option
def verify(
    intents_file: Path,
    snapshots: tuple[Path, ...],
    sample: str | None,
    plan: Path | None,
    junit: Path | None,
) -> None:
    """Check intents such as "web may reach db on 5432" or "nothing from the Internet reaches
    db", by VM names, globs, IPs or CIDRs, all in one run.

    Exit code: 0 when every intent holds, 1 when any fails (an inconclusive pair fails: what
    cannot be proven is not assumed), 2 on bad input.

    \b
    Intents file:
      intents:
        - name: web may reach db
          from: vm-web-*
          to: vm-db-01
          port: 5432
          expect: may reach          # or: must not reach
        - {from: Internet, to: "vm-db-*", port: 5432, expect: must not reach}

    \b
    Examples:
      vnetdoctor verify intents.yaml --sample
      vnetdoctor verify intents.yaml -s estate.json --junit results.xml
    """
    from vnetdoctor.api import load_guest
    from vnetdoctor.report.output import safe
    from vnetdoctor.verify import check_intents, junit_xml, load_intents

    spec = load_intents(intents_file)
    snapshot = open_snapshot(snapshots, sample, plan)
    guest: dict[str, Any] = {name: load_guest(paths) for name, paths in spec.guest.items()}
    results = check_intents(snapshot, spec.intents, guest)
    for r in results:
        mark = "PASS" if r.ok else "FAIL"
        click.echo(f"{mark}  {safe(r.intent.name)}: {safe(r.message)}")
    failed = sum(1 for r in results if not r.ok)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if junit is not None:
        write_output(junit, junit_xml(results, f"vnetdoctor.verify.{intents_file.stem}"))
    raised = sorted({n for r in results for p in r.pairs for n in p.raised})
    if raised:
        from vnetdoctor.errors import InternalError

        which = ", ".join(str(n) for n in raised)
        raise InternalError(
            f"step{'s' if len(raised) > 1 else ''} {which} raised in the diagnosis of some "
            "intent pairs (their results above are not to be trusted)"
        )
    sys.exit(EXIT_BLOCKED if failed else EXIT_OK)


COMMANDS = [verify]
