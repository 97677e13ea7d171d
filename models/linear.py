"""A logistic regression as plain data, the steady half of the risk model's blend.

The trees of the risk model key on interactions of the worlds they were trained on; one straight
line per feature cannot, so it holds up more evenly on worlds that training never saw
(`bench.robustness`). Stored as numbers (medians, missing-value indicators, standardisation,
coefficients) so that it saves as JSON beside the booster and scores without scikit-learn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LinearScore:
    """Log-odds = intercept + coef . standardised [features with NaN -> median, indicators].

    median: per feature (as imputed); indicator: indices of the features whose missingness is a
    column of its own; mean / scale / coef: per column of the design (features, then
    indicators)."""

    median: list[float]
    indicator: list[int]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    @classmethod
    def from_pipeline(cls, pipeline) -> LinearScore:
        """From a fitted scikit-learn pipeline of `SimpleImputer(strategy="median",
        add_indicator=True)`, `StandardScaler` and `LogisticRegression`."""
        imputer, scaler, lr = (step for _, step in pipeline.steps)
        indicator = [] if imputer.indicator_ is None else imputer.indicator_.features_
        return cls(median=[float(v) for v in imputer.statistics_],
                   indicator=[int(i) for i in indicator],
                   mean=[float(v) for v in scaler.mean_], scale=[float(v) for v in scaler.scale_],
                   coef=[float(v) for v in lr.coef_[0]], intercept=float(lr.intercept_[0]))

    def as_dict(self) -> dict:
        return asdict(self)

    def _terms(self, x: np.ndarray) -> np.ndarray:
        """coef * standardised design column, one column per design column."""
        missing = np.isnan(x)
        filled = np.where(missing, np.asarray(self.median), x)
        design = np.hstack([filled, missing[:, self.indicator].astype(float)])
        return (design - np.asarray(self.mean)) / np.asarray(self.scale) * np.asarray(self.coef)

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of fraud for a float matrix in the model's feature order (NaN allowed)."""
        return self._terms(x).sum(axis=1) + self.intercept

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Each feature's share of the log-odds (its indicator's included), the intercept last;
        a row sums to `log_odds`. Relative to the training mean, as SHAP values of a linear
        model with independent features are."""
        terms = self._terms(x)
        out = np.zeros((len(x), x.shape[1] + 1))
        out[:, :x.shape[1]] = terms[:, :x.shape[1]]
        np.add.at(out.T, self.indicator, terms[:, x.shape[1]:].T)
        out[:, -1] = self.intercept
        return out
