"""The evaluation report's words about what its figures can reach."""

from __future__ import annotations

from persona_risk.training.report import precision_ceiling

COLUMNS = ["roc_auc", "pr_auc", "precision_at_50", "brier"]


def test_precision_at_k_names_its_ceiling_when_fewer_frauds_than_k_are_tested():
    line = precision_ceiling(COLUMNS, 20)
    assert line.startswith("With 20 fraudulent test accounts, `precision_at_50` is at most 0.40")
    assert "other 30 of the top 50" in line


def test_no_ceiling_is_said_when_k_frauds_or_more_are_tested():
    assert precision_ceiling(COLUMNS, 50) is None
    assert precision_ceiling(COLUMNS, 400) is None
    assert precision_ceiling(["roc_auc"], 3) is None
