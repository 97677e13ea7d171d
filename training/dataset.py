"""The labelled account table: features as of a time, joined with labels and archetypes.

Features are computed over every account, labelled or not (unlabelled accounts count in reuse,
clusters and first-seen times), and only the labelled accounts are returned for training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.memory_engine import Inputs
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.training.raw_baseline import raw_columns, raw_names

META = (s.LABEL, s.CREATED_AT, s.LABELLED_AT, s.PERSONA)


class LabelError(ValueError):
    """The accounts cannot be used for training as they are."""


def training_table(inputs: Inputs, as_of: pd.Timestamp | None = None,
                   cfg: FeatureConfig = FeatureConfig()) -> pd.DataFrame:
    """Features of the labelled accounts as of `as_of` (default: the last event) with `label`
    (0/1), `created_at`, `labelled_at` and `persona` when given, and the raw columns of the
    plain baseline (`training.raw_baseline`). Raises `LabelError` without labels or with a
    single class."""
    accounts = inputs.accounts
    if accounts is None or s.LABEL not in accounts.columns:
        raise LabelError("accounts.label: training needs an accounts table with a label column "
                         "(1 fraud, 0 honest, empty unknown; pass --accounts)")
    features = compute_features(inputs.events, accounts, as_of, cfg, with_signals=False).features
    if features.empty:
        ts = inputs.events[s.TS]
        raise LabelError(f"no account has an event or a record as of {as_of} (the events run "
                         f"from {ts.min()} to {ts.max()}); pass a later --as-of")
    meta = accounts[[s.ACCOUNT_ID, *[c for c in META if c in accounts.columns]]]
    table = features.merge(meta, on=s.ACCOUNT_ID, how="inner", validate="one_to_one")
    raw = raw_columns(inputs.events, accounts, features[s.AS_OF].iloc[0])
    table = table.merge(raw, left_on=s.ACCOUNT_ID, right_index=True, how="left")
    table = table[table[s.LABEL].notna()].reset_index(drop=True)
    table[s.LABEL] = table[s.LABEL].astype("int64")
    classes = sorted(table[s.LABEL].unique().tolist())
    if len(classes) < 2:
        found = f"only class {classes[0]}" if classes else "no label"
        raise LabelError(f"accounts.label: {found} among the accounts that exist as of the cut; "
                         "training needs both fraudulent (1) and honest (0) accounts")
    return table


def logs_only_table(inputs: Inputs, table: pd.DataFrame, as_of: pd.Timestamp | None = None,
                    cfg: FeatureConfig = FeatureConfig()) -> pd.DataFrame:
    """The rows of `table` with their features computed from the events alone, as scoring
    without an accounts table computes them (same accounts, same order, same meta columns)."""
    features = compute_features(inputs.events, None, as_of, cfg, with_signals=False).features
    raw = raw_columns(inputs.events, None, features[s.AS_OF].iloc[0])
    logs = features.set_index(s.ACCOUNT_ID).join(raw).reindex(table[s.ACCOUNT_ID]).reset_index()
    logs = logs.reindex(columns=[*logs.columns, *[c for c in raw_names(table)
                                                  if c not in logs.columns]])
    keep = [c for c in table.columns if c not in logs.columns]
    return pd.concat([logs, table[keep].reset_index(drop=True)], axis=1)[list(table.columns)]


def with_logs_only_rows(part: pd.DataFrame, logs_only: pd.DataFrame, share: float,
                        seed: int) -> pd.DataFrame:
    """`part` with a seeded `share` of its accounts' features replaced by the same accounts'
    logs-only features (rows of `logs_only` with the same index)."""
    pick = np.random.default_rng(seed).random(len(part)) < share
    out = part.copy()
    out.loc[pick, FEATURE_NAMES] = logs_only.loc[part.index[pick], FEATURE_NAMES].to_numpy()
    return out
