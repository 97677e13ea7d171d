"""The one feature pipeline: event-level signals and account features as of a time.

Batch scoring, training and the online state all call `account_features` (through
`compute_features` for tables); they differ only in how they find the cross-account signals
(`CrossAccount`). Everything is point in time, by the one rule of `features.point_in_time`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.arrays import EventArrays, Keys, to_arrays
from persona_risk.features.config import FeatureConfig
from persona_risk.features.families import (
    FAMILIES,
    LONGEST_FIRST,
    AccountInputs,
    CrossSignals,
    Records,
    Signals,
)
from persona_risk.features.parallel import map_steps
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.registry import CROSS, RECORD, REGISTRY
from persona_risk.features.reuse import REUSE_COUNT, CrossIndex, first_seen, reuse_keys
from persona_risk.features.travel import FASTEST_HOP_COLUMNS
from persona_risk.features.validate import SchemaError

IDENTITY_COLUMNS = [s.ACCOUNT_ID, s.CREATED_AT, s.PAYOUT_ID, s.PHONE_ID]
EVENT_REUSE = list(REUSE_COUNT.values())
# per-account counts over other accounts' records (payout, phone, cluster), which each engine
# computes in its own way from all accounts before the per-account step
ACCOUNT_REUSE = [f.name for f in REGISTRY
                 if f.family == "reuse" and {RECORD, CROSS} <= set(f.needs)]
OWN_COMPUTE = [f for f in REGISTRY if f.compute is not None]  # registered with their compute


@dataclass
class FeatureResult:
    """Event-level signals (one row per event, sorted; empty when not asked for) and account
    features (one row per account)."""

    signals: pd.DataFrame
    features: pd.DataFrame


class CrossAccount(ABC):
    """Where `compute_features` finds the cross-account signals (devices, IPs, prefixes, payout
    and phone ids other accounts share): from the events it is given (`from_events`), from
    reuse pairs and identities of all accounts (`from_pairs`, for one partition of many), or
    supplied ready-made (`supplied`, as the Spark engine computes them grouped by key)."""

    @abstractmethod
    def signals(self, ev: EventArrays, accounts: pd.DataFrame, at: AsOf, cfg: FeatureConfig
                ) -> tuple[Signals, Signals]:
        """Per event the `EVENT_REUSE` counts, per account the `ACCOUNT_REUSE` ones, for the
        events `ev` and records `accounts` that exist as of `at`."""

    @staticmethod
    def from_events() -> CrossAccount:
        """Shared with the other accounts of the events and records given."""
        return _FromPairs(None, None)

    @staticmethod
    def from_pairs(pairs: pd.DataFrame, identities: pd.DataFrame | None = None) -> CrossAccount:
        """Shared with the accounts of `pairs` (from `features.reuse.reuse_pairs`, with the
        allow-list of the `cfg` used) and of `identities` (`IDENTITY_COLUMNS` of every account
        that may share an id; default: the records given). With `identities`, their counts are
        prepared once per `as_of` (`features.reuse.CrossIndex`) and each partition looks up its
        own accounts and keys."""
        return _FromPairs(pairs, identities)

    @staticmethod
    def supplied(event_counts: pd.DataFrame, account_counts: pd.DataFrame) -> CrossAccount:
        """Computed elsewhere: per event id (index) the `EVENT_REUSE` columns, per account id
        (index) the `ACCOUNT_REUSE` columns, made by the same functions of `features.reuse`."""
        return _Supplied(event_counts, account_counts)


@dataclass(frozen=True, eq=False)
class _FromPairs(CrossAccount):
    pairs: pd.DataFrame | None  # None: from the events' own keys
    identities: pd.DataFrame | None  # None: the records given
    # the global state as of the last T asked, prepared once for all the partitions
    ready: dict[int, CrossIndex] = field(default_factory=dict, repr=False)

    def signals(self, ev: EventArrays, accounts: pd.DataFrame, at: AsOf, cfg: FeatureConfig
                ) -> tuple[Signals, Signals]:
        keys = reuse_keys(ev, cfg.allow)
        if self.pairs is None:  # already factorized
            index = CrossIndex.of(first_seen(keys, Keys(ev.seg, ev.account_ids), ev.ts_ns),
                                  accounts)
        elif self.identities is None:
            index = CrossIndex.of(at.pairs(self.pairs), accounts)
        else:
            if at.ns not in self.ready:  # the last T only: a run asks one
                self.ready.clear()
                self.ready[at.ns] = CrossIndex.of(at.pairs(self.pairs),
                                                  at.records(self.identities))
            index = self.ready[at.ns]
        return index.event_counts(keys, ev.ts_ns), index.account_counts(ev.account_ids)


@dataclass(frozen=True, eq=False)
class _Supplied(CrossAccount):
    event_counts: pd.DataFrame
    account_counts: pd.DataFrame

    def signals(self, ev: EventArrays, accounts: pd.DataFrame, at: AsOf, cfg: FeatureConfig
                ) -> tuple[Signals, Signals]:
        counts = self.event_counts.reindex(pd.Index(ev.event_ids()))
        known = self.account_counts.reindex(ev.account_ids)
        return ({name: counts[name].to_numpy(float) for name in EVENT_REUSE},
                {name: known[name].to_numpy(float) for name in ACCOUNT_REUSE})


FROM_EVENTS = CrossAccount.from_events()


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
        raise SchemaError("events", s.TS, "no readable rows, so there is no default as_of "
                          "(the latest event); see the quarantine, or pass --as-of")
    return events[s.TS].max()


def known_accounts(events: pd.DataFrame, accounts: pd.DataFrame | None = None,
                   as_of: pd.Timestamp | None = None) -> np.ndarray:
    """Sorted ids of the accounts that exist as of `as_of` (default: the last event): those
    with an event or a record by then, as `compute_features` gives them a row."""
    at = AsOf.of(default_as_of(events) if as_of is None else as_of)
    return at.accounts(at.events(events), at.records(
        empty_accounts() if accounts is None else accounts))


def account_features(ev: EventArrays, records: Records, cross: CrossSignals, as_of_ns: int,
                     cfg: FeatureConfig = FeatureConfig(), with_signals: bool = True
                     ) -> tuple[Signals, Signals]:
    """The core: event signals and account features of events and records that exist as of
    `as_of_ns` (already applied), on arrays only: every family's step
    (`features.families.FAMILIES`), then every registry feature with its own `compute`.
    `cross(ev)` gives the cross-account signals: per event the `EVENT_REUSE` counts, per
    account the `ACCOUNT_REUSE` counts; each engine and store finds them its own way. Returns
    (signals by name, features by name)."""
    inputs = AccountInputs(ev, records, cross, as_of_ns, cfg)

    def run(family: str) -> tuple[Signals, Signals]:  # signals not asked for are freed at once
        sig, feats = FAMILIES[family](inputs)
        return (sig if with_signals else {}), feats

    done = dict(zip(LONGEST_FIRST, map_steps(run, LONGEST_FIRST, len(ev.ts_ns)), strict=True))
    parts = [done[family] for family in FAMILIES]
    features = {name: values for _, part in parts for name, values in part.items()}
    features.update({f.name: f.compute(inputs) for f in OWN_COMPUTE})
    return {name: values for part, _ in parts for name, values in part.items()}, features


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
    *,
    cross: CrossAccount = FROM_EVENTS,
    with_signals: bool = True,
) -> FeatureResult:
    """Signals and account features of canonical (validated) events as of `as_of` (UTC).

    `accounts` may be None: accounts are then derived from the events and the features that
    need the account record (age, claimed zone, home) are NaN. `cross` says where the
    cross-account signals come from (default: these events and records).
    `with_signals=False` skips building the event-level table (batch scoring needs none).
    """
    at = AsOf.of(default_as_of(events) if as_of is None else as_of, cfg.retention_days)
    events = at.events(events)
    accounts = at.records(empty_accounts() if accounts is None else accounts)
    account_ids = at.accounts(events, accounts)
    ev = to_arrays(events, account_ids)
    sig, feats = account_features(
        ev, Records.of(accounts, account_ids),
        lambda ev: cross.signals(ev, accounts, at, cfg), at.ns, cfg, with_signals)
    features = features_frame(account_ids, at.at, feats)
    if not with_signals:
        return FeatureResult(signals=pd.DataFrame(), features=features)
    signals = pd.DataFrame({
        s.EVENT_ID: ev.event_ids(),
        s.ACCOUNT_ID: pd.Categorical.from_codes(ev.seg, account_ids.astype(str)),
        s.TS: pd.to_datetime(ev.ts_ns, unit="ns", utc=True), **sig})
    return FeatureResult(signals=signals, features=features)
