"""The online feature state in memory, as plain data: per-account event columns, account
records by column name, and the cross-account reuse pairs (first time each account was seen on
each device, IP and prefix). `to_dict` / `from_dict` carry the schema layout with them
(`features.state_schema`), so a saved state is migrated or refused like a stored one.

Beside the plain data it keeps what reads need fast: each account's columns as typed arrays
(made on the first read after its events change) and the accounts of each payout and phone id.
One thread at a time: the service keeps its state in SQLite or Redis, and uses this class only
for a request's scratch state."""

from __future__ import annotations

import numpy as np

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.feature_store import PAIR_INPUTS, FeatureStore
from persona_risk.features.reuse import REUSE_KINDS, first_pairs
from persona_risk.features.state_schema import CURRENT, SHARED_IDS, StateLayout, migration
from persona_risk.features.stored_rows import (
    ACCOUNT_AT,
    ACCOUNT_NAMES,
    EVENT_NAMES,
    ID_AT,
    TS_AT,
    Arrays,
    Columns,
    event_array,
)


class OnlineFeatureState(FeatureStore):
    """The online state in memory (`to_dict` / `from_dict` for any store)."""

    def __init__(self, cfg: FeatureConfig = FeatureConfig()):
        super().__init__(cfg)
        self.events: dict[str, Columns] = {}
        self.accounts: dict[str, dict] = {}
        self.pairs: dict[str, dict[str, dict[str, int]]] = {k: {} for k in REUSE_KINDS}
        self._ids: set[str] = set()
        self._watermark: int | None = None
        self._typed: dict[str, Arrays] = {}  # account -> its columns as typed arrays
        self._sharing: dict[str, dict[str, set[str]]] = {c: {} for c in SHARED_IDS}

    def put(self, events: list[list], pairs: list[list[tuple]]) -> set[str]:
        stored, ids = [], set()
        for row, own in zip(events, pairs, strict=True):
            if row[ID_AT] in self._ids:
                continue
            stored.append(own)
            ids.add(row[ID_AT])
            columns = self.events.setdefault(row[ACCOUNT_AT], {name: [] for name in EVENT_NAMES})
            for name, value in zip(EVENT_NAMES, row, strict=True):
                columns[name].append(value)
            self._ids.add(row[ID_AT])
            self._typed.pop(row[ACCOUNT_AT], None)
            self._watermark = max(row[TS_AT], self._watermark or row[TS_AT])
        self._merge(first_pairs(stored))
        return ids

    def _merge(self, pairs: list[tuple]) -> None:
        for kind, key, acc, first in pairs:
            seen = self.pairs[kind].setdefault(key, {})
            seen[acc] = min(int(first), seen.get(acc, int(first)))

    def drop_before(self, cutoff_ns: int, account_ids: list[str]) -> None:
        stale, pairs = self.pairs_after_drop(self.histories(account_ids, PAIR_INPUTS), cutoff_ns)
        for account_id in account_ids:
            columns = self.events[account_id]
            keep = [t >= cutoff_ns for t in columns[s.TS]]
            self.events[account_id] = {name: [v for v, k in zip(values, keep, strict=True) if k]
                                       for name, values in columns.items()}
            self._typed.pop(account_id, None)
        for kind, key, acc in stale:
            seen = self.pairs[kind].get(key, {})
            seen.pop(acc, None)
            if not seen:
                self.pairs[kind].pop(key, None)
        self._merge(pairs)

    def histories(self, account_ids: list[str],
                  columns: tuple[str, ...] = tuple(EVENT_NAMES)) -> Arrays:
        mine = [self._arrays(a) for a in account_ids if a in self.events]
        return {name: np.concatenate([typed[name] for typed in mine]) if mine
                else event_array(name, []) for name in columns}

    def _arrays(self, account_id: str) -> Arrays:
        """The account's stored columns as typed arrays, made once until its events change."""
        if account_id not in self._typed:
            self._typed[account_id] = {name: event_array(name, values)
                                       for name, values in self.events[account_id].items()}
        return self._typed[account_id]

    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        return [(kind, k, a, t) for k in keys for a, t in self.pairs[kind].get(k, {}).items()]

    def accounts_sharing(self, values: dict[str, list[str]]) -> list[str]:
        return sorted({a for column, asked in values.items() if column in SHARED_IDS
                       for v in asked for a in self._sharing[column].get(v, ())})

    def account_rows(self, account_ids: list[str]) -> Columns:
        mine = [self.accounts[a] for a in account_ids if a in self.accounts]
        return {name: [record[name] for record in mine] for name in ACCOUNT_NAMES}

    def put_account(self, record: dict) -> None:
        account_id = record[s.ACCOUNT_ID]
        old = self.accounts.get(account_id, {})
        for column, by_value in self._sharing.items():
            if old.get(column) is not None:
                by_value[old[column]].discard(account_id)
            if record.get(column) is not None:
                by_value.setdefault(record[column], set()).add(account_id)
        self.accounts[account_id] = dict(record)

    def watermark(self) -> int | None:
        return self._watermark

    def to_dict(self) -> dict:
        """The whole state as JSON-safe plain data, with its schema layout (the state's own
        lists and dicts, not copies: serialise it, do not change it)."""
        return {"layout": CURRENT.to_json(), "events": self.events, "accounts": self.accounts,
                "pairs": self.pairs}

    @classmethod
    def from_dict(cls, data: dict, cfg: FeatureConfig = FeatureConfig()) -> OnlineFeatureState:
        """Rebuild a state from `to_dict` output (of this layout or an older one that only
        lacks optional columns; `StateVersionError` otherwise)."""
        found = StateLayout.from_json(data["layout"]) if "layout" in data else None
        added = migration(found, "the given state")
        state = cls(cfg)
        # copies: a state taken from another's `to_dict` must not write into its lists
        state.events = {a: {name: list(values) for name, values in columns.items()}
                        for a, columns in data["events"].items()}
        state.pairs = {kind: {key: dict(seen) for key, seen in by_key.items()}
                       for kind, by_key in data["pairs"].items()}
        for columns in state.events.values():
            n = len(columns[s.TS])
            columns.update({name: [None] * n for name in added.events})
        for record in data["accounts"].values():
            state.put_account({**dict.fromkeys(added.accounts), **record})
        state._ids = {i for columns in state.events.values() for i in columns[s.EVENT_ID]}
        state._watermark = max((t for columns in state.events.values() for t in columns[s.TS]),
                               default=None)
        return state
