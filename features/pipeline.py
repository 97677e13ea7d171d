"""The one feature pipeline: event-level signals and account features as of a time.

Batch scoring, training and the online state all call `compute_features`; the online state
passes the cross-account tables (reuse pairs, identities) it keeps, batch derives them from the
events. Everything is point in time, by the one rule of `features.point_in_time`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.age import account_age, event_age
from persona_risk.features.arrays import EventArrays, Keys, timestamps_ns, to_arrays
from persona_risk.features.config import FeatureConfig
from persona_risk.features.parallel import map_steps
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.registry import CROSS, RECORD, REGISTRY
from persona_risk.features.reuse import (
    DEVICE,
    KIND,
    REUSE_COUNT,
    account_reuse,
    cluster_sizes,
    event_reuse,
    first_seen,
    identity_counts,
    reuse_keys,
)
from persona_risk.features.timezones import account_timezones, event_timezones
from persona_risk.features.travel import (
    FASTEST_HOP_COLUMNS,
    account_travel,
    event_travel,
    fastest_hop,
)

IDENTITY_COLUMNS = [s.ACCOUNT_ID, s.CREATED_AT, s.PAYOUT_ID, s.PHONE_ID]


@dataclass
class FeatureResult:
    """Event-level signals (one row per event, sorted; empty when not asked for) and account
    features (one row per account)."""

    signals: pd.DataFrame
    features: pd.DataFrame


@dataclass
class CrossAccount:
    """Cross-account signals computed outside the partition being featurised (the Spark engine
    computes them grouped by key): per event id (index) the columns `EVENT_REUSE`, per account
    id (index) the columns `ACCOUNT_REUSE`. The same functions of `features.reuse` make them."""

    event_counts: pd.DataFrame
    account_counts: pd.DataFrame


EVENT_REUSE = list(REUSE_COUNT.values())
# per-account counts over other accounts' records (payout, phone, cluster), which each engine
# computes in its own way from all accounts before the per-account step
ACCOUNT_REUSE = [f.name for f in REGISTRY
                 if f.family == "reuse" and {RECORD, CROSS} <= set(f.needs)]


def empty_accounts() -> pd.DataFrame:
    """An accounts table with no rows and the contract's columns."""
    return pd.DataFrame({
        s.ACCOUNT_ID: pd.Series(dtype="str"), s.CREATED_AT: pd.Series(dtype="datetime64[ns, UTC]"),
        s.CLAIMED_TIMEZONE: pd.Series(dtype="str"), s.CLAIMED_LAT: pd.Series(dtype=float),
        s.CLAIMED_LON: pd.Series(dtype=float), s.PAYOUT_ID: pd.Series(dtype="str"),
        s.PHONE_ID: pd.Series(dtype="str"),
    })


def default_as_of(events: pd.DataFrame) -> pd.Timestamp:
    """The last event time, the default `as_of`."""
    if events.empty:
        raise ValueError("events: no rows, so there is no default as_of; pass one")
    return events[s.TS].max()


def known_accounts(events: pd.DataFrame, accounts: pd.DataFrame | None = None,
                   as_of: pd.Timestamp | None = None) -> np.ndarray:
    """Sorted ids of the accounts that exist as of `as_of` (default: the last event): those
    with an event or a record by then, as `compute_features` gives them a row."""
    at = AsOf.of(default_as_of(events) if as_of is None else as_of)
    return at.accounts(at.events(events), at.records(
        empty_accounts() if accounts is None else accounts))


