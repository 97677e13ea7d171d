"""Splits: by creation, by label time, stratified at random; refusals say what would work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.training.split import (
    AUTO,
    LABEL_TIME,
    PARTS,
    RANDOM,
    TEST,
    TIME,
    TRAIN,
    VAL,
    SplitConfig,
    SplitError,
    make_split,
)


def _table(n: int = 2000, fraud: float = 0.05, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    created = start + pd.to_timedelta(rng.uniform(0, 60, n), unit="D")
    return pd.DataFrame({s.ACCOUNT_ID: [f"a{i}" for i in range(n)], s.CREATED_AT: created,
                         s.LABEL: (rng.random(n) < fraud).astype(int),
                         s.LABELLED_AT: created[::-1].to_numpy()})


def test_time_split_orders_parts_by_creation():
    table = _table()
    split = make_split(table, None, SplitConfig(method=TIME))
    created = table[s.CREATED_AT]
    assert created[split.mask(TRAIN)].max() < created[split.mask(VAL)].min()
    assert created[split.mask(VAL)].max() < created[split.mask(TEST)].min()
    assert set(split.cuts) == {"val_cut", "test_cut"}


def test_label_time_split_orders_parts_by_when_labels_became_known():
    table = _table()
    split = make_split(table, None, SplitConfig(method=LABEL_TIME))
    known = table[s.LABELLED_AT]
    assert known[split.mask(TRAIN)].max() < known[split.mask(TEST)].min()
    with pytest.raises(SplitError, match="labelled_at.*--split time or --split random"):
        make_split(table.drop(columns=[s.LABELLED_AT]), None, SplitConfig(method=LABEL_TIME))


def test_random_split_is_stratified_seeded_and_disjoint():
    table = _table(fraud=0.02)
    a = make_split(table, None, SplitConfig(method=RANDOM, seed=3))
    b = make_split(table, None, SplitConfig(method=RANDOM, seed=3))
    pd.testing.assert_series_equal(a.part, b.part)
    counts = a.counts(table[s.LABEL])
    assert counts["accounts"].sum() == len(table)
    shares = counts["fraud"] / counts["fraud"].sum()
    assert abs(shares[TEST] - 0.35) < 0.05 and abs(shares[VAL] - 0.25) < 0.05


def test_auto_falls_back_to_random_and_says_why():
    table = _table().assign(**{s.CREATED_AT: pd.Timestamp("2026-01-01", tz="UTC")})
    split = make_split(table, None, SplitConfig(method=AUTO))
    assert split.method == RANDOM and "time split is impossible" in split.reason
    assert all(split.mask(p).any() for p in PARTS)


def test_impossible_splits_say_why_and_what_would_work():
    table = _table(n=40, fraud=0.05)
    with pytest.raises(SplitError, match="single class.*--split random"):
        make_split(table, None, SplitConfig(method=TIME))
    few = table.assign(**{s.LABEL: 0})
    few.loc[:1, s.LABEL] = 1
    with pytest.raises(SplitError, match="only 2 accounts with label 1.*label more"):
        make_split(few, None, SplitConfig(method=RANDOM))
    with pytest.raises(SplitError, match="sum below 1"):
        make_split(table, None, SplitConfig(val_frac=0.7, test_frac=0.5))


def test_small_parts_are_warned_about():
    table = _table(n=1000, fraud=0.05)
    split = make_split(table, None, SplitConfig(method=RANDOM))
    lines = split.warnings(table[s.LABEL])
    assert len(lines) == 3 and all("fewer than 30" in line for line in lines)
    big = _table(n=20000, fraud=0.2)
    assert make_split(big, None, SplitConfig(method=RANDOM)).warnings(big[s.LABEL]) == []
