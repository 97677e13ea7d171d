"""Per-segment reductions over sorted arrays."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from features.segments import seg_nunique, seg_nunique_sorted


@given(st.lists(st.lists(st.integers(0, 6), max_size=8), min_size=1, max_size=6))
def test_nunique_of_sorted_segments_matches_the_general_one(segments):
    values = np.array([v for seg in segments for v in sorted(seg)], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum([len(seg) for seg in segments])])
    expected = [float(len(set(seg))) for seg in segments]
    assert seg_nunique_sorted(values, starts).tolist() == expected
    assert seg_nunique(values, starts).tolist() == expected
