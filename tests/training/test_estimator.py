"""The risk model as a scikit-learn classifier (training/estimator.py): the common checks, and
the very model training fits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from persona_risk.features import schema as s
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.transformer import FeatureTransformer
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.training.dataset import logs_only_table
from persona_risk.training.estimator import RiskClassifier
from persona_risk.training.fit import TrainConfig
from persona_risk.training.simulator.simulate import SimConfig, simulate
from persona_risk.training.split import TEST, TRAIN, VAL
from persona_risk.training.train import fit_rows


@parametrize_with_checks([RiskClassifier(max_rounds=10, n_jobs=1)])
def test_scikit_learn_common_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def world():
    sim = simulate(SimConfig(accounts=600, days=20, fraud_rate=0.15, seed=5, worlds=1))
    events, _ = validate_events(sim.events)
    return events, validate_accounts(sim.accounts)


@pytest.mark.slow  # the logs-only table of 5,000 accounts and a full fit: about 30 s
def test_the_classifier_is_the_model_training_fits(labelled, trained):
    """The session's trained model (`fit_and_evaluate`, as `persona-risk train` runs it):
    the classifier fitted on the same rows with the same seed is the same model."""
    inputs, table = labelled
    parts = {p: table[trained.split.mask(p)] for p in (TRAIN, VAL, TEST)}
    rows = fit_rows(parts, logs_only_table(inputs, table), TrainConfig())
    clf = RiskClassifier().fit(rows[TRAIN][FEATURE_NAMES], rows[TRAIN][s.LABEL],
                               eval_set=(rows[VAL][FEATURE_NAMES], rows[VAL][s.LABEL]))
    model = trained.model
    assert clf.risk_model_.booster_text == model.booster_text
    assert (clf.risk_model_.platt_a, clf.risk_model_.platt_b) == (model.platt_a, model.platt_b)
    assert clf.risk_model_.thresholds == model.thresholds
    assert clf.risk_model_.feature_names == model.feature_names
    np.testing.assert_array_equal(clf.predict_proba(parts[TEST][FEATURE_NAMES])[:, 1],
                                  model.score(parts[TEST], reasons=False)["score"])
    assert list(clf.feature_names_in_) == FEATURE_NAMES and list(clf.classes_) == [0, 1]


def test_the_classifier_trains_with_its_own_parameters():
    assert RiskClassifier(monotone=True, num_leaves=5, boosters=2).train_config() == TrainConfig(
        monotone=True, num_leaves=5, boosters=2)


def test_features_and_model_cross_validate_in_one_pipeline(world):
    events, accounts = world
    labelled = accounts[accounts[s.LABEL].notna()]
    pipeline = make_pipeline(FeatureTransformer(events=events),
                             RiskClassifier(max_rounds=40, n_jobs=1))
    pr_auc = cross_val_score(pipeline, labelled, labelled[s.LABEL].astype(int), cv=3,
                             scoring="average_precision")
    assert len(pr_auc) == 3 and pr_auc.min() > 0.5  # base rate 0.15
    fitted = pipeline.fit(labelled, labelled[s.LABEL].astype(int))
    scores = fitted.predict_proba(labelled)[:, 1]
    assert ((0 < scores) & (scores < 1)).all()
    assert list(fitted[-1].feature_names_in_) == FEATURE_NAMES


def test_one_class_or_three_are_refused_by_name():
    x = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match="one class only"):
        RiskClassifier().fit(x, np.ones(30))
    with pytest.raises(ValueError, match="Only binary classification"):
        RiskClassifier().fit(x, np.arange(30) % 3)
