"""Stored event columns as one blob per column, so that a store reads an account's history as
a few blobs instead of a row per event. Blobs of the same column join by concatenation: a store
appends new events without decoding what it holds.

Times are int64 ns, numbers float64 (missing: NaN; integers such as the ASN stay below 2**53,
exact in a double), flags int8 (missing: -1), text JSON values each followed by a comma
(missing: null). A column without a blob (added to the layout after it was written) reads as
missing.
"""

from __future__ import annotations

import json
from itertools import chain

import numpy as np

from persona_risk.features import schema as s
from persona_risk.features.stored_rows import EVENT_NAMES, Columns, columns_of

# the columns a store keeps as blobs (the account id is the key of its blobs), times first:
# their length tells the number of events
BLOB_COLUMNS = (s.TS, *(c for c in EVENT_NAMES if c not in (s.ACCOUNT_ID, s.TS)))
# kind -> the array type of its blob, the value standing for a missing one, the type read back
# (text is JSON)
_ARRAYS = {"timestamp": (np.int64, np.iinfo(np.int64).min, np.int64),
           "float": (np.float64, np.nan, np.float64), "int": (np.float64, np.nan, np.int64),
           "bool": (np.int8, -1, bool)}
TIME_BYTES = np.dtype(_ARRAYS["timestamp"][0]).itemsize


def encode(name: str, values: list) -> bytes:
    """The blob of one event column's values (None where missing)."""
    if s.KIND[name] in _ARRAYS:
        dtype, missing, _ = _ARRAYS[s.KIND[name]]
        return np.array([missing if v is None else v for v in values], dtype).tobytes()
    if not values:
        return b""
    return (json.dumps(values, separators=(",", ":"))[1:-1] + ",").encode()


def decode(name: str, blob: bytes | None, n: int) -> list:
    """The values of one event column from its blob (`n` values; all None without a blob).
    A blob of another number of values is refused: it would shift the rows of every column."""
    if blob is None:
        return [None] * n
    if s.KIND[name] in _ARRAYS:
        dtype, marker, typed = _ARRAYS[s.KIND[name]]
        values = np.frombuffer(blob, dtype)
        missing = np.isnan(values) if dtype is np.float64 else values == marker
        out = (values if typed is dtype else np.where(missing, 0, values).astype(typed)).tolist()
        for i in np.flatnonzero(missing).tolist():  # a loop over the missing values only
            out[i] = None
    else:
        out = json.loads(b"[" + blob[:-1] + b"]") if blob else []
    if len(out) != n:
        raise ValueError(f"stored history: column {name} holds {len(out)} values, "
                         f"expected {n}; replay the events into a fresh state")
    return out


def concat(name: str, blobs: list[bytes | None], sizes: list[int]) -> bytes:
    """One blob of one column's values in several blobs (of `sizes` values each) one after
    another (a missing blob: its values missing)."""
    return b"".join(encode(name, [None] * n) if blob is None else blob
                    for blob, n in zip(blobs, sizes, strict=True))


def encode_all(columns: Columns) -> list[bytes]:
    """The blobs of `BLOB_COLUMNS` from event columns by name."""
    return [encode(name, columns[name]) for name in BLOB_COLUMNS]


def encode_rows(rows: list) -> list[bytes]:
    """The blobs of `BLOB_COLUMNS` of stored event rows (`EVENT_NAMES` order)."""
    return encode_all(columns_of(rows, EVENT_NAMES))


def decode_all(blobs: list[bytes | None], n: int, names: list[str] | tuple[str, ...]) -> Columns:
    """`columns` back from the blobs of `names`."""
    return {name: decode(name, blob, n) for name, blob in zip(names, blobs, strict=True)}


def joined(histories: list[tuple[str, int, list[bytes | None]]],
           names: list[str] | tuple[str, ...], columns: tuple[str, ...]) -> Columns:
    """Several accounts' events as `columns` (the account id and `names`), from each account's
    id, number of events and blobs of `names`."""
    decoded = [{s.ACCOUNT_ID: [account_id] * n, **decode_all(blobs, n, names)}
               for account_id, n, blobs in histories]
    return {name: list(chain.from_iterable(d[name] for d in decoded)) for name in columns}
