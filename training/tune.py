"""Optional hyperparameter search with optuna on the validation set (seeded TPE)."""

from __future__ import annotations

import dataclasses

import optuna
from sklearn.metrics import average_precision_score

from persona_risk.training.fit import Rows, TrainConfig, train_risk_model


def tune(x_train, y_train, x_val, y_val, cfg: TrainConfig, trials: int,
         simulated: Rows | None = None) -> TrainConfig:
    """The config whose model has the best validation PR-AUC over `trials` trials (on the
    user's validation rows; `simulated` rows are fitted beside theirs as in training)."""
    def objective(trial: optuna.Trial) -> float:
        trial_cfg = dataclasses.replace(
            cfg,
            learning_rate=trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            num_leaves=trial.suggest_int("num_leaves", 4, 63, log=True),
            min_child_samples=trial.suggest_int("min_child_samples", 5, 100, log=True),
            feature_fraction=trial.suggest_float("feature_fraction", 0.5, 1.0),
            lambda_l2=trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        )
        model = train_risk_model(x_train, y_train, x_val, y_val, trial_cfg,
                                 simulated=simulated)
        return average_precision_score(y_val, model.margin(x_val))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=cfg.seed))
    study.optimize(objective, n_trials=trials)
    return dataclasses.replace(cfg, **study.best_params)
