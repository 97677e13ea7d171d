"""MLflow tracking, registration and the champion/challenger gate, on a real SQLite store."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.models.pyfunc import (
    PersonaRiskPyfunc,
    load_risk_model,
    model_metadata,
    signature,
)
from persona_risk.models.risk_model import FeatureContractError
from persona_risk.training.fit import TrainConfig
from persona_risk.training.metrics import pr_auc
from persona_risk.training.registry import (
    CHALLENGER,
    CHAMPION,
    PART,
    champion_gate,
    configure_tracking,
    ensure_experiment,
    fit_accounts,
)
from persona_risk.training.split import TEST, TRAIN, VAL, SplitConfig
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
    n_test = int(trained.split.mask(TEST).sum())  # same split: nothing of v2's test was v1's
    assert d.test_accounts == d.compared == n_test
    assert f"on {n_test} of {n_test} test accounts" in d.message()
    assert "left out" not in d.message()

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


def _leaky_test(trained) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A challenger's test part holding 150 of the champion's train and 50 of its validation
    accounts besides the champion's own test accounts, the challenger's scores of them (right
    on the champion's test accounts, inverted on the others), and which rows are clean."""
    table, split = trained.table, trained.split
    test = pd.concat([table[split.mask(TRAIN)].head(150), table[split.mask(VAL)].head(50),
                      table[split.mask(TEST)]])
    clean = np.r_[np.zeros(200, bool), np.ones(int(split.mask(TEST).sum()), bool)]
    y = test[s.LABEL].to_numpy()
    return test, np.where(clean, y, 1 - y).astype(float), clean


def _second_version() -> str:
    """Register the first version's model again, as the challenger the gate decides on."""
    source = mlflow.MlflowClient().get_model_version(NAME, "1").source
    return str(mlflow.register_model(source, NAME).version)


def _champion_score(trained, rows: pd.DataFrame) -> np.ndarray:
    return trained.model.probability(trained.model.matrix(rows))


@pytest.mark.slow
def test_gate_leaves_out_the_accounts_the_champion_was_fitted_on(tracking, trained):
    table, split = trained.table, trained.split
    first = log_and_register(trained, NAME, table["as_of"].iloc[0], TrainConfig(), SplitConfig())
    recorded = fit_accounts(first.run_id)
    for part in (TRAIN, VAL):
        assert (set(recorded.loc[recorded[PART] == part, s.ACCOUNT_ID])
                == set(table.loc[split.mask(part), s.ACCOUNT_ID]))
    assert len(recorded) == (~split.mask(TEST)).sum()
    test, score, clean = _leaky_test(trained)
    y = test[s.LABEL].to_numpy()
    version = _second_version()

    honest = clean & (y == 0)  # the unseen accounts hold one class: nothing to compare on
    d = champion_gate(NAME, version, test[~clean | honest], score[~clean | honest], pr_auc,
                      "pr_auc")
    assert not d.promoted and d.champion_value is None and d.compared == honest.sum()
    assert "champion kept" in d.reason and _alias(NAME, CHAMPION) == "1"

    # with the leaked rows the champion, fitted on them, would win; without, the challenger does
    assert pr_auc(y, score) < pr_auc(y, _champion_score(trained, test))
    d = champion_gate(NAME, version, test, score, pr_auc, "pr_auc")
    assert d.test_accounts == len(test) and d.compared == clean.sum() == len(test) - 200
    assert ("200 test accounts left out: champion v1 was trained on 150 and calibrated on 50"
            in d.message())
    assert d.challenger_value == 1.0
    assert d.champion_value == pytest.approx(
        pr_auc(y[clean], _champion_score(trained, test[clean])))
    assert d.champion_value < 1.0 and d.promoted and _alias(NAME, CHAMPION) == version
    assert "uncertain: the" in d.message()  # 37 fraudulent, 128 honest compared


def test_champion_without_recorded_accounts_is_compared_on_every_test_account(tracking,
                                                                              trained):
    configure_tracking()
    ensure_experiment()
    with mlflow.start_run() as run:  # logged as before the fit accounts were recorded
        saved = trained.model.save(tracking / "risk_model")
        mlflow.pyfunc.log_model(
            name="model", python_model=PersonaRiskPyfunc(), artifacts={"risk_model": str(saved)},
            signature=signature(trained.model.feature_names), registered_model_name=NAME,
            metadata=model_metadata(trained.model), pip_requirements=["mlflow"])
    mlflow.MlflowClient().set_registered_model_alias(NAME, CHAMPION, "1")
    assert fit_accounts(run.info.run_id) is None
    test, score, _ = _leaky_test(trained)
    y = test[s.LABEL].to_numpy()
    d = champion_gate(NAME, _second_version(), test, score, pr_auc, "pr_auc")
    assert d.compared == d.test_accounts == len(test)
    assert d.champion_value == pytest.approx(pr_auc(y, _champion_score(trained, test)))
    assert d.challenger_value == pytest.approx(pr_auc(y, score))
    assert not d.promoted and _alias(NAME, CHAMPION) == "1"
    assert "champion v1's training accounts are unknown" in d.message()
