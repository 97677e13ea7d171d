"""Averaging boosters: one model text whose margin and TreeSHAP contributions are the mean of
the boosters'."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from persona_risk.training.averaging import average_boosters


def _boosters(n: int) -> tuple[np.ndarray, list[lgb.Booster]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1_000, 5))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take their own branch
    y = (np.nan_to_num(x[:, 0]) + rng.normal(size=len(x)) > 0).astype(int)
    return x, [lgb.train({"objective": "binary", "num_leaves": 7, "extra_trees": True,
                          "seed": seed, "verbose": -1}, lgb.Dataset(x, y),
                         num_boost_round=10 + seed)  # boosters of different lengths
               for seed in range(n)]


def test_the_merged_booster_scores_and_explains_as_the_mean():
    x, boosters = _boosters(3)
    merged = lgb.Booster(model_str=average_boosters([b.model_to_string() for b in boosters]))
    assert merged.num_trees() == sum(b.num_trees() for b in boosters)
    for kind in ({"raw_score": True}, {"pred_contrib": True}):
        mean = np.mean([b.predict(x, **kind) for b in boosters], axis=0)
        np.testing.assert_allclose(merged.predict(x, **kind), mean, rtol=0, atol=1e-12)
    again = lgb.Booster(model_str=merged.model_to_string())  # LightGBM's own text of it
    np.testing.assert_array_equal(again.predict(x, raw_score=True),
                                  merged.predict(x, raw_score=True))


def test_one_booster_is_its_own_average():
    _, (booster,) = _boosters(1)
    text = booster.model_to_string()
    assert average_boosters([text]) == text


def test_what_cannot_be_averaged_is_refused():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] > 0).astype(int)
    linear = lgb.train({"objective": "binary", "linear_tree": True, "verbose": -1},
                       lgb.Dataset(x, y), num_boost_round=3).model_to_string()
    with pytest.raises(ValueError, match="linear trees"):
        average_boosters([linear, linear])
    with pytest.raises(ValueError, match="no booster"):
        average_boosters([])
