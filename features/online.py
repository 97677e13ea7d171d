"""Online feature state: takes events one at a time (or in small batches) and answers the same
account features as the batch pipeline over the same history.

The state is plain data: per-account event histories, account records, and the cross-account
reuse pairs (first time each account was seen on each device, IP and prefix). Scoring an account
gathers its history, the pairs of its keys and its device/payout/phone component, keeps what
exists as of T (`features.point_in_time`), lays it out as arrays and runs the batch pipeline's
core, `account_features`, on them: one definition, no pandas on the way. Storage lives behind a
few primitives; `OnlineFeatureState` keeps them in memory, the serving stores in SQLite and
Redis."""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList
from persona_risk.features.arrays import KEY_COLUMNS, Keys, lay_out
from persona_risk.features.checks import country_codes, is_ip
from persona_risk.features.config import FeatureConfig
from persona_risk.features.pipeline import (
    FeatureResult,
    Records,
    account_features,
    compute_features,
    features_frame,
)
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.reuse import (
    DEVICE,
    IPADDR,
    PREFIX,
    REUSE_COUNT,
    REUSE_KINDS,
    component_sizes,
    counts_at,
    reuse_keys,
    row_pairs,
)
from persona_risk.features.travel import FASTEST_HOP_COLUMNS
from persona_risk.features.validate import (
    FUTURE_TOLERANCE,
    MAX_ID_CHARS,
    clean_rows,
    known_timezones,
    validate_accounts,
    validate_events,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_NAMES = s.names(s.EVENT_COLUMNS)
ACCOUNT_NAMES = [c.name for c in s.ACCOUNT_COLUMNS if c.name not in s.TRAINING_ONLY]
_ID, _ACCOUNT, _TS, _DEVICE, _IP, _ASN = (EVENT_NAMES.index(c) for c in (
    s.EVENT_ID, s.ACCOUNT_ID, s.TS, s.DEVICE_ID, s.IP, s.ASN))


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


NO_QUARANTINE = pd.DataFrame({s.ROW: pd.Series(dtype="int64"), s.REASON: pd.Series(dtype="str")})
_BOOLS = tuple(s.BOOL_DEFAULTS.items())
_TEXT = (s.IP, s.COUNTRY, s.DEVICE_ID, s.DEVICE_TZ, s.USER_AGENT)


def _canonical(event: dict, limit_ns: int) -> list | None:
    """The stored row of one event that `validate_events` would keep exactly as given (printable
    ASCII text of at most `MAX_ID_CHARS` without surrounding blanks, a readable IP, an assigned
    country code, a known zone, both coordinates or none, in range, not in the future); None
    for any other event, which the batch validator then decides on."""
    text = {col: event.get(col) for col in (s.EVENT_ID, s.ACCOUNT_ID, *_TEXT)}
    if any(v is not None and (not isinstance(v, str) or not v or v != v.strip()
                              or not (v.isascii() and v.isprintable())
                              or len(v) > MAX_ID_CHARS)
           for v in text.values()) or text[s.EVENT_ID] is None or text[s.ACCOUNT_ID] is None:
        return None
    country, zone, ip = text[s.COUNTRY], text[s.DEVICE_TZ], text[s.IP]
    if country is not None and country not in country_codes():
        return None
    if ip is not None and not is_ip(ip):
        return None
    if zone is not None and zone not in known_timezones():
        return None
    ts = event.get(s.TS)
    if not isinstance(ts, datetime):
        return None
    since = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)) - EPOCH  # exact, any year
    ts_ns = (since.days * 86_400 + since.seconds) * 10**9 + since.microseconds * 1_000
    if ts_ns < 0:  # before 1970: the batch validator says why
        return None
    lat, lon, asn = event.get(s.LAT), event.get(s.LON), event.get(s.ASN)
    if ts_ns > limit_ns or (lat is None) != (lon is None) or (lat is not None and not (
            isinstance(lat, float) and isinstance(lon, float) and abs(lat) <= 90
            and abs(lon) <= 180)):
        return None
    if asn is not None and not (type(asn) is int and 0 <= asn < 2**53):
        return None
    flags = {col: event.get(col) for col, _ in _BOOLS}
    if any(v is not None and not isinstance(v, bool) for v in flags.values()):
        return None
    values = {**text, s.TS: ts_ns, s.LAT: lat, s.LON: lon, s.ASN: asn,
              s.GEO_SOURCE: None if lat is None else "log",
              **{col: default if flags[col] is None else flags[col] for col, default in _BOOLS}}
    return [values[name] for name in EVENT_NAMES]


