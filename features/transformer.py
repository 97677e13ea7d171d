"""The feature pipeline as a scikit-learn transformer: accounts in, the contract's features out.

One row per account in and out, so that it chains with `RiskClassifier` in a `Pipeline` and
cross-validates by account. The sign-in events are the transformer's auxiliary table (a
parameter, as skrub's `AggJoiner` holds its `aux_table`); the features are those of
`features.pipeline.compute_features`, the one definition batch, training and serving use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.pipeline import compute_features, default_as_of
from persona_risk.features.point_in_time import utc
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.validate import validate_accounts, validate_events


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Account features as of a time (UTC) from sign-in events.

    events: the events table (`features.schema`); `fit` validates it and keeps the clean rows
        in `events_` and the set-aside ones, with their reason, in `quarantine_`.
    as_of: the cut (ISO-8601 or Timestamp, naive is UTC); default: the last event.
    cfg: the signals' thresholds (default `FeatureConfig()`).

    `X` is a DataFrame with one row per account: the accounts table, or only an `account_id`
    column for accounts known from their sign-ins alone (the features that need the record are
    then NaN). The output has `X`'s index and the columns `get_feature_names_out()` (floats,
    NaN when unknown). Cross-account counts (devices, payout and phone ids shared) are over all
    events and the records in `X`.
    """

    def __init__(self, events: pd.DataFrame | None = None,
                 as_of: pd.Timestamp | str | None = None, cfg: FeatureConfig | None = None):
        self.events = events
        self.as_of = as_of
        self.cfg = cfg

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    def fit(self, X: pd.DataFrame, y=None) -> FeatureTransformer:
        """Validate the events and fix the cut; `X` is only checked."""
        _records(X)
        if self.events is None:
            raise ValueError("FeatureTransformer needs its events table: "
                             "FeatureTransformer(events=...)")
        self.events_, self.quarantine_ = validate_events(self.events)
        self.as_of_ = default_as_of(self.events_) if self.as_of is None else utc(self.as_of)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The features of the accounts of `X`, in its order."""
        check_is_fitted(self)
        records = _records(X)
        features = compute_features(self.events_, records, self.as_of_,
                                    self.cfg or FeatureConfig(), with_signals=False).features
        ids = X[s.ACCOUNT_ID].astype(str).to_numpy()
        out = features.set_index(s.ACCOUNT_ID)[FEATURE_NAMES].reindex(ids)
        return out.set_axis(X.index)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The contract's feature names (`features.reference.FEATURE_NAMES`)."""
        return np.asarray(FEATURE_NAMES, dtype=object)


def _records(X) -> pd.DataFrame | None:
    """The validated account records of `X`; None when it holds only account ids."""
    if not isinstance(X, pd.DataFrame) or s.ACCOUNT_ID not in X.columns:
        raise ValueError(f"X must be a DataFrame of accounts with an {s.ACCOUNT_ID!r} column "
                         f"(got {type(X).__name__})")
    return None if list(X.columns) == [s.ACCOUNT_ID] else validate_accounts(X)
