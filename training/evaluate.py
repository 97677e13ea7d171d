"""Evaluation the way a fraud team works: the model beside three baselines on the same test
accounts, with ranking, operating-point and calibration figures (each with a bootstrap 95%
interval), per-archetype figures when archetypes are known, and the same figures for the
sign-in logs alone (no accounts table) when those features are given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.registry import DEVICE_ACCOUNTS_MAX, IMPOSSIBLE_HOPS
from persona_risk.models.risk_model import RiskModel
from persona_risk.training.metrics import scorecards, threshold_at_fpr
from persona_risk.training.raw_baseline import fit_raw_lightgbm, raw_names, raw_scores

MODEL = "model"
IMPOSSIBLE_TRAVEL = "impossible_travel_rule"
SHARED_DEVICE = "shared_device_rule"
LOGISTIC = "logistic_regression"
RAW_LIGHTGBM = "lightgbm_raw_columns"
RULES = (IMPOSSIBLE_TRAVEL, SHARED_DEVICE)
OPERATING_FPR = 0.01


def fit_logistic(train: pd.DataFrame, seed: int = 0):
    """The logistic-regression baseline on the same features (median-imputed, scaled)."""
    model = make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                        keep_empty_features=True),
                          StandardScaler(), LogisticRegression(max_iter=5000, random_state=seed))
    return model.fit(train[FEATURE_NAMES].to_numpy(float), train[s.LABEL].to_numpy())


def baseline_scores(test: pd.DataFrame, logistic, cfg: FeatureConfig = FeatureConfig()) -> dict:
    """Scores of the three baselines on `test`; the rules score 0 or 1."""
    travel = (test[IMPOSSIBLE_HOPS].fillna(0) > 0).to_numpy(float)
    shared = (test[DEVICE_ACCOUNTS_MAX].fillna(0) >= cfg.shared_device_accounts).to_numpy(float)
    lr = logistic.predict_proba(test[FEATURE_NAMES].to_numpy(float))[:, 1]
    return {IMPOSSIBLE_TRAVEL: travel, SHARED_DEVICE: shared, LOGISTIC: lr}


def flagged(name: str, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Accounts a scorer flags: a rule where it fires, any other at the lowest threshold whose
    false-positive rate is at most `OPERATING_FPR`."""
    return score > 0.5 if name in RULES else score >= threshold_at_fpr(y, score, OPERATING_FPR)


def per_archetype(test: pd.DataFrame, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Share flagged per known archetype (rules where they fire, scorers at 1% FPR); empty
    when the table names no archetypes (real data)."""
    if s.PERSONA not in test or test[s.PERSONA].isna().all():
        return pd.DataFrame()
    y = test[s.LABEL].to_numpy()
    flags = {name: flagged(name, y, score) for name, score in scores.items()}
    personas = test[s.PERSONA].fillna("unknown").to_numpy()
    table = pd.DataFrame(flags).groupby(personas).mean()
    table.insert(0, "accounts", pd.Series(personas).value_counts())
    table.insert(1, "fraud", test.groupby(personas)[s.LABEL].max().astype(int))
    return table.sort_values(["fraud", "accounts"], ascending=[False, False])


@dataclass
class Evaluation:
    metrics: pd.DataFrame  # one row per scorer
    intervals: pd.DataFrame  # the metrics' 95% bootstrap intervals (<metric>_low, _high)
    per_persona: pd.DataFrame  # share flagged per archetype; empty without archetypes
    scores: pd.DataFrame  # test accounts with each scorer's score
    contributions: np.ndarray  # model SHAP values (log-odds) on the test accounts
    logs_only: pd.DataFrame | None = None  # metrics on the sign-in logs alone
    logs_only_intervals: pd.DataFrame | None = None


def _scores(model: RiskModel, train: pd.DataFrame, test: pd.DataFrame, seed: int) -> dict:
    scores = {MODEL: model.probability(model.matrix(test)),
              **baseline_scores(test, fit_logistic(train, seed), model.feature_config())}
    if raw_names(train):
        scores[RAW_LIGHTGBM] = raw_scores(fit_raw_lightgbm(train, seed), test)
    return scores


def evaluate(model: RiskModel, train: pd.DataFrame, test: pd.DataFrame,
             queue_size: int = 50, seed: int = 0,
             test_logs_only: pd.DataFrame | None = None) -> Evaluation:
    """The model and the baselines on the same `test` accounts (LR is fitted on `train`);
    `test_logs_only`: the same accounts' features computed without the accounts table."""
    y = test[s.LABEL].to_numpy()
    scores = _scores(model, train, test, seed)
    metrics, intervals = scorecards(y, scores, queue_size, seed)
    table = test.reindex(columns=[s.ACCOUNT_ID, s.LABEL, s.PERSONA]).reset_index(drop=True)
    ev = Evaluation(metrics, intervals, per_archetype(test, scores), table.assign(**scores),
                    model.contributions(model.matrix(test)))
    if test_logs_only is not None:
        logs = _scores(model, train, test_logs_only, seed)
        ev.logs_only, ev.logs_only_intervals = scorecards(y, logs, queue_size, seed)
    return ev
