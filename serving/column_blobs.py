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

import numpy as np

from persona_risk.features import schema as s
from persona_risk.features.stored_rows import EVENT_NAMES, Columns

# the columns a store keeps as blobs (the account id is the key of its blobs), times first:
# their length tells the number of events
BLOB_COLUMNS = (s.TS, *(c for c in EVENT_NAMES if c not in (s.ACCOUNT_ID, s.TS)))
TIME_BYTES = 8
_MISSING_TIME = np.iinfo(np.int64).min


def encode(name: str, values: list) -> bytes:
    """The blob of one event column's values (None where missing)."""
    kind = s.KIND[name]
    if kind == "timestamp":
        return np.array([_MISSING_TIME if v is None else v for v in values], np.int64).tobytes()
    if kind in ("float", "int"):
        return np.array([np.nan if v is None else v for v in values], np.float64).tobytes()
    if kind == "bool":
        return np.array([-1 if v is None else v for v in values], np.int8).tobytes()
    if not values:
        return b""
    return (json.dumps(values, separators=(",", ":"))[1:-1] + ",").encode()


def decode(name: str, blob: bytes | None, n: int) -> list:
    """The values of one event column from its blob (`n` values; all None without a blob).
    A blob of another number of values is refused: it would shift the rows of every column."""
    if blob is None:
        return [None] * n
    values = _decoded(name, blob)
    if len(values) != n:
        raise ValueError(f"stored history: column {name} holds {len(values)} values, "
                         f"expected {n}; replay the events into a fresh state")
    return values


def _decoded(name: str, blob: bytes) -> list:
    kind = s.KIND[name]
    if kind in ("float", "int"):
        values = np.frombuffer(blob, np.float64)
        missing = np.isnan(values)
        if kind == "int":
            values = np.where(missing, 0, values).astype(np.int64)
        return _with_none(values, missing)
    if kind == "timestamp":
        values = np.frombuffer(blob, np.int64)
        return _with_none(values, values == _MISSING_TIME)
    if kind == "bool":
        values = np.frombuffer(blob, np.int8)
        return _with_none(values.astype(bool), values < 0)
    return json.loads(b"[" + blob[:-1] + b"]") if blob else []


def _with_none(values: np.ndarray, missing: np.ndarray) -> list:
    """`values` as a list of Python scalars, None where `missing` (a loop over those only)."""
    out = values.tolist()
    for i in np.flatnonzero(missing).tolist():
        out[i] = None
    return out


def concat(name: str, blobs: list[bytes | None], sizes: list[int]) -> bytes:
    """One blob of one column's values in several blobs (of `sizes` values each) one after
    another (a missing blob: its values missing)."""
    return b"".join(encode(name, [None] * n) if blob is None else blob
                    for blob, n in zip(blobs, sizes, strict=True))


def encode_all(columns: Columns, names: list[str] | tuple[str, ...]) -> list[bytes]:
    """The blobs of `names` from `columns`, in that order."""
    return [encode(name, columns[name]) for name in names]


def decode_all(blobs: list[bytes | None], n: int, names: list[str] | tuple[str, ...]) -> Columns:
    """`columns` back from the blobs of `names`."""
    return {name: decode(name, blob, n) for name, blob in zip(names, blobs, strict=True)}
