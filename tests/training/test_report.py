"""The evaluation report's words about what its figures can reach."""

from __future__ import annotations

from persona_risk.models.risk_model import RiskModel
from persona_risk.training.fit import BANDS_CHOSEN_ON
from persona_risk.training.report import bands_note, precision_ceiling

COLUMNS = ["roc_auc", "pr_auc", "precision_at_50", "brier"]


def test_precision_at_k_names_its_ceiling_when_fewer_frauds_than_k_are_tested():
    line = precision_ceiling(COLUMNS, 20, 3000)
    assert line.startswith("With 20 fraudulent test accounts, `precision_at_50` is at most 0.40")
    assert line.endswith("other 30 of the top 50 with honest accounts.")


def test_with_fewer_test_accounts_than_k_the_ceiling_is_their_fraud_share():
    line = precision_ceiling(COLUMNS, 4, 16)  # precision at 50 reads all 16 then
    assert "is at most 0.25" in line and "other 12 of the top 16 (every test account)" in line
    assert precision_ceiling(COLUMNS, 16, 16) is None


def test_no_ceiling_is_said_when_k_frauds_or_more_are_tested():
    assert precision_ceiling(COLUMNS, 50, 3000) is None
    assert precision_ceiling(COLUMNS, 400, 3000) is None
    assert precision_ceiling(["roc_auc"], 3, 3000) is None


def _model(accounts: int, honest: int) -> RiskModel:
    return RiskModel(booster_text="", platt_a=1.0, platt_b=0.0,
                     thresholds={"medium": 0.41, "high": 0.8312}, feature_names=[],
                     info={BANDS_CHOSEN_ON: {"accounts": accounts, "honest": honest,
                                             "target_fpr": 0.01, "queue_size": 50}})


def test_bands_name_their_thresholds_and_what_they_were_chosen_on():
    assert bands_note(_model(520, 500)) == (
        "Bands: `high` from 0.831, `medium` from 0.410 (calibrated probability), chosen at "
        "training on the validation part's 520 accounts for at most 1.0% false positives and "
        "50 accounts in `high`.")


def test_bands_chosen_on_too_few_honest_accounts_are_called_uncertain():
    line = bands_note(_model(109, 76))
    assert "Its 76 honest accounts tell false-positive rates no finer than 1.3% (one of them)" \
        in line
    assert "uncertain" in line and "--val-frac" in line
    assert "no finer than 100.0%" in bands_note(_model(2, 0))


def test_a_model_that_does_not_say_what_its_bands_were_chosen_on_gets_no_line():
    model = _model(520, 500)
    model.info.clear()
    assert bands_note(model) == ""
