"""Simulated accounts beside a user's own: seeded rows of both classes, some from logs alone,
fitted beside the user's rows and named in the report."""

from __future__ import annotations

import numpy as np
import pytest

from persona_risk.features import schema as s
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.registry import RECORD, REGISTRY
from persona_risk.training.dataset import logs_only_table
from persona_risk.training.fit import TrainConfig
from persona_risk.training.simulated import SimulatedError, check_simulated, simulated_rows
from persona_risk.training.split import SplitConfig
from persona_risk.training.train import fit_and_evaluate


@pytest.fixture(scope="module")
def rows():
    return simulated_rows(1500, TrainConfig(seed=4))


def test_rows_are_seeded_and_hold_both_classes(rows):
    again = simulated_rows(1500, TrainConfig(seed=4))
    for got, want in zip(vars(rows).values(), vars(again).values(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert rows.x_train.shape[1] == len(FEATURE_NAMES)
    assert 1000 < len(rows.y_train) < 1250 and len(rows.y_train) + len(rows.y_val) == 1500
    assert set(rows.y_train) == set(rows.y_val) == {0, 1}


def test_a_share_of_rows_comes_from_the_logs_alone(rows):
    age = FEATURE_NAMES.index(next(f.name for f in REGISTRY if f.needs == (RECORD,)))
    unknown = np.isnan(np.r_[rows.x_train[:, age], rows.x_val[:, age]]).mean()
    assert unknown == pytest.approx(TrainConfig().logs_only_share, abs=0.05)


def test_training_beside_simulated_accounts_keeps_the_users_split(labelled, tmp_path):
    inputs, table = labelled
    table = table.drop(columns=[s.PERSONA])
    with pytest.warns(UserWarning):  # the small test part
        plain, beside = (fit_and_evaluate(table, inputs.events[s.TS].min(),
                                          TrainConfig(simulated_accounts=n), SplitConfig(),
                                          tmp_path / str(n),
                                          logs_only=logs_only_table(inputs, table))
                         for n in (0, 1500))
    assert plain.model.booster_text != beside.model.booster_text
    assert (plain.split.part == beside.split.part).all()
    assert len(beside.evaluation.scores) == len(plain.evaluation.scores)
    assert "1,500 simulated accounts" in beside.report.read_text()
    assert "simulated" not in plain.report.read_text()


@pytest.mark.parametrize("accounts", [-1, 1, 999])
def test_too_few_simulated_accounts_are_refused_by_name(accounts):
    with pytest.raises(SimulatedError, match=f"simulated accounts: {accounts:,} is too few"):
        check_simulated(accounts)
    check_simulated(0)
    check_simulated(1000)
