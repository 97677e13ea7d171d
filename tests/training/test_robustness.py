"""The robustness evaluation on tiny shifted worlds (a raised fraud rate, so that every world
has fraud accounts to recall), scored by the session's trained model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from persona_risk.features import schema as s
from persona_risk.training.evaluate import LOGISTIC, MODEL, RULES
from persona_risk.training.robustness import (
    ALL_SHIFTS,
    CEILING,
    SHIFTED_WORLDS,
    WorldSize,
    ceiling_scores,
    model_summary,
    robustness_markdown,
    robustness_table,
    world_table,
)
from persona_risk.training.simulator.params import WorldParams
from persona_risk.training.simulator.population import FRAUD_ARCHETYPES
from persona_risk.training.split import TRAIN

TINY = WorldSize(accounts=800, days=20, seed=3)
PICKED = ("reference", "no_device_fields", "all_shifted")
WORLDS = {name: (SHIFTED_WORLDS[name][0], 0.06) for name in PICKED}
SCORERS = {MODEL, LOGISTIC, CEILING, *RULES}
FIGURES = ["recall_at_1pct_fpr", "recall_at_0.1pct_fpr", "pr_auc",
           *[f"recall_{kind}" for kind in FRAUD_ARCHETYPES]]


@pytest.fixture(scope="module")
def table(trained):
    train = trained.table[trained.split.mask(TRAIN)]
    return robustness_table(trained.model, train, TINY, WORLDS)


def test_every_shifted_world_moves_the_reference_and_both_prevalences_are_there():
    reference, _ = SHIFTED_WORLDS["reference"]
    assert reference == WorldParams()
    shifted = {name: params for name, (params, _) in SHIFTED_WORLDS.items()
               if name != "reference"}
    assert len(shifted) >= 9  # at least eight one-condition worlds and one moving them all
    assert all(params != reference for params in shifted.values())
    every = SHIFTED_WORLDS["all_shifted"][0]
    assert all(getattr(every, name) == value for name, value in ALL_SHIFTS.items())
    assert {rate for _, rate in SHIFTED_WORLDS.values()} >= {0.01, 0.005}


def test_the_table_has_every_world_and_scorer_once(table):
    pairs = list(zip(table["world"], table["scorer"], strict=True))
    assert len(pairs) == len(set(pairs)) == len(PICKED) * len(SCORERS)
    assert set(pairs) == {(w, sc) for w in PICKED for sc in SCORERS}
    assert (table["fraud"] > 0).all()
    assert table.groupby("world")["fraud"].nunique().eq(1).all()  # same accounts per scorer


def test_figures_are_shares_and_the_ceilings_are_in_range(table):
    values = table[FIGURES].to_numpy(float)
    finite = values[np.isfinite(values)]
    assert ((finite >= 0) & (finite <= 1)).all()
    ceilings = table[table["scorer"] == CEILING]
    assert ceilings["recall_at_1pct_fpr"].between(0, 1).all()
    assert ceilings["pr_auc"].between(0, 1).all()
    assert table[table["scorer"] == MODEL]["pr_auc"].notna().all()


def test_the_model_beats_the_rules_on_the_reference_world(table):
    ref = table[table["world"] == "reference"].set_index("scorer")
    for rule in RULES:
        assert ref.loc[MODEL, "pr_auc"] > ref.loc[rule, "pr_auc"]
        assert ref.loc[MODEL, "recall_at_1pct_fpr"] > ref.loc[rule, "recall_at_1pct_fpr"]
    assert ref.loc[MODEL, "recall_at_1pct_fpr"] >= 0.5


def test_the_ceiling_is_out_of_fold():
    """On a world whose labels are shuffled there is nothing to learn: scores fitted and read
    on the same rows would still rank the labels almost perfectly, out-of-fold ones do not."""
    world = world_table(WorldParams(), 0.1, dataclasses.replace(TINY, accounts=500))
    shuffled = world.assign(**{s.LABEL: np.random.default_rng(0).permutation(world[s.LABEL])})
    scores = ceiling_scores(shuffled, seed=0)
    assert scores.shape == (len(world),)
    assert roc_auc_score(shuffled[s.LABEL], scores) < 0.7
    np.testing.assert_array_equal(scores, ceiling_scores(shuffled, seed=0))


def test_the_summary_and_the_markdown_show_every_world(table):
    summary = model_summary(table)
    assert summary.index.tolist() == list(PICKED)
    assert set(summary.columns) == {MODEL, LOGISTIC, CEILING}
    text = robustness_markdown(table)
    assert text.startswith("## Robustness")
    lines = text.splitlines()
    for name in PICKED:  # one row in the summary table, one in the model's table
        assert sum(line.startswith(f"| {name} |") for line in lines) == 2
    assert f"{summary.loc['reference', MODEL]:.3f}" in text