def canonical_rows(events: list[dict], now: pd.Timestamp | None = None) -> list[list] | None:
    """Stored rows of events given as dicts (as the request model dumps them), when
    `validate_events` would keep every one of them as it is (no repeated id); None otherwise,
    for the batch validator to decide. No table is built."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now
    limit_ns = int((now + FUTURE_TOLERANCE).as_unit("ns").value)
    if any(s.GEO_SOURCE in e for e in events):
        return None
    rows = [_canonical(e, limit_ns) for e in events]
    if any(r is None for r in rows) or len({r[_ID] for r in rows}) < len(rows):
        return None
    return rows


def clean_records(events: list[dict], now: pd.Timestamp | None = None
                  ) -> tuple[list[list], pd.DataFrame]:
    """One request's events (dicts, as the request model dumps them) as stored rows, with the
    rows set aside and why: an all-canonical request (`canonical_rows`) without building a
    table, any other through the batch validator."""
    rows = canonical_rows(events, now)
    if rows is not None:
        return rows, NO_QUARANTINE
    clean, quarantine = validate_events(pd.DataFrame(events), now=now)
    return frame_to_records(clean, EVENT_NAMES), quarantine


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
    """The online state over storage primitives; subclasses decide where the data lives.

    `cfg.allow` decides which pairs are stored (allowed infrastructure makes none): a state is
    built under one allow-list; after changing it, replay the events into a fresh state for
    counts equal to batch. The thresholds of `cfg` apply unless `features_of` is given others.
    """

    def __init__(self, cfg: FeatureConfig = FeatureConfig()):
        self.cfg = cfg

    # -- storage primitives --------------------------------------------------------------
    @abstractmethod
    def known_event_ids(self, event_ids: list[str]) -> set[str]:
        """Which of these event ids are already stored."""

    @abstractmethod
    def put(self, events: list[list], pairs: list[tuple]) -> None:
        """Store new event rows and merge pairs (kind, key, account_id, first_ts; keeping the
        earliest first_ts), atomically."""

    @abstractmethod
    def history(self, account_id: str) -> list[list]:
        """Stored event rows of an account."""

    def histories(self, account_ids: list[str]) -> list[list]:
        """Stored event rows of these accounts (a store may fetch them in one go)."""
        return [row for account_id in account_ids for row in self.history(account_id)]

    @abstractmethod
    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        """Stored pairs (kind, key, account_id, first_ts) of the given kind and keys."""

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
        touched = self._store(frame_to_records(clean, EVENT_NAMES), kept, len(sizes))
        return [(accounts, by_batch.get(i, quarantine.iloc[:0]))
                for i, accounts in enumerate(touched)]

    def add_rows(self, rows: list[list], sizes: list[int]) -> list[list[str]]:
        """Store clean event rows (`clean_records`) of several requests, one after another
        (`sizes` rows each), with the results of storing them one after another: each request's
        accounts."""
        return self._store(rows, np.repeat(np.arange(len(sizes)), sizes), len(sizes))

    def _store(self, rows: list[list], batch: np.ndarray, n_batches: int) -> list[list[str]]:
        """Store the clean event `rows` (of batch `batch[i]` each) whose id is new (the first
        copy of a repeated one); returns each batch's accounts."""
        known = self.known_event_ids(sorted({r[_ID] for r in rows}))
        fresh, taken = [], set(known)
        for r in rows:
            if r[_ID] not in taken:
                taken.add(r[_ID])
                fresh.append(r)
        if fresh:
            self.put(fresh, row_pairs([(r[_ACCOUNT], r[_TS], r[_DEVICE], r[_IP], r[_ASN])
                                       for r in fresh], self.cfg.allow))
        accounts: list[set[str]] = [set() for _ in range(n_batches)]
        for r, i in zip(rows, batch, strict=True):
            accounts[i].add(r[_ACCOUNT])
        return [sorted(a) for a in accounts]

    def _component(self, account_ids: list[str],
                   rows: list[list]) -> tuple[set[str], list[tuple]]:
        """Accounts linked to `account_ids` (whose event `rows` are given) through devices,
        payout and phone ids at any time (allowed devices link no one), with the device pairs
        of all of them."""
        seen, frontier, device_pairs = set(account_ids), sorted(account_ids), []
        allowed = self.cfg.allow.allowed_devices() | {None}
        while frontier:
            pairs = self.pairs_for(DEVICE, sorted({r[_DEVICE] for r in rows} - allowed))
            device_pairs += pairs
            linked = {account for _, _, account, _ in pairs}
            records = self.account_rows(frontier)
            for col in (s.PAYOUT_ID, s.PHONE_ID):
                values = sorted({r[ACCOUNT_NAMES.index(col)] for r in records} - {None})
                if values:
                    linked.update(self.accounts_sharing(col, values))
            frontier = sorted(linked - seen)
            seen.update(frontier)
            rows = self.histories(frontier)
        return seen, device_pairs

    def features(self, account_id: str, as_of: pd.Timestamp | None = None) -> FeatureResult:
        """Features of one account as of `as_of` (default: the latest stored event)."""
        return self.features_of([account_id], as_of)

    def features_of(self, account_ids: list[str], as_of: pd.Timestamp | None = None,
                    cfg: FeatureConfig | None = None) -> FeatureResult:
        """Account features (no event signals) of these accounts that exist as of `as_of`
        (default: the latest stored event), one row each, computed together by the batch
        pipeline's core on the stored history, records and pairs, with the thresholds of `cfg`
        (default: the store's; the allow-list is always the store's)."""
        cfg = self.cfg if cfg is None else dataclasses.replace(cfg, allow=self.cfg.allow)
        if as_of is None:
            mark = self.watermark()
            if mark is None:
                raise ValueError("no events stored yet, so there is no default as_of; pass one")
            as_of = mark
        at = AsOf.of(as_of)
        rows = self.histories(account_ids)
        component, device_pairs = self._component(account_ids, rows)
        view = _StoredView(at, account_ids, rows, self.account_rows(sorted(component)))
        if not len(view.account_ids):
            return FeatureResult(pd.DataFrame(), features_frame(view.account_ids, at.at, {
                name: np.empty(0) for name in (*FEATURE_NAMES, *FASTEST_HOP_COLUMNS)}))
        pairs = {DEVICE: device_pairs}
        for kind, keys in ((IPADDR, view.ev.ip), (PREFIX, view.ev.prefix)):
            pairs[kind] = self.pairs_for(kind, keys.values.tolist())
        _, feats = account_features(view.ev, view.records,
                                    lambda ev: view.cross(pairs, cfg.allow), at.ns, cfg,
                                    with_signals=False)
        return FeatureResult(pd.DataFrame(), features_frame(view.account_ids, at.at, feats))


