"""The risk model: scores, bands, reasons from SHAP values, saving and the feature contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shap

from features import schema as s
from features.reference import FEATURE_NAMES
from models.risk_model import BANDS, FeatureContractError, MissingFeaturesError, RiskModel
from training.split import TEST


def test_scores_are_probabilities_with_bands(trained):
    test = trained.table[trained.split.mask(TEST)]
    scored = trained.model.score(test)
    assert scored["score"].between(0, 1).all()
    assert set(scored["band"]) <= set(BANDS) and "high" in set(scored["band"])
    high = scored.loc[scored["band"] == "high", "score"]
    assert (high >= trained.model.thresholds["high"]).all()


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
