"""Exact repeats and hashes of text columns, against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from persona_risk.features.hashing import SeenTexts, repeated, text_hashes

texts = st.lists(st.one_of(st.none(), st.text(alphabet="ab\u00e9\U0001F600", max_size=12)),
                 max_size=40)


@given(texts, st.data())
def test_repeats_are_pandas_duplicates_within_groups_and_outside_skipped_rows(values, data):
    n = len(values)
    groups = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.int64)
    skip = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    series = pd.Series(values, dtype="str")
    frame = pd.DataFrame({"g": groups, "v": series})[~skip]
    expected = np.zeros(n, bool)
    expected[~skip] = frame.duplicated(keep="first").to_numpy() & frame["v"].notna().to_numpy()
    assert repeated(series, groups, skip).tolist() == expected.tolist()
    as_objects = pd.Series(values, dtype=object)
    assert repeated(as_objects, groups, skip).tolist() == expected.tolist()


def test_repeats_of_categorical_and_long_texts():
    long = "x" * 1000
    values = pd.Series([long, long + "y", long, "a"], dtype="category")
    assert repeated(values).tolist() == [False, False, True, False]


def test_hashes_are_stable_and_seeds_independent():
    ids = pd.Series(["evt-1", "evt-2", "evt-1", "a-much-longer-event-identifier-0001"], dtype="str")
    first, second = text_hashes(ids), text_hashes(ids, seed=7)
    assert first.dtype == np.uint64
    assert first[0] == first[2] and first[0] != first[1]
    assert second[0] == second[2] and not np.array_equal(first, second)
    assert text_hashes(ids.astype(object)).tolist() == first.tolist()


@given(st.lists(texts, max_size=6))
def test_texts_met_are_those_of_earlier_batches(batches):
    seen, earlier = SeenTexts(), set()
    for batch in batches:
        series = pd.Series(batch, dtype="str")
        expected = [v is not None and v in earlier for v in batch]
        assert seen.met(series).tolist() == expected
        assert seen.met(series.astype(object)).tolist() == expected
        seen.add(series)
        earlier.update(v for v in batch if v is not None)
