"""`demo`: the main job end to end on embedded defaults, through the other commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from persona_risk.cli.data import simulate
from persona_risk.cli.options import DEFAULT_MODEL, SplitMethod, console
from persona_risk.cli.scoring import score
from persona_risk.cli.training import robustness, train
from persona_risk.features import schema as s


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path(
        "demo-output"),
    accounts: Annotated[int, typer.Option(
        help="Accounts to simulate, in randomized worlds (employers) of about 4,000.")] = 64000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The main job end to end on embedded defaults."""
    import pandas as pd

    from persona_risk.training.simulator.simulate import training_pool

    pool = training_pool(accounts, seed)
    simulate(out=out / "data", accounts=pool.accounts, days=pool.days, fraud_rate=pool.fraud_rate,
             farms=pool.farms, evasion_share=pool.evasion_share, start=pool.start,
             seed=pool.seed, randomize=pool.randomize, worlds=pool.worlds)
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
    scores = pd.read_parquet(out / "scores.parquet")
    _print_riskiest(scores)
    account = scores[s.ACCOUNT_ID].iloc[0]  # one of the demo's, whatever its size
    console.print(
        "Serve scores online:\n"
        "  export PERSONA_RISK_API_TOKEN=change-me\n"
        "  .venv/bin/persona-risk serve --port 8080\n"
        "  curl -s -H 'Authorization: Bearer change-me' -H 'Content-Type: application/json' "
        f"localhost:8080/v1/events -d '{{\"events\": [{{\"account_id\": \"{account}\", "
        "\"ts\": \"2026-03-06T02:00:00Z\", \"ip\": \"203.0.113.7\", \"lat\": 31.23, "
        "\"lon\": 121.47, \"device_tz\": \"Asia/Shanghai\"}]}'")


def _print_riskiest(scores, n: int = 10) -> None:
    from persona_risk.models.reasons import REASON_SLOTS

    table = Table(title=f"the {n} riskiest accounts")
    for col in (s.ACCOUNT_ID, "score", "band", "reasons"):
        table.add_column(col, overflow="fold")
    for row in scores.sort_values("score", ascending=False).head(n).itertuples():
        reasons = "; ".join(getattr(row, slot.text) for slot in REASON_SLOTS)
        table.add_row(getattr(row, s.ACCOUNT_ID), f"{row.score:.3f}", row.band, reasons)
    console.print(table)
