"""Training: reproducible, calibrated on held-out accounts, better than the baselines,
and clear about unusable labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.memory_engine import Inputs
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.models.reasons import REASON_SLOTS
from persona_risk.training.dataset import logs_only_table, training_table
from persona_risk.training.evaluate import (
    IMPOSSIBLE_TRAVEL,
    LOGISTIC,
    MODEL,
    RAW_LIGHTGBM,
    SHARED_DEVICE,
)
from persona_risk.training.fit import TrainConfig
from persona_risk.training.split import (
    RANDOM,
    TEST,
    TIME,
    TRAIN,
    VAL,
    SplitConfig,
    SplitError,
    make_split,
)
from persona_risk.training.train import evaluate_model, fit_and_evaluate


def test_split_is_out_of_time(trained):
    table, split = trained.table, trained.split
    created = table["created_at"]
    assert created[split.mask(TRAIN)].max() < created[split.mask(VAL)].min()
    assert created[split.mask(VAL)].max() < created[split.mask(TEST)].min()


def test_two_trainings_give_the_same_scores(labelled, trained, tmp_path):
    inputs, table = labelled
    again = fit_and_evaluate(table, inputs.events[s.TS].min(), TrainConfig(), SplitConfig(),
                             tmp_path, logs_only=logs_only_table(inputs, table))
    assert again.model.booster_text == trained.model.booster_text
    np.testing.assert_array_equal(again.evaluation.scores[MODEL], trained.evaluation.scores[MODEL])


def test_calibrated_on_held_out_accounts(trained):
    """Mean score within 0.03 of the observed fraud rate; expected calibration error < 0.05."""
    scores = trained.evaluation.scores
    p, y = scores[MODEL].to_numpy(), scores[s.LABEL].to_numpy()
    assert abs(p.mean() - y.mean()) < 0.03
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).mean()
              for b in np.unique(bins))
    assert ece < 0.05


def test_model_beats_every_baseline(trained):
    m = trained.evaluation.metrics
    for baseline in (IMPOSSIBLE_TRAVEL, SHARED_DEVICE, LOGISTIC, RAW_LIGHTGBM):
        assert m.loc[MODEL, "pr_auc"] >= m.loc[baseline, "pr_auc"]
    assert m.loc[MODEL, "recall_at_1pct_fpr"] >= m.loc[LOGISTIC, "recall_at_1pct_fpr"]
    assert m.loc[MODEL, "recall_at_1pct_fpr"] > m.loc[IMPOSSIBLE_TRAVEL, "recall_at_1pct_fpr"]


def test_model_catches_each_fraud_archetype_better_than_the_rules(trained):
    per = trained.evaluation.per_persona
    fraud = per[per["fraud"] == 1]
    assert set(fraud.index) == {"farm", "vpn_operator", "evasive"}
    for rule in (IMPOSSIBLE_TRAVEL, SHARED_DEVICE):
        assert (fraud[MODEL] >= fraud[rule]).all(), fraud


def test_report_folder_has_tables_and_plots(trained):
    folder = trained.report.parent
    text = trained.report.read_text()
    assert "| model |" in text and "| logistic_regression |" in text
    for png in ("precision_recall.png", "calibration.png", "shap_summary.png",
                "score_by_persona.png"):
        assert (folder / png).stat().st_size > 5_000
        assert f"]({png})" in text


def test_report_has_intervals_split_and_both_conditions(trained):
    text = trained.report.read_text()
    assert "## Split" in text and "Method `time`" in text
    assert "Sign-in logs only" in text and "with accounts table" in text
    assert "[" in text.split("Model and baselines")[1].split("\n")[6]  # "0.912 [0.88, 0.94]"
    iv = trained.evaluation.intervals
    m = trained.evaluation.metrics
    assert (iv["pr_auc_low"] <= m["pr_auc"]).all() and (m["pr_auc"] <= iv["pr_auc_high"]).all()


def test_logs_only_scoring_ranks_fraud_above_honest(trained):
    """Trained with a share of accounts seen through their sign-in logs alone, the model
    ranks accounts scored without any accounts table."""
    logs = trained.evaluation.logs_only
    assert logs.loc[MODEL, "roc_auc"] > 0.9
    assert logs.loc[MODEL, "roc_auc"] > logs.loc[LOGISTIC, "roc_auc"] - 0.02
    assert trained.evaluation.metrics.loc[MODEL, "roc_auc"] >= logs.loc[MODEL, "roc_auc"] - 0.01


def _real_shaped(inputs, keep_labels: float, seed: int = 0) -> Inputs:
    """Accounts as a real export has them: no persona, most labels unknown."""
    accounts = inputs.accounts.drop(columns=[s.PERSONA])
    rng = np.random.default_rng(seed)
    accounts[s.LABEL] = accounts[s.LABEL].where(rng.random(len(accounts)) < keep_labels)
    return Inputs(inputs.events, inputs.quarantine, accounts)


def test_trains_on_a_partly_labelled_table_without_persona(labelled, tmp_path):
    inputs, full = labelled
    real = _real_shaped(inputs, keep_labels=0.1)
    table = training_table(real)
    assert len(table) == real.accounts[s.LABEL].notna().sum() < len(full) / 5
    # unlabelled accounts still count in every feature of the labelled ones
    same = full.set_index(s.ACCOUNT_ID).loc[table[s.ACCOUNT_ID]]
    np.testing.assert_array_equal(same[FEATURE_NAMES].to_numpy(), table[FEATURE_NAMES].to_numpy())
    with pytest.warns(UserWarning, match="fewer than 30"):
        outcome = fit_and_evaluate(table, inputs.events[s.TS].min(), TrainConfig(),
                                   SplitConfig(), tmp_path, logs_only=logs_only_table(real, table))
    assert outcome.evaluation.per_persona.empty
    assert not (tmp_path / "score_by_persona.png").exists()
    assert "warning" in outcome.report.read_text()
    assert "fraudulent test accounts, `precision_at_50` is at most" in outcome.report.read_text()
    assert "honest accounts tell false-positive rates no finer than" in outcome.report.read_text()
    assert outcome.evaluation.metrics.loc[MODEL, "roc_auc"] > 0.8


def test_one_creation_time_for_all_falls_back_to_a_random_split(labelled, tmp_path):
    inputs, _ = labelled
    migrated = Inputs(inputs.events, inputs.quarantine, inputs.accounts.assign(
        **{s.CREATED_AT: inputs.events[s.TS].min() - pd.Timedelta(days=1)}))
    table = training_table(migrated)
    outcome = fit_and_evaluate(table, inputs.events[s.TS].min(), TrainConfig(), SplitConfig(),
                               tmp_path)
    assert outcome.split.method == RANDOM and "time split is impossible" in outcome.split.reason
    counts = outcome.split.counts(table[s.LABEL])
    assert (counts["fraud"] > 0).all() and (counts["honest"] > 0).all()
    with pytest.raises(SplitError, match="--split random"):
        make_split(table, inputs.events[s.TS].min(), SplitConfig(method=TIME))


@pytest.mark.slow
def test_feature_settings_go_with_the_model_into_its_contract_and_reasons(
        small_world, tmp_path, monkeypatch):
    """Trained with a non-default impossible-travel speed and night window: the registered
    model's metadata, its contract and its reason sentences carry them."""
    import mlflow

    from persona_risk.features.config import FeatureConfig
    from persona_risk.features.reference import feature_contract
    from persona_risk.models.pyfunc import CONTRACT_KEY, SETTINGS_KEY, load_risk_model
    from persona_risk.training.train import log_and_register

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)
    _, accounts, events = small_world
    cfg = FeatureConfig(impossible_kmh=400.0, night_start_hour=21.0, night_end_hour=7.0)
    inputs = Inputs(events, pd.DataFrame(), accounts)
    table = training_table(inputs, None, cfg)
    assert (table["impossible_hops"] >= training_table(inputs)["impossible_hops"]).all()
    trained = fit_and_evaluate(table, events[s.TS].min(), TrainConfig(), SplitConfig(),
                               tmp_path / "report", features=cfg)
    outcome = log_and_register(trained, "settings-test", table["as_of"].iloc[0], TrainConfig(),
                               SplitConfig())
    model = outcome.model
    assert model.feature_settings["impossible_kmh"] == 400.0
    assert model.contract_version == feature_contract(cfg) != feature_contract()
    uri = f"models:/settings-test/{outcome.version}"
    meta = mlflow.models.get_model_info(uri).metadata
    assert meta[SETTINGS_KEY]["impossible_kmh"] == 400.0
    assert meta[CONTRACT_KEY] == model.contract_version
    loaded, _ = load_risk_model(uri)
    mlflow.set_tracking_uri(None)
    assert loaded.feature_config() == cfg
    scored = loaded.score(table)
    texts = [t for slot in REASON_SLOTS
             for code, t in zip(scored[slot.code], scored[slot.text], strict=True)
             if code == "NIGHT_SHARE"]
    assert texts and all("of activity between 21:00 and 07:00" in t for t in texts)


