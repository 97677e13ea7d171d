"""Nightly batch scoring end to end (files -> validated events -> features -> scores) on the
simulated 10 million events, with a model trained on a smaller world.
Target (issue): >= 1,000,000 events/s end to end; peak memory well under 24 GiB.
Run: .venv/bin/python -m bench.batch [--accounts 100000] [--partitions 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import OUT, measure, row
from bench.simulator import simulate_to_disk


def _model(folder: Path):
    from features.batch import Inputs
    from features.validate import validate_accounts, validate_events
    from training.simulator.simulate import SimConfig, simulate
    from training.train import run_training

    world = simulate(SimConfig(accounts=5000, days=60, fraud_rate=0.04, seed=9))
    events, q = validate_events(world.events)
    outcome = run_training(Inputs(events, q, validate_accounts(world.accounts)), None, "bench",
                           folder / "report", register=False)
    outcome.model.save(folder / "model")


def score(folder: Path, model_dir: Path, partitions: int) -> dict:
    from models.risk_model import RiskModel
    from serving.batch import score_events

    summary = score_events([folder / "events.parquet"], RiskModel.load(model_dir), "bench",
                           OUT / "scores.parquet", [folder / "accounts.parquet"],
                           partitions=partitions)
    return {"events": summary.events}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()
    folder = OUT / f"world-{args.accounts}"
    if not (folder / "events.parquet").exists():
        measure(simulate_to_disk, args.accounts, 60)
    model_dir = OUT / "batch-model"
    if not (model_dir / "model").exists():
        measure(_model, model_dir)
    result = measure(score, folder, model_dir / "model", args.partitions)
    print(row(f"persona-risk score, {args.partitions} partitions", result["events"], result,
              "target: >= 1,000,000 ev/s"))


if __name__ == "__main__":
    main()
