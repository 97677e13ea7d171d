"""Point-in-time correctness of the whole pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features, known_accounts
from persona_risk.features.reference import FEATURE_NAMES


def test_features_as_of_t_ignore_everything_later(small_world):
    _, accounts, events = small_world
    as_of = events[s.TS].min() + pd.Timedelta(days=12)
    full = compute_features(events, accounts, as_of).features
    cut = compute_features(events[events[s.TS] <= as_of],
                           accounts[accounts[s.CREATED_AT] <= as_of], as_of).features
    pd.testing.assert_frame_equal(full, cut)
    assert set(FEATURE_NAMES) <= set(full.columns)


def test_account_created_after_as_of_is_absent(small_world):
    _, accounts, events = small_world
    as_of = events[s.TS].min() + pd.Timedelta(days=5)
    late = accounts.loc[accounts[s.CREATED_AT] > as_of, s.ACCOUNT_ID]
    assert len(late) > 0
    features = compute_features(events, accounts, as_of).features
    assert not features[s.ACCOUNT_ID].isin(late).any()


def test_accounts_are_optional(small_world):
    _, _, events = small_world
    features = compute_features(events).features
    assert features[s.ACCOUNT_ID].nunique() == events[s.ACCOUNT_ID].nunique()
    assert features["account_age_days"].isna().all()
    assert features["ip_accounts_max"].notna().all()


def test_known_accounts_are_the_rows_features_get(small_world):
    _, accounts, events = small_world
    as_of = events[s.TS].min() + pd.Timedelta(days=5)
    for acc in (accounts, None):
        np.testing.assert_array_equal(
            known_accounts(events, acc, as_of),
            compute_features(events, acc, as_of).features[s.ACCOUNT_ID].to_numpy(object))
