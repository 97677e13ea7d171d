"""The optional hyperparameter search: seeded, inside its ranges, and its choice trains a model
that ranks fraud on validation."""

from __future__ import annotations

import dataclasses

import pytest
from sklearn.metrics import average_precision_score

from persona_risk.features import schema as s
from persona_risk.features.memory_engine import Inputs
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.training.dataset import training_table
from persona_risk.training.fit import TrainConfig, train_risk_model
from persona_risk.training.split import RANDOM, TRAIN, VAL, SplitConfig, make_split
from persona_risk.training.tune import tune

pytestmark = pytest.mark.slow  # a few LightGBM fits: seconds on a quiet machine
BASE = TrainConfig(max_rounds=20, early_stopping_rounds=5)
TUNED = ("learning_rate", "num_leaves", "min_child_samples", "feature_fraction", "lambda_l2")


@pytest.fixture(scope="module")
def parts(small_world):
    _, accounts, events = small_world
    table = training_table(Inputs(events, events.iloc[:0], accounts))
    split = make_split(table, None, SplitConfig(method=RANDOM, seed=3))
    return [(table.loc[split.mask(p), FEATURE_NAMES].to_numpy(float),
             table.loc[split.mask(p), s.LABEL].to_numpy()) for p in (TRAIN, VAL)]


def test_search_is_seeded_keeps_other_settings_and_stays_in_range(parts):
    (x_tr, y_tr), (x_val, y_val) = parts
    first = tune(x_tr, y_tr, x_val, y_val, BASE, trials=2)
    assert tune(x_tr, y_tr, x_val, y_val, BASE, trials=2) == first
    assert {f.name: getattr(first, f.name) for f in dataclasses.fields(BASE)
            if f.name not in TUNED} == {f.name: getattr(BASE, f.name)
                                       for f in dataclasses.fields(BASE) if f.name not in TUNED}
    assert first != BASE
    assert 0.01 <= first.learning_rate <= 0.2 and 4 <= first.num_leaves <= 63
    assert 5 <= first.min_child_samples <= 100 and 0.5 <= first.feature_fraction <= 1.0
    assert 1e-3 <= first.lambda_l2 <= 10.0
    model = train_risk_model(x_tr, y_tr, x_val, y_val, first)
    assert average_precision_score(y_val, model.margin(x_val)) > 2 * y_val.mean()
