"""The same inputs and seeds give the same features and scores: a small world stored in
`tests/data/pinned_world` is featurised and a model is fitted
on it, and both must equal what was pinned, to 1e-9. A refactor that moves a figure fails
here; a change meant to move them re-pins (`python -m tests.test_pinned_world`) and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.memory_engine import build_features, load_inputs
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.training.estimator import RiskClassifier
from persona_risk.training.simulator.simulate import SimConfig, simulate

FOLDER = Path(__file__).parent / "data" / "pinned_world"
SCORE = "score"


def features_and_scores() -> pd.DataFrame:
    """Features of the pinned world as of its last event and the probabilities of a model
    fitted on its labelled accounts (default hyperparameters, seed 0)."""
    inputs = load_inputs(FOLDER / "events.csv", FOLDER / "accounts.csv")
    features = build_features(inputs).features
    labels = inputs.accounts.set_index(s.ACCOUNT_ID)[s.LABEL]
    y = labels.reindex(features[s.ACCOUNT_ID]).to_numpy()
    x = features[FEATURE_NAMES]
    model = RiskClassifier(random_state=0).fit(x, y.astype(int))
    return features[[s.ACCOUNT_ID, *FEATURE_NAMES]].assign(
        **{SCORE: model.predict_proba(x)[:, 1]})


def test_features_and_scores_are_the_pinned_ones():
    expected = pd.read_csv(FOLDER / "expected.csv")
    got = features_and_scores()
    assert got[s.ACCOUNT_ID].tolist() == expected[s.ACCOUNT_ID].astype(str).tolist()
    for column in (*FEATURE_NAMES, SCORE):
        np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float),
                                   rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=column)


if __name__ == "__main__":  # re-pin: write the world and what the code gives on it today
    world = simulate(SimConfig(accounts=150, days=14, fraud_rate=0.1, seed=11))
    world.events.to_csv(FOLDER / "events.csv", index=False)
    world.accounts.drop(columns=[s.PERSONA]).to_csv(FOLDER / "accounts.csv", index=False)
    features_and_scores().to_csv(FOLDER / "expected.csv", index=False, float_format="%.17g")
