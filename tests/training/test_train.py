"""Training: reproducible, calibrated on held-out accounts, better than the baselines,
and clear about unusable labels."""

from __future__ import annotations

import numpy as np
import pytest

from features import schema as s
from features.batch import Inputs
from training.dataset import LabelError, training_table
from training.evaluate import IMPOSSIBLE_TRAVEL, LOGISTIC, MODEL, SHARED_DEVICE
from training.fit import TrainConfig
from training.split import TEST, TRAIN, VAL, SplitConfig, out_of_time_split
from training.train import fit_and_evaluate


def test_split_is_out_of_time(trained):
    table, split = trained.table, trained.split
    created = table["created_at"]
    assert created[split.mask(TRAIN)].max() < created[split.mask(VAL)].min()
    assert created[split.mask(VAL)].max() < created[split.mask(TEST)].min()


def test_two_trainings_give_the_same_scores(labelled, trained, tmp_path):
    inputs, table = labelled
    again = fit_and_evaluate(table, inputs.events[s.TS].min(), TrainConfig(), SplitConfig(),
                             tmp_path)
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
    for baseline in (IMPOSSIBLE_TRAVEL, SHARED_DEVICE, LOGISTIC):
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


def test_missing_label_column_is_a_clear_error(labelled):
    inputs, _ = labelled
    no_label = Inputs(inputs.events, inputs.quarantine, inputs.accounts.drop(columns=[s.LABEL]))
    with pytest.raises(LabelError, match="accounts.label"):
        training_table(no_label)
    with pytest.raises(LabelError, match="accounts.label"):
        training_table(Inputs(inputs.events, inputs.quarantine, None))


def test_single_class_is_a_clear_error(labelled):
    inputs, _ = labelled
    honest = Inputs(inputs.events, inputs.quarantine, inputs.accounts.assign(**{s.LABEL: 0}))
    with pytest.raises(LabelError, match="only class"):
        training_table(honest)


def test_split_with_a_single_class_part_is_refused(labelled):
    inputs, table = labelled
    with pytest.raises(ValueError, match="single class"):
        out_of_time_split(table.head(40), inputs.events[s.TS].min())
