"""Stored event columns as one blob per column, so that a store reads an account's history as
a few blobs instead of a row per event. Blobs of the same column join by concatenation: a store
appends new events without decoding what it holds.

Times are int64 ns, numbers float64 (missing: NaN; integers such as the ASN stay below 2**53,
exact in a double), flags int8 (missing: -1), text JSON values each followed by a comma
(missing: null). They read back as the typed arrays of `features.stored_rows.event_array`,
straight from the bytes. A column without a blob (added to the layout after it was written)
reads as missing.
"""

from __future__ import annotations

import json

import numpy as np

from persona_risk.features import schema as s
from persona_risk.features.stored_rows import (
    ARRAY_TYPES,
    EVENT_NAMES,
    Arrays,
    Columns,
    columns_of,
    event_array,
)

# the columns a store keeps as blobs (the account id is the key of its blobs), times first:
# their length tells the number of events
BLOB_COLUMNS = (s.TS, *(c for c in EVENT_NAMES if c not in (s.ACCOUNT_ID, s.TS)))
# kind -> the array type of its blob and the value standing for a missing one (a flag's blob
# keeps missing apart from false)
_BLOBS = {**ARRAY_TYPES, "bool": (np.int8, -1)}
TIME_BYTES = np.dtype(_BLOBS["timestamp"][0]).itemsize


def encode(name: str, values: list | np.ndarray) -> bytes:
    """The blob of one event column's values (a list, None where missing, or its typed array)."""
    kind = s.KIND[name]
    if kind == "bool":
        return np.array([_BLOBS[kind][1] if v is None else v for v in values],
                        _BLOBS[kind][0]).tobytes()
    if kind in _BLOBS:
        return event_array(name, values).tobytes()
    if not len(values):
        return b""
    return (json.dumps(list(values), separators=(",", ":"))[1:-1] + ",").encode()


def _checked(name: str, values, n: int):
    if len(values) != n:
        raise ValueError(f"stored history: column {name} holds {len(values)} values, "
                         f"expected {n}; replay the events into a fresh state")
    return values


def decode(name: str, blob: bytes | None, n: int) -> np.ndarray:
    """The typed array (`event_array`) of one event column from its blob (`n` values; all
    missing without a blob). A blob of another number of values is refused: it would shift the
    rows of every column."""
    if blob is None:
        return event_array(name, [None] * n)
    kind = s.KIND[name]
    if kind in _BLOBS:
        values = _checked(name, np.frombuffer(blob, _BLOBS[kind][0]), n)
        return values == 1 if kind == "bool" else values.copy()  # writable, not the blob's
    return _checked(name, event_array(name, json.loads(b"[" + blob[:-1] + b"]") if blob
                                      else []), n)


def kept(name: str, blob: bytes | None, n: int, keep: np.ndarray) -> bytes:
    """The blob of one column's values (`n` in `blob`) where `keep` is true, a missing value
    still missing (no blob: an empty one)."""
    if blob is None:
        return b""
    if s.KIND[name] in _BLOBS:
        return _checked(name, np.frombuffer(blob, _BLOBS[s.KIND[name]][0]), n)[keep].tobytes()
    return encode(name, decode(name, blob, n)[keep])


def concat(name: str, blobs: list[bytes | None], sizes: list[int]) -> bytes:
    """One blob of one column's values in several blobs (of `sizes` values each) one after
    another (a missing blob: its values missing)."""
    return b"".join(encode(name, [None] * n) if blob is None else blob
                    for blob, n in zip(blobs, sizes, strict=True))


def encode_all(columns: Columns | Arrays) -> list[bytes]:
    """The blobs of `BLOB_COLUMNS` from event columns by name."""
    return [encode(name, columns[name]) for name in BLOB_COLUMNS]


def encode_rows(rows: list) -> list[bytes]:
    """The blobs of `BLOB_COLUMNS` of stored event rows (`EVENT_NAMES` order)."""
    return encode_all(columns_of(rows, EVENT_NAMES))


def decode_all(blobs: list[bytes | None], n: int, names: list[str] | tuple[str, ...]) -> Arrays:
    """Typed columns of `names` back from their blobs."""
    return {name: decode(name, blob, n) for name, blob in zip(names, blobs, strict=True)}


def joined(histories: list[tuple[str, int, list[bytes | None]]],
           names: list[str] | tuple[str, ...], columns: tuple[str, ...]) -> Arrays:
    """Several accounts' events as typed `columns` (the account id and `names`), from each
    account's id, number of events and blobs of `names`."""
    decoded = [{s.ACCOUNT_ID: event_array(s.ACCOUNT_ID, [account_id] * n),
                **decode_all(blobs, n, names)} for account_id, n, blobs in histories]
    if len(decoded) == 1:
        return {name: decoded[0][name] for name in columns}
    return {name: np.concatenate([d[name] for d in decoded]) if decoded
            else event_array(name, []) for name in columns}
