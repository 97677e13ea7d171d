"""The labelled account table: features as of a time, joined with labels and archetypes."""

from __future__ import annotations

import pandas as pd

from features import schema as s
from features.batch import Inputs
from features.config import FeatureConfig
from features.pipeline import compute_features


class LabelError(ValueError):
    """The accounts cannot be used for training as they are."""


def training_table(inputs: Inputs, as_of: pd.Timestamp | None = None,
                   cfg: FeatureConfig = FeatureConfig()) -> pd.DataFrame:
    """Account features as of `as_of` (default: the last event) with `label`, `created_at` and
    `persona` (when known). Raises `LabelError` without labels or with a single class."""
    accounts = inputs.accounts
    if accounts is None or s.LABEL not in accounts.columns:
        raise LabelError("accounts.label: training needs an accounts table with a 0/1 label "
                         "column (pass --accounts)")
    features = compute_features(inputs.events, accounts, as_of, cfg, with_signals=False).features
    meta = accounts[[s.ACCOUNT_ID, s.LABEL, s.CREATED_AT, s.PERSONA]]
    table = features.merge(meta, on=s.ACCOUNT_ID, how="inner", validate="one_to_one")
    classes = sorted(table[s.LABEL].unique().tolist())
    if len(classes) < 2:
        raise LabelError(f"accounts.label: only class {classes} present as of the cut; training "
                         "needs both fraudulent (1) and honest (0) accounts")
    return table
