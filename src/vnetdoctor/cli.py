"""The ``vnetdoctor`` command: parse arguments, call the library, render. No logic lives here.

Exit codes (stable): 0 success / reachable, 1 blocked or a verification failed, 2 bad usage or bad
input, 3 inconclusive, 4 live collection from Azure failed.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from vnetdoctor import __version__
from vnetdoctor.errors import UsageError, VnetDoctorError
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.report.output import OutputFormat, emit, safe

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_BLOCKED, EXIT_INPUT, EXIT_INCONCLUSIVE, EXIT_COLLECTION = 0, 1, 2, 3, 4
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def output_options(func: F) -> F:
    """``-o`` and ``--query``, as the az CLI spells them."""
    func = click.option(
        "--query", metavar="JMESPATH",
        help="JMESPath query applied to the JSON result (as in the az CLI).")(func)
    func = click.option(
        "-o", "--output", "output", default="text", show_default=True,
        type=click.Choice(["text", "table", "json", "jsonc", "none"], case_sensitive=False),
        help="Output format.")(func)
    return func


def snapshot_options(func: F) -> F:
    """``-s/--snapshot`` (repeatable) or ``--sample``."""
    func = click.option(
        "--sample", "sample", is_flag=False, flag_value="contoso", default=None,
        metavar="[NAME]", help="Use a bundled sample estate instead of -s (default: contoso).")(func)
    func = click.option(
        "-s", "--snapshot", "snapshots", multiple=True, type=click.Path(path_type=Path),
        metavar="PATH", help="Snapshot file or folder of ARM JSON / classic XML (repeatable).")(func)
    return func


def debug_option(func: F) -> F:
    return click.option(
        "--debug", is_flag=True, expose_value=False, is_eager=True,
        help="Show a traceback on errors.")(func)


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


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="vnetdoctor")
@debug_option
def cli() -> None:
    """Why can't VM A reach VM B? Exact, offline answers from Azure configuration.

    \b
    Start with the bundled sample estate:
      vnetdoctor inventory --sample
      vnetdoctor sample --list
    Then point it at your own export:
      az graph query -q "Resources | where type startswith 'microsoft.network/' or type =~ 'microsoft.compute/virtualmachines'" --first 1000 > estate.json
      vnetdoctor inventory -s estate.json

    Exit codes: 0 ok/reachable, 1 blocked, 2 bad input, 3 inconclusive, 4 Azure collection failed.
    """


@cli.command(context_settings=CONTEXT)
@snapshot_options
@output_options
@debug_option
def inventory(snapshots: tuple[Path, ...], sample: str | None, output: str,
              query: str | None) -> None:
    """List every VM with its NICs, IPs, subnet, VNet, NSGs, route table and power state.

    Ingest warnings (dangling references, values that could not be parsed, unsupported types)
    follow the table: anything they name is treated as unknown by the other commands.

    \b
    Examples:
      vnetdoctor inventory --sample
      vnetdoctor inventory -s estate.json -s classic/ -o json
      vnetdoctor inventory --sample -o json --query "vms[?powerState!='running'].name"
    """
    from vnetdoctor.inventory import inventory as build
    from vnetdoctor.report.inventory import render_inventory

    inv = build(open_snapshot(snapshots, sample))
    emit(inv.to_json(), OutputFormat.parse(output), query,
         lambda console: render_inventory(inv, console))


@cli.command(context_settings=CONTEXT)
@click.option("--list", "list_", is_flag=True, help="List the bundled sample estates.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="Copy the sample's files into DIR/<name>.")
@click.option("--name", default="contoso", show_default=True, help="Which sample.")
@debug_option
def sample(list_: bool, out: Path | None, name: str) -> None:
    """The bundled sample estate: a hub-and-spoke company network with one broken path per
    finding family (see docs/sample.md).

    \b
    Examples:
      vnetdoctor sample --list
      vnetdoctor sample --out ./demo && vnetdoctor inventory -s ./demo/contoso
    """
    from vnetdoctor.samples import sample_names, sample_path, write_sample

    if list_ or out is None:
        for sample_name in sample_names():
            click.echo(f"{sample_name}\t{sample_path(sample_name)}")
        if out is None:
            return
    target = write_sample(out, name)
    click.echo(f"wrote {target}")


@cli.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script.

    \b
    Examples:
      eval "$(vnetdoctor completion bash)"
      vnetdoctor completion fish > ~/.config/fish/completions/vnetdoctor.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise UsageError(f"no completion for {shell}")
    click.echo(cls(cli, {}, "vnetdoctor", "_VNETDOCTOR_COMPLETE").source())


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI and turn errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="vnetdoctor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("vnetdoctor: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT)
    except VnetDoctorError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"vnetdoctor: error: {safe(exc)}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except Exception as exc:  # a bug: one line unless --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"vnetdoctor: internal error: {safe(type(exc).__name__)}: {safe(exc)} "
            "(run with --debug for the traceback, and please report it)", err=True)
        sys.exit(70)
