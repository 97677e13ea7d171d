"""Online feature state: takes events one at a time (or in small batches) and answers the same
signals and account features as the batch pipeline over the same history.

The state is plain data: per-account event histories, account records, and the cross-account
reuse pairs (first time each account was seen on each device, IP and prefix). Scoring an account
gathers its history, the pairs of its keys and its device/payout/phone component, and runs the
batch `compute_features` on them, so both paths share one definition. Storage lives behind a
few primitives; `OnlineFeatureState` keeps them in memory, the serving store in SQLite.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import pandas as pd

from features import schema as s
from features.config import FeatureConfig
from features.pipeline import IDENTITY_COLUMNS, FeatureResult, compute_features
from features.reuse import (
    DEVICE,
    KEY,
    KIND,
    PAIR_COLUMNS,
    REUSE_KINDS,
    event_keys,
    pairs_frame,
    reuse_pairs,
)
from features.validate import clean_rows, validate_accounts, validate_events

EVENT_NAMES = s.names(s.EVENT_COLUMNS)
ACCOUNT_NAMES = [c.name for c in s.ACCOUNT_COLUMNS if c.name not in s.TRAINING_ONLY]


def _plain(value):
    """A JSON-safe scalar: timestamps as int ns, NaN/NA as None, numpy scalars as Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return int(value.as_unit("ns").value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def frame_to_records(df: pd.DataFrame, columns: list[str]) -> list[list]:
    """Rows of `df` as lists of JSON-safe values in `columns` order."""
    return [[_plain(v) for v in row] for row in df[columns].itertuples(index=False, name=None)]


def typed_events(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical events from plain columns (timestamps as int ns, missing values as None), as
    stored online and as Spark batches carry them."""
    out = df[EVENT_NAMES].copy()
    out[s.TS] = pd.to_datetime(out[s.TS].astype("int64"), unit="ns", utc=True)
    for col in (s.LAT, s.LON):
        out[col] = out[col].astype("float64")
    for col in (s.SUCCESS, s.INTERACTIVE, s.ANONYMIZER):
        out[col] = out[col].astype(bool)
    out[s.ASN] = out[s.ASN].astype("Int64")
    for col in (s.EVENT_ID, s.ACCOUNT_ID, s.IP, s.COUNTRY, s.DEVICE_ID, s.DEVICE_TZ,
                s.USER_AGENT, s.GEO_SOURCE):
        out[col] = out[col].astype("str")
    return out


def typed_accounts(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical account records (validated before) from plain columns, as `typed_events`."""
    out = df[ACCOUNT_NAMES].copy()
    out[s.CREATED_AT] = pd.to_datetime(out[s.CREATED_AT].astype("int64"), unit="ns", utc=True)
    for col in (s.CLAIMED_LAT, s.CLAIMED_LON):
        out[col] = out[col].astype("float64")
    for col in (s.ACCOUNT_ID, s.CLAIMED_COUNTRY, s.CLAIMED_TIMEZONE, s.PAYOUT_ID, s.PHONE_ID):
        out[col] = out[col].astype("str")
    return out


def warm_up() -> None:
    """Validate and featurise two made-up events now, so that a service's first request does not
    pay for loading the compiled kernels (about a second)."""
    events = pd.DataFrame({
        s.EVENT_ID: ["warm-1", "warm-2"], s.ACCOUNT_ID: ["warm", "warm"],
        s.TS: ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"], s.IP: ["192.0.2.1", "192.0.2.2"],
        s.LAT: [40.7, 31.2], s.LON: [-74.0, 121.5], s.DEVICE_ID: ["d", "d"],
        s.DEVICE_TZ: ["America/New_York", "Asia/Shanghai"]})
    clean, _ = validate_events(events, now=pd.Timestamp("2026-01-02", tz="UTC"))
    compute_features(clean)


class FeatureStore(ABC):
    """The online state over storage primitives; subclasses decide where the data lives."""

    def __init__(self, cfg: FeatureConfig = FeatureConfig()):
        self.cfg = cfg

    # -- storage primitives --------------------------------------------------------------
    @abstractmethod
    def known_event_ids(self, event_ids: list[str]) -> set[str]:
        """Which of these event ids are already stored."""

    @abstractmethod
    def put(self, events: list[list], pairs: pd.DataFrame) -> None:
        """Store new event rows and merge pairs (keeping the earliest first_ts), atomically."""

    @abstractmethod
    def history(self, account_id: str) -> list[list]:
        """Stored event rows of an account."""

    def histories(self, account_ids: list[str]) -> list[list]:
        """Stored event rows of these accounts (a store may fetch them in one go)."""
        return [row for account_id in account_ids for row in self.history(account_id)]

    @abstractmethod
    def pairs_for(self, kind: str, keys: list[str]) -> pd.DataFrame:
        """Stored pairs of the given kind and keys."""

    @abstractmethod
    def accounts_sharing(self, column: str, values: list[str]) -> list[str]:
        """Account ids whose `column` (payout_id or phone_id) is one of `values`."""

    @abstractmethod
    def account_rows(self, account_ids: list[str]) -> list[list]:
        """Stored account records (ACCOUNT_NAMES order) of these accounts."""

    @abstractmethod
    def put_account(self, row: list) -> None:
        """Insert or replace one account record."""

    @abstractmethod
    def watermark(self) -> int | None:
        """Latest event time stored (ns, UTC)."""

    # -- shared logic --------------------------------------------------------------------
    def upsert_account(self, record: dict) -> pd.DataFrame:
        """Validate and store one account record; returns it canonical."""
        df = validate_accounts(pd.DataFrame([record]))
        for col in ACCOUNT_NAMES:
            if col not in df:
                df[col] = None
        self.put_account(frame_to_records(df, ACCOUNT_NAMES)[0])
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
        kept = request[clean_rows(len(request), quarantine)]
        set_aside = request[quarantine[s.ROW].to_numpy()]
        quarantine[s.ROW] -= offsets[set_aside]
        by_batch = {i: q.reset_index(drop=True) for i, q in quarantine.groupby(set_aside)}
        known = self.known_event_ids(clean[s.EVENT_ID].unique().tolist())
        fresh = clean[~clean[s.EVENT_ID].isin(known) & ~clean[s.EVENT_ID].duplicated()]
        if not fresh.empty:
            self.put(frame_to_records(fresh, EVENT_NAMES), reuse_pairs(fresh))
        accounts = clean[s.ACCOUNT_ID].to_numpy(object)
        return [(sorted(set(accounts[kept == i])), by_batch.get(i, quarantine.iloc[:0]))
                for i in range(len(sizes))]

    def _component(self, account_ids: list[str],
                   rows: list[list]) -> tuple[set[str], pd.DataFrame]:
        """Accounts linked to `account_ids` (whose event `rows` are given) through devices,
        payout and phone ids, with the device pairs of all of them."""
        seen, frontier, device_pairs = set(account_ids), sorted(account_ids), []
        device_col = EVENT_NAMES.index(s.DEVICE_ID)
        while frontier:
            devices = {r[device_col] for r in rows} - {None}
            pairs = self.pairs_for(DEVICE, sorted(devices))
            device_pairs.append(pairs)
            linked = set(pairs[s.ACCOUNT_ID])
            records = pd.DataFrame(self.account_rows(frontier), columns=ACCOUNT_NAMES)
            for col in (s.PAYOUT_ID, s.PHONE_ID):
                values = sorted(v for v in records[col].dropna().unique())
                linked.update(self.accounts_sharing(col, values))
            frontier = sorted(linked - seen)
            seen.update(frontier)
            rows = self.histories(frontier)
        return seen, pd.concat(device_pairs, ignore_index=True)

    def features(self, account_id: str, as_of: pd.Timestamp | None = None) -> FeatureResult:
        """Signals and features of one account as of `as_of` (default: the latest stored event),
        computed by the batch pipeline on the stored state."""
        return self.features_of([account_id], as_of)

    def features_of(self, account_ids: list[str],
                    as_of: pd.Timestamp | None = None) -> FeatureResult:
        """`features` of several accounts in one run of the pipeline (one row per account, as
        computed one at a time: each account's inputs are complete in the union)."""
        rows = self.histories(account_ids)
        history = typed_events(pd.DataFrame(rows, columns=EVENT_NAMES))
        if as_of is None:
            mark = self.watermark()
            as_of = pd.Timestamp(mark, unit="ns", tz="UTC") if mark is not None else None
        if as_of is None:
            raise ValueError("no events stored yet, so there is no default as_of; pass one")
        component, device_pairs = self._component(account_ids, rows)
        keyed = [device_pairs]
        for kind, keys in event_keys(history).items():
            if kind != DEVICE:
                keyed.append(self.pairs_for(kind, sorted(set(keys.dropna()))))
        pairs = pd.concat(keyed, ignore_index=True).drop_duplicates([KIND, KEY, s.ACCOUNT_ID])
        records = typed_accounts(pd.DataFrame(self.account_rows(sorted(component)),
                                              columns=ACCOUNT_NAMES))
        own = records[records[s.ACCOUNT_ID].isin(account_ids)]
        return compute_features(history, own if len(own) else None, as_of, self.cfg,
                                pairs=pairs, identities=records[IDENTITY_COLUMNS])


class OnlineFeatureState(FeatureStore):
    """The online state in memory, as plain data (`to_dict` / `from_dict` for any store)."""

    def __init__(self, cfg: FeatureConfig = FeatureConfig()):
        super().__init__(cfg)
        self.events: dict[str, list[list]] = {}
        self.accounts: dict[str, list] = {}
        self.pairs: dict[str, dict[str, dict[str, int]]] = {k: {} for k in REUSE_KINDS}
        self._ids: set[str] = set()
        self._watermark: int | None = None

    def known_event_ids(self, event_ids: list[str]) -> set[str]:
        return self._ids.intersection(event_ids)

    def put(self, events: list[list], pairs: pd.DataFrame) -> None:
        id_col, acc_col = EVENT_NAMES.index(s.EVENT_ID), EVENT_NAMES.index(s.ACCOUNT_ID)
        ts_col = EVENT_NAMES.index(s.TS)
        for row in events:
            self.events.setdefault(row[acc_col], []).append(row)
            self._ids.add(row[id_col])
            self._watermark = max(row[ts_col], self._watermark or row[ts_col])
        for kind, key, acc, first in pairs[PAIR_COLUMNS].itertuples(index=False, name=None):
            seen = self.pairs[kind].setdefault(key, {})
            seen[acc] = min(int(first), seen.get(acc, int(first)))

    def history(self, account_id: str) -> list[list]:
        return self.events.get(account_id, [])

    def pairs_for(self, kind: str, keys: list[str]) -> pd.DataFrame:
        rows = [(kind, k, a, t) for k in keys for a, t in self.pairs[kind].get(k, {}).items()]
        return pairs_frame(rows)

    def accounts_sharing(self, column: str, values: list[str]) -> list[str]:
        col = ACCOUNT_NAMES.index(column)
        wanted = set(values)
        return [a for a, row in self.accounts.items() if row[col] in wanted]

    def account_rows(self, account_ids: list[str]) -> list[list]:
        return [self.accounts[a] for a in account_ids if a in self.accounts]

    def put_account(self, row: list) -> None:
        self.accounts[row[0]] = row

    def watermark(self) -> int | None:
        return self._watermark

    def to_dict(self) -> dict:
        """The whole state as JSON-safe plain data."""
        return {"events": self.events, "accounts": self.accounts, "pairs": self.pairs}

    @classmethod
    def from_dict(cls, data: dict, cfg: FeatureConfig = FeatureConfig()) -> OnlineFeatureState:
        """Rebuild a state from `to_dict` output."""
        state = cls(cfg)
        state.events, state.accounts, state.pairs = data["events"], data["accounts"], data["pairs"]
        id_col, ts_col = EVENT_NAMES.index(s.EVENT_ID), EVENT_NAMES.index(s.TS)
        state._ids = {r[id_col] for rows in state.events.values() for r in rows}
        state._watermark = max((r[ts_col] for rows in state.events.values() for r in rows),
                               default=None)
        return state
