"""The `persona-risk` command line: a thin layer over features, models, training and serving.

One module per group of commands (`data`, `training`, `scoring`, `investigation`, `demo`),
their shared options in `options`; this module makes the app and lists the commands in the
order `--help` shows them.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Annotated

import typer

import persona_risk
from persona_risk.cli.data import features, ingest, simulate
from persona_risk.cli.demo import demo
from persona_risk.cli.investigation import explain, review
from persona_risk.cli.scoring import alerts, score, serve
from persona_risk.cli.training import evaluate, robustness, train
from persona_risk.cli_errors import DEBUG, PROGRAM, CommandLine

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
logging.getLogger("mlflow").setLevel(logging.ERROR)
# `score` prints each drift warning itself; the library's log line of it would be a second copy
logging.getLogger("persona_risk.serving.drift").addHandler(logging.NullHandler())
warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
# the run's dataset has an integer label column, which MLflow hints about on every training
warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer column",
                        UserWarning, r"mlflow\.")

COMMANDS = (simulate, features, ingest, train, evaluate, robustness, score, explain, review,
            alerts, serve, demo)

app = typer.Typer(cls=CommandLine, name=PROGRAM, no_args_is_help=True, add_completion=False,
                  help="Find fraudulent remote-worker personas in sign-in logs.",
                  pretty_exceptions_show_locals=False)  # locals may hold raw ids and rows
for command in COMMANDS:
    app.command()(command)


def _print_version(value: bool) -> None:
    if value:
        print(f"persona-risk {persona_risk.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option(
        f"--{DEBUG}", help="Show the traceback of an input error instead of one line.")] = False,
) -> None:
    """Find fraudulent remote-worker personas in sign-in logs."""
