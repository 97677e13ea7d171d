"""The data commands: `simulate` a labelled world, `ingest` vendor exports, compute `features`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from persona_risk.cli.options import (
    CHECKED_TIME,
    FRACTION,
    AccountField,
    AccountsOpt,
    AsOf,
    ConfigOpt,
    Engine,
    EngineOpt,
    EventsOpt,
    GeoipOpt,
    MasterOpt,
    Source,
    check_engine,
    check_out,
    console,
    read_settings,
    steps,
    utc_time,
)
from persona_risk.cli_errors import UserError
from persona_risk.features import schema as s

if TYPE_CHECKING:
    import pandas as pd


def simulate(
    out: Annotated[Path, typer.Option(help="Folder for accounts, events and truth Parquet.")],
    accounts: Annotated[int, typer.Option(min=1, help="Number of accounts.")] = 2000,
    days: Annotated[int, typer.Option(min=1, help="Days of sign-in activity.")] = 60,
    fraud_rate: Annotated[float, typer.Option(
        **FRACTION, help="Share of fraudulent personas, in (0, 1).")] = 0.02,
    farms: Annotated[int | None, typer.Option(help="Laptop farms (default: auto).")] = None,
    evasion_share: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of evasive operators, in [0, 1] (reference world; "
                               "randomized worlds draw it).")] = 0.2,
    start: Annotated[str, typer.Option(**CHECKED_TIME, help="First day (UTC).")
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
    for col in (s.PERSONA, s.LABEL, "accounts", "events"):
        table.add_column(col, justify="right" if col in ("accounts", "events") else "left")
    n_events = events.groupby(s.ACCOUNT_ID).size()
    summary = accounts.assign(events=accounts[s.ACCOUNT_ID].map(n_events).fillna(0)).groupby(
        [s.PERSONA, s.LABEL]).agg(accounts=(s.ACCOUNT_ID, "size"), events=("events", "sum"))
    for (persona, label), row in summary.iterrows():
        table.add_row(persona, str(label), f"{int(row.accounts):,}", f"{int(row.events):,}")
    console.print(table)


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
    from persona_risk.features.memory_engine import InMemoryEngine

    spark = check_engine(engine, out) == "spark"
    check_out(out, events, accounts)
    cfg = read_settings(config).features
    if spark:
        from persona_risk.features.spark_engine import SparkEngine, spark_session

        chosen, doing = SparkEngine(spark_session(spark_master)), "computing features on Spark"
    else:
        chosen, doing = InMemoryEngine(), "reading, validating and computing features"
    with steps(doing):
        run = chosen.write_features(events, out, accounts, utc_time(as_of), cfg, geoip_db)
    console.print(f"{run.accounts:,} accounts, {run.events:,} events, {run.quarantined:,} rows "
                  f"quarantined -> {out}")


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

    check_out(out, inputs)
    options = Options(account_field.value, hash_key_from_env(hash_key_file))
    try:
        src = make_source(source.value, options, mapping)
        with steps(f"ingesting {source.value}") as say:
            summary = run(src, inputs, out, geoip_db, say)
    except ValueError as err:  # no or a bad mapping file, a hash key that cannot be used
        raise UserError(str(err)) from err
    console.print_json(data=summary.__dict__)
