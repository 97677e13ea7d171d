"""Exact repeats and 64-bit hashes of text columns, in compiled loops over Arrow's buffers.

Ten million event ids are never turned into Python strings: the bytes are hashed in place, the
hashes sorted, and only rows whose hashes meet (the repeats, and the rare colliding hashes) are
compared as text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

_PRIME = np.uint64(0x100000001B3)
_BASIS = np.uint64(0xCBF29CE484222325)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _arrow_text(values) -> pa.Array:
    """A text column (Series, array, categorical) as one Arrow large_string array."""
    values = values.array if isinstance(values, pd.Series) else values
    if isinstance(values, pd.Categorical):
        values = np.asarray(values, dtype=object)
    arr = pa.array(values, from_pandas=True)  # Arrow-backed text is taken as it is, no copy
    arr = pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr
    return arr.cast(pa.large_string()).combine_chunks()


@njit(cache=True, nogil=True)
def _mix(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@njit(cache=True, nogil=True)
def _hashes(offsets: np.ndarray, data: np.ndarray, seed: np.uint64,
            groups: np.ndarray) -> np.ndarray:
    out = np.empty(len(offsets) - 1, np.uint64)
    for i in range(len(out)):
        h = _mix(_BASIS ^ seed ^ _mix(np.uint64(groups[i]) + _GOLDEN))
        word = np.uint64(0)
        shift = np.uint64(0)
        for j in range(offsets[i], offsets[i + 1]):  # eight bytes to a word, one multiply a word
            word |= np.uint64(data[j]) << shift
            shift += np.uint64(8)
            if shift == np.uint64(64):
                h = (h ^ word) * _PRIME
                h ^= h >> np.uint64(29)
                word = np.uint64(0)
                shift = np.uint64(0)
        out[i] = _mix(h ^ word ^ np.uint64(offsets[i + 1] - offsets[i]))
    return out


def _hash_text(arr: pa.Array, seed: int, groups: np.ndarray) -> np.ndarray:
    _, offsets, data = arr.buffers()
    offsets = np.frombuffer(offsets, np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    return _hashes(offsets, data, np.uint64(seed), groups)


def text_hashes(values, seed: int = 0) -> np.ndarray:
    """A 64-bit hash (uint64) of each text value, stable across runs and processes; `seed`
    gives another hash. Missing values hash as the empty text."""
    arr = _arrow_text(values)
    return _hash_text(arr, seed, np.zeros(len(arr), np.int64))


def repeated(values, groups: np.ndarray | None = None,
             skip: np.ndarray | None = None) -> np.ndarray:
    """True for each row whose text equals that of an earlier row (of the same group, when
    `groups` labels the rows with integers); the first copy, missing values and the rows marked
    in `skip` (which count as no copy) are False."""
    arr = _arrow_text(values)
    groups = np.zeros(len(arr), np.int64) if groups is None else np.asarray(groups, np.int64)
    taking = arr.is_valid().to_numpy(zero_copy_only=False)
    taking = taking if skip is None else taking & ~skip
    hashes = _hash_text(arr, 0, groups)
    ordered = np.sort(hashes[taking] if not taking.all() else hashes)
    shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    out = np.zeros(len(arr), bool)
    if len(shared) == 0:
        return out
    at = np.minimum(np.searchsorted(shared, hashes), len(shared) - 1)
    candidates = np.flatnonzero((shared[at] == hashes) & taking)
    out[candidates] = pd.DataFrame({
        "group": groups[candidates],
        "text": arr.take(pa.array(candidates, pa.int64())).to_numpy(zero_copy_only=False),
    }).duplicated().to_numpy()
    return out


class SeenTexts:
    """Texts of earlier batches, to find a later batch's repeats of them exactly (as `repeated`
    does within one batch) without Python strings. The texts' 64-bit hashes are kept sorted in
    runs, each with every hash's place among the texts; a run is merged with the one before it
    when that one is no longer, so a few runs are searched whatever the number of batches. Only
    texts whose hashes meet are compared."""

    def __init__(self) -> None:
        self._texts: list[pa.Array] = []  # every batch's present texts, in order
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, places)
        self._count = 0

    def met(self, values) -> np.ndarray:
        """True for each value equal to a text added before; missing values are False."""
        arr = _arrow_text(values)
        hashes = _hash_text(arr, 0, np.zeros(len(arr), np.int64))
        order = np.argsort(hashes)  # sorted, they are found several times faster
        needles = hashes[order]
        texts = pa.chunked_array(self._texts, pa.large_string())
        found = np.zeros(len(arr), bool)
        for known, places in self._runs:
            lo, hi = np.searchsorted(known, needles), np.searchsorted(known, needles, "right")
            for k in range(int((hi - lo).max(initial=0))):  # k > 0 only for colliding hashes
                at = np.flatnonzero(hi - lo > k)
                rows = order[at]
                same = pc.equal(arr.take(rows), texts.take(places[lo[at] + k]))
                found[rows] |= pc.fill_null(same, False).to_numpy(zero_copy_only=False)
        return found

    def add(self, values) -> None:
        """Remember a batch's present (not missing) texts."""
        arr = _arrow_text(values)
        arr = arr.filter(arr.is_valid())
        hashes = _hash_text(arr, 0, np.zeros(len(arr), np.int64))
        self._texts.append(arr)
        self._runs.append(_sorted_run(hashes, np.arange(self._count, self._count + len(arr))))
        self._count += len(arr)
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= len(self._runs[-1][0]):
            (h1, p1), (h2, p2) = self._runs.pop(-2), self._runs.pop()
            self._runs.append(_sorted_run(np.concatenate([h1, h2]), np.concatenate([p1, p2])))


def _sorted_run(hashes: np.ndarray, places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(hashes, kind="stable")
    return hashes[order], places[order]