def test_evaluation_with_one_class_left_unseen_is_refused_not_reported_as_zero(
        labelled, trained, tmp_path):
    """A probe: every fraudulent test account was among the model's fit accounts, and evaluate
    printed recall 0.000 for every scorer."""
    inputs, table = labelled
    fitted = pd.DataFrame({s.ACCOUNT_ID: table[s.ACCOUNT_ID][table[s.LABEL] == 1].to_numpy(),
                           "part": TRAIN})
    with pytest.raises(SplitError, match="nothing to evaluate: .* 0 of them fraudulent"):
        evaluate_model(trained.model, inputs, None, tmp_path, SplitConfig(RANDOM, seed=99),
                       fitted=fitted, name="model x/1")


def test_evaluation_leaves_out_the_accounts_the_model_was_fitted_on(labelled, trained, tmp_path):
    """A probe: `evaluate` with another split measured the model on its own training
    accounts."""
    inputs, table = labelled
    fitted = trained.split.part.isin([TRAIN, VAL]).to_numpy()
    seen = pd.DataFrame({s.ACCOUNT_ID: table[s.ACCOUNT_ID][fitted].to_numpy(),
                         "part": trained.split.part[fitted].to_numpy()})
    outcome = evaluate_model(trained.model, inputs, None, tmp_path,
                             SplitConfig(RANDOM, seed=99), fitted=seen, name="model x/1")
    test_ids = table[s.ACCOUNT_ID][outcome.split.mask(TEST)]
    overlap = int(test_ids.isin(seen[s.ACCOUNT_ID]).sum())
    assert overlap > 0
    assert f"{overlap} test accounts left out: model x/1 was trained on" in " ".join(
        outcome.warnings)
    report = (tmp_path / "report.md").read_text()
    assert f"{overlap} test accounts left out" in report
    assert "Bands: `high` from" in report and "chosen at training on the validation" in report
    unknown = evaluate_model(trained.model, inputs, None, tmp_path / "u", SplitConfig(RANDOM))
    assert any("the model's training accounts are unknown" in w for w in unknown.warnings)
