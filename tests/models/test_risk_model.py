"""The risk model: scores, bands, reasons from SHAP values, saving and the feature contract."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import shap

from persona_risk.features import schema as s
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.models.reasons import REASON_SLOTS
from persona_risk.models.risk_model import (
    BANDS,
    FeatureContractError,
    MissingFeaturesError,
    RiskModel,
)
from persona_risk.training.split import TEST


def test_scores_are_probabilities_with_bands(trained):
    test = trained.table[trained.split.mask(TEST)]
    scored = trained.model.score(test)
    assert scored["score"].between(0, 1).all()
    assert set(scored["band"]) <= set(BANDS) and "high" in set(scored["band"])
    high = scored.loc[scored["band"] == "high", "score"]
    assert (high >= trained.model.thresholds["high"]).all()


def test_no_rows_score_to_empty_columns(trained):
    scored = trained.model.score(trained.table.iloc[:0], reasons=True)
    assert scored.empty and "reason_1" in scored and "score" in scored


def test_reasons_never_name_a_missing_value_or_a_lowering_feature(trained):
    """Scored without account records, many features are NaN: none may be a reason, nor may a
    feature whose contribution does not raise the score; such slots stay empty."""
    test = trained.table[trained.split.mask(TEST)].head(200)
    record = ("account_age_days", "first_signin_delay_h", "home_distance_km", "night_share")
    logs_only = test.assign(**dict.fromkeys(record, np.nan))
    scored = trained.model.score(logs_only)
    for slot in REASON_SLOTS:
        used = scored[slot.code].notna()
        assert scored.loc[used, slot.value].notna().all()
        assert (scored.loc[used, slot.shap] > 0).all()
        assert scored.loc[~used, slot.text].isna().all()
        text = scored.loc[used, slot.text]
        assert not text.str.contains("unknown").any()
        assert not scored.loc[used, slot.code].isin(
            ["ACCOUNT_AGE_DAYS", "FIRST_SIGNIN_DELAY_H", "HOME_DISTANCE_KM", "NIGHT_SHARE"]).any()
    unknown = trained.model.score(test.head(1).assign(**dict.fromkeys(FEATURE_NAMES, np.nan)))
    assert unknown[[slot.code for slot in REASON_SLOTS]].isna().all(axis=None)


def test_reasons_name_real_features_with_the_right_sign(trained):
    test = trained.table[trained.split.mask(TEST)]
    fraud = test[test[s.LABEL] == 1].head(20)
    scored = trained.model.score(fraud)
    x = trained.model.matrix(fraud)
    for i, row in scored.iterrows():
        feature = row["reason_1_code"].lower()
        assert feature in FEATURE_NAMES
        assert row["reason_1_shap"] > 0  # the top reason raises the risk
        assert row["reason_1_shap"] >= row["reason_2_shap"] >= row["reason_3_shap"]
        value = x[i, FEATURE_NAMES.index(feature)]
        assert row["reason_1_value"] == value or (np.isnan(value) and np.isnan(row.reason_1_value))
        assert isinstance(row["reason_1"], str) and len(row["reason_1"]) > 10


def test_lightgbm_contributions_agree_with_shap_tree_explainer(trained):
    test = trained.table[trained.split.mask(TEST)].head(200)
    x = trained.model.matrix(test)
    ours = trained.model.contributions(x)
    explainer = shap.TreeExplainer(trained.model.booster)
    theirs = explainer.shap_values(x)
    np.testing.assert_allclose(ours[:, :-1], theirs, atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=1), trained.model.margin(x), atol=1e-6)


def test_save_load_round_trip_and_contract_check(trained, tmp_path):
    folder = trained.model.save(tmp_path / "m")
    again = RiskModel.load(folder)
    test = trained.table[trained.split.mask(TEST)]
    np.testing.assert_array_equal(again.score(test)["score"], trained.model.score(test)["score"])
    meta = json.loads((folder / "model.json").read_text())
    meta["contract_version"] = "0-old"
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(FeatureContractError, match="retrain"):
        RiskModel.load(folder)


def test_missing_feature_columns_are_named(trained):
    test = trained.table[trained.split.mask(TEST)].drop(columns=["night_share"])
    with pytest.raises(MissingFeaturesError, match="night_share"):
        trained.model.score(test)


def test_reason_sentences_follow_a_later_change_of_the_feature_settings(trained):
    """The model is plain data: thresholds changed after it scored (as training sets the
    settings on the fitted model) show in the next reasons, not the first call's."""
    model = dataclasses.replace(trained.model,
                                feature_settings=dict(trained.model.feature_settings))
    texts = [slot.text for slot in REASON_SLOTS]
    before = model.score(trained.table)[texts].stack()
    model.feature_settings.update(impossible_kmh=1_234.0, night_start_hour=22.5,
                                  high_risk_countries=["KP", "IR"])
    after = model.score(trained.table)[texts].stack()
    expected = (before.str.replace("faster than 900 km/h", "faster than 1,234 km/h")
                .str.replace("between 22:00 and", "between 22:30 and")
                .str.replace("countries (CN, RU, KP)", "countries (KP, IR)", regex=False))
    assert (expected != before).any()
    assert (after == expected).all()
