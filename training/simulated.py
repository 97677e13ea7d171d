"""Simulated accounts beside a user's own labelled accounts when training.

A user who has labelled few fraudulent accounts gives the booster little to learn from; a
pool of simulated, domain-randomized accounts teaches it the threat's general shape, while the
user's own rows, weighted far above them, teach it the habits of their own people. The simulated
rows enter training and validation only: calibration, thresholds and every test figure are the
user's (README, *Few labels of your own*).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.memory_engine import Inputs
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.training.dataset import logs_only_table, training_table, with_logs_only_rows
from persona_risk.training.fit import Rows, TrainConfig
from persona_risk.training.simulator.simulate import SimulatedWorld, simulate, training_pool

VAL_SHARE = 0.25  # of the simulated accounts, for early stopping beside the user's validation
# fewer simulated accounts hold too few fraudulent ones (3%) for both training and validation
MIN_ACCOUNTS = 1_000


class SimulatedError(ValueError):
    """Simulated accounts asked for in a number that cannot be fitted on."""


def check_simulated(accounts: int) -> None:
    """Raise `SimulatedError` unless `accounts` is 0 (none) or at least `MIN_ACCOUNTS`."""
    if accounts != 0 and accounts < MIN_ACCOUNTS:
        raise SimulatedError(f"simulated accounts: {accounts:,} is too few to fit on; give at "
                             f"least {MIN_ACCOUNTS:,} (16,000 is a good start) or 0 for none")


def simulated_inputs(world: SimulatedWorld) -> Inputs:
    """A simulated world's tables validated as a user's would be."""
    events, quarantine = validate_events(world.events)
    return Inputs(events, quarantine, validate_accounts(world.accounts))


def labelled_tables(world: SimulatedWorld, features: FeatureConfig = FeatureConfig()
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A simulated world's labelled feature tables, computed with `features`: with its
    accounts table and from the logs alone (`training.dataset`)."""
    inputs = simulated_inputs(world)
    table = training_table(inputs, cfg=features)
    return table, logs_only_table(inputs, table, table[s.AS_OF].iloc[0], features)


def simulated_rows(accounts: int, cfg: TrainConfig,
                   features: FeatureConfig = FeatureConfig()) -> Rows:
    """Training and validation rows of `accounts` simulated accounts (seeded by `cfg.seed`),
    a `cfg.logs_only_share` of them with features from the logs alone, as the user's rows."""
    check_simulated(accounts)
    table, logs = labelled_tables(simulate(training_pool(accounts, cfg.seed)), features)
    table = with_logs_only_rows(table, logs, cfg.logs_only_share, cfg.seed + 3)
    val = np.random.default_rng([cfg.seed, 3]).random(len(table)) < VAL_SHARE
    x, y = table[FEATURE_NAMES].to_numpy(float), table[s.LABEL].to_numpy()
    return Rows(x[~val], y[~val], x[val], y[val])
