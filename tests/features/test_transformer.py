"""The feature pipeline as a scikit-learn transformer (features/transformer.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.transformer import FeatureTransformer
from persona_risk.training.simulator.simulate import SimConfig, simulate

# The common checks feed numeric arrays; X here is an accounts table (a DataFrame with an
# account_id column), so every check that fits or transforms an array must fail, with our
# ValueError naming what X must be (before the events are used: the checked instance needs
# none). The checks that pass (cloning, parameters, tags, not-fitted errors...) still run.
NEEDS_NUMERIC_X = (
    "check_fit_score_takes_y", "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data",
    "check_dtype_object", "check_estimators_empty_data_messages", "check_pipeline_consistency",
    "check_estimators_nan_inf", "check_estimator_sparse_tag", "check_estimator_sparse_array",
    "check_estimator_sparse_matrix", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
    "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
)


def expected_failed_checks(estimator) -> dict[str, str]:
    return dict.fromkeys(NEEDS_NUMERIC_X, "X is an accounts table (DataFrame with account_id), "
                                          "not a numeric array")


@parametrize_with_checks([FeatureTransformer()],
                         expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_scikit_learn_common_checks(estimator, check):
    check(estimator)


def test_the_features_are_the_pipelines_in_the_order_and_index_of_x(small_world):
    _, accounts, events = small_world
    as_of = events[s.TS].max() - pd.Timedelta(days=3)
    x = accounts.sample(frac=1.0, random_state=0).set_axis(np.arange(len(accounts))[::-1] * 7)
    out = FeatureTransformer(events=events, as_of=as_of).fit_transform(x)
    expected = compute_features(events, accounts, as_of).features.set_index(s.ACCOUNT_ID)
    assert list(out.columns) == FEATURE_NAMES == list(
        FeatureTransformer().get_feature_names_out())
    assert out.index.equals(x.index)
    known = x[s.ACCOUNT_ID].isin(expected.index).to_numpy()
    assert known.sum() > 0.8 * len(x)  # the rest were created after the cut: rows of NaN
    np.testing.assert_array_equal(
        out[known].to_numpy(), expected.loc[x[s.ACCOUNT_ID][known], FEATURE_NAMES].to_numpy())
    assert out[~known].isna().all().all()


def test_account_ids_alone_give_the_logs_only_features(small_world):
    _, _, events = small_world
    ids = pd.DataFrame({s.ACCOUNT_ID: events[s.ACCOUNT_ID].drop_duplicates().to_numpy()})
    out = clone(FeatureTransformer(events=events)).fit(ids).transform(ids)
    assert out["account_age_days"].isna().all() and out["ip_accounts_max"].notna().all()


def test_fit_validates_the_events_and_sets_bad_rows_aside():
    events = simulate(SimConfig(accounts=40, days=5, seed=1, worlds=1)).events
    events.loc[events.index[:2], s.TS] = pd.NaT
    ids = pd.DataFrame({s.ACCOUNT_ID: ["nobody"]})
    fitted = FeatureTransformer(events=events).fit(ids)
    assert len(fitted.quarantine_) == 2 and len(fitted.events_) == len(events) - 2
    with pytest.raises(ValueError, match="needs its events table"):
        FeatureTransformer().fit(ids)
    with pytest.raises(ValueError, match="DataFrame of accounts with an 'account_id' column"):
        fitted.transform(np.zeros((2, 3)))
