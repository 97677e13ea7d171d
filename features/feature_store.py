"""The online store interface: `FeatureStore`, a few typed storage primitives over named,
versioned columns (`features.state_schema`), and the logic every store shares on top of them:
validating and storing events and records, walking the account graph, and features.

Scoring an account gathers its history, the pairs of its keys and its device/payout/phone
component, keeps what exists as of T (`features.point_in_time`), lays it out as arrays
(`features.stored_view`) and runs the batch pipeline's core, `account_features`, on them: one
definition, no pandas on the way. `features.memory_store` keeps the primitives in memory,
`serving.sqlite_store` in SQLite, `serving.redis_store` in Redis.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.parsing import quarantine_of
from persona_risk.features.pipeline import FeatureResult, account_features, features_frame
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.reuse import (
    DEVICE,
    IPADDR,
    PREFIX,
    event_pairs,
    first_pairs,
    reuse_keys,
    row_pairs,
)
from persona_risk.features.state_schema import SHARED_IDS
from persona_risk.features.stored_rows import (
    ACCOUNT_AT,
    ACCOUNT_NAMES,
    EVENT_NAMES,
    EVENT_POSITION,
    ID_AT,
    Arrays,
    Columns,
    frame_to_records,
)
from persona_risk.features.stored_view import VIEW_COLUMNS, KeyFirsts, StoredView, key_firsts
from persona_risk.features.travel import FASTEST_HOP_COLUMNS
from persona_risk.features.validate import (
    DUPLICATE_EVENT,
    clean_rows,
    validate_accounts,
    validate_events,
)

PAIR_INPUTS = (s.ACCOUNT_ID, s.TS, s.DEVICE_ID, s.IP, s.ASN, s.INTERACTIVE)  # `row_pairs` reads
_PAIR_AT = [EVENT_POSITION[c] for c in PAIR_INPUTS]  # where they sit in a stored event row


class FeatureStore(ABC):
    """The online state over storage primitives; subclasses decide where the data lives.

    Event rows come in as lists in `EVENT_NAMES` order (`features.stored_rows`) and go out as
    named typed arrays (`Arrays`); account records go in and out by column name. A store keeps
    its columns under `features.state_schema.CURRENT` and checks the stored layout on open.
    `cfg.allow` decides which pairs are stored (allowed infrastructure makes none): a state is
    built under one allow-list; after changing it, replay the events into a fresh state for
    counts equal to batch. The thresholds of `cfg` apply unless `features_of` is given others.
    """

    def __init__(self, cfg: FeatureConfig = FeatureConfig()):
        self.cfg = cfg

    # -- storage primitives --------------------------------------------------------------
    @abstractmethod
    def put(self, events: list[list], pairs: list[list[tuple]]) -> set[str]:
        """Store new event rows (`EVENT_NAMES` order, ids distinct) and merge the pairs of each
        event stored (`pairs[i]` those of `events[i]`: kind, key, account_id, time in ns;
        keeping the earliest time), atomically; returns the ids of the events stored. An event
        whose id is known (stored, or dropped by `drop_before`) is not stored, and its pairs
        are not merged."""

    @abstractmethod
    def histories(self, account_ids: list[str],
                  columns: tuple[str, ...] = tuple(EVENT_NAMES)) -> Arrays:
        """Stored events of these accounts as `columns` (of `EVENT_NAMES`), each its typed
        array (`features.stored_rows.event_array`), in one go."""

    @abstractmethod
    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        """Stored pairs (kind, key, account_id, first_ts) of the given kind and keys."""

    def pair_firsts(self, keys: dict[str, list[str]]) -> dict[str, KeyFirsts]:
        """By kind, the first times (ns, sorted) of the stored pairs of each of its keys
        (keys without pairs left out), in one go: what the reuse counts read. A store may keep
        them ready (`serving.sqlite_store`); by default they come from `pairs_for`."""
        return {kind: key_firsts(self.pairs_for(kind, asked)) for kind, asked in keys.items()}

    @abstractmethod
    def accounts_sharing(self, values: dict[str, list[str]]) -> list[str]:
        """Account ids (sorted, each once) whose record holds one of the given values in their
        column (columns of `SHARED_IDS`; any other is ignored), in one go."""

    @abstractmethod
    def account_rows(self, account_ids: list[str]) -> Columns:
        """Stored account records of these accounts as columns (every `ACCOUNT_NAMES`
        column), in one go."""

    def accounts_of(self, account_ids: list[str],
                    columns: tuple[str, ...]) -> tuple[Arrays, Columns]:
        """`histories` (`columns`) and `account_rows` of these accounts, in one go: a store may
        read both in one round trip (`serving.redis_store`)."""
        return self.histories(account_ids, columns), self.account_rows(account_ids)

    def links(self, devices: list[str], values: dict[str, list[str]]) -> tuple[list[tuple],
                                                                               list[str]]:
        """The stored pairs of these devices (`pairs_for`) and the accounts sharing these
        values (`accounts_sharing`), in one go: the next step of a walk of the account graph."""
        return (self.pairs_for(DEVICE, devices),
                self.accounts_sharing(values) if any(values.values()) else [])

    @abstractmethod
    def put_account(self, record: dict) -> None:
        """Insert or replace one account record (`ACCOUNT_NAMES` -> value; times in ns)."""

    @abstractmethod
    def watermark(self) -> int | None:
        """Latest event time stored (ns, UTC)."""

    @abstractmethod
    def drop_before(self, cutoff_ns: int, account_ids: list[str]) -> None:
        """Drop the stored events of these accounts before `cutoff_ns` and make their pairs
        again from the events left (`pairs_after_drop` of the events read in the same atomic
        step, so that an event stored meanwhile keeps its pairs). The ids of dropped events
        stay known: a later copy is ignored, as batch keeps the first copy."""

    # -- shared logic --------------------------------------------------------------------
    def history(self, account_id: str) -> Arrays:
        """Stored events of one account as typed arrays."""
        return self.histories([account_id])

    def upsert_account(self, record: dict) -> pd.DataFrame:
        """Validate and store one account record; returns it canonical."""
        df = validate_accounts(pd.DataFrame([record]))
        for col in ACCOUNT_NAMES:
            if col not in df:
                df[col] = None
        self.put_account(dict(zip(ACCOUNT_NAMES, frame_to_records(df, ACCOUNT_NAMES)[0],
                                  strict=True)))
        return df

    def add_events(self, events: pd.DataFrame,
                   now: pd.Timestamp | None = None) -> tuple[list[str], pd.DataFrame]:
        """Validate and store new events; returns the touched accounts and the quarantine.

        Events whose id is already stored are ignored (idempotent retries)."""
        return self.add_event_batches(events, [len(events)], now)[0]

    def add_event_batches(self, events: pd.DataFrame, sizes: list[int],
                          now: pd.Timestamp | None = None) -> list[tuple[list[str], pd.DataFrame]]:
        """`add_events` for several batches at once (concurrent requests), `events` holding
        them one after another (`sizes` rows each), with the results of adding them one after
        another: per batch the touched accounts and the quarantine (row numbers within the
        batch). Validation and storage run once for all of them."""
        request = np.repeat(np.arange(len(sizes)), sizes)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        clean, quarantine = validate_events(events, now=now, groups=request)
        kept = clean_rows(len(request), quarantine)
        stored = self._store(frame_to_records(clean, EVENT_NAMES), request[kept], len(sizes))
        refused = kept[[i for _, rows in stored for i in rows]]
        quarantine = with_repeats(quarantine, refused, events)
        batch = request[quarantine[s.ROW].to_numpy()]
        quarantine[s.ROW] -= offsets[batch]
        by_batch = {i: q.reset_index(drop=True) for i, q in quarantine.groupby(batch)}
        return [(accounts, by_batch.get(i, quarantine.iloc[:0]))
                for i, (accounts, _) in enumerate(stored)]

    def add_rows(self, rows: list[list], sizes: list[int]) -> list[tuple[list[str], list[int]]]:
        """Store clean event rows (`clean_records`) of several requests, one after another
        (`sizes` rows each), with the results of storing them one after another: each request's
        accounts and the positions (among its rows) of the rows refused as repeats of an
        event stored for another account (`_store`)."""
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        stored = self._store(rows, np.repeat(np.arange(len(sizes)), sizes), len(sizes))
        return [(accounts, [i - int(offsets[b]) for i in refused])
                for b, (accounts, refused) in enumerate(stored)]

    def _store(self, rows: list[list], batch: np.ndarray,
               n_batches: int) -> list[tuple[list[str], list[int]]]:
        """Store the clean event `rows` (of batch `batch[i]` each) whose id is new (the first
        copy of a repeated one); returns each batch's accounts and the positions (in `rows`) of
        its rows refused: an id stored already for an event that is not one of the row's
        account (another account's, or one the retention window dropped), whose first copy is
        kept, as batch keeps it. A repeat of one of the account's own events (a retry) is
        silent and its account scored."""
        fresh, taken, repeats = [], set(), []
        for i, r in enumerate(rows):
            if r[ID_AT] in taken:
                repeats.append(i)
            else:
                taken.add(r[ID_AT])
                fresh.append(i)
        if fresh:
            stored = self.put([rows[i] for i in fresh], event_pairs(
                [tuple(rows[i][k] for k in _PAIR_AT) for i in fresh], self.cfg.allow))
            repeats = sorted([*repeats, *(i for i in fresh if rows[i][ID_AT] not in stored)])
            if self.cfg.retention_days is not None:  # before the repeats are told apart
                self._compact(sorted({rows[i][ACCOUNT_AT] for i in fresh}))
        refused = self._not_their_own(rows, repeats)
        out: list[tuple[set[str], list[int]]] = [(set(), []) for _ in range(n_batches)]
        for i, (r, b) in enumerate(zip(rows, batch, strict=True)):
            if i in refused:
                out[b][1].append(i)
            else:
                out[b][0].add(r[ACCOUNT_AT])
        return [(sorted(accounts), refused_rows) for accounts, refused_rows in out]

    def _not_their_own(self, rows: list[list], repeats: list[int]) -> set[int]:
        """Which of the `repeats` (positions in `rows` of ids stored already) are not among
        their account's stored events."""
        if not repeats:
            return set()
        held = self.histories(sorted({rows[i][ACCOUNT_AT] for i in repeats}),
                              (s.ACCOUNT_ID, s.EVENT_ID))
        own = set(zip(held[s.ACCOUNT_ID].tolist(), held[s.EVENT_ID].tolist(), strict=True))
        return {i for i in repeats if (rows[i][ACCOUNT_AT], rows[i][ID_AT]) not in own}

    def _compact(self, account_ids: list[str]) -> None:
        """Drop the events of these accounts older than the retention window behind the latest
        stored event, and make their pairs again from the events left."""
        cutoff = AsOf.of(self.watermark(), self.cfg.retention_days).since_ns
        events = self.histories(account_ids, (s.ACCOUNT_ID, s.TS))
        old = sorted(set(events[s.ACCOUNT_ID][events[s.TS] < cutoff]))
        if old:
            self.drop_before(cutoff, old)

    def pairs_after_drop(self, events: Arrays, cutoff_ns: int) -> tuple[list[tuple], list[tuple]]:
        """For `drop_before`: the pairs (kind, key, account_id) that `events` (the stored
        events of the accounts being compacted, `PAIR_INPUTS` at least) make, to remove, and
        the pairs (with their first time) of those at or after `cutoff_ns`, to merge again."""
        each = event_pairs(list(zip(*(events[name] for name in PAIR_INPUTS), strict=True)),
                           self.cfg.allow)
        left = (events[s.TS] >= cutoff_ns).tolist()
        return ([pair[:3] for pair in first_pairs(each)],
                first_pairs([own for own, keep in zip(each, left, strict=True) if keep]))

    def _window_pairs(self, pairs: dict[str, list[tuple]], at: AsOf) -> dict[str, list[tuple]]:
        """The stored pairs as they exist in the retention window of `at`: a pair first seen
        before the window is made again from its account's events in the window, or dropped
        when none has its key."""
        since = at.since_ns
        stale = {kind: [p for p in rows if p[3] < since] for kind, rows in pairs.items()} \
            if since is not None else {}
        if not any(stale.values()):
            return pairs
        accounts = sorted({p[2] for rows in stale.values() for p in rows})
        events = self.histories(accounts, PAIR_INPUTS)
        happened = at.happened(events[s.TS])
        seen = list(zip(*(events[name][happened] for name in PAIR_INPUTS), strict=True))
        again = {pair[:3]: pair[3] for pair in row_pairs(seen, self.cfg.allow)}
        return {kind: [p for p in stored if p[3] >= since] + [
            (*p[:3], again[p[:3]]) for p in stale[kind] if p[:3] in again]
            for kind, stored in pairs.items()}


    def _component(self, account_ids: list[str],
                   columns: tuple[str, ...]) -> tuple[Arrays, Columns, list[tuple]]:
        """The stored events (`columns`) of `account_ids`; the records of the accounts linked
        to them through devices and `SHARED_IDS` at any time (allowed devices link no one),
        theirs included; and the device pairs of all of them."""
        seen, device_pairs, read = set(account_ids), [], []
        allowed = self.cfg.allow.allowed_devices() | {None}
        events, records = self.accounts_of(sorted(seen), columns)
        theirs = events
        while True:
            read.append(records)
            pairs, sharing = self.links(
                sorted(set(events[s.DEVICE_ID]) - allowed),
                {col: sorted(set(records[col]) - {None}) for col in SHARED_IDS})
            device_pairs += pairs
            frontier = sorted(({account for _, _, account, _ in pairs} | set(sharing)) - seen)
            if not frontier:
                break
            seen.update(frontier)
            events, records = self.accounts_of(frontier, (s.DEVICE_ID,))  # the walk needs no more
        return theirs, {name: [v for records in read for v in records[name]]
                        for name in ACCOUNT_NAMES}, device_pairs

    def features(self, account_id: str, as_of: pd.Timestamp | None = None) -> FeatureResult:
        """Features of one account as of `as_of` (default: the latest stored event)."""
        return self.features_of([account_id], as_of)

    def features_of(self, account_ids: list[str], as_of: pd.Timestamp | None = None,
                    cfg: FeatureConfig | None = None) -> FeatureResult:
        """Account features (no event signals) of these accounts that exist as of `as_of`
        (default: the latest stored event), one row each, computed together by the batch
        pipeline's core on the stored history, records and pairs, with the thresholds of `cfg`
        (default: the store's; the allow-list is always the store's)."""
        return FeatureResult(pd.DataFrame(), self.feature_rows(account_ids, as_of, cfg).frame())

    def feature_rows(self, account_ids: list[str], as_of: pd.Timestamp | int | None = None,
                     cfg: FeatureConfig | None = None) -> FeatureRows:
        """`features_of` as arrays, without building a table (the online service's path)."""
        cfg = self.cfg if cfg is None else dataclasses.replace(cfg, allow=self.cfg.allow)
        if as_of is None:
            as_of = self.watermark()
            if as_of is None:
                raise ValueError("no events stored yet, so there is no default as_of; pass one")
        at = AsOf.of(as_of, cfg.retention_days)
        events, records, device_pairs = self._component(account_ids, VIEW_COLUMNS)
        view = StoredView(at, account_ids, events, records)
        if not len(view.account_ids):
            return FeatureRows(view.account_ids, at, {
                name: np.empty(0) for name in (*FEATURE_NAMES, *FASTEST_HOP_COLUMNS)})
        keys = reuse_keys(view.ev, cfg.allow)
        counted = {kind: keys[kind].used().tolist() for kind in (IPADDR, PREFIX)}
        if at.since_ns is None:
            firsts = {DEVICE: key_firsts(device_pairs), **self.pair_firsts(counted)}
        else:  # pairs first seen before the window are made again from the events in it
            pairs = self._window_pairs({DEVICE: device_pairs, **{
                kind: self.pairs_for(kind, keys) for kind, keys in counted.items()}}, at)
            device_pairs = pairs[DEVICE]
            firsts = {kind: key_firsts(rows) for kind, rows in pairs.items()}
        _, feats = account_features(view.ev, view.records,
                                    lambda ev: view.cross(keys, firsts, device_pairs),
                                    at.ns, cfg, with_signals=False)
        return FeatureRows(view.account_ids, at, feats)


@dataclass(frozen=True)
class FeatureRows:
    """Account features as arrays: the account ids (sorted), the time T they are computed at,
    and each feature of `features_frame` by name, one value per account."""

    account_ids: np.ndarray
    at: AsOf
    features: dict[str, np.ndarray]

    def frame(self) -> pd.DataFrame:
        """The account feature table (`features.pipeline.features_frame`)."""
        return features_frame(self.account_ids, self.at.at, self.features)


def with_repeats(quarantine: pd.DataFrame, rows: np.ndarray,
                 events: pd.DataFrame | None = None) -> pd.DataFrame:
    """`quarantine` with the input `rows` refused as repeats of a stored event (`_store`),
    each with the reason batch gives a repeated id (and its input values as text when the
    input `events` are given), in row order."""
    if not len(rows):
        return quarantine
    raw = events.reset_index(drop=True) if events is not None else pd.DataFrame(
        index=range(max(rows) + 1))
    extra = quarantine_of(raw, rows, DUPLICATE_EVENT)
    return pd.concat([quarantine, extra], ignore_index=True).sort_values(
        s.ROW, kind="stable").reset_index(drop=True)
