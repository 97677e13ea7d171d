"""Events laid out in account, time and id order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from persona_risk.features.arrays import FEW_TIES, Keys, event_order

rows = st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 4), st.integers(0, 9)), max_size=50)


@given(rows)
def test_order_is_account_time_then_id_and_drops_unknown_accounts(events):
    seg = np.array([e[0] for e in events], dtype=np.int64)
    ts = np.array([e[1] for e in events], dtype=np.int64)
    ids = pd.array([f"e{e[2]}" for e in events], dtype="str")
    order, seg_sorted, ts_sorted = event_order(seg, ts, ids, 4)
    known = [i for i in range(len(events)) if seg[i] >= 0]
    assert order.tolist() == sorted(known, key=lambda i: (seg[i], ts[i], ids[i], i))
    assert seg_sorted.tolist() == seg[order].tolist()
    assert ts_sorted.tolist() == ts[order].tolist()


@pytest.mark.parametrize("n", [5, FEW_TIES + 1])
def test_events_tied_on_account_and_time_are_ordered_by_id_however_many(n):
    ids = np.random.default_rng(0).permutation([f"e{i:05d}" for i in range(n)])
    order, _, _ = event_order(np.zeros(n, np.int64), np.zeros(n, np.int64),
                              pd.array(ids, dtype="str"), 1)
    assert ids[order].tolist() == sorted(ids)


def test_used_keys_are_the_values_some_row_has():
    keys = Keys(np.array([2, -1, 0, 2], np.int32), np.array(["a", "b", "c"], dtype=object))
    assert keys.used().tolist() == ["a", "c"]
    assert Keys(np.array([-1], np.int32), np.array(["a"], dtype=object)).used().tolist() == []
