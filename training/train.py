"""Training end to end: labelled table, split, fit, evaluate, report, MLflow run, registration
as `challenger`, and the champion gate."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from warnings import warn

import mlflow
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList
from persona_risk.features.config import FeatureConfig
from persona_risk.features.memory_engine import Inputs
from persona_risk.features.reference import (
    FEATURE_NAMES,
    feature_contract,
)
from persona_risk.models.bundle import pinned_requirements, write_code_bundle
from persona_risk.models.profile import profile_of
from persona_risk.models.pyfunc import (
    ARTIFACT,
    REFERENCE,
    PersonaRiskPyfunc,
    model_metadata,
    signature,
)
from persona_risk.models.risk_model import RiskModel
from persona_risk.training.dataset import (
    logs_only_table,
    training_table,
    with_logs_only_rows,
)
from persona_risk.training.evaluate import MODEL, Evaluation, evaluate
from persona_risk.training.fit import Rows, TrainConfig, train_risk_model
from persona_risk.training.metrics import pr_auc
from persona_risk.training.registry import (
    CHALLENGER,
    GateDecision,
    champion_gate,
    code_version,
    configure_tracking,
    ensure_experiment,
    finite,
    log_fit_accounts,
    unseen,
)
from persona_risk.training.report import bands_note, split_section, write_report
from persona_risk.training.simulated import check_simulated, simulated_rows
from persona_risk.training.split import (
    PARTS,
    TEST,
    TRAIN,
    VAL,
    Split,
    SplitConfig,
    SplitError,
    SplitWarning,
    make_split,
)
from persona_risk.training.tune import tune

GATE_METRIC = "pr_auc"


@dataclass
class TrainingOutcome:
    model: RiskModel
    table: pd.DataFrame
    split: Split
    evaluation: Evaluation
    report: Path
    warnings: list[str] = field(default_factory=list)
    run_id: str | None = None
    version: str | None = None
    decision: GateDecision | None = None


def fit_rows(parts: dict[str, pd.DataFrame], logs_only: pd.DataFrame | None,
             cfg: TrainConfig) -> dict[str, pd.DataFrame]:
    """The train and validation rows the model is fitted on: `parts`' rows, with a seeded
    share of them from the sign-in logs alone when `logs_only` is given."""
    if logs_only is None:
        return {p: parts[p] for p in (TRAIN, VAL)}
    return {p: with_logs_only_rows(parts[p], logs_only, cfg.logs_only_share, cfg.seed + offset)
            for offset, p in enumerate((TRAIN, VAL))}


def fit_and_evaluate(table: pd.DataFrame, window_start: pd.Timestamp | None, cfg: TrainConfig,
                     split_cfg: SplitConfig, report_dir: Path, tune_trials: int = 0,
                     logs_only: pd.DataFrame | None = None,
                     features: FeatureConfig = FeatureConfig()) -> TrainingOutcome:
    """Split, (tune,) fit, evaluate against the baselines and write the report folder.

    `logs_only`: the rows of `table` with features from the sign-in logs alone; a share of
    the training and validation accounts then trains on those, and the test accounts are
    evaluated in both conditions. `features`: the settings `table` was computed with; the
    model keeps its thresholds (and their contract) and notes its allow-list. With
    `cfg.simulated_accounts`, that many simulated accounts are fitted beside the training and
    validation parts (`training.simulated`), once the split is made."""
    split = make_split(table, window_start, split_cfg)
    warnings = split.warnings(table[s.LABEL])
    for line in warnings:
        warn(line, SplitWarning, stacklevel=2)
    parts = {p: table[split.mask(p)] for p in PARTS}
    fit_parts = fit_rows(parts, logs_only, cfg)
    simulated = (simulated_rows(cfg.simulated_accounts, cfg, features)
                 if cfg.simulated_accounts else None)
    x = {p: fit_parts[p][FEATURE_NAMES].to_numpy(float) for p in (TRAIN, VAL)}
    y = {p: fit_parts[p][s.LABEL].to_numpy() for p in (TRAIN, VAL)}
    if tune_trials:
        cfg = tune(x[TRAIN], y[TRAIN], x[VAL], y[VAL], cfg, tune_trials, simulated)
    model = train_risk_model(x[TRAIN], y[TRAIN], x[VAL], y[VAL], cfg, simulated=simulated)
    model.feature_settings, model.contract_version = features.settings(), feature_contract(features)
    model.info.update({"split": split.method, **split.cuts, "config": dataclasses.asdict(cfg),
                       "allow_list": [dataclasses.asdict(e) for e in features.allow.entries]})
    test_logs = None if logs_only is None else logs_only[split.mask(TEST)]
    ev = evaluate(model, parts[TRAIN], parts[TEST], cfg.queue_size, cfg.seed, test_logs)
    note = "\n\n".join(filter(None, [
        simulated_note(simulated, cfg),
        bands_note(model)]))
    report = write_report(ev, parts[TEST], report_dir, split_section(split, table, warnings, note))
    return TrainingOutcome(model, table, split, ev, report, warnings)


def simulated_note(simulated: Rows | None, cfg: TrainConfig) -> str:
    """What the report says of the simulated rows a model was fitted beside (empty: none)."""
    if simulated is None:
        return ""
    n, fraud = len(simulated.y_train) + len(simulated.y_val), int(
        simulated.y_train.sum() + simulated.y_val.sum())
    return (f"Fitted beside {n:,} simulated accounts ({fraud:,} fraudulent; "
            f"{len(simulated.y_val):,} of them in validation), together worth "
            f"{cfg.simulated_worth:g} of these accounts; calibration, thresholds and the test "
            "figures are these accounts' alone.")


def log_and_register(outcome: TrainingOutcome, model_name: str, as_of: pd.Timestamp,
                     cfg: TrainConfig, split_cfg: SplitConfig) -> TrainingOutcome:
    """Log the run (params, metrics, dataset digest, features, code version, report, the
    accounts trained and calibrated on, model with the profile of `outcome.table` as its drift
    reference), register the model as `challenger` and run the champion gate."""
    configure_tracking()
    ensure_experiment()
    table, split, ev = outcome.table, outcome.split, outcome.evaluation
    test = table[split.mask(TEST)]
    counts = split.counts(table[s.LABEL])
    with mlflow.start_run(run_name=f"train-{as_of:%Y%m%d}") as run:
        dataset = mlflow.data.from_pandas(table.drop(columns=[s.AS_OF]), name="account-features",
                                          targets=s.LABEL)
        mlflow.log_input(dataset, context="training")
        mlflow.log_params({**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "params"},
                           **dataclasses.asdict(split_cfg), "as_of": str(as_of),
                           "dataset_digest": dataset.digest, "dataset_rows": len(table),
                           "split_method": split.method, "split_reason": split.reason[:500],
                           **split.cuts,
                           **{f"{col}_{p}": int(v) for p, row in counts.iterrows()
                              for col, v in row.items()},
                           **{f"threshold_{b}": v for b, v in outcome.model.thresholds.items()},
                           "trees": outcome.model.info.get("trees"),
                           "feature_contract_version": outcome.model.contract_version,
                           **{f"features.{k}": v
                              for k, v in outcome.model.feature_settings.items()}})
        mlflow.set_tags({"code_version": code_version(), "model_name": model_name})
        for prefix, frame in (("", ev.metrics), ("", ev.intervals), ("logs_only.", ev.logs_only),
                              ("logs_only.", ev.logs_only_intervals)):
            for scorer, row in ([] if frame is None else frame.iterrows()):
                mlflow.log_metrics(finite({f"{prefix}{scorer}.{k}": v for k, v in row.items()}))
        if outcome.warnings:
            mlflow.set_tag("split_warnings", " | ".join(outcome.warnings)[:5000])
        mlflow.log_dict({"features": FEATURE_NAMES, "contract": outcome.model.contract_version,
                         "settings": outcome.model.feature_settings,
                         "allow_list": outcome.model.info["allow_list"]}, "features.json")
        mlflow.log_artifacts(str(outcome.report.parent), "report")
        fitted = ~split.mask(TEST)
        log_fit_accounts(table.loc[fitted, s.ACCOUNT_ID], split.part[fitted])
        with tempfile.TemporaryDirectory() as tmp:
            saved = outcome.model.save(Path(tmp) / ARTIFACT)
            reference = profile_of(table, outcome.model).write(Path(tmp) / f"{REFERENCE}.json")
            example = test[[s.ACCOUNT_ID, *FEATURE_NAMES]].head(3).fillna(0.0)
            info = mlflow.pyfunc.log_model(
                name="model", python_model=PersonaRiskPyfunc(),
                artifacts={ARTIFACT: str(saved), REFERENCE: str(reference)},
                signature=signature(FEATURE_NAMES), input_example=example,
                registered_model_name=model_name, metadata=model_metadata(outcome.model),
                code_paths=[str(write_code_bundle(Path(tmp) / "code"))],
                pip_requirements=list(pinned_requirements()))
        version = str(info.registered_model_version)
        client = mlflow.MlflowClient()
        client.set_registered_model_alias(model_name, CHALLENGER, version)
        decision = champion_gate(model_name, version, test,
                                 ev.scores[MODEL].to_numpy(), pr_auc, GATE_METRIC, cfg.seed)
        mlflow.log_dict(decision.as_dict(), "champion_gate.json")
        mlflow.set_tag("champion_gate", decision.message())
    outcome.run_id, outcome.version, outcome.decision = run.info.run_id, version, decision
    return outcome


def run_training(inputs: Inputs, as_of: pd.Timestamp | None, model_name: str,
                 report_dir: Path, cfg: TrainConfig = TrainConfig(),
                 split_cfg: SplitConfig = SplitConfig(), tune_trials: int = 0,
                 register: bool = True,
                 features: FeatureConfig = FeatureConfig()) -> TrainingOutcome:
    """The whole training job on validated inputs, features computed with `features`."""
    check_simulated(cfg.simulated_accounts)  # before the features, not after them
    table = training_table(inputs, as_of, features)
    as_of = table[s.AS_OF].iloc[0]
    outcome = fit_and_evaluate(table, inputs.events[s.TS].min(), cfg, split_cfg, report_dir,
                               tune_trials, logs_only_table(inputs, table, as_of, features),
                               features)
    return log_and_register(outcome, model_name, as_of, cfg, split_cfg) if register else outcome


def evaluate_model(model: RiskModel, inputs: Inputs, as_of: pd.Timestamp | None,
                   report_dir: Path, split_cfg: SplitConfig = SplitConfig(),
                   queue_size: int = 50, seed: int = 0,
                   allow: AllowList = AllowList(), fitted: pd.DataFrame | None = None,
                   name: str = "the model") -> TrainingOutcome:
    """Evaluate a trained model beside the baselines on the test accounts of `inputs` it was
    neither trained nor calibrated on (`fitted`: its run's fit accounts, `registry.unseen`;
    None: unknown, every test account with a warning naming the model `name`); the logistic
    baseline is fitted on the train part, with and without the accounts table; the features
    are computed with the model's thresholds and `allow`."""
    features = model.feature_config(allow)
    table = training_table(inputs, as_of, features)
    logs = logs_only_table(inputs, table, table[s.AS_OF].iloc[0], features)
    split = make_split(table, inputs.events[s.TS].min(), split_cfg)
    train, test = table[split.mask(TRAIN)], table[split.mask(TEST)]
    keep, notes = unseen(test, fitted, name)
    y = test[s.LABEL].to_numpy()[keep]
    if len(set(y.tolist())) < 2:
        raise SplitError(f"nothing to evaluate: {len(y)} of the {len(keep)} test accounts are "
                         f"unseen by {name}, {int(y.sum())} of them fraudulent; the figures "
                         "need both classes: evaluate on accounts it was not fitted on (new "
                         "labels, or the split it was trained with)")
    warnings = split.warnings(table[s.LABEL]) + notes
    ev = evaluate(model, train, test[keep], queue_size, seed, logs[split.mask(TEST)][keep])
    report = write_report(ev, test[keep], report_dir,
                          split_section(split, table, warnings, bands_note(model)))
    return TrainingOutcome(model, table, split, ev, report, warnings)
