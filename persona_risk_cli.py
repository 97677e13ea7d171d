"""The `persona-risk` command line: a thin layer over features, models, training and serving."""

from __future__ import annotations

import logging
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
logging.getLogger("mlflow").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")

app = typer.Typer(help="Find fraudulent remote-worker personas in sign-in logs.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False)  # locals may hold raw ids and rows
console = Console(width=max(Console().width, 132))

AsOf = Annotated[str | None, typer.Option(help="Features as of this UTC time (ISO-8601); "
                                                "default: the last event.")]
AccountsOpt = Annotated[list[Path] | None, typer.Option(
    "--accounts", help="Accounts Parquet/CSV files or folders; optional: derived from events.")]
ModelOpt = Annotated[str, typer.Option("--model", help="MLflow model URI.")]
GeoipOpt = Annotated[Path | None, typer.Option("--geoip-db",
                                               help="MaxMind-format city database.")]
DEFAULT_MODEL = "models:/persona-risk@champion"
EventsOpt = Annotated[list[Path], typer.Option("--events", help="Events Parquet/CSV files or "
                                                                 "folders.")]
EngineOpt = Annotated[str, typer.Option(
    help="local (in process) or spark (Parquet in, a Parquet dataset out).")]
MasterOpt = Annotated[str | None, typer.Option(
    help="Spark master; default: spark-submit's or spark-defaults.conf's, else local[2].")]


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
    return pd.Timestamp(value, tz="UTC") if value and pd.Timestamp(value).tzinfo is None else (
        pd.Timestamp(value) if value else None)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder for accounts, events and truth Parquet.")],
    accounts: Annotated[int, typer.Option(help="Number of accounts.")] = 2000,
    days: Annotated[int, typer.Option(help="Days of sign-in activity.")] = 60,
    fraud_rate: Annotated[float, typer.Option(help="Share of fraudulent personas.")] = 0.02,
    farms: Annotated[int | None, typer.Option(help="Laptop farms (default: auto).")] = None,
    evasion_share: Annotated[float, typer.Option(help="Share of evasive operators.")] = 0.2,
    start: Annotated[str, typer.Option(help="First day (UTC).")] = "2026-01-05",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Simulate a labelled world: accounts.parquet, events.parquet and truth.parquet."""
    from features.io import write_table
    from training.simulator.simulate import SimConfig
    from training.simulator.simulate import simulate as run

    with steps("simulating accounts and events") as say:
        world = run(SimConfig(accounts, days, fraud_rate, farms, evasion_share, start, seed))
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
        table.add_row(persona, str(label), f"{row.accounts:,}", f"{int(row.events):,}")
    console.print(table)


@app.command()
def features(
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Account feature table (.parquet or .csv).")],
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    geoip_db: GeoipOpt = None,
    engine: EngineOpt = "local",
    spark_master: MasterOpt = None,
) -> None:
    """Compute the account feature table as of a time."""
    from features.batch import build_features, load_inputs
    from features.io import write_table

    if _check_engine(engine, out) == "spark":
        from features.spark_engine import features_table, spark_session

        with steps("computing features on Spark"):
            n_accounts, n_events, n_bad = features_table(
                spark_session(spark_master), [str(p) for p in events], str(out), accounts,
                _as_of(as_of), str(geoip_db) if geoip_db else None)
        console.print(f"{n_accounts:,} accounts, {n_events:,} events, {n_bad:,} rows "
                      f"quarantined -> {out}")
        return
    with steps("reading and validating") as say:
        inputs = load_inputs(events, accounts, geoip_db)
        say("computing features")
        result = build_features(inputs, _as_of(as_of))
        write_table(result.features, out)
        if len(inputs.quarantine):
            write_table(inputs.quarantine, out.with_name(out.stem + ".quarantine.csv"))
    console.print(f"{len(result.features):,} accounts, {len(inputs.events):,} events, "
                  f"{len(inputs.quarantine):,} rows quarantined -> {out}")


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(
        help="entra | entra-users | okta | okta-users | cloudtrail | csv")],
    inputs: Annotated[list[Path], typer.Argument(help="Export files (.json, .jsonl, .csv, .gz).")],
    out: Annotated[Path, typer.Option(help="Canonical table (.parquet, or .csv by extension).")],
    mapping: Annotated[Path | None, typer.Option(help="Column mapping (csv source).")] = None,
    account_field: Annotated[str, typer.Option(
        help="User identifier: upn (UPN/login/arn) or id (user id / userName).")] = "upn",
    hash_key_file: Annotated[Path | None, typer.Option(
        help="Key for hashing user and device ids (or PERSONA_RISK_HASH_KEY).")] = None,
    geoip_db: GeoipOpt = None,
) -> None:
    """Turn identity-provider exports into canonical events or accounts."""
    from features.adapters import make_source
    from features.adapters.base import Options, WrongFormat, hash_key_from_env
    from features.adapters.base import ingest as run

    options = Options(account_field, hash_key_from_env(hash_key_file))
    try:
        src = make_source(source, options, mapping)
        with steps(f"ingesting {source}") as say:
            summary = run(src, inputs, out, geoip_db, say)
    except (WrongFormat, ValueError, FileNotFoundError) as err:
        console.print(f"[red]cannot ingest:[/red] {err}")
        raise typer.Exit(2) from err
    console.print_json(data=summary.__dict__)


@app.command()
def train(
    events: EventsOpt,
    accounts: Annotated[list[Path], typer.Option("--accounts", help="Accounts with a label.")],
    as_of: AsOf = None,
    model_name: Annotated[str, typer.Option(help="Registered model name.")] = "persona-risk",
    report: Annotated[Path, typer.Option(help="Report folder.")] = Path("report"),
    tune: Annotated[int, typer.Option(help="Optuna trials of hyperparameter search.")] = 0,
    val_frac: Annotated[float, typer.Option(help="Share of new accounts for validation.")] = 0.25,
    test_frac: Annotated[float, typer.Option(help="Share of new accounts for test.")] = 0.35,
    target_fpr: Annotated[float, typer.Option(help="False-positive rate of the high band.")] = 0.01,
    queue: Annotated[int, typer.Option(help="Analyst queue size (precision at k).")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train, evaluate against the baselines, log to MLflow, register, run the champion gate."""
    from features.batch import load_inputs
    from training.fit import TrainConfig
    from training.registry import configure_tracking
    from training.split import SplitConfig
    from training.train import run_training

    with steps("reading and validating") as say:
        inputs = load_inputs(events, accounts)
        say("features, training and evaluation")
        outcome = run_training(inputs, _as_of(as_of), model_name, report,
                               TrainConfig(seed=seed, target_fpr=target_fpr, queue_size=queue),
                               SplitConfig(val_frac, test_frac), tune)
    _print_evaluation(outcome)
    console.print(outcome.decision.message())
    console.print(f"registered {model_name} v{outcome.version} (run {outcome.run_id})")
    console.print(f"report: {outcome.report}")
    uri = configure_tracking()
    console.print(f"MLflow UI: {uri}" if uri.startswith("http") else
                  f"MLflow UI: mlflow ui --backend-store-uri {uri}")


def _print_evaluation(outcome) -> None:
    ev = outcome.evaluation
    table = Table(title=f"test accounts: {len(ev.scores):,} "
                        f"({int(ev.scores['label'].sum())} fraudulent)")
    table.add_column("scorer")
    for col in ev.metrics.columns:
        table.add_column(col, justify="right")
    for name, row in ev.metrics.iterrows():
        table.add_row(name, *[f"{v:.3f}" for v in row])
    console.print(table)
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
    model: ModelOpt,
    events: EventsOpt,
    accounts: Annotated[list[Path], typer.Option("--accounts", help="Accounts with a label.")],
    as_of: AsOf = None,
    report: Annotated[Path, typer.Option(help="Report folder.")] = Path("report"),
) -> None:
    """Evaluate a registered model beside the baselines on out-of-time test accounts."""
    from features.batch import load_inputs
    from models.pyfunc import load_risk_model
    from training.registry import configure_tracking
    from training.train import evaluate_model

    configure_tracking()
    risk_model, version = load_risk_model(model)
    with steps("reading and validating") as say:
        inputs = load_inputs(events, accounts)
        say("features and evaluation")
        outcome = evaluate_model(risk_model, inputs, _as_of(as_of), report)
    _print_evaluation(outcome)
    console.print(f"model {version}; report: {outcome.report}")


