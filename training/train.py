"""Training end to end: labelled table, out-of-time split, fit, evaluate, report, MLflow run,
registration as `challenger`, and the champion gate."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from sklearn.metrics import average_precision_score

from features import schema as s
from features.batch import Inputs
from features.reference import FEATURE_CONTRACT_VERSION, FEATURE_NAMES
from models.pyfunc import ARTIFACT, PersonaRiskPyfunc, model_metadata, signature
from models.risk_model import RiskModel
from training.dataset import training_table
from training.evaluate import MODEL, Evaluation, evaluate
from training.fit import TrainConfig, train_risk_model
from training.registry import (
    CHALLENGER,
    GateDecision,
    champion_gate,
    code_version,
    configure_tracking,
    ensure_experiment,
    finite,
)
from training.report import write_report
from training.split import TEST, TRAIN, VAL, Split, SplitConfig, out_of_time_split
from training.tune import tune

GATE_METRIC = "pr_auc"
PIP_REQUIREMENTS = ["mlflow", "lightgbm", "numpy", "pandas", "scikit-learn"]


@dataclass
class TrainingOutcome:
    model: RiskModel
    table: pd.DataFrame
    split: Split
    evaluation: Evaluation
    report: Path
    run_id: str | None = None
    version: str | None = None
    decision: GateDecision | None = None


def fit_and_evaluate(table: pd.DataFrame, window_start: pd.Timestamp, cfg: TrainConfig,
                     split_cfg: SplitConfig, report_dir: Path, tune_trials: int = 0
                     ) -> TrainingOutcome:
    """Split, (tune,) fit, evaluate against the baselines and write the report folder."""
    split = out_of_time_split(table, window_start, split_cfg)
    parts = {p: table[split.mask(p)] for p in (TRAIN, VAL, TEST)}
    x = {p: parts[p][FEATURE_NAMES].to_numpy(float) for p in parts}
    y = {p: parts[p][s.LABEL].to_numpy() for p in parts}
    if tune_trials:
        cfg = tune(x[TRAIN], y[TRAIN], x[VAL], y[VAL], cfg, tune_trials)
    model = train_risk_model(x[TRAIN], y[TRAIN], x[VAL], y[VAL], cfg)
    model.info.update({"val_cut": str(split.val_cut), "test_cut": str(split.test_cut),
                       "config": dataclasses.asdict(cfg)})
    ev = evaluate(model, parts[TRAIN], parts[TEST], cfg.queue_size, cfg.seed)
    report = write_report(ev, parts[TEST], report_dir)
    return TrainingOutcome(model, table, split, ev, report)


def log_and_register(outcome: TrainingOutcome, model_name: str, as_of: pd.Timestamp,
                     cfg: TrainConfig, split_cfg: SplitConfig) -> TrainingOutcome:
    """Log the run (params, metrics, dataset digest, features, code version, report, model),
    register the model as `challenger` and run the champion gate."""
    configure_tracking()
    ensure_experiment()
    table, split, ev = outcome.table, outcome.split, outcome.evaluation
    test = table[split.mask(TEST)]
    with mlflow.start_run(run_name=f"train-{as_of:%Y%m%d}") as run:
        dataset = mlflow.data.from_pandas(table.drop(columns=["as_of"]), name="account-features",
                                          targets=s.LABEL)
        mlflow.log_input(dataset, context="training")
        mlflow.log_params({**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "params"},
                           **dataclasses.asdict(split_cfg), "as_of": str(as_of),
                           "dataset_digest": dataset.digest, "dataset_rows": len(table),
                           **{f"rows_{p}": int(split.mask(p).sum()) for p in (TRAIN, VAL, TEST)},
                           "best_iteration": outcome.model.info.get("best_iteration"),
                           "feature_contract_version": FEATURE_CONTRACT_VERSION})
        mlflow.set_tags({"code_version": code_version(), "model_name": model_name})
        for scorer, row in ev.metrics.iterrows():
            mlflow.log_metrics(finite({f"{scorer}.{k}": v for k, v in row.items()}))
        mlflow.log_dict({"features": FEATURE_NAMES, "contract": FEATURE_CONTRACT_VERSION},
                        "features.json")
        mlflow.log_artifacts(str(outcome.report.parent), "report")
        with tempfile.TemporaryDirectory() as tmp:
            saved = outcome.model.save(Path(tmp) / ARTIFACT)
            example = test[[s.ACCOUNT_ID, *FEATURE_NAMES]].head(3).fillna(0.0)
            info = mlflow.pyfunc.log_model(
                name="model", python_model=PersonaRiskPyfunc(), artifacts={ARTIFACT: str(saved)},
                signature=signature(FEATURE_NAMES), input_example=example,
                registered_model_name=model_name, metadata=model_metadata(),
                pip_requirements=PIP_REQUIREMENTS)
        version = str(info.registered_model_version)
        client = mlflow.MlflowClient()
        client.set_registered_model_alias(model_name, CHALLENGER, version)
        challenger_value = float(ev.metrics.loc[MODEL, GATE_METRIC])
        decision = champion_gate(model_name, version, test, average_precision_score,
                                 GATE_METRIC, challenger_value)
        mlflow.log_dict(decision.as_dict(), "champion_gate.json")
        mlflow.set_tag("champion_gate", decision.message())
    outcome.run_id, outcome.version, outcome.decision = run.info.run_id, version, decision
    return outcome


def run_training(inputs: Inputs, as_of: pd.Timestamp | None, model_name: str,
                 report_dir: Path, cfg: TrainConfig = TrainConfig(),
                 split_cfg: SplitConfig = SplitConfig(), tune_trials: int = 0,
                 register: bool = True) -> TrainingOutcome:
    """The whole training job on validated inputs."""
    table = training_table(inputs, as_of)
    as_of = table["as_of"].iloc[0]
    outcome = fit_and_evaluate(table, inputs.events[s.TS].min(), cfg, split_cfg, report_dir,
                               tune_trials)
    return log_and_register(outcome, model_name, as_of, cfg, split_cfg) if register else outcome


def evaluate_model(model: RiskModel, inputs: Inputs, as_of: pd.Timestamp | None,
                   report_dir: Path, split_cfg: SplitConfig = SplitConfig(),
                   queue_size: int = 50, seed: int = 0) -> TrainingOutcome:
    """Evaluate a trained model beside the baselines on the out-of-time test accounts of
    `inputs` (the logistic baseline is fitted on the train part) and write the report."""
    table = training_table(inputs, as_of)
    split = out_of_time_split(table, inputs.events[s.TS].min(), split_cfg)
    train, test = table[split.mask(TRAIN)], table[split.mask(TEST)]
    ev = evaluate(model, train, test, queue_size, seed)
    return TrainingOutcome(model, table, split, ev, write_report(ev, test, report_dir))
