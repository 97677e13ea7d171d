"""Nightly batch scoring end to end (files -> validated events -> features -> scores) on the
simulated 10 million events, with a model trained on a smaller world, printed beside the
feature step alone (`bench.features`' "ours": the same files read, validated and featurised)
measured in the same run, and their ratio.
Target (issue 15): >= 50% of the feature step's events/s end to end; peak memory <= 4 GiB.
`--spark` runs the same files through the Spark engine (local[2]) beside it; Spark's peak
memory is that of the whole process tree (driver JVM and Python workers).
Run: .venv/bin/python -m bench.batch [--accounts 100000] [--partitions 8] [--spark]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import OUT, measure, row
from bench.features import ours as feature_step
from bench.simulator import simulate_to_disk


def _model(folder: Path):
    from persona_risk.training.simulated import simulated_inputs
    from persona_risk.training.simulator.simulate import SimConfig, simulate
    from persona_risk.training.train import run_training

    world = simulate(SimConfig(accounts=5000, days=60, fraud_rate=0.04, seed=9))
    outcome = run_training(simulated_inputs(world), None, "bench", folder / "report",
                           register=False)
    outcome.model.save(folder / "model")


def score(folder: Path, model_dir: Path, partitions: int) -> dict:
    from persona_risk.models.risk_model import RiskModel
    from persona_risk.serving.batch import score_events

    summary = score_events([folder / "events.parquet"], RiskModel.load(model_dir), "bench",
                           OUT / "scores.parquet", [folder / "accounts.parquet"],
                           partitions=partitions)
    return {"events": summary.events}


def score_on_spark(folder: Path, model_dir: Path, driver_memory: str) -> dict:
    import os

    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {driver_memory} pyspark-shell"
    from persona_risk.features.spark_engine import spark_session
    from persona_risk.models.risk_model import RiskModel
    from persona_risk.serving.spark_batch import spark_score

    summary = spark_score(spark_session("local[2]"), [str(folder / "events.parquet")],
                          RiskModel.load(model_dir), "bench", str(OUT / "scores-spark"),
                          [folder / "accounts.parquet"])
    return {"events": summary.events}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--spark", action="store_true", help="also run the Spark engine")
    parser.add_argument("--driver-memory", default="8g", help="Spark driver JVM heap")
    args = parser.parse_args()
    folder = OUT / f"world-{args.accounts}"
    if not (folder / "events.parquet").exists():
        measure(simulate_to_disk, args.accounts, 60)
    model_dir = OUT / "batch-model"
    if not (model_dir / "model").exists():
        measure(_model, model_dir)
    features = measure(feature_step, folder)
    result = measure(score, folder, model_dir / "model", args.partitions)
    events = result["events"]
    print(row("floor: feature step (read, validate, 30)", events, features))
    ratio = features["seconds"] / result["seconds"]
    print(row(f"persona-risk score, {args.partitions} partitions", events, result,
              f"{ratio:.0%} of the feature step's ev/s; target >= 50%, <= 4,096 MiB"))
    if args.spark:
        result = measure(score_on_spark, folder, model_dir / "model", args.driver_memory)
        print(row("persona-risk score --engine spark", result["events"], result,
                  "local[2], same files"))


if __name__ == "__main__":
    main()
