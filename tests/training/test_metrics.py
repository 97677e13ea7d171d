"""Metrics equal scikit-learn's; bootstrap intervals cover the point and shrink with data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from persona_risk.training.metrics import (
    paired_difference,
    pr_auc,
    recall_at_fpr,
    roc_auc,
    scorecards,
)


def _data(n: int, seed: int = 0, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    score = rng.normal(size=n) + 1.5 * y
    return y, (np.round(score, 1) if ties else score)


@pytest.mark.parametrize("ties", [False, True])
def test_metrics_equal_scikit_learn(ties):
    y, score = _data(3000, ties=ties)
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert pr_auc(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)
    f, t, _ = roc_curve(y, score)
    for fpr in (0.01, 0.001, 0.1):
        assert recall_at_fpr(y, score, fpr) == pytest.approx(t[f <= fpr].max(), abs=1e-12)


def test_intervals_cover_the_point_and_shrink_with_more_accounts():
    widths = []
    for n in (500, 20000):
        y, score = _data(n, seed=1)
        points, iv = scorecards(y, {"m": score}, k=20, seed=0, rounds=200)
        assert iv.loc["m", "pr_auc_low"] <= points.loc["m", "pr_auc"] <= iv.loc["m", "pr_auc_high"]
        widths.append(iv.loc["m", "roc_auc_high"] - iv.loc["m", "roc_auc_low"])
    assert widths[1] < widths[0] / 3


def test_paired_difference_of_a_scorer_with_itself_is_zero_and_a_real_gap_is_not():
    y, score = _data(4000, seed=2)
    assert paired_difference(y, score, score, pr_auc) == (0.0, 0.0, 0.0)
    noisy = score + np.random.default_rng(0).normal(scale=2.0, size=len(score))
    diff, low, high = paired_difference(y, score, noisy, pr_auc)
    assert 0 < low <= diff <= high


def test_intervals_of_a_tied_rule_cover_its_point():
    """A 0/1 rule ties most accounts: resamples must not order positives first."""
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.1).astype(int)
    rule = (rng.random(2000) < 0.3).astype(float)
    points, iv = scorecards(y, {"rule": rule}, k=50, seed=0, rounds=200)
    for m in points.columns:
        assert iv.loc["rule", f"{m}_low"] <= points.loc["rule", m] <= iv.loc["rule", f"{m}_high"]
