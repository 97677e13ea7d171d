"""Reductions over contiguous segments of a sorted array (one segment per account).

`starts` holds the first row of each segment and ends with the array length, as produced by
`segment_starts`. Empty segments give NaN (or 0 for counts).
"""

from __future__ import annotations

import numpy as np


def segment_starts(codes: np.ndarray, n_segments: int) -> np.ndarray:
    """Segment boundaries of sorted integer `codes` in 0..n_segments-1, plus the array length."""
    return np.searchsorted(codes, np.arange(n_segments + 1))


def seg_count(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Number of true values of `mask` in each segment."""
    csum = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    return (csum[starts[1:]] - csum[starts[:-1]]).astype(float)


def seg_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum of the non-NaN values of each segment (0 when none).

    Each segment is summed on its own, so a segment's sum does not depend on its neighbours."""
    v = np.where(np.isnan(values), 0.0, values)
    nonempty = starts[1:] > starts[:-1]
    out = np.zeros(len(starts) - 1)
    if v.size:
        out[nonempty] = np.add.reduceat(v, starts[:-1][nonempty])
    return out


def seg_mean(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Mean of the non-NaN values of each segment; NaN when none."""
    n = seg_count(~np.isnan(values), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, seg_sum(values, starts) / n, np.nan)


def seg_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Maximum of the non-NaN values of each segment; NaN when none."""
    v = np.where(np.isnan(values), -np.inf, values)
    nonempty = starts[1:] > starts[:-1]
    out = np.full(len(starts) - 1, -np.inf)
    if v.size:
        out[nonempty] = np.maximum.reduceat(v, starts[:-1][nonempty])
    return np.where(np.isfinite(out), out, np.nan)


def seg_quantile(values: np.ndarray, starts: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolated quantile `q` of the non-NaN values of each segment (as numpy's)."""
    seg = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    ok = ~np.isnan(values)
    seg, v = seg[ok], values[ok]
    order = np.lexsort((v, seg))
    v = v[order]
    n = np.bincount(seg, minlength=len(starts) - 1)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    pos = (n - 1) * q
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    out = np.full(len(n), np.nan)
    has = n > 0
    a, b = v[(first + lo)[has]], v[(first + hi)[has]]
    out[has] = a + (b - a) * (pos - lo)[has]
    return out


def seg_nunique(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Distinct non-negative codes per segment (negative codes mean missing)."""
    seg = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    ok = codes >= 0
    width = int(codes.max()) + 1 if ok.any() else 1
    keys = np.unique(seg[ok].astype(np.int64) * width + codes[ok])
    return np.bincount(keys // width, minlength=len(starts) - 1).astype(float)


def seg_nunique_sorted(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Distinct values per segment when they are non-decreasing within each segment (one pass,
    no sort): the number of changes plus one."""
    new = np.ones(len(values), bool)
    new[1:] = values[1:] != values[:-1]
    nonempty = starts[1:] > starts[:-1]
    new[starts[:-1][nonempty]] = True
    counts = np.concatenate([[0], np.cumsum(new)])
    return (counts[starts[1:]] - counts[starts[:-1]]).astype(float)


def previous_in_segment(mask: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """For each row, the index of the previous row with `mask` in the same segment; -1 if none.

    `seg` is the sorted segment id of each row.
    """
    idx = np.where(mask, np.arange(len(mask)), -1)
    last = np.maximum.accumulate(idx) if len(idx) else idx
    prev = np.concatenate([[-1], last[:-1]])
    same = prev >= 0
    same[same] = seg[prev[same]] == seg[same]
    return np.where(same, prev, -1)
