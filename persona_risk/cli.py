"""The `persona-risk` command line: a thin layer over features, models, training and serving."""

from __future__ import annotations

import logging
import os
import time
import warnings
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

import persona_risk
from persona_risk.cli_errors import (
    DEBUG,
    PROGRAM,
    CommandLine,
    UserError,
    input_errors,
    one_line,
)
from persona_risk.features.adapters import SOURCES
from persona_risk.features.adapters.base import ACCOUNT_FIELDS
from persona_risk.serving.decisions import DECISIONS

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
logging.getLogger("mlflow").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
# the run's dataset has an integer label column, which MLflow hints about on every training
warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer column",
                        UserWarning, r"mlflow\.")

app = typer.Typer(cls=CommandLine, name=PROGRAM, no_args_is_help=True, add_completion=False,
                  help="Find fraudulent remote-worker personas in sign-in logs.",
                  pretty_exceptions_show_locals=False)  # locals may hold raw ids and rows
console = Console(width=max(Console().width, 132))


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


def _utc_time(value: str | None) -> str | None:
    """Check a time option (ISO-8601, naive is UTC) while parsing; the command converts it."""
    if value is not None:
        try:
            _as_of(value)
        except ValueError as err:
            raise typer.BadParameter(f"{value!r} is not an ISO-8601 time ({err})") from err
    return value


AsOf = Annotated[str | None, typer.Option(
    callback=_utc_time, help="Features as of this UTC time (ISO-8601); default: the last event.")]


def _fraction(value: float | None) -> float | None:
    """Check a share option: strictly between 0 and 1 (None: not given, a default applies)."""
    if value is not None and not 0.0 < value < 1.0:
        raise typer.BadParameter(f"{value} is not in (0, 1)")
    return value


Fraction = {"callback": _fraction}
AccountsOpt = Annotated[list[Path] | None, typer.Option(
    "--accounts", help="Accounts Parquet/CSV files or folders; optional: derived from events.")]
ModelOpt = Annotated[str, typer.Option("--model", help="MLflow model URI.")]
GeoipOpt = Annotated[Path | None, typer.Option("--geoip-db",
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
DECISIONS_FILE = Path("decisions.sqlite")  # where `review` appends by default
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", envvar="PERSONA_RISK_CONFIG", dir_okay=False,
    help="Settings file (TOML: features, bands, allow); default: persona-risk.toml in the "
         "working directory, if any.")]


def _settings(path: Path | None):
    """The settings file's settings (a bad file is a `SettingsError`: one line, exit 2)."""
    from persona_risk.settings import load_settings

    return load_settings(path)


def _model_features(settings, model, version: str):
    """The model's feature thresholds with the settings' allow-list; a `SettingsError` when
    the settings set other thresholds than the model's."""
    return settings.for_model(model, f"model {version}")


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


def _as_of(value: str | None) -> pd.Timestamp | None:
    from persona_risk.features.point_in_time import utc

    return utc(value) if value else None


def _load_model(uri: str, logged: bool = False):
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


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder for accounts, events and truth Parquet.")],
    accounts: Annotated[int, typer.Option(min=1, help="Number of accounts.")] = 2000,
    days: Annotated[int, typer.Option(min=1, help="Days of sign-in activity.")] = 60,
    fraud_rate: Annotated[float, typer.Option(
        **Fraction, help="Share of fraudulent personas, in (0, 1).")] = 0.02,
    farms: Annotated[int | None, typer.Option(help="Laptop farms (default: auto).")] = None,
    evasion_share: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of evasive operators, in [0, 1] (reference world; "
                               "randomized worlds draw it).")] = 0.2,
    start: Annotated[str, typer.Option(callback=_utc_time, help="First day (UTC).")
                     ] = "2026-01-05",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    randomize: Annotated[bool, typer.Option(
        "--randomize/--reference",
        help="Draw each world's structure from wide ranges (domain randomization), or the "
             "fixed reference world.")] = True,
    worlds: Annotated[int, typer.Option(min=1, help="Worlds (employers) pooled.")] = 4,
) -> None:
    """Simulate a labelled world: accounts.parquet, events.parquet and truth.parquet."""
    from persona_risk.features.io import write_table
    from persona_risk.training.simulator.simulate import SimConfig
    from persona_risk.training.simulator.simulate import simulate as run

    with steps("simulating accounts and events") as say:
        world = run(SimConfig(accounts, days, fraud_rate, farms, evasion_share, start, seed,
                              randomize=randomize, worlds=worlds))
        say("writing Parquet")
        for name in ("accounts", "events", "truth"):
            write_table(getattr(world, name), out / f"{name}.parquet")
    _print_world(world.accounts, world.events)
    console.print(f"wrote {out}/accounts.parquet, events.parquet, truth.parquet")