@app.command()
def score(
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Scores (.parquet, or .csv by extension).")],
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    model: ModelOpt = DEFAULT_MODEL,
    partitions: Annotated[int, typer.Option(help="Account partitions (memory bound).")] = 4,
    geoip_db: GeoipOpt = None,
    engine: EngineOpt = "local",
    spark_master: MasterOpt = None,
) -> None:
    """Score every account in bulk (the nightly job); writes scores, quarantine and summary."""
    from models.pyfunc import load_risk_model
    from models.tracking import configure_tracking
    from serving.batch import score_events

    _check_engine(engine, out)
    configure_tracking()
    try:
        risk_model, version = load_risk_model(model)
    except Exception as err:
        console.print(f"[red]model {model} could not be loaded:[/red] {err}")
        raise typer.Exit(2) from err
    with steps("scoring") as say:
        try:
            if engine == "spark":
                from features.spark_engine import spark_session
                from serving.spark_batch import spark_score

                summary = spark_score(spark_session(spark_master), [str(p) for p in events],
                                      risk_model, version, str(out), accounts, _as_of(as_of),
                                      str(geoip_db) if geoip_db else None, say=say)
            else:
                summary = score_events(events, risk_model, version, out, accounts,
                                       _as_of(as_of), partitions, geoip_db, say=say)
        except ValueError as err:
            console.print(f"[red]nothing scored:[/red] {err}")
            raise typer.Exit(1) from err
    console.print_json(data=summary.__dict__)


