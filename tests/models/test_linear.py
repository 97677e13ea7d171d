"""The linear half of the risk model as plain data (`models.linear`)."""

from __future__ import annotations

import json

import numpy as np

from persona_risk.models.linear import LinearScore
from persona_risk.training.fit import logistic_pipeline


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=400) > 0.8).astype(int)
    x[rng.random((400, 5)) < 0.1] = np.nan  # every column has gaps: indicators are fitted
    x[:, 4] = np.where(y == 1, np.nan, x[:, 4])  # missingness that carries the label
    return x, y


def test_log_odds_equal_the_fitted_pipeline_on_gappy_rows():
    x, y = _data()
    pipeline = logistic_pipeline(0).fit(x, y)
    linear = LinearScore.from_pipeline(pipeline)
    assert linear.indicator  # the missing-value indicators are part of it
    fresh, _ = _data(1)
    np.testing.assert_allclose(linear.log_odds(fresh), pipeline.decision_function(fresh),
                               rtol=1e-9, atol=1e-9)


def test_contributions_sum_to_the_log_odds_and_follow_the_signal():
    x, y = _data()
    linear = LinearScore.from_pipeline(logistic_pipeline(0).fit(x, y))
    contrib = linear.contributions(x)
    assert contrib.shape == (len(x), x.shape[1] + 1)
    np.testing.assert_allclose(contrib.sum(axis=1), linear.log_odds(x), atol=1e-9)
    high = np.nan_to_num(x[:, 0]) > 1.5  # the strongest feature raises those rows' risk
    assert (contrib[high, 0] > 0).all()
    missing4 = np.isnan(x[:, 4])  # the label-bearing gap is credited to its own feature
    assert contrib[missing4, 4].mean() > contrib[~missing4, 4].mean()


def test_survives_json():
    x, y = _data()
    linear = LinearScore.from_pipeline(logistic_pipeline(0).fit(x, y))
    again = LinearScore(**json.loads(json.dumps(linear.as_dict())))
    np.testing.assert_array_equal(again.log_odds(x), linear.log_odds(x))