def _print_world(accounts: pd.DataFrame, events: pd.DataFrame) -> None:
    table = Table(title=f"{len(accounts):,} accounts, {len(events):,} events")
    for col in ("persona", "label", "accounts", "events"):
        table.add_column(col, justify="right" if col in ("accounts", "events") else "left")
    n_events = events.groupby("account_id").size()
    summary = accounts.assign(events=accounts.account_id.map(n_events).fillna(0)).groupby(
        ["persona", "label"]).agg(accounts=("account_id", "size"), events=("events", "sum"))
    for (persona, label), row in summary.iterrows():
        table.add_row(persona, str(label), f"{int(row.accounts):,}", f"{int(row.events):,}")
    console.print(table)


@app.command()
def features(
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Account feature table (.parquet or .csv).")],
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    geoip_db: GeoipOpt = None,
    engine: EngineOpt = Engine.local,
    spark_master: MasterOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Compute the account feature table as of a time."""
    from persona_risk.features.batch import build_features, load_inputs
    from persona_risk.features.io import write_quarantine, write_table

    cfg = _settings(config).features
    if _check_engine(engine, out) == "spark":
        from persona_risk.features.spark_engine import features_table, spark_session

        with steps("computing features on Spark"):
            n_accounts, n_events, n_bad = features_table(
                spark_session(spark_master), [str(p) for p in events], str(out), accounts,
                _as_of(as_of), str(geoip_db) if geoip_db else None, cfg=cfg)
        console.print(f"{n_accounts:,} accounts, {n_events:,} events, {n_bad:,} rows "
                      f"quarantined -> {out}")
        return
    with steps("reading and validating") as say:
        inputs = load_inputs(events, accounts, geoip_db)
        say("computing features")
        result = build_features(inputs, _as_of(as_of), cfg)
        write_table(result.features, out)
        write_quarantine(inputs.quarantine, out)  # or remove an earlier run's
    console.print(f"{len(result.features):,} accounts, {len(inputs.events):,} events, "
                  f"{len(inputs.quarantine):,} rows quarantined -> {out}")


@app.command()
def ingest(
    source: Annotated[Source, typer.Argument(help="The export's format.")],
    inputs: Annotated[list[Path], typer.Argument(help="Export files (.json, .jsonl, .csv, .gz).")],
    out: Annotated[Path, typer.Option(help="Canonical table (.parquet, or .csv by extension).")],
    mapping: Annotated[Path | None, typer.Option(help="Column mapping (csv source).")] = None,
    account_field: Annotated[AccountField, typer.Option(
        help="User identifier: upn (UPN/login/arn) or id (user id / userName).")
    ] = AccountField.upn,
    hash_key_file: Annotated[Path | None, typer.Option(
        help="Key for hashing user and device ids (or PERSONA_RISK_HASH_KEY).")] = None,
    geoip_db: GeoipOpt = None,
) -> None:
    """Turn identity-provider exports into canonical events or accounts."""
    from persona_risk.features.adapters import make_source
    from persona_risk.features.adapters.base import Options, hash_key_from_env
    from persona_risk.features.adapters.base import ingest as run

    options = Options(account_field.value, hash_key_from_env(hash_key_file))
    try:
        src = make_source(source.value, options, mapping)
        with steps(f"ingesting {source.value}") as say:
            summary = run(src, inputs, out, geoip_db, say)
    except ValueError as err:  # no or a bad mapping file, a hash key that cannot be used
        raise UserError(str(err)) from err
    console.print_json(data=summary.__dict__)


@app.command()
def train(
    events: EventsOpt,
    accounts: Annotated[list[Path], typer.Option(
        "--accounts", help="Accounts with a label column (1, 0, or empty when unknown).")],
    as_of: AsOf = None,
    model_name: Annotated[str, typer.Option(help="Registered model name.")] = "persona-risk",
    report: Annotated[Path, typer.Option(help="Report folder.")] = Path("report"),
    tune: Annotated[int, typer.Option(min=0, help="Optuna trials of hyperparameter search.")
                    ] = 0,
    split: SplitOpt = SplitMethod.auto,
    val_frac: Annotated[float, typer.Option(
        **Fraction, help="Share of labelled accounts for validation, in (0, 1); with "
                         "--test-frac below 1.")] = 0.25,
    test_frac: Annotated[float, typer.Option(
        **Fraction, help="Share of labelled accounts for test, in (0, 1).")] = 0.35,
    target_fpr: Annotated[float | None, typer.Option(
        **Fraction, help="False-positive rate of the high band, in (0, 1); default: the "
        "settings' bands.target_fpr (0.01).")] = None,
    queue: Annotated[int | None, typer.Option(
        min=1, help="Analyst queue size (precision at k); default: the settings' "
        "bands.queue_size (50).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    config: ConfigOpt = None,
) -> None:
    """Train, evaluate against the baselines, log to MLflow, register, run the champion gate."""
    from persona_risk.features.batch import load_inputs
    from persona_risk.training.fit import TrainConfig
    from persona_risk.training.registry import configure_tracking
    from persona_risk.training.split import SplitConfig, SplitWarning
    from persona_risk.training.train import run_training

    if val_frac + test_frac >= 1:
        raise typer.BadParameter(f"{val_frac} + {test_frac} leaves no accounts to train on; "
                                 "the sum must be below 1",
                                 param_hint="'--val-frac' + '--test-frac'")
    settings = _settings(config)
    with steps("reading and validating") as say, warnings.catch_warnings():
        warnings.simplefilter("ignore", SplitWarning)  # printed below with the split
        inputs = load_inputs(events, accounts)
        say("features, training and evaluation")
        outcome = run_training(
            inputs, _as_of(as_of), model_name, report,
            TrainConfig(seed=seed,
                        target_fpr=settings.target_fpr if target_fpr is None else target_fpr,
                        queue_size=settings.queue_size if queue is None else queue),
            SplitConfig(split.value, val_frac, test_frac, seed), tune,
            features=settings.features)
    _print_evaluation(outcome)
    console.print(outcome.decision.message())
    console.print(f"registered {model_name} v{outcome.version} (run {outcome.run_id})")
    console.print(f"report: {outcome.report}")
    uri = configure_tracking()
    console.print(f"MLflow UI: {uri}" if uri.startswith("http") else
                  f"MLflow UI: mlflow ui --backend-store-uri {uri}")


def _metrics_table(title: str, points: pd.DataFrame, intervals: pd.DataFrame) -> Table:
    from persona_risk.training.metrics import with_intervals

    table = Table(title=title)
    table.add_column("scorer")
    for col in points.columns:
        table.add_column(col, justify="right")
    for name, row in with_intervals(points, intervals).iterrows():
        table.add_row(name, *row)
    return table


def _print_evaluation(outcome) -> None:
    ev, split = outcome.evaluation, outcome.split
    console.print(f"split {split.method}: {split.reason}")
    counts = split.counts(outcome.table["label"])
    console.print("  " + "; ".join(f"{p}: {r.accounts:,} accounts, {r.fraud} fraudulent"
                                   for p, r in counts.iterrows()))
    for line in outcome.warnings:
        console.print(f"[yellow]warning:[/yellow] {line}")
    console.print(_metrics_table(f"test accounts: {len(ev.scores):,} "
                                 f"({int(ev.scores['label'].sum())} fraudulent), 95% intervals",
                                 ev.metrics, ev.intervals))
    if ev.logs_only is not None:
        console.print(_metrics_table("the same accounts scored from sign-in logs alone",
                                     ev.logs_only, ev.logs_only_intervals))
    if ev.per_persona.empty:
        return
    persona = Table(title="share flagged by archetype: model and LR at 1% FPR, rules where "
                          "they fire (fraud rows: recall)")
    persona.add_column("persona")
    for col in ev.per_persona.columns:
        persona.add_column(col, justify="right")
    for name, *row in ev.per_persona.itertuples(name=None):
        persona.add_row(name, *[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    console.print(persona)


@app.command()
def evaluate(
    events: EventsOpt,
    accounts: Annotated[list[Path], typer.Option(
        "--accounts", help="Accounts with a label column (1, 0, or empty when unknown).")],
    model: ModelOpt = DEFAULT_MODEL,
    as_of: AsOf = None,
    report: Annotated[Path, typer.Option(help="Report folder.")] = Path("report"),
    split: SplitOpt = SplitMethod.auto,
    config: ConfigOpt = None,
) -> None:
    """Evaluate a registered model beside the baselines on the test accounts, with and
    without the accounts table."""
    from persona_risk.features.batch import load_inputs
    from persona_risk.training.split import SplitConfig, SplitWarning
    from persona_risk.training.train import evaluate_model

    settings = _settings(config)
    risk_model, version = _load_model(model)
    allow = _model_features(settings, risk_model, version).allow
    with steps("reading and validating") as say, warnings.catch_warnings():
        warnings.simplefilter("ignore", SplitWarning)  # printed below with the split
        inputs = load_inputs(events, accounts)
        say("features and evaluation")
        outcome = evaluate_model(risk_model, inputs, _as_of(as_of), report,
                                 SplitConfig(split.value), allow=allow)
    _print_evaluation(outcome)
    console.print(f"model {version}; report: {outcome.report}")


@app.command()
def robustness(
    events: EventsOpt,
    accounts: Annotated[list[Path], typer.Option(
        "--accounts", help="The labelled accounts the model was trained on (for the logistic "
                           "baseline).")],
    model: ModelOpt = DEFAULT_MODEL,
    report: Annotated[Path, typer.Option(help="Report folder whose report.md gets the section.")
                      ] = Path("report"),
    world_accounts: Annotated[int, typer.Option(min=500, help="Accounts per shifted world.")
                              ] = 4000,
    config: ConfigOpt = None,
) -> None:
    """Test a model on shifted simulated worlds beside logistic regression, the rules and each
    world's own ceiling; appends the section to the report."""
    from persona_risk.features.batch import load_inputs
    from persona_risk.training.dataset import training_table
    from persona_risk.training.robustness import WorldSize, robustness_markdown, robustness_table

    settings = _settings(config)
    risk_model, version = _load_model(model)
    cfg = _model_features(settings, risk_model, version)
    with steps("reading and validating") as say:
        table = training_table(load_inputs(events, accounts), cfg=cfg)
        say("simulating and scoring shifted worlds")
        result = robustness_table(risk_model, table, WorldSize(accounts=world_accounts))
    section = robustness_markdown(result)
    report.mkdir(parents=True, exist_ok=True)
    with (report / "report.md").open("a") as out:
        out.write("\n" + section)
    console.print(section)
    console.print(f"model {version}; section added to {report / 'report.md'}")


@app.command()
def score(
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Scores (.parquet, or .csv by extension).")],
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    model: ModelOpt = DEFAULT_MODEL,
    partitions: Annotated[int, typer.Option(min=1, help="Account partitions (memory bound).")
                          ] = 4,
    geoip_db: GeoipOpt = None,
    engine: EngineOpt = Engine.local,
    spark_master: MasterOpt = None,
    drift_reference: Annotated[Path | None, typer.Option(
        help="Training reference for the drift check: an account feature table or a profile "
             "JSON (default: the one logged with the model).")] = None,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help="Exit 3 when a drift limit is passed.")] = False,
    decisions: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Analysts' decisions (SQLite file, see `review`) "
        "shown beside the scores; default: ./decisions.sqlite when it exists.")] = None,
    all_reasons: Annotated[bool, typer.Option(
        "--all-reasons", help="Reasons for the low band too (TreeSHAP on every account; by "
        "default only accounts above the low band get reasons).")] = False,
    config: ConfigOpt = None,
) -> None:
    """Score every account in bulk (the nightly job); writes scores, quarantine and summary
    (with drift against the training reference and the previous run)."""
    from persona_risk.serving.batch import score_events
    from persona_risk.serving.decisions import read_decisions

    _check_engine(engine, out)
    if engine == "spark" and (drift_reference or fail_on_drift or decisions):
        raise typer.BadParameter("the drift check and decisions run with the local engine only",
                                 param_hint="'--drift-reference', '--decisions'")
    if decisions is None and DECISIONS_FILE.exists() and engine == "local":
        decisions = DECISIONS_FILE
    settings = _settings(config)
    logged, version = _load_model(model, logged=True)
    allow = _model_features(settings, logged.risk_model, version).allow
    with steps("scoring") as say:
        try:
            if engine == "spark":
                from persona_risk.features.spark_engine import spark_session
                from persona_risk.serving.spark_batch import spark_score

                summary = spark_score(spark_session(spark_master), [str(p) for p in events],
                                      logged.risk_model, version, str(out), accounts, _as_of(as_of),
                                      str(geoip_db) if geoip_db else None, allow=allow,
                                      say=say, all_reasons=all_reasons)
            else:
                from persona_risk.serving.drift import DriftWatch, reference_profile

                reference, source = ((reference_profile(drift_reference), str(drift_reference))
                                     if drift_reference else
                                     (logged.reference, f"logged with model {version}"))
                console.print(f"drift reference: {source}" if reference else
                              "drift reference: none (the model was logged without one)")
                if decisions:
                    console.print(f"decisions: {decisions}")
                summary = score_events(
                    events, logged.risk_model, version, out, accounts, _as_of(as_of),
                    partitions, geoip_db, allow=allow, say=say,
                    drift=DriftWatch(out, reference, reference_source=source),
                    decisions=read_decisions(decisions) if decisions else None,
                    all_reasons=all_reasons)
        except ValueError as err:
            if isinstance(err, input_errors()):  # the user's input: one line, exit 2
                raise
            console.print(f"[red]nothing scored:[/red] {err}")
            raise typer.Exit(1) from err
    console.print_json(data={k: v for k, v in summary.__dict__.items() if k != "drift"})
    if os.environ.get("MLFLOW_TRACKING_URI"):
        from dataclasses import asdict

        from persona_risk.serving.drift import log_to_mlflow

        console.print(f"MLflow run {log_to_mlflow(asdict(summary))} (persona-risk-nightly)")
    for warning in getattr(summary, "drift", {}).get("warnings", []):
        console.print(f"[yellow]WARNING drift:[/yellow] {warning}")
    if fail_on_drift and getattr(summary, "drift", {}).get("warnings"):
        raise typer.Exit(3)


