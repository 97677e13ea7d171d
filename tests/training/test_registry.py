"""MLflow tracking, registration and the champion/challenger gate, on a real SQLite store."""

from __future__ import annotations

import mlflow
import pytest

from persona_risk.features import schema as s
from persona_risk.models.pyfunc import PersonaRiskPyfunc, load_risk_model, signature
from persona_risk.models.risk_model import FeatureContractError
from persona_risk.training.fit import TrainConfig
from persona_risk.training.registry import (
    CHALLENGER,
    CHAMPION,
    configure_tracking,
    ensure_experiment,
)
from persona_risk.training.split import SplitConfig
from persona_risk.training.train import fit_and_evaluate, log_and_register

NAME = "persona-risk-test"


@pytest.fixture()
def tracking(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    mlflow.set_tracking_uri(None)


def _alias(name, alias):
    return str(mlflow.MlflowClient().get_model_version_by_alias(name, alias).version)


@pytest.mark.slow
def test_champion_gate_keeps_a_worse_challenger_out(tracking, trained, labelled):
    inputs, table = labelled
    as_of = table["as_of"].iloc[0]
    first = log_and_register(trained, NAME, as_of, TrainConfig(), SplitConfig())
    assert first.decision.promoted and first.decision.champion_version is None
    assert _alias(NAME, CHAMPION) == first.version == "1"

    weak_cfg = TrainConfig(max_rounds=1, num_leaves=2, params={"feature_fraction": 0.05})
    weak = fit_and_evaluate(table, inputs.events[s.TS].min(), weak_cfg, SplitConfig(),
                            tracking / "weak-report")
    second = log_and_register(weak, NAME, as_of, weak_cfg, SplitConfig())
    d = second.decision
    assert not d.promoted and d.champion_version == "1"
    assert d.champion_value > d.challenger_value
    assert _alias(NAME, CHAMPION) == "1" and _alias(NAME, CHALLENGER) == "2"

    run = mlflow.get_run(second.run_id)
    assert "stays challenger" in run.data.tags["champion_gate"]
    assert run.data.params["dataset_digest"]
    assert "model.pr_auc" in run.data.metrics and "logistic_regression.pr_auc" in run.data.metrics
    assert run.data.metrics["model.pr_auc_low"] <= run.data.metrics["model.pr_auc"]
    assert "logs_only.model.roc_auc" in mlflow.get_run(first.run_id).data.metrics
    params = run.data.params
    assert params["split_method"] == "time" and float(params["threshold_high"]) > 0
    assert int(params["fraud_test"]) + int(params["honest_test"]) == int(params["accounts_test"])
    assert d.difference is not None and d.difference_low <= d.difference <= d.difference_high
    assert "95% interval" in d.message()

    model, version = load_risk_model(f"models:/{NAME}@{CHAMPION}")
    assert version == f"{NAME}/1"
    assert model.booster_text == trained.model.booster_text
    pyfunc = mlflow.pyfunc.load_model(f"models:/{NAME}/1")
    test = table[trained.split.mask("test")]
    out = pyfunc.predict(test[[s.ACCOUNT_ID, *model.feature_names]])
    assert list(out.columns[:3]) == [s.ACCOUNT_ID, "score", "band"]


def test_model_of_another_feature_contract_is_refused(tracking, trained):
    configure_tracking()
    ensure_experiment()
    with mlflow.start_run():
        saved = trained.model.save(tracking / "risk_model")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=PersonaRiskPyfunc(), artifacts={"risk_model": str(saved)},
            signature=signature(trained.model.feature_names),
            metadata={"feature_contract_version": "0-old"}, pip_requirements=["mlflow"])
    with pytest.raises(FeatureContractError, match="0-old"):
        load_risk_model(info.model_uri)
