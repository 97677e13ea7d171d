"""Per-segment reductions over sorted arrays."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from persona_risk.features.segments import (
    order_by_segment,
    seg_count,
    seg_max,
    seg_mean,
    seg_nunique,
    seg_nunique_sorted,
    seg_quantile,
    seg_top_share,
)


@given(st.lists(st.lists(st.integers(0, 6), max_size=8), min_size=1, max_size=6))
def test_nunique_of_sorted_segments_matches_the_general_one(segments):
    values = np.array([v for seg in segments for v in sorted(seg)], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum([len(seg) for seg in segments])])
    expected = [float(len(set(seg))) for seg in segments]
    assert seg_nunique_sorted(values, starts).tolist() == expected
    assert seg_nunique(values, starts).tolist() == expected


@given(st.lists(st.lists(st.integers(-1, 4), max_size=8), min_size=1, max_size=6))
def test_top_share_is_the_most_frequent_known_code_over_the_known_ones(segments):
    codes = np.array([c for seg in segments for c in seg], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum([len(seg) for seg in segments])])
    got = seg_top_share(codes, starts)
    for seg, share in zip(segments, got, strict=True):
        known = [c for c in seg if c >= 0]
        if known:
            assert share == max(known.count(c) for c in known) / len(known)
        else:
            assert np.isnan(share)


segments = st.lists(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)), max_size=9),
                    min_size=1, max_size=6)


@given(segments, st.floats(0, 1))
def test_quantile_matches_numpy_per_segment(segs, q):
    values = np.array([v for seg in segs for v in seg], dtype=float)
    starts = np.concatenate([[0], np.cumsum([len(seg) for seg in segs])])
    expected = []
    for seg in segs:
        known = np.array([v for v in seg if not np.isnan(v)])
        expected.append(np.quantile(known, q) if len(known) else np.nan)
    np.testing.assert_allclose(seg_quantile(values, starts, q), expected, rtol=1e-12, atol=1e-9)


@given(st.lists(st.integers(-1, 4), max_size=30))
def test_order_by_segment_is_a_stable_grouping_without_negative_codes(codes):
    codes = np.array(codes, dtype=np.int64)
    expected = [i for c in range(5) for i in np.flatnonzero(codes == c)]
    assert order_by_segment(codes, 5).tolist() == expected


@given(segments)
def test_sum_mean_max_count_ignore_nan_per_segment(segs):
    values = np.array([v for seg in segs for v in seg], dtype=float)
    starts = np.concatenate([[0], np.cumsum([len(seg) for seg in segs])])
    known = [[v for v in seg if not np.isnan(v)] for seg in segs]
    np.testing.assert_allclose(seg_mean(values, starts),
                               [np.mean(k) if k else np.nan for k in known], rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(seg_max(values, starts), [max(k) if k else np.nan for k in known])
    assert seg_count(~np.isnan(values), starts).tolist() == [float(len(k)) for k in known]