def _check_engine(engine: Engine, out: Path) -> Engine:
    if engine == Engine.spark and out.suffix == ".csv":
        raise typer.BadParameter("the Spark engine writes a Parquet dataset, not CSV",
                                 param_hint="'--out'")
    return engine


def _print_riskiest(scores: pd.DataFrame, n: int = 10) -> None:
    table = Table(title=f"the {n} riskiest accounts")
    for col in ("account_id", "score", "band", "reasons"):
        table.add_column(col, overflow="fold")
    for row in scores.sort_values("score", ascending=False).head(n).itertuples():
        reasons = "; ".join(getattr(row, f"reason_{j}") for j in (1, 2, 3))
        table.add_row(row.account_id, f"{row.score:.3f}", row.band, reasons)
    console.print(table)


@app.command()
def explain(
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Folder for the pages: index.html, assets/ and one "
                                           "folder per account.")],
    account_id: Annotated[str | None, typer.Argument(
        help="The account to investigate (with the accounts of its cluster).")] = None,
    high_band: Annotated[bool, typer.Option(
        "--high-band", help="Pages of every high-band account (and their clusters).")] = False,
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    model: ModelOpt = DEFAULT_MODEL,
    decisions: DecisionsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Investigation pages (offline HTML, with the same content as JSON) of an account or of
    the whole high band, with an index page."""
    from persona_risk.features.batch import load_inputs
    from persona_risk.features.pipeline import known_accounts
    from persona_risk.serving.decisions import read_decisions
    from persona_risk.serving.investigation.case import score_population
    from persona_risk.serving.investigation.page import page_folder, write_pages

    if (account_id is None) == (not high_band):
        raise typer.BadParameter("give an ACCOUNT_ID or --high-band (not both)")
    settings = _settings(config)
    with steps("reading and scoring") as say:
        inputs = load_inputs(events, accounts)
        if account_id is not None and account_id not in known_accounts(
                inputs.events, inputs.accounts, _as_of(as_of)):
            raise typer.BadParameter(f"{account_id!r} has no events or record as of the cut",
                                     param_hint="ACCOUNT_ID")
        risk_model, version = _load_model(model)
        allow = _model_features(settings, risk_model, version).allow
        pop = score_population(risk_model, version, inputs.events, inputs.accounts,
                               _as_of(as_of), allow)
        ids = ([account_id] if account_id else
               sorted(pop.scores.index[pop.scores["band"] == "high"]))
        say(f"writing the pages of {len(ids):,} accounts")
        index = write_pages(pop, ids, out, read_decisions(decisions) if decisions else None)
    if account_id:
        score = pop.scores.loc[account_id]
        console.print(f"score {score['score']:.3f} ({score['band']}); report: "
                      f"{out / page_folder(account_id) / 'report.html'}")
    console.print(f"{len(ids):,} accounts; index: {index}")


@app.command()
def review(
    account_id: Annotated[str, typer.Argument(help="The account decided on.")],
    decision: Annotated[Decision, typer.Option(help="What the analyst found.")],
    note: Annotated[str, typer.Option(help="Why: what the analyst saw.")] = "",
    analyst: Annotated[str | None, typer.Option(help="Who decided; default: the user name.")
                       ] = None,
    decisions: Annotated[Path, typer.Option(help="Decisions table (SQLite file).")
                         ] = DECISIONS_FILE,
) -> None:
    """Record an analyst's decision on an account; the decisions become training labels."""
    import getpass

    from persona_risk.serving.decisions import record_decision

    try:
        row = record_decision(decisions, account_id, decision.value,
                              analyst or getpass.getuser(), note)
    except ValueError as err:  # an empty id or analyst, an over-long note
        raise UserError(f"not recorded: {err}") from err
    console.print(f"{row['account_id']}: {row['decision']} by {row['analyst']} at "
                  f"{row['decided_at']} -> {decisions}")


