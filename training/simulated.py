"""Simulated accounts beside a user's own labelled accounts when training.

A user who has labelled few fraudulent accounts gives the booster little to learn from; a
pool of simulated, domain-randomized accounts teaches it the threat's general shape, while the
user's own rows, weighted far above them, teach it the habits of their own people. The simulated
rows enter training and validation only: calibration, thresholds and every test figure are the
user's (README, *Training on your own labels with simulated accounts*).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.memory_engine import Inputs
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.training.dataset import logs_only_table, training_table
from persona_risk.training.fit import Rows, TrainConfig
from persona_risk.training.simulator.simulate import SimulatedWorld, simulate, training_pool

VAL_SHARE = 0.25  # of the simulated accounts, for early stopping beside the user's validation


def labelled_tables(world: SimulatedWorld, features: FeatureConfig = FeatureConfig()
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A simulated world's labelled feature tables, computed with `features`: with its
    accounts table and from the logs alone (`training.dataset`)."""
    events, quarantine = validate_events(world.events)
    inputs = Inputs(events, quarantine, validate_accounts(world.accounts))
    table = training_table(inputs, cfg=features)
    return table, logs_only_table(inputs, table, table[s.AS_OF].iloc[0], features)


def simulated_rows(accounts: int, cfg: TrainConfig,
                   features: FeatureConfig = FeatureConfig()) -> Rows:
    """Training and validation rows of `accounts` simulated accounts (seeded by `cfg.seed`),
    a `cfg.logs_only_share` of them with features from the logs alone, as the user's rows."""
    table, logs = labelled_tables(simulate(training_pool(accounts, cfg.seed)), features)
    rng = np.random.default_rng([cfg.seed, 3])
    logs_only = rng.random(len(table)) < cfg.logs_only_share
    x = np.where(logs_only[:, None], logs[FEATURE_NAMES].to_numpy(float),
                 table[FEATURE_NAMES].to_numpy(float))
    y = table[s.LABEL].to_numpy()
    val = rng.random(len(table)) < VAL_SHARE
    return Rows(x[~val], y[~val], x[val], y[val])
