"""The ``workstation`` command line.

Each command group lives in its own module under workstation.cli and exposes a click command or
group named ``command``; they are found here by name, so adding a group touches no shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import NoReturn

import click

from workstation import __version__
from workstation.cli.context import AppContext
from workstation.errors import ExitCode

# Modules in this package that are helpers, not command groups.
_NOT_COMMANDS = {"context", "exits", "output", "progress"}


class _WorkstationGroup(click.Group):
    """Loads command modules lazily so ``workstation --version`` does not import pandas or Qt."""

    def _modules(self) -> list[str]:
        names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
        return [n for n in names if n not in _NOT_COMMANDS]

    def list_commands(self, ctx: click.Context) -> list[str]:
        commands = set(super().list_commands(ctx))
        for module_name in self._modules():
            commands.update(_load(module_name).keys())
        return sorted(commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        for module_name in self._modules():
            commands = _load(module_name)
            if cmd_name in commands:
                return commands[cmd_name]
        return None


def _load(module_name: str) -> dict[str, click.Command]:
    module = importlib.import_module(f"{__name__}.{module_name}")
    exported: list[click.Command] = list(getattr(module, "commands", []))
    if hasattr(module, "command"):
        exported.append(module.command)
    return {cmd.name: cmd for cmd in exported if cmd.name}


@click.group(
    cls=_WorkstationGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--database-url",
    metavar="URL",
    default=None,
    help="Database to use (sqlite:///PATH or postgresql://…); overrides WORKSTATION_DATABASE_URL.",
)
@click.version_option(__version__, "--version", prog_name="workstation")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Desktop trading workstation: market data, features, models and orders for US equities.

    Run without a command to open the workstation window.
    """
    ctx.ensure_object(AppContext).database_url_option = database_url
    # One correlation id, timing, user action and error record per invocation (monitoring is
    # installed only once the command opens its database; see AppContext.engine).
    from workstation.monitoring.cli_support import cli_invocation

    ctx.with_resource(cli_invocation())
    if ctx.invoked_subcommand is None:
        gui = main.get_command(ctx, "gui")
        if gui is None:
            click.echo(ctx.get_help())
            return
        ctx.invoke(gui)


def run(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point: every run ends with one exit code from errors.ExitCode.

    Click's standalone mode is off so that our errors become one line (and a JSON object with
    ``--json``) instead of click's handling; in that mode ``main.main`` *returns* the code of an
    ``Exit`` raised by a command (e.g. 1 for rejected rows) rather than raising it.
    """
    from workstation.cli.exits import finish_with, json_requested

    args = list(sys.argv[1:] if argv is None else argv)
    app = AppContext()
    try:
        returned = main.main(args=args, prog_name="workstation", standalone_mode=False, obj=app)
    except BaseException as exc:
        sys.exit(finish_with(exc, as_json=json_requested(args), result_printed=app.result_printed))
    sys.exit(returned if isinstance(returned, int) else ExitCode.OK)
