"""Reductions over contiguous segments of a sorted array (one segment per account).

`starts` holds the first row of each segment and ends with the array length, as produced by
`segment_starts`. Empty segments give NaN (or 0 for counts). The reductions that sort within
a segment are compiled loops (numba), one pass over the segments with no global sort.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _counting_order(codes: np.ndarray, n_segments: int) -> np.ndarray:
    ends = np.zeros(n_segments + 1, np.int64)
    for c in codes:
        if c >= 0:
            ends[c + 1] += 1
    ends = np.cumsum(ends)
    order = np.empty(ends[-1], np.int64)
    for i in range(len(codes)):
        c = codes[i]
        if c >= 0:
            order[ends[c]] = i
            ends[c] += 1
    return order


def order_by_segment(codes: np.ndarray, n_segments: int) -> np.ndarray:
    """Row order grouping integer `codes` (0..n_segments-1) by code, stable within a code (a
    counting sort, linear time); rows with a negative code are left out."""
    return _counting_order(np.asarray(codes, np.int64), n_segments)


def segment_starts(codes: np.ndarray, n_segments: int) -> np.ndarray:
    """Segment boundaries of sorted integer `codes` in 0..n_segments-1, plus the array length."""
    return np.searchsorted(codes, np.arange(n_segments + 1))


@njit(cache=True, nogil=True)
def _counts(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(starts) - 1)
    for k in range(len(starts) - 1):
        out[k] = np.count_nonzero(mask[starts[k]:starts[k + 1]])
    return out


@njit(cache=True, nogil=True)
def _means(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    out = np.full(len(starts) - 1, np.nan)
    for k in range(len(starts) - 1):
        total, known = 0.0, 0
        for v in values[starts[k]:starts[k + 1]]:
            if not np.isnan(v):
                total += v
                known += 1
        if known:
            out[k] = total / known
    return out


@njit(cache=True, nogil=True)
def _maxima(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    out = np.full(len(starts) - 1, np.nan)
    for k in range(len(starts) - 1):
        best = -np.inf
        for v in values[starts[k]:starts[k + 1]]:
            if v > best:  # False for NaN
                best = v
        if np.isfinite(best):
            out[k] = best
    return out


def _floats(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, np.float64)


def seg_count(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Number of true values of `mask` in each segment."""
    return _counts(np.asarray(mask, np.bool_), starts)


def seg_mean(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Mean of the non-NaN values of each segment; NaN when none."""
    return _means(_floats(values), starts)


def seg_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Maximum of the non-NaN values of each segment; NaN when none (or infinite)."""
    return _maxima(_floats(values), starts)


@njit(cache=True, nogil=True)
def _quantiles(values: np.ndarray, starts: np.ndarray, q: float) -> np.ndarray:
    out = np.full(len(starts) - 1, np.nan)
    buf = np.empty(np.max(np.diff(starts)) if len(starts) > 1 else 0)
    for k in range(len(starts) - 1):
        n = 0
        for v in values[starts[k]:starts[k + 1]]:
            if not np.isnan(v):
                buf[n] = v
                n += 1
        if n == 0:
            continue
        ordered = np.sort(buf[:n])
        pos = (n - 1) * q
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        out[k] = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    return out


def seg_quantile(values: np.ndarray, starts: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolated quantile `q` of the non-NaN values of each segment (as numpy's)."""
    return _quantiles(_floats(values), np.asarray(starts, np.int64), float(q))


@njit(cache=True, nogil=True)
def _known_sorted(codes: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """The non-negative codes of one segment, sorted (`buf`: room for a segment)."""
    n = 0
    for c in codes:
        if c >= 0:
            buf[n] = c
            n += 1
    return np.sort(buf[:n])


@njit(cache=True, nogil=True)
def _distinct(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(starts) - 1)
    buf = np.empty(np.max(np.diff(starts)) if len(starts) > 1 else 0, np.int64)
    for k in range(len(starts) - 1):
        ordered = _known_sorted(codes[starts[k]:starts[k + 1]], buf)
        if len(ordered):
            out[k] = 1 + np.count_nonzero(ordered[1:] != ordered[:-1])
    return out


def seg_nunique(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Distinct non-negative codes per segment (negative codes mean missing)."""
    return _distinct(np.asarray(codes, np.int64), np.asarray(starts, np.int64))


@njit(cache=True, nogil=True)
def _top_shares(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    out = np.full(len(starts) - 1, np.nan)
    buf = np.empty(np.max(np.diff(starts)) if len(starts) > 1 else 0, np.int64)
    for k in range(len(starts) - 1):
        ordered = _known_sorted(codes[starts[k]:starts[k + 1]], buf)
        if not len(ordered):
            continue
        best, run = 1, 1
        for i in range(1, len(ordered)):
            run = run + 1 if ordered[i] == ordered[i - 1] else 1
            best = max(best, run)
        out[k] = best / len(ordered)
    return out


def seg_top_share(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Share of each segment's non-negative codes that are its most frequent code (0-1); NaN
    when it has none (negative codes mean missing)."""
    return _top_shares(np.asarray(codes, np.int64), np.asarray(starts, np.int64))


@njit(cache=True, nogil=True)
def _last_argmax(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    out = np.full(len(starts) - 1, -1, np.int64)
    for k in range(len(starts) - 1):
        best = -np.inf
        for i in range(starts[k], starts[k + 1]):
            if values[i] >= best:  # False for NaN; >= keeps the last of equal values
                best = values[i]
                out[k] = i
    return out


def seg_argmax(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Row of the largest non-NaN value of each segment (the last such row on ties); -1 when
    the segment has none."""
    return _last_argmax(_floats(values), np.asarray(starts, np.int64))


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
    prev = np.concatenate([[-1], last[:-1]])[:len(idx)]  # no rows: none
    same = prev >= 0
    same[same] = seg[prev[same]] == seg[same]
    return np.where(same, prev, -1)
