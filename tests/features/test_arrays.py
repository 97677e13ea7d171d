"""Events laid out in account, time and id order."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from persona_risk.features.arrays import event_order

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
