"""Fitting the risk model: LightGBM early-stopped on validation log-loss, Platt calibration,
band thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression

from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.registry import REGISTRY
from persona_risk.models.risk_model import RiskModel
from persona_risk.training.averaging import average_boosters
from persona_risk.training.metrics import threshold_at_fpr

# directions known from the threat (`features.registry`): more of these never lowers the risk
# (constraints of a model trained with `TrainConfig(monotone=True)`)
MONOTONE_INCREASING = tuple(f.name for f in REGISTRY if f.monotone > 0)
# the model's note of what its band thresholds were chosen on: validation accounts, honest ones
# among them, the false-positive target and the queue size (for `training.report.bands_note`)
BANDS_CHOSEN_ON = "bands_chosen_on"


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters and operating targets; `params` overrides LightGBM parameters.

    logs_only_share: share of training and validation accounts whose features are taken as
    computed from the sign-in logs alone (no accounts table), so that the model and its
    calibration know both cases and score logs-only inputs honestly.
    extra_trees: split thresholds drawn at random (LightGBM's extremely randomized trees), so
    the model cannot key on the exact cut points of the worlds it was trained on; it holds up
    better on shifted worlds (`bench.robustness`).
    monotone: constrain the booster to never lower the risk as a `MONOTONE_INCREASING` feature
    grows, so that no explanation reads more device or payout sharing as lowering it. Off by
    default: it cost recall on every independent world and pool-to-pool test
    (docs/robustness.md, twelfth look), where honest sharing (agencies, households) and fraud differ
    by the company a signal keeps.
    simulated_accounts: simulated accounts (domain-randomized worlds, `training.simulated`)
    added to the training and validation rows of a user's own accounts; 0: none.
    simulated_worth: how many of the user's labelled accounts the simulated ones weigh as
    together (a prior that fades as the user's labels grow: README, *Few labels of your
    own*).
    boosters, bagging_fraction: boosters fitted with seeds `seed`, `seed + 1`, ..., each
    tree on its own random `bagging_fraction` of the training rows, averaged into one model
    (`training.averaging`): it keys less on one fit's draws of rows, features and cut points,
    and holds up better on worlds unlike those it was trained on (docs/robustness.md,
    fifteenth look)."""

    seed: int = 0
    learning_rate: float = 0.1
    num_leaves: int = 7
    min_child_samples: int = 20
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    extra_trees: bool = True
    max_rounds: int = 300
    early_stopping_rounds: int = 50
    target_fpr: float = 0.01
    queue_size: int = 50
    logs_only_share: float = 0.3
    monotone: bool = False
    simulated_accounts: int = 0
    simulated_worth: float = 640.0
    boosters: int = 5
    bagging_fraction: float = 0.7
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.boosters < 1:
            raise ValueError(f"boosters must be at least 1, got {self.boosters}")

    def lgb_params(self, pos: int, neg: int, feature_names: list[str] = FEATURE_NAMES) -> dict:
        params = {
            "objective": "binary", "metric": "binary_logloss",
            "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction, "lambda_l2": self.lambda_l2,
            "extra_trees": self.extra_trees,
            "bagging_fraction": self.bagging_fraction, "bagging_freq": 1,
            "scale_pos_weight": float(np.sqrt(neg / max(pos, 1))),
            "seed": self.seed, "deterministic": True, "force_row_wise": True,
            "num_threads": 2, "verbose": -1,
        }
        if self.monotone:
            params["monotone_constraints"] = [int(f in MONOTONE_INCREASING) for f in feature_names]
            params["monotone_constraints_method"] = "advanced"
        return {**params, **self.params}