@app.command()
def alerts(
    scores: Annotated[Path, typer.Option(help="Scores written by `persona-risk score`.")],
    out: Annotated[Path, typer.Option(help="Alerts, one ECS-style JSON object a line.")],
    webhook: Annotated[str | None, typer.Option(
        help="POST the alerts here too (bearer token from PERSONA_RISK_WEBHOOK_TOKEN).")] = None,
    decisions: DecisionsOpt = None,
) -> None:
    """Export the high band with its reasons as JSON lines for a SIEM (and a webhook); accounts
    an analyst cleared (last decision legit) are left out."""
    from persona_risk.features.io import read_table
    from persona_risk.serving.alerts import WebhookError, post_alerts, write_alerts
    from persona_risk.serving.decisions import read_decisions

    n = write_alerts(read_table([scores]), out, read_decisions(decisions) if decisions else None)
    console.print(f"{n:,} alerts -> {out}")
    if webhook:
        try:
            status = post_alerts(out, webhook, os.environ.get("PERSONA_RISK_WEBHOOK_TOKEN"))
        except WebhookError as err:
            console.print(f"[red]not delivered:[/red] {err}")
            raise typer.Exit(1) from err
        console.print(f"delivered to {webhook} (HTTP {status})")


@app.command()
def serve(
    model: ModelOpt = DEFAULT_MODEL,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8080,
    state: Annotated[str, typer.Option(
        help="Online state: a SQLite file, or redis://HOST:PORT/DB shared by replicas.")
    ] = "state.sqlite",
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Allow no token (loopback addresses only).")] = False,
    reload_every: Annotated[float, typer.Option(
        min=0.001, help="Seconds between alias checks.")] = 60.0,
    batch_budget: Annotated[float, typer.Option(
        min=0.001, help="Seconds a POST /v1/events may wait for its coalesced batch; past it, "
        "503 with Retry-After.")] = 10.0,
    config: ConfigOpt = None,
) -> None:
    """Serve scores online (FastAPI + uvicorn); needs PERSONA_RISK_API_TOKEN."""
    from persona_risk.serving.server import serve as run

    settings = _settings(config)
    # a StartupError: exit 2
    run(model, host, port, state, insecure_no_auth, reload_every, batch_budget, settings.allow,
        settings.for_model)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path(
        "demo-output"),
    accounts: Annotated[int, typer.Option(help="Accounts to simulate.")] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The main job end to end on embedded defaults."""
    simulate(out=out / "data", accounts=accounts, days=60, fraud_rate=0.03, farms=None,
             evasion_share=0.2, start="2026-01-05", seed=seed, randomize=True, worlds=4)
    data = out / "data"
    train(events=[data / "events.parquet"], accounts=[data / "accounts.parquet"], as_of=None,
          model_name="persona-risk", report=out / "report", tune=0, split=SplitMethod.auto,
          val_frac=0.25,
          test_frac=0.35, target_fpr=None, queue=None, seed=seed, config=None)
    robustness(events=[data / "events.parquet"], accounts=[data / "accounts.parquet"],
               model=DEFAULT_MODEL, report=out / "report", world_accounts=3000, config=None)
    score(events=[data / "events.parquet"], out=out / "scores.parquet",
          accounts=[data / "accounts.parquet"], as_of=None,
          model=DEFAULT_MODEL, partitions=4, geoip_db=None, config=None)
    _print_riskiest(pd.read_parquet(out / "scores.parquet"))
    console.print(
        "Serve scores online:\n"
        "  export PERSONA_RISK_API_TOKEN=change-me\n"
        "  .venv/bin/persona-risk serve --port 8080\n"
        "  curl -s -H 'Authorization: Bearer change-me' -H 'Content-Type: application/json' "
        "localhost:8080/v1/events -d '{\"events\": [{\"account_id\": \"w0-acct-000001\", "
        "\"ts\": \"2026-03-06T02:00:00Z\", \"ip\": \"203.0.113.7\", \"lat\": 31.23, "
        "\"lon\": 121.47, \"device_tz\": \"Asia/Shanghai\"}]}'")


if __name__ == "__main__":
    app()
