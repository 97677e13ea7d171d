"""Training on a few of a world's own labels: alone, beside simulated accounts, or on them alone.

A user has labelled a small share of their accounts. For each world (some of our shifted worlds,
or folders of export-shaped tables: `events` and `accounts` with a label column, no simulator
columns) and each labelled share, a seeded share of the accounts keeps its label; models are
fitted on those alone (`own`), beside `--simulated` simulated accounts (`own+simulated`, as
`persona-risk train --simulated` fits) and on the simulated accounts alone (`simulated`), and all
three are scored on the accounts whose labels were hidden, in this run: recall at 1% and 0.1%
false-positive rate and PR-AUC, the mean over `--seeds` with its standard deviation.
Run: .venv/bin/python -m bench.own_labels [--shares 0.05 0.1 0.25] [--seeds 0 1 2]
     [--simulated 16000] [--shifted all_shifted mostly_evasive ...] [--world DIR ...]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from persona_risk.features import schema as s
from persona_risk.features.memory_engine import load_inputs
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.training.dataset import logs_only_table, training_table
from persona_risk.training.fit import Rows, TrainConfig, train_risk_model
from persona_risk.training.metrics import pr_auc, recall_at_fpr
from persona_risk.training.robustness import SHIFTED_WORLDS, WorldSize, shifted_world
from persona_risk.training.simulated import labelled_tables, simulated_rows
from persona_risk.training.split import TRAIN, VAL, SplitConfig
from persona_risk.training.train import fit_rows

DEFAULT_SHIFTED = ["all_shifted", "mostly_evasive", "shared_vpn_exits", "corporate_vpn_farms",
                   "honest_look_alikes"]
OWN, BESIDE, SIMULATED = "own", "own+simulated", "simulated"


def folder_world(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labelled table and its logs-only twin of a folder of export-shaped tables."""
    inputs = load_inputs(sorted(folder.glob("events.*")), sorted(folder.glob("accounts.*")))
    table = training_table(inputs)
    return table, logs_only_table(inputs, table)


def shifted_tables(name: str, accounts: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labelled table and its logs-only twin of the shifted world `name`."""
    params, rate = SHIFTED_WORLDS[name]
    return labelled_tables(shifted_world(params, rate, WorldSize(accounts=accounts)))


def own_rows(table: pd.DataFrame, logs: pd.DataFrame, known: np.ndarray,
             cfg: TrainConfig) -> Rows:
    """The labelled accounts split for training and validation (stratified, the split's
    validation share), a share of them from the logs alone as training does."""
    part = table[known]
    train, val = train_test_split(part, test_size=SplitConfig().val_frac,
                                  stratify=part[s.LABEL], random_state=cfg.seed)
    fitted = fit_rows({TRAIN: train, VAL: val}, logs.set_index(table.index), cfg)
    return Rows(*(a for p in (TRAIN, VAL) for a in (fitted[p][FEATURE_NAMES].to_numpy(float),
                                                    fitted[p][s.LABEL].to_numpy())))


def scored(table: pd.DataFrame, logs: pd.DataFrame, shares: list[float],
           sims: dict[int, Rows]) -> list[dict]:
    """Figures of the three scorers per seed (each with its simulated rows) and share; a share
    whose labelled accounts leave training or validation without fraud is left out."""
    rows = []
    y_all = table[s.LABEL].to_numpy()
    for seed, sim in sims.items():
        cfg = TrainConfig(seed=seed)
        alone = train_risk_model(sim.x_train, sim.y_train, sim.x_val, sim.y_val, cfg)
        for k, share in enumerate(shares):
            known = np.random.default_rng([seed, k]).random(len(table)) < share
            own = own_rows(table, logs, known, cfg) if y_all[known].sum() >= 2 else None
            if own is None or not (own.y_train.any() and own.y_val.any()):
                print(f"share {share}, seed {seed}: too few labelled fraud to fit, left out")
                continue
            models = {OWN: train_risk_model(own.x_train, own.y_train, own.x_val, own.y_val, cfg),
                      BESIDE: train_risk_model(own.x_train, own.y_train, own.x_val, own.y_val,
                                               cfg, simulated=sim),
                      SIMULATED: alone}
            hidden, y = table[~known], y_all[~known]
            for name, model in models.items():
                score = model.probability(model.matrix(hidden))
                rows.append({"share": share, "labelled_fraud": int(y_all[known].sum()),
                             "scorer": name, "seed": seed,
                             "recall_at_1pct_fpr": recall_at_fpr(y, score, 0.01),
                             "recall_at_0.1pct_fpr": recall_at_fpr(y, score, 0.001),
                             "pr_auc": pr_auc(y, score)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shares", type=float, nargs="+", default=[0.05, 0.1, 0.25])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--simulated", type=int, default=16_000)
    parser.add_argument("--accounts", type=int, default=10_000, help="per shifted world")
    parser.add_argument("--shifted", nargs="*", default=DEFAULT_SHIFTED,
                        choices=list(SHIFTED_WORLDS))
    parser.add_argument("--world", type=Path, nargs="*", default=[],
                        help="folders with events.* and accounts.* (with a label column)")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    warnings.simplefilter("ignore")
    sims = {seed: simulated_rows(args.simulated, TrainConfig(seed=seed)) for seed in args.seeds}
    worlds = {**{name: (lambda n=name: shifted_tables(n, args.accounts))
                 for name in args.shifted},
              **{str(folder): (lambda f=folder: folder_world(f)) for folder in args.world}}
    results = []
    for name, load in worlds.items():
        table, logs = load()
        got = pd.DataFrame(scored(table, logs, args.shares, sims)).assign(world=name)
        results.append(got)
        print(_summary(got).to_string(), flush=True)
    both = pd.concat(results, ignore_index=True)
    print("\n## mean over the worlds\n")
    print(_summary(both.assign(world="all")).to_string())


def _summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean (and standard deviation over seeds) per world, share and scorer."""
    figures = ["recall_at_1pct_fpr", "recall_at_0.1pct_fpr", "pr_auc"]
    per_seed = rows.groupby(["world", "share", "scorer", "seed"])[figures].mean()
    keys = ["world", "share", "scorer"]
    mean, sd = per_seed.groupby(keys).mean(), per_seed.groupby(keys).std().fillna(0.0)
    out = mean.round(3).astype(str) + " ± " + sd.round(3).astype(str)
    out["labelled_fraud"] = rows.groupby(keys)["labelled_fraud"].mean().round(1)
    return out


if __name__ == "__main__":
    main()
