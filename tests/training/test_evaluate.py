"""The rule baselines of the evaluation read the registry's features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features.config import FeatureConfig
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.registry import BY_NAME, DEVICE_ACCOUNTS_MAX, IMPOSSIBLE_HOPS
from persona_risk.training.evaluate import (
    IMPOSSIBLE_TRAVEL,
    LOGISTIC,
    SHARED_DEVICE,
    baseline_scores,
)


class _Constant:
    def predict_proba(self, x):
        return np.column_stack([np.full(len(x), 0.75), np.full(len(x), 0.25)])


def test_rules_fire_on_impossible_hops_and_a_shared_device():
    assert BY_NAME[IMPOSSIBLE_HOPS].family == "travel"
    assert BY_NAME[DEVICE_ACCOUNTS_MAX].family == "reuse"
    test = pd.DataFrame(np.nan, index=range(4), columns=FEATURE_NAMES)
    test[IMPOSSIBLE_HOPS] = [0, 2, np.nan, 0]
    test[DEVICE_ACCOUNTS_MAX] = [1, 1, 5, np.nan]
    scores = baseline_scores(test, _Constant(), FeatureConfig(shared_device_accounts=3))
    assert scores[IMPOSSIBLE_TRAVEL].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert scores[SHARED_DEVICE].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert scores[LOGISTIC].tolist() == [0.25] * 4
