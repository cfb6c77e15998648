"""The ``vnetdoctor`` command: parse arguments, call the library, render. No logic lives here.

Exit codes (stable): 0 success / reachable, 1 blocked or a verification failed, 2 bad usage or bad
input, 3 inconclusive, 4 live collection from Azure failed, 70 an internal error (a bug: a step of
``diagnose`` raised, after the report, or the command itself did).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from vnetdoctor import __version__
from vnetdoctor.commands.options import (
    CONTEXT,
    EXIT_INPUT,
    EXIT_OK,
    debug_option,
    open_snapshot,
    output_options,
    snapshot_options,
)
from vnetdoctor.errors import InternalError, UsageError, VnetDoctorError
from vnetdoctor.report.output import OutputFormat, emit, safe


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
      az graph query --first 1000 -q "Resources | where type startswith 'microsoft.network/'
        or type =~ 'microsoft.compute/virtualmachines' | order by id asc" > estate.json
      vnetdoctor inventory -s estate.json

    Exit codes: 0 ok/reachable, 1 blocked, 2 bad input, 3 inconclusive, 4 Azure collection failed,
    70 internal error (a bug: please report it).
    """


@cli.command(context_settings=CONTEXT)
@snapshot_options
@output_options
@debug_option
def inventory(
    snapshots: tuple[Path, ...], sample: str | None, plan: Path | None, output: str,
    query: str | None,
) -> None:
    """List every VM with its NICs, IPs, subnet, VNet, NSGs, route table and power state.

    Ingest warnings (dangling references, values that could not be parsed, unsupported types)
    follow the table: anything they name is treated as unknown by the other commands.

    \b
    Examples:
      vnetdoctor inventory --sample
      vnetdoctor inventory -s estate.json -s classic/ -o json
      vnetdoctor inventory --sample -o json --query "vms[?powerState!='running'].name"
    """
    from vnetdoctor.report.inventory import render_inventory
    from vnetdoctor.vm_inventory import inventory as build

    inv = build(open_snapshot(snapshots, sample, plan))
    emit(
        inv.to_json(),
        OutputFormat.parse(output),
        query,
        lambda console: render_inventory(inv, console),
    )


@cli.command(context_settings=CONTEXT)
@click.option("--list", "list_", is_flag=True, help="List the bundled sample estates.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Copy the sample's files into DIR/<name>.",
)
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


# Commands that live in their own modules, registered explicitly (no discovery magic).
_COMMAND_MODULES: tuple[str, ...] = (
    "vnetdoctor.commands.diagnose",
    "vnetdoctor.commands.routes",
    "vnetdoctor.commands.nsg",
    "vnetdoctor.commands.collect",
    "vnetdoctor.commands.probe",
    "vnetdoctor.commands.flowlogs",
    "vnetdoctor.commands.matrix",
    "vnetdoctor.commands.verify",
    "vnetdoctor.commands.diff",
    "vnetdoctor.commands.resolve",
)


def _register_commands() -> None:
    import importlib

    for module_name in _COMMAND_MODULES:
        module = importlib.import_module(module_name)
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI and turn errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # In non-standalone mode click returns ctx.exit(n)'s code instead of raising it.
        code = cli.main(args=args, prog_name="vnetdoctor", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("vnetdoctor: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT)
    except InternalError as exc:  # a bug the library caught, e.g. a step that raised
        if debug:
            traceback.print_exc()
        click.echo(f"vnetdoctor: internal error: {safe(exc)} {_REPORT_IT}", err=True)
        sys.exit(exc.exit_code)
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
            f"vnetdoctor: internal error: {safe(type(exc).__name__)}: {safe(exc)} {_REPORT_IT}",
            err=True,
        )
        sys.exit(InternalError.exit_code)


_REPORT_IT = "(run with --debug for the traceback, and please report it)"
