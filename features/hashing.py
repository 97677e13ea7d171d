"""Exact repeats and 64-bit hashes of text columns, in compiled loops over Arrow's buffers.

Ten million event ids are never turned into Python strings: the bytes are hashed in place and
repeats are found with an open-addressing table, comparing the bytes of rows whose hashes meet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from numba import njit

_PRIME = np.uint64(0x100000001B3)
_BASIS = np.uint64(0xCBF29CE484222325)


def _text_buffers(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (int64, one more than rows), bytes (uint8) and validity of a text column."""
    values = values.array if isinstance(values, pd.Series) else values
    if isinstance(values, pd.Categorical):
        values = np.asarray(values, dtype=object)
    arr = pa.array(values, from_pandas=True)  # Arrow-backed text is taken as it is, no copy
    arr = pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr
    arr = arr.cast(pa.large_string()).combine_chunks()
    _, offsets, data = arr.buffers()
    offsets = np.frombuffer(offsets, np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    return offsets, data, valid


@njit(cache=True, nogil=True)
def _mix(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@njit(cache=True, nogil=True)
def _hashes(offsets: np.ndarray, data: np.ndarray, seed: np.uint64) -> np.ndarray:
    out = np.empty(len(offsets) - 1, np.uint64)
    for i in range(len(out)):
        h = _mix(_BASIS ^ seed)
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


@njit(cache=True, nogil=True)
def _same_text(offsets: np.ndarray, data: np.ndarray, i: int, j: int) -> bool:
    n = offsets[i + 1] - offsets[i]
    if n != offsets[j + 1] - offsets[j]:
        return False
    for k in range(n):
        if data[offsets[i] + k] != data[offsets[j] + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _repeats(offsets, data, valid, groups, hashes) -> np.ndarray:
    n = len(hashes)
    size = 1
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    table = np.full(size, -1, np.int64)
    out = np.zeros(n, np.bool_)
    for i in range(n):
        if not valid[i]:
            continue
        slot = (hashes[i] ^ _mix(np.uint64(groups[i]))) & mask
        while table[slot] >= 0:
            j = table[slot]
            if (hashes[j] == hashes[i] and groups[j] == groups[i]
                    and _same_text(offsets, data, i, j)):
                out[i] = True
                break
            slot = (slot + np.uint64(1)) & mask
        if not out[i]:
            table[slot] = i
    return out


def text_hashes(values, seed: int = 0) -> np.ndarray:
    """A 64-bit hash (uint64) of each text value, stable across runs and processes; `seed`
    gives an independent hash. Missing values hash as the empty text."""
    offsets, data, _ = _text_buffers(values)
    return _hashes(offsets, data, np.uint64(seed))


def repeated(values, groups: np.ndarray | None = None,
             skip: np.ndarray | None = None) -> np.ndarray:
    """True for each row whose text equals that of an earlier row (of the same group, when
    `groups` labels the rows with integers); the first copy, missing values and the rows marked
    in `skip` (which count as no copy) are False."""
    offsets, data, valid = _text_buffers(values)
    valid = valid if skip is None else valid & ~skip
    groups = np.zeros(len(valid), np.int64) if groups is None else np.asarray(groups, np.int64)
    return _repeats(offsets, data, valid, groups, _hashes(offsets, data, np.uint64(0)))
