"""The account risk model: LightGBM margins, Platt calibration, bands and reason codes.

A `RiskModel` is plain data (the booster's text, the Platt calibration, the band thresholds, the
feature names, the feature settings its features were computed with and the feature contract),
saved as files without pickle, so that it loads in any process and is checked against the
installed feature code before it scores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList
from persona_risk.features.config import FeatureConfig
from persona_risk.features.reference import feature_contract
from persona_risk.features.travel import FASTEST_HOP_COLUMNS
from persona_risk.models.reasons import N_REASONS, ReasonColumns, reason_code, sentence

BANDS = ("low", "medium", "high")
# an account feature table, or its columns by name (account_id and the features)
Features = pd.DataFrame | Mapping[str, Sequence]
THREADED_MIN_ROWS = 1_000  # rows from which LightGBM predicts on its OpenMP threads


class FeatureContractError(RuntimeError):
    """The model was trained on other feature definitions than the installed ones."""


class MissingFeaturesError(ValueError):
    """The feature table lacks columns the model needs."""


def check_feature_contract(contract: str | None, settings: dict, model: str) -> None:
    """Raise `FeatureContractError` unless the installed feature code, with a model's stored
    feature `settings`, gives the model's `contract`; `model` names it in the message."""
    try:
        installed = feature_contract(FeatureConfig.from_settings(settings))
    except TypeError as err:  # settings this feature code does not know
        raise FeatureContractError(f"{model}: feature settings {settings!r}: {err}: retrain"
                                   ) from err
    if contract != installed:
        raise FeatureContractError(
            f"{model} was trained on feature contract {contract!r}, but the installed feature "
            f"code with its settings gives {installed!r}: retrain, or install the persona-risk "
            "version the model was trained with")


