"""Exact repeats and hashes of text columns, against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from persona_risk.features import hashing
from persona_risk.features.hashing import SeenIds, repeated, text_hashes

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


def test_seen_ids_match_repeats_only():
    seen = SeenIds()
    assert seen.add(pd.Series(["e1", "e2", ""], dtype="str")).tolist() == [False, False, False]
    again = seen.add(pd.Series(["E1", "e2", "e3", "e1"], dtype="str"))
    assert again.tolist() == [False, True, False, True]
    assert len(seen.first) == len(seen.second) == 5 and (np.diff(seen.first) > 0).all()


def test_seen_ids_agree_with_a_set_over_many_chunks():
    rng = np.random.default_rng(0)
    seen, known = SeenIds(), set()
    for _ in range(6):
        ids = pd.unique(rng.integers(0, 3_000, 800).astype(str))
        again = seen.add(pd.Series(ids, dtype="str"))
        assert again.tolist() == [i in known for i in ids]
        known.update(ids)
        assert (seen.first[1:] >= seen.first[:-1]).all() and len(seen.first) == len(known)


def test_seen_ids_tell_ids_apart_when_their_first_hashes_collide(monkeypatch):
    real = hashing.text_hashes

    def colliding(ids, seed=0):  # the first hash takes 7 values only
        hashes = real(ids, seed=seed)
        return hashes % np.uint64(7) if seed == 0 else hashes

    monkeypatch.setattr(hashing, "text_hashes", colliding)
    seen, known = SeenIds(), set()
    for chunk in (["a", "b", "c"], ["c", "d", "e", "f", "g", "h", "i"], ["a", "x", "i", "y"]):
        assert seen.add(pd.Series(chunk, dtype="str")).tolist() == [i in known for i in chunk]
        known.update(chunk)
    assert len(seen.first) == len(known) and (seen.first[1:] >= seen.first[:-1]).all()