def _reuse(ev: EventArrays, accounts: pd.DataFrame, as_of: AsOf,
           pairs: pd.DataFrame | None, identities: pd.DataFrame | None,
           cross: CrossAccount | None, cfg: FeatureConfig
           ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-event reuse counts and per-account shared-identity counts (see `compute_features`)."""
    if cross is not None:
        counts = cross.event_counts.reindex(pd.Index(ev.event_ids()))
        known = cross.account_counts.reindex(ev.account_ids)
        return ({name: counts[name].to_numpy(float) for name in EVENT_REUSE},
                {name: known[name].to_numpy(float) for name in ACCOUNT_REUSE})
    keys = reuse_keys(ev, cfg.allow)
    if pairs is None:  # from this partition's events, already factorized
        pairs = first_seen(keys, Keys(ev.seg, ev.account_ids), ev.ts_ns)
    else:
        pairs = as_of.pairs(pairs)
    identities = accounts if identities is None else as_of.records(identities)
    return event_reuse(keys, ev.ts_ns, pairs), {
        "payout_accounts": identity_counts(ev.account_ids, identities, s.PAYOUT_ID),
        "phone_accounts": identity_counts(ev.account_ids, identities, s.PHONE_ID),
        "cluster_size": cluster_sizes(ev.account_ids, pairs[pairs[KIND] == DEVICE], identities),
    }


@dataclass
class Records:
    """Account records aligned with the accounts of an `EventArrays`: creation (ns since the
    epoch, UTC; NaN when unknown), claimed zone (None when unknown) and claimed home (degrees,
    NaN when unknown)."""

    created_ns: np.ndarray
    claimed_tz: np.ndarray
    claimed_lat: np.ndarray
    claimed_lon: np.ndarray

    @classmethod
    def of(cls, accounts: pd.DataFrame, account_ids: np.ndarray) -> Records:
        """The records of `account_ids` from a canonical accounts table (missing: unknown)."""
        record = accounts.set_index(s.ACCOUNT_ID).reindex(account_ids)
        created_ns = timestamps_ns(record[s.CREATED_AT]).astype(float)
        created_ns[record[s.CREATED_AT].isna().to_numpy()] = np.nan
        return cls(created_ns, record[s.CLAIMED_TIMEZONE].to_numpy(object),
                   record[s.CLAIMED_LAT].to_numpy(float), record[s.CLAIMED_LON].to_numpy(float))


CrossSignals = Callable[[EventArrays], tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]


def account_features(ev: EventArrays, records: Records, cross: CrossSignals, as_of_ns: int,
                     cfg: FeatureConfig = FeatureConfig(), with_signals: bool = True
                     ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The core: event signals and account features of events and records that exist as of
    `as_of_ns` (already applied), on arrays only. `cross(ev)` gives the cross-account signals:
    per event the `EVENT_REUSE` counts, per account the `ACCOUNT_REUSE` counts; each engine
    and store finds them its own way. Returns (signals by name, features by name)."""
    def travel() -> tuple[dict, dict]:
        sig = event_travel(ev, cfg)
        return sig, {**account_travel(ev, sig, records.claimed_lat, records.claimed_lon, cfg),
                     **fastest_hop(ev, sig)}

    def timezones() -> tuple[dict, dict]:
        sig = event_timezones(ev, records.claimed_tz)
        return sig, account_timezones(ev, sig, cfg)

    def reuse() -> tuple[dict, dict]:
        sig, shared = cross(ev)
        return sig, {**account_reuse(ev, sig), **shared}

    def age() -> tuple[dict, dict]:
        return (event_age(ev, records.created_ns),
                account_age(ev, records.created_ns, as_of_ns))

    def run(family) -> tuple[dict, dict]:  # event signals not asked for are freed at once
        sig, feats = family()
        return (sig if with_signals else {}), feats

    longest_first = (reuse, timezones, travel, age)  # so that two threads end close together
    done = dict(zip(longest_first, map_steps(run, longest_first, len(ev.ts_ns)), strict=True))
    parts = [done[family] for family in (travel, timezones, reuse, age)]
    return ({name: values for part, _ in parts for name, values in part.items()},
            {name: values for _, part in parts for name, values in part.items()})


def features_frame(account_ids: np.ndarray, as_of: pd.Timestamp,
                   feats: dict[str, np.ndarray]) -> pd.DataFrame:
    """The account feature table: id, as_of, the model's features and the reason context."""
    return pd.DataFrame({
        s.ACCOUNT_ID: pd.array(account_ids.astype(str), dtype="str"),
        s.AS_OF: pd.DatetimeIndex(np.full(len(account_ids), as_of.as_unit("ns").value,
                                        dtype="datetime64[ns]"),
                                tz="UTC").as_unit(as_of.unit),
        **{name: feats[name].astype("float64") for name in FEATURE_NAMES},
        **{name: feats[name] for name in FASTEST_HOP_COLUMNS}})


def compute_features(
    events: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
    cfg: FeatureConfig = FeatureConfig(),
    pairs: pd.DataFrame | None = None,
    identities: pd.DataFrame | None = None,
    with_signals: bool = True,
    cross: CrossAccount | None = None,
) -> FeatureResult:
    """Signals and account features of canonical (validated) events as of `as_of` (UTC).

    `accounts` may be None: accounts are then derived from the events and the features that
    need the account record (age, claimed zone, home) are NaN. `pairs` (see
    `features.reuse.reuse_pairs`) and `identities` (account_id, created_at, payout_id, phone_id of
    every account that may share an id) default to those of `events` and `accounts`.
    `with_signals=False` skips building the event-level table (batch scoring needs none).
    `cross`, when given, supplies the cross-account signals instead of `pairs`/`identities`.
    Given `pairs` must come from `reuse_pairs` with the same allow-list as `cfg`'s.
    """
    at = AsOf.of(default_as_of(events) if as_of is None else as_of)
    events = at.events(events)
    accounts = at.records(empty_accounts() if accounts is None else accounts)
    account_ids = at.accounts(events, accounts)
    ev = to_arrays(events, account_ids)
    sig, feats = account_features(
        ev, Records.of(accounts, account_ids),
        lambda ev: _reuse(ev, accounts, at, pairs, identities, cross, cfg), at.ns, cfg,
        with_signals)
    features = features_frame(account_ids, at.at, feats)
    if not with_signals:
        return FeatureResult(signals=pd.DataFrame(), features=features)
    signals = pd.DataFrame({
        s.EVENT_ID: ev.event_ids(),
        s.ACCOUNT_ID: pd.Categorical.from_codes(ev.seg, account_ids.astype(str)),
        s.TS: pd.to_datetime(ev.ts_ns, unit="ns", utc=True), **sig})
    return FeatureResult(signals=signals, features=features)
