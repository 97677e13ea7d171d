"""Exact repeats and 64-bit hashes of text columns, in compiled loops over Arrow's buffers,
and the ids met so far in earlier chunks (`SeenIds`: two hashes an id).

Ten million event ids are never turned into Python strings: the bytes are hashed in place, the
hashes sorted, and only rows whose hashes meet (the repeats, and the rare colliding hashes) are
compared as text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
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


SECOND_HASH_SEED = 0x5EED  # an independent second hash of each id


class SeenIds:
    """The event ids read so far, as two 64-bit hashes each with different seeds (16 bytes an
    id, not a Python string). An id counts as seen when both hashes match, so a false match
    needs two 64-bit collisions at once."""

    def __init__(self):
        self.first = np.empty(0, np.uint64)  # sorted
        self.second = np.empty(0, np.uint64)  # aligned with `first`

    def add(self, ids: pd.Series) -> np.ndarray:
        """Mask of the ids (distinct among themselves) seen before; remembers the others."""
        first, second = text_hashes(ids, seed=0), text_hashes(ids, seed=SECOND_HASH_SEED)
        order = np.argsort(first)  # sorted queries search a sorted array fast
        first, second = first[order], second[order]
        lo = np.searchsorted(self.first, first, "left")
        hi = np.searchsorted(self.first, first, "right")
        seen = np.zeros(len(first), bool)
        one = hi - lo == 1  # the usual match: compare the second hash at once
        seen[one] = self.second[lo[one]] == second[one]
        for i in np.flatnonzero(hi - lo > 1):  # first hashes that collide: about never
            seen[i] = (self.second[lo[i]:hi[i]] == second[i]).any()
        self.first, self.second = _merged(self.first, self.second, first[~seen],
                                          second[~seen], lo[~seen])
        again = np.empty(len(seen), bool)
        again[order] = seen
        return again


@njit(cache=True, nogil=True)
def _merged(first: np.ndarray, second: np.ndarray, new_first: np.ndarray,
            new_second: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted `first` (and its aligned `second`) with the sorted new ones inserted, each
    before position `at` of the old (their `searchsorted`): one pass, no sort."""
    n, k = len(first), len(new_first)
    out_first, out_second = np.empty(n + k, first.dtype), np.empty(n + k, second.dtype)
    i = j = 0
    for out in range(n + k):
        if j < k and at[j] <= i:  # the next new id goes before old id i
            out_first[out], out_second[out] = new_first[j], new_second[j]
            j += 1
        else:
            out_first[out], out_second[out] = first[i], second[i]
            i += 1
    return out_first, out_second