class _StoredView:
    """What of stored rows exists as of T, as the core's arrays: the events and records of the
    asked accounts, and the records of their component (for payout, phone and clusters)."""

    def __init__(self, at: AsOf, asked: list[str], rows: list[list], records: list[list]):
        self.at = at
        events = np.array(rows, dtype=object).reshape(len(rows), len(EVENT_NAMES))
        events = events[at.keeps(events[:, EVENT_NAMES.index(s.TS)].astype(np.int64))]
        table = np.array(records, dtype=object).reshape(len(records), len(ACCOUNT_NAMES))
        table = table[at.keeps(table[:, ACCOUNT_NAMES.index(s.CREATED_AT)].astype(np.int64))]
        self.known = table  # records of the component that exist as of T
        col = {name: events[:, i] for i, name in enumerate(EVENT_NAMES)}
        rec = {name: table[:, i] for i, name in enumerate(ACCOUNT_NAMES)}
        wanted = set(asked)
        self.account_ids = np.array(sorted(set(col[s.ACCOUNT_ID]) | (
            set(rec[s.ACCOUNT_ID]) & wanted)), dtype=object)
        number = {a: i for i, a in enumerate(self.account_ids)}
        self.ev = lay_out(
            np.array([number[a] for a in col[s.ACCOUNT_ID]], dtype=np.int64),
            col[s.TS].astype(np.int64), col[s.EVENT_ID],
            {name: Keys.of(col[name]) for name in KEY_COLUMNS},
            {name: col[name].astype(float) for name in (s.LAT, s.LON, s.ASN)},
            {name: col[name].astype(bool) for name in (s.SUCCESS, s.INTERACTIVE, s.ANONYMIZER)},
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

    def cross(self, pairs: dict[str, list[tuple]], allow: AllowList) -> tuple[dict, dict]:
        """The cross-account signals from the stored pairs of the events' keys (by kind, none
        where allowed) that exist as of T, and the known records of the component."""
        ev, known = self.ev, {kind: _first_times(rows, self.at) for kind, rows in pairs.items()}
        counts = {}
        for kind, keys in reuse_keys(ev, allow).items():
            code = {k: i for i, k in enumerate(keys.values)}
            mine = [(code[k], first) for (k, _), first in known[kind].items() if k in code]
            pair_codes = np.array([c for c, _ in mine], dtype=np.int64)
            firsts = np.array([first for _, first in mine], dtype=np.int64)
            counts[REUSE_COUNT[kind]] = counts_at(keys.codes, ev.ts_ns, pair_codes, firsts,
                                                  len(keys.values))
        shared = {name: self._sharing(col) for name, col in (
            ("payout_accounts", s.PAYOUT_ID), ("phone_accounts", s.PHONE_ID))}
        shared["cluster_size"] = self._clusters(known[DEVICE])
        return counts, shared

    def _sharing(self, column: str) -> np.ndarray:
        """Known records sharing each asked account's `column` value, itself included."""
        ids = self.known[:, ACCOUNT_NAMES.index(s.ACCOUNT_ID)]
        values = self.known[:, ACCOUNT_NAMES.index(column)]
        counts = Counter(v for v in values if v is not None)
        value_of = {a: v for a, v in zip(ids, values, strict=True) if v is not None}
        return np.array([counts[value_of[a]] if a in value_of else np.nan
                         for a in self.account_ids], dtype=float)

    def _clusters(self, device_firsts: dict[tuple, int]) -> np.ndarray:
        """`features.reuse.cluster_sizes` on the component's links that exist as of T."""
        links = [(account, "d:" + key) for key, account in device_firsts]
        for column in (s.PAYOUT_ID, s.PHONE_ID):
            i = ACCOUNT_NAMES.index(column)
            links += [(r[ACCOUNT_NAMES.index(s.ACCOUNT_ID)], column[:3] + ":" + r[i])
                      for r in self.known if r[i] is not None]
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


def _first_times(rows: list[tuple], at: AsOf) -> dict[tuple, int]:
    """(key, account) -> first time of stored pair rows (kind, key, account, first_ts) that
    exist as of T (a pair read twice is kept once)."""
    return {(key, account): int(first) for _, key, account, first in rows
            if at.keeps(int(first))}


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

    def put(self, events: list[list], pairs: list[tuple]) -> None:
        for row in events:
            self.events.setdefault(row[_ACCOUNT], []).append(row)
            self._ids.add(row[_ID])
            self._watermark = max(row[_TS], self._watermark or row[_TS])
        for kind, key, acc, first in pairs:
            seen = self.pairs[kind].setdefault(key, {})
            seen[acc] = min(int(first), seen.get(acc, int(first)))

    def history(self, account_id: str) -> list[list]:
        return self.events.get(account_id, [])

    def pairs_for(self, kind: str, keys: list[str]) -> list[tuple]:
        return [(kind, k, a, t) for k in keys for a, t in self.pairs[kind].get(k, {}).items()]

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
