"""Fitting the risk model: band thresholds, Platt calibration, monotone and deterministic
boosters."""

from __future__ import annotations

import numpy as np
import pytest

from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.registry import IMPOSSIBLE_HOPS
from persona_risk.training.fit import (
    BANDS_CHOSEN_ON,
    MONOTONE_INCREASING,
    Rows,
    TrainConfig,
    choose_thresholds,
    fit_booster,
    fit_calibration,
    train_risk_model,
)


def test_thresholds_hold_the_false_positive_target_and_the_queue():
    y = np.array([0] * 100 + [1] * 10)
    score = np.concatenate([np.linspace(0, 0.5, 100), np.linspace(0.4, 1.0, 10)])
    got = choose_thresholds(score, y, target_fpr=0.01, queue_size=50)
    assert ((score >= got["high"]) & (y == 0)).sum() <= 1  # at most 1% of 100 negatives
    assert ((score >= got["medium"]) & (y == 0)).sum() <= 5
    assert got["medium"] <= got["high"]
    queued = choose_thresholds(score, y, target_fpr=0.5, queue_size=3)
    assert (score >= queued["high"]).sum() == 3  # the queue bounds the high band


def test_calibration_is_increasing_and_fits_the_rate():
    rng = np.random.default_rng(0)
    margin = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * margin - 1)))).astype(int)
    a, b = fit_calibration(margin, y)
    assert a > 0  # keeps the booster's ranking
    assert a == pytest.approx(2, abs=0.25) and b == pytest.approx(-1, abs=0.2)
    separated = np.array([-2.0, -1.0, 1.0, 2.0])
    a, b = fit_calibration(separated, np.array([0, 0, 1, 1]))
    assert np.isfinite([a, b]).all() and a > 0


def _data(seed: int, n: int = 600):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURE_NAMES)))
    hops = FEATURE_NAMES.index(IMPOSSIBLE_HOPS)
    x[:, hops] = rng.poisson(1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x[:, hops] - 2 + x[:, 0])))).astype(int)
    return x, y


def test_a_fit_is_deterministic_for_a_seed():
    (x, y), (xv, yv) = _data(1), _data(2)
    first = train_risk_model(x, y, xv, yv, TrainConfig(seed=3))
    again = train_risk_model(x, y, xv, yv, TrainConfig(seed=3))
    assert first.booster_text == again.booster_text
    assert (first.platt_a, first.platt_b, first.thresholds) == (
        again.platt_a, again.platt_b, again.thresholds)
    np.testing.assert_array_equal(first.probability(xv), again.probability(xv))


def test_a_monotone_model_never_lowers_the_margin_as_a_risk_only_feature_grows():
    assert IMPOSSIBLE_HOPS in MONOTONE_INCREASING
    assert "monotone_constraints" not in TrainConfig().lgb_params(10, 90)  # opt-in
    (x, y), (xv, yv) = _data(4), _data(5)
    booster = fit_booster(x, y, xv, yv, TrainConfig(monotone=True))
    hops = FEATURE_NAMES.index(IMPOSSIBLE_HOPS)
    probe = np.repeat(xv[:50], 6, axis=0)
    probe[:, hops] = np.tile(np.arange(6), 50)
    margin = booster.predict(probe, raw_score=True).reshape(50, 6)
    assert (np.diff(margin, axis=1) >= -1e-12).all()
    assert (np.ptp(margin, axis=1) > 0).mean() > 0.5  # the booster does use the feature


def _direction(booster, x) -> float:
    """Correlation of the booster's score with feature 0 on `x`."""
    return float(np.corrcoef(booster.predict(x), x[:, 0])[0, 1])


def test_simulated_rows_weigh_as_much_as_their_worth():
    """Simulated rows that teach the opposite of the user's: worth little, the user's rows
    decide the direction; worth much, the simulated ones do."""
    rng = np.random.default_rng(5)

    def rows(n, sign):
        x = rng.normal(size=(n, len(FEATURE_NAMES)))
        return x, (sign * x[:, 0] + 0.3 * rng.normal(size=n) > 1.2).astype(int)

    (x, y), (xv, yv) = rows(400, 1), rows(200, 1)
    sim = Rows(*rows(3000, -1), *rows(1000, -1))
    probe = rng.normal(size=(500, len(FEATURE_NAMES)))
    assert _direction(fit_booster(x, y, xv, yv, TrainConfig(simulated_worth=20), simulated=sim),
                      probe) > 0.5
    assert _direction(fit_booster(x, y, xv, yv, TrainConfig(simulated_worth=1e6),
                                  simulated=sim), probe) < -0.5


def test_calibration_and_thresholds_are_the_users_alone():
    (x, y), (xv, yv) = _data(1), _data(2)
    sim_x, sim_y = _data(3, 2000)
    sim = Rows(sim_x[:1500], sim_y[:1500], sim_x[1500:], np.ones(500, dtype=int))
    model = train_risk_model(x, y, xv, yv, TrainConfig(seed=3), simulated=sim)
    assert (model.platt_a, model.platt_b) == fit_calibration(model.margin(xv), yv)
    assert model.thresholds == choose_thresholds(model.probability(xv), yv, 0.01, 50)


def test_the_fit_records_what_its_bands_were_chosen_on():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 3)), (rng.random(400) < 0.2).astype(int)
    x[:, 0] += 2 * y
    model = train_risk_model(x[:300], y[:300], x[300:], y[300:], TrainConfig(max_rounds=5),
                             feature_names=["a", "b", "c"])
    assert model.info[BANDS_CHOSEN_ON] == {"accounts": 100, "honest": int((y[300:] == 0).sum()),
                                           "target_fpr": 0.01, "queue_size": 50}


def test_boosters_are_averaged_into_one_model():
    (x, y), (xv, yv) = _data(1), _data(2)
    one = [fit_booster(x, y, xv, yv, TrainConfig(seed=seed, boosters=1)) for seed in (3, 4)]
    both = fit_booster(x, y, xv, yv, TrainConfig(seed=3, boosters=2))
    assert both.num_trees() == sum(b.num_trees() for b in one)
    np.testing.assert_allclose(both.predict(xv, raw_score=True),
                               np.mean([b.predict(xv, raw_score=True) for b in one], axis=0),
                               rtol=0, atol=1e-12)


def test_at_least_one_booster():
    with pytest.raises(ValueError, match="boosters must be at least 1, got 0"):
        TrainConfig(boosters=0)
