"""The risk model as a scikit-learn classifier, for pipelines, cross-validation and search.

`RiskClassifier.fit` runs the very code path training registers (`training.fit.
train_risk_model`: LightGBM early-stopped on validation log-loss, Platt calibration on
validation, band thresholds), so for the same data and seed its `risk_model_` is the model
`persona-risk train` logs, and `predict_proba` gives the same calibrated scores.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from persona_risk.training.fit import TrainConfig, train_risk_model

_DEFAULT = TrainConfig()


class RiskClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated LightGBM fraud classifier (binary: the second of `classes_` is fraud).

    The hyperparameters and their defaults are those of `TrainConfig` (`random_state` is its
    `seed`; `n_jobs` LightGBM's threads, default training's). `fit(X, y, eval_set=(X_val,
    y_val))` early-stops and calibrates on the given validation set, as training does; without
    `eval_set` a stratified `validation_fraction` of `(X, y)` is held out (all of it serves for
    both when a class has fewer than two rows). Missing values (NaN) are allowed: the booster
    routes them. With a DataFrame `X` its column names are the booster's feature names, and
    with `monotone=True` the contract's features that only raise risk are constrained so. The
    fitted `risk_model_` is a `RiskModel`: bands, reasons, `save`.
    """

    def __init__(self, learning_rate: float = _DEFAULT.learning_rate,
                 num_leaves: int = _DEFAULT.num_leaves,
                 min_child_samples: int = _DEFAULT.min_child_samples,
                 feature_fraction: float = _DEFAULT.feature_fraction,
                 lambda_l2: float = _DEFAULT.lambda_l2, extra_trees: bool = _DEFAULT.extra_trees,
                 monotone: bool = _DEFAULT.monotone, boosters: int = _DEFAULT.boosters,
                 bagging_fraction: float = _DEFAULT.bagging_fraction,
                 max_rounds: int = _DEFAULT.max_rounds,
                 early_stopping_rounds: int = _DEFAULT.early_stopping_rounds,
                 target_fpr: float = _DEFAULT.target_fpr, queue_size: int = _DEFAULT.queue_size,
                 validation_fraction: float = 0.25, random_state: int = _DEFAULT.seed,
                 n_jobs: int | None = None):
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.lambda_l2 = lambda_l2
        self.extra_trees = extra_trees
        self.monotone = monotone
        self.boosters = boosters
        self.bagging_fraction = bagging_fraction
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.target_fpr = target_fpr
        self.queue_size = queue_size
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs

    def train_config(self) -> TrainConfig:
        """The `TrainConfig` these parameters make (what training logs as the run's params)."""
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        params = {k: v for k, v in self.get_params().items() if k in names}
        threads = {} if self.n_jobs is None else {"num_threads": self.n_jobs}
        return TrainConfig(**params, seed=self.random_state, params=threads)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, eval_set: tuple | None = None) -> RiskClassifier:
        """Fit on `(X, y)`, early-stopping and calibrating on `eval_set` (or a held-out part)."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        target = type_of_target(y, input_name="y")
        if target != "binary":
            raise ValueError("Only binary classification is supported (fraud or honest); the "
                             f"type of the target is {target}.")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y has one class only ({self.classes_.tolist()}); the model "
                             "needs fraudulent and honest accounts")
        y = (y == self.classes_[1]).astype(np.int64)
        if eval_set is not None:
            x_val, y_val = eval_set
            x_val = validate_data(self, x_val, reset=False, dtype=np.float64,
                                  ensure_all_finite="allow-nan")
            y_val = (np.asarray(y_val) == self.classes_[1]).astype(np.int64)
        elif np.bincount(y).min() >= 2:
            X, x_val, y, y_val = train_test_split(
                X, y, test_size=self.validation_fraction, stratify=y,
                random_state=self.random_state)
        else:
            x_val, y_val = X, y
        names = [str(n) for n in getattr(self, "feature_names_in_", [])] or [
            f"x{j}" for j in range(self.n_features_in_)]
        self.risk_model_ = train_risk_model(X, y, x_val, y_val, self.train_config(), names)
        return self

    def _matrix(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float64,
                             ensure_all_finite="allow-nan")

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds of fraud (positive: fraud the likelier class)."""
        x = self._matrix(X)
        return self.risk_model_.log_odds(self.risk_model_.margin(x))

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities, one column per class of `classes_`; the second is the
        risk model's score."""
        x = self._matrix(X)
        fraud = self.risk_model_.probability(x)
        return np.column_stack([1.0 - fraud, fraud])

    def predict(self, X) -> np.ndarray:
        """The likelier class."""
        fraud = self.decision_function(X) > 0
        return self.classes_[fraud.astype(int)]