@dataclass(frozen=True)
class Rows:
    """Training and validation rows: feature matrices and 0/1 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def fit_booster(x_train, y_train, x_val, y_val, cfg: TrainConfig,
                feature_names: list[str] = FEATURE_NAMES,
                simulated: Rows | None = None) -> lgb.Booster:
    """A LightGBM booster: `cfg.boosters` of them, each early-stopped on the validation set's
    log-loss, averaged into one (`training.averaging`); `feature_names` name the columns of
    the matrices (the contract's features for the risk model).

    `simulated`: rows added to both sets, each of weight 1 while a row of the user's weighs
    as many of them as make all of them worth `cfg.simulated_worth` of the user's."""
    w_train = w_val = None
    if simulated is not None:
        own = (len(simulated.y_train) + len(simulated.y_val)) / cfg.simulated_worth
        w_train = np.r_[np.full(len(y_train), own), np.ones(len(simulated.y_train))]
        w_val = np.r_[np.full(len(y_val), own), np.ones(len(simulated.y_val))]
        x_train, y_train = np.vstack([x_train, simulated.x_train]), np.r_[y_train,
                                                                          simulated.y_train]
        x_val, y_val = np.vstack([x_val, simulated.x_val]), np.r_[y_val, simulated.y_val]
    train = lgb.Dataset(x_train, y_train, weight=w_train, feature_name=list(feature_names),
                        free_raw_data=False)
    val = lgb.Dataset(x_val, y_val, weight=w_val, reference=train)
    pos, neg = int(y_train.sum()), int(len(y_train) - y_train.sum())
    texts = []
    for i in range(cfg.boosters):
        params = replace(cfg, seed=cfg.seed + i).lgb_params(pos, neg, feature_names)
        booster = lgb.train(params, train, num_boost_round=cfg.max_rounds, valid_sets=[val],
                            callbacks=[lgb.early_stopping(cfg.early_stopping_rounds,
                                                          verbose=False)])
        texts.append(booster.model_to_string())
    return lgb.Booster(model_str=average_boosters(texts))


def fit_calibration(margin_val: np.ndarray, y_val: np.ndarray) -> tuple[float, float]:
    """Platt scaling fitted on validation: probability = sigmoid(a * margin + b).

    Strictly increasing, so it keeps the booster's ranking (isotonic steps would tie the top
    accounts); a and b are fitted by lightly regularised logistic regression on the margins,
    which stays finite when validation is perfectly separated."""
    lr = LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000)
    lr.fit(margin_val.reshape(-1, 1), y_val)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def choose_thresholds(score: np.ndarray, y: np.ndarray, target_fpr: float,
                      queue_size: int) -> dict[str, float]:
    """high: at most `target_fpr` false positives and at most `queue_size` accounts on
    validation; medium: at most five times the false-positive rate."""
    top_k = float(np.sort(score)[::-1][min(queue_size, len(score)) - 1])
    high = max(threshold_at_fpr(y, score, target_fpr), top_k)
    medium = min(threshold_at_fpr(y, score, 5 * target_fpr), high)
    return {"medium": medium, "high": high}


def train_risk_model(x_train, y_train, x_val, y_val, cfg: TrainConfig,
                     feature_names: list[str] = FEATURE_NAMES,
                     simulated: Rows | None = None) -> RiskModel:
    """Fit booster, calibration and thresholds; the result is deterministic for fixed inputs.
    `simulated` rows help fit the booster (`fit_booster`); calibration and thresholds are
    the user's validation rows' alone."""
    booster = fit_booster(x_train, y_train, x_val, y_val, cfg, feature_names, simulated)
    model = RiskModel(booster_text=booster.model_to_string(), platt_a=1.0, platt_b=0.0,
                      thresholds={"medium": 1.0, "high": 1.0},
                      feature_names=list(feature_names),
                      info={"trees": booster.num_trees()})
    model.platt_a, model.platt_b = fit_calibration(model.margin(x_val), y_val)
    model.thresholds = choose_thresholds(model.probability(x_val), y_val, cfg.target_fpr,
                                         cfg.queue_size)
    model.info[BANDS_CHOSEN_ON] = {"accounts": len(y_val), "honest": int((y_val == 0).sum()),
                                   "target_fpr": cfg.target_fpr, "queue_size": cfg.queue_size}
    return model
