"""What of an online store's columns exists as of T, laid out as the pipeline core's arrays:
the events and records of the asked accounts, the records of their component (for payout,
phone and clusters) and the cross-account signals from the stored pairs."""

from __future__ import annotations

from itertools import compress
from operator import itemgetter

import numpy as np

from persona_risk.features import schema as s
from persona_risk.features.arrays import KEY_COLUMNS, Keys, lay_out
from persona_risk.features.pipeline import Records
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reuse import (
    CLUSTER_SIZE,
    REUSE_COUNT,
    SHARED_ID_COUNT,
    component_sizes,
    counts_at,
)
from persona_risk.features.state_schema import SHARED_IDS
from persona_risk.features.stored_rows import Arrays, Columns

KeyFirsts = dict[str, np.ndarray]  # key -> first times (ns, sorted) of its stored pairs
_NONE = np.empty(0, np.int64)
_FLOATS = (s.LAT, s.LON, s.ASN)
_FLAGS = (s.SUCCESS, s.INTERACTIVE, s.ANONYMIZER)
# the stored event columns a view reads
VIEW_COLUMNS = (s.EVENT_ID, s.ACCOUNT_ID, s.TS, *KEY_COLUMNS, *_FLOATS, *_FLAGS)


class StoredView:
    """The stored `events` (typed arrays, `VIEW_COLUMNS` at least) of the asked accounts and
    the `records` (columns) of their component, as of `at`."""

    def __init__(self, at: AsOf, asked: list[str], events: Arrays, records: Columns):
        self.at = at
        happened = at.happened(events[s.TS])
        every = happened.all()
        col = {name: values if every else values[happened]
               for name, values in events.items() if name in VIEW_COLUMNS}
        known = np.flatnonzero(at.keeps(np.asarray(records[s.CREATED_AT], dtype=np.int64)))
        # records of the component that exist as of T
        self.known = {name: np.asarray(values, dtype=object)[known]
                      for name, values in records.items()}
        rec = self.known
        self.account_ids = np.array(sorted(set(col[s.ACCOUNT_ID]) | (
            set(rec[s.ACCOUNT_ID]) & set(asked))), dtype=object)
        number = {a: i for i, a in enumerate(self.account_ids)}
        self.ev = lay_out(
            np.fromiter(map(number.__getitem__, col[s.ACCOUNT_ID]), np.int64,
                        len(col[s.ACCOUNT_ID])),
            col[s.TS], col[s.EVENT_ID],
            {name: Keys.of_values(col[name]) for name in KEY_COLUMNS},
            {name: col[name] for name in _FLOATS}, {name: col[name] for name in _FLAGS},
            self.account_ids)
        own = np.array([number.get(a, -1) for a in rec[s.ACCOUNT_ID]], dtype=np.int64)
        mine = own >= 0

        def aligned(values: np.ndarray, missing) -> np.ndarray:
            out = np.full(len(self.account_ids), missing, dtype=object)
            out[own[mine]] = values[mine]
            return out

        self.records = Records(
            aligned(rec[s.CREATED_AT], np.nan).astype(float),
            aligned(rec[s.CLAIMED_TIMEZONE], None),
            aligned(rec[s.CLAIMED_LAT], np.nan).astype(float),
            aligned(rec[s.CLAIMED_LON], np.nan).astype(float))

    def cross(self, keys: dict[str, Keys], firsts: dict[str, KeyFirsts],
              device_pairs: list[tuple]) -> tuple[dict, dict]:
        """The cross-account signals: the reuse counts of the events' keys (by kind, as
        `features.reuse.reuse_keys` gives them) from the first times of the stored pairs of
        each key (`firsts`), and the component's payout, phone and cluster sizes from its known
        records and the stored device pairs that exist as of T."""
        ev, counts = self.ev, {}
        for kind, of_kind in keys.items():
            of_key = firsts[kind]
            times = [of_key.get(key, _NONE) for key in of_kind.values.tolist()]
            pair_codes = np.repeat(np.arange(len(times)), [len(t) for t in times])
            counts[REUSE_COUNT[kind]] = counts_at(
                of_kind.codes, ev.ts_ns, pair_codes, np.concatenate([_NONE, *times]),
                len(of_kind.values))
        shared = {SHARED_ID_COUNT[col]: self._sharing(col) for col in SHARED_IDS}
        shared[CLUSTER_SIZE] = self._clusters(first_times(device_pairs, self.at))
        return counts, shared

    def _sharing(self, column: str) -> np.ndarray:
        """Known records sharing each asked account's `column` value, itself included."""
        ids, values = self.known[s.ACCOUNT_ID], self.known[column]
        counts: dict[str, int] = {}
        for v in values:
            if v is not None:
                counts[v] = counts.get(v, 0) + 1
        value_of = {a: v for a, v in zip(ids, values, strict=True) if v is not None}
        return np.array([counts[value_of[a]] if a in value_of else np.nan
                         for a in self.account_ids], dtype=float)

    def _clusters(self, device_firsts: dict[tuple, int]) -> np.ndarray:
        """`features.reuse.cluster_sizes` on the component's links that exist as of T."""
        links = [(account, "d:" + key) for key, account in device_firsts]
        for column in SHARED_IDS:
            links += [(a, column[:3] + ":" + v) for a, v in zip(
                self.known[s.ACCOUNT_ID], self.known[column], strict=True) if v is not None]
        nodes = {a: i for i, a in enumerate(self.account_ids)}
        for account, _ in links:
            nodes.setdefault(account, len(nodes))
        keys: dict[str, int] = {}
        for _, key in links:
            keys.setdefault(key, len(nodes) + len(keys))
        left = np.array([nodes[a] for a, _ in links], dtype=np.int64)
        right = np.array([keys[k] for _, k in links], dtype=np.int64)
        size = component_sizes(len(nodes), len(nodes) + len(keys), left, right)
        return size[:len(self.account_ids)].astype(float)


def key_firsts(rows: list[tuple]) -> KeyFirsts:
    """The first times (ns, sorted) of stored pair rows (kind, key, account_id, first_ts) of
    each key, a pair read twice counted once. Counting needs no cut at T: an event that exists
    as of T counts only the pairs at or before it."""
    by_key: dict[str, dict[str, int]] = {}
    for _, key, account, first in rows:
        by_key.setdefault(key, {})[account] = first
    return {key: sorted_firsts(seen) for key, seen in by_key.items()}


def sorted_firsts(seen: dict[str, int]) -> np.ndarray:
    """The first times (ns) of one key's pairs (account -> first time), sorted."""
    return np.sort(np.fromiter(seen.values(), np.int64, len(seen)))


def first_times(rows: list[tuple], at: AsOf) -> dict[tuple, int]:
    """(key, account) -> first time of stored pair rows (kind, key, account, first_ts) that
    exist as of T (a pair read twice is kept once)."""
    if not rows:
        return {}
    firsts = np.fromiter(map(itemgetter(3), rows), np.int64, len(rows))
    kept = at.keeps(firsts).tolist()  # T read once, not once a pair
    return dict(compress(zip(map(itemgetter(1, 2), rows), firsts.tolist(), strict=True), kept))
