"""What the commands share: their option types, the console and progress lines, the settings
file, time options and loading a model by URI."""

from __future__ import annotations

import time
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from persona_risk.cli_errors import one_line
from persona_risk.features.adapters import ACCOUNT_FIELDS, SOURCES
from persona_risk.serving.decisions import DECISIONS
from persona_risk.serving.sqlite_store import DURABILITY

if TYPE_CHECKING:
    import pandas as pd

    from persona_risk.settings import Settings

console = Console(width=max(Console().width, 132))


def utc_time(value: str | None) -> pd.Timestamp | None:
    """A time option as a UTC timestamp (ISO-8601 only, naive is UTC: `01/02/2026` would be a
    guess between two days); None when not given."""
    from datetime import datetime

    from persona_risk.features.point_in_time import utc

    return utc(datetime.fromisoformat(value.strip())) if value else None


def _checked_time(value: str | None) -> str | None:
    """Check a time option while parsing; the command converts it (`utc_time`)."""
    if value is not None:
        try:
            utc_time(value)
        except ValueError as err:
            raise typer.BadParameter(f"{value!r} is not an ISO-8601 time ({err})") from err
    return value


def _fraction(value: float | None) -> float | None:
    """Check a share option: strictly between 0 and 1 (None: not given, a default applies)."""
    if value is not None and not 0.0 < value < 1.0:
        raise typer.BadParameter(f"{value} is not in (0, 1)")
    return value


CHECKED_TIME = {"callback": _checked_time}
FRACTION = {"callback": _fraction}
AsOf = Annotated[str | None, typer.Option(
    **CHECKED_TIME, help="Features as of this UTC time (ISO-8601); default: the last event.")]
AccountsOpt = Annotated[list[Path] | None, typer.Option(
    "--accounts", help="Accounts Parquet/CSV files or folders; optional: derived from events.")]
ModelOpt = Annotated[str, typer.Option("--model", help="MLflow model URI.")]


def _geoip_db(path: Path | None) -> Path | None:
    """The database checked now, not at the first lookup (which may come late, or never)."""
    if path is not None:
        from persona_risk.features.geoip import open_database

        open_database(path).close()
    return path


GeoipOpt = Annotated[Path | None, typer.Option("--geoip-db", callback=_geoip_db,
                                               help="MaxMind-format city database.")]
DEFAULT_MODEL = "models:/persona-risk@champion"
EventsOpt = Annotated[list[Path], typer.Option("--events", help="Events Parquet/CSV files or "
                                                                 "folders.")]


class Engine(StrEnum):
    """Where features are computed (and scored)."""

    local = "local"
    spark = "spark"


EngineOpt = Annotated[Engine, typer.Option(
    help="local (in process) or spark (Parquet in, a Parquet dataset out).")]
Source = StrEnum("Source", {name.replace("-", "_"): name for name in SOURCES})
AccountField = StrEnum("AccountField", {name: name for name in ACCOUNT_FIELDS})
Decision = StrEnum("Decision", {name: name for name in DECISIONS})
Durability = StrEnum("Durability", {name.replace("-", "_"): name for name in DURABILITY})


class SplitMethod(StrEnum):
    """How labelled accounts are split (see training.split)."""

    auto = "auto"
    time = "time"
    label_time = "label-time"
    random = "random"


SplitOpt = Annotated[SplitMethod, typer.Option(
    "--split", help="auto: by creation time, else stratified at random (says why); time; "
                    "label-time (needs labelled_at); random (stratified by label).")]
MasterOpt = Annotated[str | None, typer.Option(
    help="Spark master; default: spark-submit's or spark-defaults.conf's, else local[2].")]
DecisionsOpt = Annotated[Path | None, typer.Option(
    exists=True, dir_okay=False, help="Analysts' decisions (SQLite file, see `review`).")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", envvar="PERSONA_RISK_CONFIG", dir_okay=False,
    help="Settings file (TOML: features, bands, allow); default: persona-risk.toml in the "
         "working directory, if any.")]


def read_settings(path: Path | None) -> Settings:
    """The settings file's settings (a bad file is a `SettingsError`: one line, exit 2)."""
    from persona_risk.settings import load_settings

    return load_settings(path)


@contextmanager
def steps(description: str):
    """A spinner with elapsed time on a terminal; plain log lines otherwise."""
    if console.is_terminal:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(description)
            yield lambda text: progress.update(task, description=text)
    else:
        start = time.perf_counter()
        yield lambda text: print(f"[{time.perf_counter() - start:7.1f}s] {text}", flush=True)


def load_model(uri: str, logged: bool = False):
    """The `RiskModel` (with `logged`: the whole unwrapped pyfunc, its drift reference too) and
    version behind an MLflow model URI; a URI that does not resolve is a bad `--model`."""
    from mlflow.exceptions import MlflowException

    from persona_risk.models.pyfunc import load_logged_model, load_risk_model
    from persona_risk.models.tracking import configure_tracking

    configure_tracking()
    try:
        return (load_logged_model if logged else load_risk_model)(uri)
    except (MlflowException, OSError) as err:
        raise typer.BadParameter(f"{uri} could not be loaded: {one_line(err)}",
                                 param_hint="'--model'") from err


def check_out(out: Path, *inputs: list[Path] | None, option: str = "--out") -> None:
    """Refuse an output (given as `option`) that is an input file (it would be overwritten)
    or inside an input folder (the next run would read it, and the files written beside it,
    as input)."""
    target = out.resolve()
    for path in (p for paths in inputs for p in paths or ()):
        if path.is_dir() and target.is_relative_to(path.resolve()):
            raise typer.BadParameter(f"{out} is inside the input folder {path}: the next run "
                                     "would read it as input; write it elsewhere",
                                     param_hint=f"'{option}'")
        if target == path.resolve():
            raise typer.BadParameter(f"{out} is an input file: writing it would overwrite "
                                     "the input; write it elsewhere", param_hint=f"'{option}'")


def check_engine(engine: Engine, out: Path) -> Engine:
    """`engine`, unless it is Spark writing CSV (a bad `--out`)."""
    if engine == Engine.spark and out.suffix == ".csv":
        raise typer.BadParameter("the Spark engine writes a Parquet dataset, not CSV",
                                 param_hint="'--out'")
    return engine
