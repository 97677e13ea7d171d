"""The `persona-risk` command line: a thin layer over features, models, training and serving."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Find fraudulent remote-worker personas in sign-in logs.",
                  no_args_is_help=True, add_completion=False)
console = Console()

AsOf = Annotated[str | None, typer.Option(help="Features as of this UTC time (ISO-8601); "
                                                "default: the last event.")]
AccountsOpt = Annotated[list[Path] | None, typer.Option(
    "--accounts", help="Accounts Parquet/CSV files or folders; optional: derived from events.")]
EventsOpt = Annotated[list[Path], typer.Option("--events", help="Events Parquet/CSV files or "
                                                                 "folders.")]


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
    geoip_db: Annotated[Path | None, typer.Option(help="MaxMind-format city database.")] = None,
) -> None:
    """Compute the account feature table as of a time."""
    from features.batch import build_features, load_inputs
    from features.io import write_table

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
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path(
        "demo-output"),
    accounts: Annotated[int, typer.Option(help="Accounts to simulate.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The main job end to end on embedded defaults."""
    simulate(out=out / "data", accounts=accounts, days=60, fraud_rate=0.03, farms=None,
             evasion_share=0.2, start="2026-01-05", seed=seed)
    features(events=[out / "data" / "events.parquet"], out=out / "features.parquet",
             accounts=[out / "data" / "accounts.parquet"], as_of=None, geoip_db=None)
    console.print(json.dumps({"demo": str(out)}))


if __name__ == "__main__":
    app()
