"""Evaluation the way a fraud team works: the model beside three baselines on the same test
accounts, with ranking, operating-point, calibration and per-archetype figures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from features import schema as s
from features.config import FeatureConfig
from features.reference import FEATURE_NAMES
from models.risk_model import RiskModel

MODEL = "model"
IMPOSSIBLE_TRAVEL = "impossible_travel_rule"
SHARED_DEVICE = "shared_device_rule"
LOGISTIC = "logistic_regression"
RULES = (IMPOSSIBLE_TRAVEL, SHARED_DEVICE)
OPERATING_FPR = 0.01


def recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    """Highest recall over thresholds whose false-positive rate is at most `fpr`."""
    f, t, _ = roc_curve(y, score)
    return float(t[f <= fpr].max())


def precision_at_k(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Precision among the k highest scores (ties broken by row order)."""
    top = np.argsort(-score, kind="stable")[:k]
    return float(y[top].mean())


def flags_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> np.ndarray:
    """Accounts flagged at the lowest threshold whose false-positive rate is at most `fpr`."""
    f, _, thresholds = roc_curve(y, score)
    threshold = thresholds[f <= fpr].min()
    return score >= threshold


def scorecard(y: np.ndarray, score: np.ndarray, probability: np.ndarray, k: int) -> dict:
    """ROC-AUC, PR-AUC, recall at 1% and 0.1% FPR, precision at k, Brier score."""
    return {
        "roc_auc": roc_auc_score(y, score), "pr_auc": average_precision_score(y, score),
        "recall_at_1pct_fpr": recall_at_fpr(y, score, 0.01),
        "recall_at_0.1pct_fpr": recall_at_fpr(y, score, 0.001),
        f"precision_at_{k}": precision_at_k(y, score, k),
        "brier": brier_score_loss(y, probability),
    }


def fit_logistic(train: pd.DataFrame, seed: int = 0):
    """The logistic-regression baseline on the same features (median-imputed, scaled)."""
    model = make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                        keep_empty_features=True),
                          StandardScaler(), LogisticRegression(max_iter=5000, random_state=seed))
    return model.fit(train[FEATURE_NAMES].to_numpy(float), train[s.LABEL].to_numpy())


def baseline_scores(test: pd.DataFrame, logistic, cfg: FeatureConfig = FeatureConfig()) -> dict:
    """Scores of the three baselines on `test`; the rules score 0 or 1."""
    travel = (test["impossible_hops"].fillna(0) > 0).to_numpy(float)
    shared = (test["device_accounts_max"].fillna(0) >= cfg.shared_device_accounts).to_numpy(float)
    lr = logistic.predict_proba(test[FEATURE_NAMES].to_numpy(float))[:, 1]
    return {IMPOSSIBLE_TRAVEL: travel, SHARED_DEVICE: shared, LOGISTIC: lr}


@dataclass
class Evaluation:
    metrics: pd.DataFrame  # one row per scorer
    per_persona: pd.DataFrame  # share flagged (rules where they fire, scorers at 1% FPR)
    scores: pd.DataFrame  # test accounts with each scorer's score
    contributions: np.ndarray  # model SHAP values (log-odds) on the test accounts


def evaluate(model: RiskModel, train: pd.DataFrame, test: pd.DataFrame,
             queue_size: int = 50, seed: int = 0) -> Evaluation:
    """The model and the baselines on the same `test` accounts (LR is fitted on `train`)."""
    y = test[s.LABEL].to_numpy()
    x = model.matrix(test)
    scores = {MODEL: model.probability(x), **baseline_scores(test, fit_logistic(train, seed))}
    rows, flagged = {}, {}
    for name, score in scores.items():
        rows[name] = scorecard(y, score, score, queue_size)
        # a rule flags where it fires; scorers are cut at the 1% false-positive rate
        flagged[name] = (score > 0.5 if name in RULES else
                         flags_at_fpr(y, score, OPERATING_FPR))
    personas = test[s.PERSONA].fillna("unknown").to_numpy()
    per_persona = pd.DataFrame(flagged).groupby(personas).mean()
    per_persona.insert(0, "accounts", pd.Series(personas).value_counts())
    per_persona.insert(1, "fraud", test.groupby(personas)[s.LABEL].max())
    per_persona = per_persona.sort_values(["fraud", "accounts"], ascending=[False, False])
    table = test[[s.ACCOUNT_ID, s.LABEL, s.PERSONA]].reset_index(drop=True).assign(**scores)
    return Evaluation(pd.DataFrame(rows).T, per_persona, table, model.contributions(x))
