"""How the command line reports a user's mistake: one line on stderr naming the option, field
or row, and exit code 2; `persona-risk --debug ...` shows the traceback instead.

A mistake is a bad option (click's usage errors, typer's range and choice checks), a
`UserError` raised by a command, or one of the library's input errors listed in
`input_errors`. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

DEBUG = "debug"
PROGRAM = "persona-risk"  # also under `python -m` or a test runner


class UserError(typer.TyperException):
    """A mistake in the command's input that no option check could catch; `command` is the
    command path it happened in (filled in by `CommandLine` when not given)."""

    exit_code = 2

    def __init__(self, message: str, command: str | None = None):
        super().__init__(message)
        self.command = command


# The library's exceptions that describe bad input rather than a bug, by module: one can only
# be raised once its module is imported, so none is imported here (`--help` stays fast).
INPUT_ERRORS = {
    "persona_risk.features.validate": ("SchemaError",),
    "persona_risk.features.adapters.base": ("WrongFormat",),
    "persona_risk.features.adapters.mapped": ("MappingError",),
    "persona_risk.features.adapters.reading": ("UnreadableFile",),
    "persona_risk.features.geoip": ("GeoipDatabaseError",),
    "persona_risk.features.io": ("TableReadError",),
    "persona_risk.models.risk_model": ("FeatureContractError", "MissingFeaturesError"),
    "persona_risk.serving.decisions": ("DecisionsFileError",),
    "persona_risk.serving.server": ("StartupError",),
    "persona_risk.settings": ("SettingsError",),
    "persona_risk.training.dataset": ("LabelError",),
    "persona_risk.training.simulated": ("SimulatedError",),
    "persona_risk.training.split": ("SplitError",),
}


def input_errors() -> tuple[type[Exception], ...]:
    """The input-error types that can have been raised so far, and a path that cannot be read
    or written (missing, a file where a folder is made, not a folder, a folder, not
    permitted)."""
    loaded = [getattr(sys.modules[module], name) for module, names in INPUT_ERRORS.items()
              if module in sys.modules for name in names]
    return (*loaded, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
            PermissionError)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


class CommandLine(TyperGroup):
    """The `persona-risk` group: input errors become `UserError`s, and every click exception
    is printed as one line (not rich's usage panel) before exiting with its code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as err:
            if ctx.params.get(DEBUG) and err.__cause__ is not None:
                raise err.__cause__ from None
            err.command = err.command or f"{ctx.command_path} {ctx.invoked_subcommand}"
            raise
        except Exception as err:
            if ctx.params.get(DEBUG) or not isinstance(err, input_errors()):
                raise
            raise UserError(str(err), f"{ctx.command_path} {ctx.invoked_subcommand}") from err

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        prog_name = PROGRAM
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except typer.TyperException as err:  # click's own errors too
            report(err, prog_name)
            sys.exit(err.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def report(err: typer.TyperException, prog_name: str) -> None:
    """Print `err` as one line on stderr: `persona-risk train: error: ...`."""
    message = one_line(err.format_message()).replace("Value error, ", "")  # typer's coercion
    if not message:  # no_args_is_help: the help is already printed
        return
    ctx = getattr(err, "ctx", None)
    where = getattr(err, "command", None) or (ctx.command_path if ctx is not None else prog_name)
    hint = f" (see {where} --help)" if ctx is not None else ""  # a usage error
    typer.echo(f"{where}: {typer.style('error', fg='red')}: {message}{hint}", err=True)
