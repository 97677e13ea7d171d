"""Robustness: models trained on simulated worlds, tested on shifted worlds they never saw.

Trainings side by side: on the reference world alone, and on domain-randomized worlds (every
structural constant drawn per world, look-alikes mixed in; one world per ~4,000 accounts, as
the demo trains) for each simulator draw of `--draws`, since one draw is no verdict.
Each is tested on the shifted worlds of `training.robustness` at 1% (and 0.5%) fraud, beside
logistic regression, the two rules and each world's own ceiling (a LightGBM cross-validated on
that world itself), all measured in this run.
Run: .venv/bin/python -m bench.robustness [--accounts 10000] [--train-accounts 64000]
     [--draws 0 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from persona_risk.features import schema as s
from persona_risk.training.fit import TrainConfig
from persona_risk.training.robustness import WorldSize, model_summary, robustness_table
from persona_risk.training.simulated import labelled_tables
from persona_risk.training.simulator.simulate import SimConfig, simulate, training_pool
from persona_risk.training.split import SplitConfig
from persona_risk.training.train import fit_and_evaluate

FIGURES = ["recall_at_1pct_fpr", "recall_at_0.1pct_fpr", "pr_auc", "recall_farm",
           "recall_vpn_operator", "recall_evasive"]


def trained(cfg: SimConfig):
    world = simulate(cfg)
    table, logs = labelled_tables(world)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = fit_and_evaluate(table, world.events[s.TS].min(), TrainConfig(),
                                   SplitConfig(), Path(tmp), logs_only=logs)
    return outcome.model, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000, help="per test world")
    parser.add_argument("--train-accounts", type=int, default=64_000,
                        help="in randomized worlds of about 4,000 accounts each")
    parser.add_argument("--draws", type=int, nargs="+", default=[0, 1],
                        help="simulator seeds of the randomized trainings")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    reference = dataclasses.replace(training_pool(args.train_accounts), randomize=False, worlds=1)
    trainings = {"reference-trained": reference,
                 **{f"randomized-trained, draw {seed}": training_pool(args.train_accounts, seed)
                    for seed in args.draws}}
    summaries = {}
    for label, cfg in trainings.items():
        model, table = trained(cfg)
        result = robustness_table(model, table, WorldSize(accounts=args.accounts))
        print(f"\n## {label}: every scorer on every shifted world\n")
        print(result.set_index(["world", "scorer"])[["fraud", *FIGURES]].round(3).to_string())
        summaries[label] = model_summary(result)
    print("\n## recall at 1% FPR: model (each training), logistic regression, ceiling\n")
    side = pd.concat(dict(summaries.items()), axis=1)
    print(side.round(3).to_string())


if __name__ == "__main__":
    main()