def _check_engine(engine: str, out: Path) -> str:
    if engine not in ("local", "spark"):
        raise typer.BadParameter(f"unknown engine {engine!r}: local or spark", param_hint="engine")
    if engine == "spark" and out.suffix == ".csv":
        raise typer.BadParameter("the Spark engine writes a Parquet dataset, not CSV",
                                 param_hint="out")
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
    account_id: Annotated[str, typer.Argument(help="The account to investigate.")],
    events: EventsOpt,
    out: Annotated[Path, typer.Option(help="Folder for report.html, report.json and PNGs.")],
    accounts: AccountsOpt = None,
    as_of: AsOf = None,
    model: ModelOpt = DEFAULT_MODEL,
) -> None:
    """Investigation report of one account: HTML page (offline) and the same content as JSON."""
    from features.batch import load_inputs
    from models.pyfunc import load_risk_model
    from models.tracking import configure_tracking
    from serving.explain import investigate, write_report

    configure_tracking()
    risk_model, _ = load_risk_model(model)
    with steps("reading and scoring") as say:
        inputs = load_inputs(events, accounts)
        inv = investigate(account_id, risk_model, inputs.events, inputs.accounts, _as_of(as_of))
        say("drawing the report")
        claimed = None
        if inputs.accounts is not None:
            rec = inputs.accounts[inputs.accounts["account_id"] == account_id]
            claimed = rec["claimed_timezone"].iloc[0] if len(rec) else None
        page = write_report(inv, out, None if pd.isna(claimed) else claimed)
    console.print(f"score {inv.summary['score']:.3f} ({inv.summary['band']}); report: {page}")


@app.command()
def serve(
    model: ModelOpt = DEFAULT_MODEL,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
    state: Annotated[str, typer.Option(
        help="Online state: a SQLite file, or redis://HOST:PORT/DB shared by replicas.")
    ] = "state.sqlite",
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Allow no token (loopback addresses only).")] = False,
    reload_every: Annotated[float, typer.Option(help="Seconds between alias checks.")] = 60.0,
) -> None:
    """Serve scores online (FastAPI + uvicorn); needs PERSONA_RISK_API_TOKEN."""
    from serving.server import StartupError
    from serving.server import serve as run

    try:
        run(model, host, port, state, insecure_no_auth, reload_every)
    except StartupError as err:
        console.print(f"[red]refusing to start:[/red] {err}")
        raise typer.Exit(2) from err


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path(
        "demo-output"),
    accounts: Annotated[int, typer.Option(help="Accounts to simulate.")] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The main job end to end on embedded defaults."""
    simulate(out=out / "data", accounts=accounts, days=60, fraud_rate=0.03, farms=None,
             evasion_share=0.2, start="2026-01-05", seed=seed)
    data = out / "data"
    train(events=[data / "events.parquet"], accounts=[data / "accounts.parquet"], as_of=None,
          model_name="persona-risk", report=out / "report", tune=0, val_frac=0.25,
          test_frac=0.35, target_fpr=0.01, queue=50, seed=seed)
    score(events=[data / "events.parquet"], out=out / "scores.parquet",
          accounts=[data / "accounts.parquet"], as_of=None,
          model="models:/persona-risk@champion", partitions=4, geoip_db=None)
    _print_riskiest(pd.read_parquet(out / "scores.parquet"))
    console.print(
        "Serve scores online:\n"
        "  export PERSONA_RISK_API_TOKEN=change-me\n"
        "  .venv/bin/persona-risk serve --port 8080\n"
        "  curl -s -H 'Authorization: Bearer change-me' -H 'Content-Type: application/json' "
        "localhost:8080/v1/events -d '{\"events\": [{\"account_id\": \"acct-000001\", "
        "\"ts\": \"2026-03-06T02:00:00Z\", \"ip\": \"203.0.113.7\", \"lat\": 31.23, "
        "\"lon\": 121.47, \"device_tz\": \"Asia/Shanghai\"}]}'")


if __name__ == "__main__":
    app()