@dataclass
class RiskModel:
    """A trained, calibrated model. Scores are calibrated probabilities of fraud (0-1)."""

    booster_text: str
    platt_a: float
    platt_b: float
    thresholds: dict[str, float]
    feature_names: list[str]
    contract_version: str = field(default_factory=feature_contract)
    info: dict = field(default_factory=dict)
    feature_settings: dict = field(default_factory=lambda: FeatureConfig().settings())
    _reason_cfg: tuple[str, FeatureConfig] | None = field(default=None, init=False, repr=False,
                                                          compare=False)

    def feature_config(self, allow: AllowList = AllowList()) -> FeatureConfig:
        """The thresholds the model's features are computed with, and an allow-list."""
        return FeatureConfig.from_settings(self.feature_settings, allow)

    @cached_property
    def booster(self) -> lgb.Booster:
        return lgb.Booster(model_str=self.booster_text)

    def check_contract(self) -> None:
        """Raise `FeatureContractError` unless the installed feature code, with the model's
        feature settings, gives the model's contract."""
        check_feature_contract(self.contract_version, self.feature_settings, "the model")

    def matrix(self, features: Features) -> np.ndarray:
        """The model's input matrix (float64, feature order) from an account feature table (or
        its columns by name, as the online service has them)."""
        missing = [f for f in self.feature_names if f not in features]
        if missing:
            raise MissingFeaturesError(f"feature table lacks columns: {', '.join(missing)}")
        if isinstance(features, pd.DataFrame):
            return features[self.feature_names].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.column_stack([np.asarray(features[f], dtype=np.float64)
                                for f in self.feature_names])

    def _predict(self, x: np.ndarray, **kind) -> np.ndarray:
        # OpenMP threads cost far more than they save on a few rows (the online path scores one
        # account at a time); every row is computed alone, so the result is the same
        threads = 1 if len(x) < THREADED_MIN_ROWS else 0  # 0: LightGBM's default
        if not len(x):  # LightGBM's contributions divide by the row count
            return np.empty((0, x.shape[1] + 1) if kind.get("pred_contrib") else 0)
        return self.booster.predict(x, num_threads=threads, **kind)

    def margin(self, x: np.ndarray) -> np.ndarray:
        """Raw LightGBM scores (log-odds)."""
        return self._predict(x, raw_score=True)

    def log_odds(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of fraud from raw margins (Platt scaling fitted on validation)."""
        return self.platt_a * margin + self.platt_b

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw margins."""
        return 1.0 / (1.0 + np.exp(-self.log_odds(margin)))

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.calibrate(self.margin(x))

    def band(self, score: np.ndarray) -> np.ndarray:
        """low / medium / high from the thresholds chosen on validation."""
        out = np.full(len(score), BANDS[0], dtype=object)
        out[score >= self.thresholds["medium"]] = BANDS[1]
        out[score >= self.thresholds["high"]] = BANDS[2]
        return out

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions in log-odds, one column per feature plus the bias last."""
        return self._predict(x, pred_contrib=True)

    def score(self, features: pd.DataFrame, reasons: bool = True) -> pd.DataFrame:
        """Score an account feature table: account_id, score, band and the top reasons."""
        return pd.DataFrame(self.score_columns(features, reasons))

    def score_columns(self, features: Features, reasons: bool = True) -> dict[str, Sequence]:
        """The columns of `score` (account_id, score, band, the top reasons), by name, without
        building a table (the online service reads them row by row)."""
        x = self.matrix(features)
        score = self.probability(x)
        out = {s.ACCOUNT_ID: np.asarray(features[s.ACCOUNT_ID]), "score": score,
               "band": self.band(score)}
        if reasons:
            out.update(self.reasons(features, x))
        return out

    def _reason_config(self) -> FeatureConfig:
        """`feature_config()` for the reason sentences, built again only when the settings
        changed (they are plain data: training sets them on the fitted model)."""
        key = json.dumps(self.feature_settings, sort_keys=True)
        if self._reason_cfg is None or self._reason_cfg[0] != key:
            self._reason_cfg = (key, self.feature_config())
        return self._reason_cfg[1]

    def reasons(self, features: Features, x: np.ndarray,
                k: int = N_REASONS) -> dict[str, Sequence]:
        """The k known features that raise each score most: code, value, contribution,
        sentence, as columns by name. A missing value is never a reason, nor a feature that
        does not raise the score: such slots are empty (code and sentence None, value and
        contribution NaN)."""
        contrib = self.contributions(x)[:, :-1]
        raising = np.where(np.isnan(x) | (contrib <= 0), -np.inf, contrib)
        top = np.argsort(-raising, axis=1, kind="stable")[:, :k]
        context = _context(features, len(x))
        cfg = self._reason_config()
        rows = np.arange(len(x))
        cols: dict[str, Sequence] = {}
        for j in range(k):
            idx = top[:, j]
            used = np.isfinite(raising[rows, idx])
            names = [self.feature_names[i] if u else None for i, u in zip(idx, used, strict=True)]
            values = np.where(used, x[rows, idx], np.nan)
            slot = ReasonColumns.of(j + 1)
            cols[slot.code] = [None if n is None else reason_code(n) for n in names]
            cols[slot.value] = values
            cols[slot.shap] = np.where(used, contrib[rows, idx], np.nan)
            cols[slot.text] = [None if n is None else sentence(n, v, c, cfg)
                               for n, v, c in zip(names, values, context, strict=True)]
        return cols

    def save(self, folder: Path | str) -> Path:
        """Write booster.txt and model.json into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "booster.txt").write_text(self.booster_text)
        meta = {k: getattr(self, k) for k in ("platt_a", "platt_b", "thresholds",
                                              "feature_names", "contract_version", "info",
                                              "feature_settings")}
        (folder / "model.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def load(cls, folder: Path | str, check: bool = True) -> RiskModel:
        """Read a saved model; with `check`, refuse one of another feature contract."""
        folder = Path(folder)
        meta = json.loads((folder / "model.json").read_text())
        model = cls(booster_text=(folder / "booster.txt").read_text(), **meta)
        if check:
            model.check_contract()
        return model


def _context(features: Features, n: int) -> list[dict]:
    """Each of the `n` rows' reason context (`FASTEST_HOP_COLUMNS`; NaN where a column is
    absent), as `DataFrame.to_dict("records")` gives it, without the frame."""
    def column(c: str) -> list:  # `tolist` gives Python scalars, from a frame or an array
        return features[c].tolist() if isinstance(features, pd.DataFrame) \
            else np.asarray(features[c]).tolist()

    columns = [column(c) if c in features else [np.nan] * n
               for c in FASTEST_HOP_COLUMNS]
    return [dict(zip(FASTEST_HOP_COLUMNS, values, strict=True))
            for values in zip(*columns, strict=True)]
